package controller

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/retrain"
)

// With spec.policy.training.agent, a retrain round also creates a Job that trains the PPO
// corrector (`bascaler train rl` from Prometheus, in a simulator with the workload's
// profile, into the agent registry under the challenger alias). The test runs the Job's
// command itself against the same volume and marks the Job complete; the controller then
// replays the challenger agent against the serving policy (here uncorrected) on the
// evaluation window and promotes or rejects it by the documented rule, with status, events
// and the registry's champion alias to show for it.
func TestControllerAgentTrainingJob(t *testing.T) {
	c, p, ns, dir, bin := jobTestRig(t, "agentjob")
	baa := retrainAutoscaler(ns, p.URL)
	tr := baa.Spec.Policy.Training
	// The forecaster refits in process (naive); the agent trains in a Job on 30 intervals.
	tr.Every, tr.OnDrift = &metav1.Duration{Duration: 60 * time.Second}, ptr.To(false)
	tr.TrainingWindow = &metav1.Duration{Duration: 60 * time.Second}
	tr.Job = &v1alpha1.TrainingJobSpec{Image: "ghcr.io/bascaler/bascaler:test", ClaimName: "bascaler-models"}
	tr.Agent = &v1alpha1.AgentTrainingSpec{Registry: "agents", Steps: 128}
	if err := c.Create(context.Background(), baa); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Delete(context.Background(), baa) }()

	var job batchv1.Job
	eventually(t, 150*time.Second, "the controller creates an agent training Job", func() (bool, string) {
		var list batchv1.JobList
		if err := c.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{TrainingJobLabel: "shop", TrainingRoleLabel: jobAgent}); err != nil {
			return false, err.Error()
		}
		if len(list.Items) == 0 {
			return false, fmt.Sprintf("no agent Job yet; model %+v", getBAA(t, c, ns, "shop").Status.Model)
		}
		job = list.Items[0]
		return true, ""
	})
	pod := job.Spec.Template.Spec
	if len(pod.Containers) != 1 || pod.Containers[0].Image != "ghcr.io/bascaler/bascaler:test" || len(pod.Volumes) != 1 ||
		pod.Volumes[0].PersistentVolumeClaim == nil || pod.Volumes[0].PersistentVolumeClaim.ClaimName != "bascaler-models" {
		t.Fatalf("Job pod %+v", pod)
	}
	args := pod.Containers[0].Args
	flag := func(name string) string {
		i := slices.Index(args, name)
		if i < 0 || i+1 >= len(args) {
			t.Fatalf("Job args %v lack %s", args, name)
		}
		return args[i+1]
	}
	profile := "/models/.profiles/" + ns + ".shop.csv"
	if args[0] != "train" || args[1] != "rl" || flag("--registry") != "/models/agents" || flag("--alias") != "challenger" ||
		flag("--prometheus") != p.URL || flag("--target") != "shop" || flag("--namespace") != ns || flag("--step") != "2s" ||
		flag("--interval") != "2s" || flag("--startup") != "2s" || flag("--policy") != "bascaler" || flag("--steps") != "128" ||
		flag("--profile") != profile || !slices.Contains(args, "detector=none") || !slices.Contains(args, "forecaster=naive") {
		t.Fatalf("Job args %v", args)
	}
	// The profile the Job trains in is the workload's (capacity.perPodRPS 50: saturation at 60).
	local := filepath.Join(dir, ".profiles", ns+".shop.csv")
	prof, err := perf.LoadProfileCSV(local)
	if err != nil || prof.MaxLoad != 60 {
		t.Fatalf("the profile written for the Job: %v, %+v", err, prof)
	}
	eventually(t, 30*time.Second, "status.model.agent.trainingJob names the Job", func() (bool, string) {
		m := getBAA(t, c, ns, "shop").Status.Model
		return m != nil && m.Agent != nil && m.Agent.TrainingJob == job.Name && m.Agent.Version == "none", fmt.Sprintf("status.model %+v", m)
	})

	// The Job's pod: the same command against the same volume (mounted at the model dir).
	runJobCommand(t, bin, args, "--registry", filepath.Join(dir, "agents"), "--profile", local)
	markJobComplete(t, c, &job)
	reg, err := registry.Open(filepath.Join(dir, "agents"))
	if err != nil {
		t.Fatal(err)
	}
	challenger, err := reg.Find(registry.Challenger)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the controller judges the Job's agent", func() (bool, string) {
		m := getBAA(t, c, ns, "shop").Status.Model
		return m != nil && m.Agent != nil && m.Agent.LastEvaluation != nil && m.Agent.LastEvaluation.ChallengerVersion == registry.Short(challenger) &&
			m.Agent.TrainingJob == "", fmt.Sprintf("%+v", m)
	})
	a := getBAA(t, c, ns, "shop").Status.Model.Agent
	ev := a.LastEvaluation
	t.Logf("evaluation of the Job's agent: %s", ev.Message)
	if ev.Champion == nil || ev.Challenger == nil || ev.EvaluationWindow == nil || a.Retrains != 1 {
		t.Fatalf("agent evaluation without numbers: %+v", a)
	}
	// The evaluation window is data the Job did not train on: it starts where --end is.
	if end := flag("--end"); !ev.EvaluationWindow.From.UTC().Equal(mustTime(t, end)) {
		t.Fatalf("evaluation window %s..%s, the Job trained up to %s", ev.EvaluationWindow.From, ev.EvaluationWindow.To, end)
	}
	score := func(s *v1alpha1.ReplayScore) retrain.Score {
		ph, err := strconv.ParseFloat(s.PodHours, 64)
		if err != nil {
			t.Fatal(err)
		}
		return retrain.Score{Violations: int(s.ViolatingIntervals), PodHours: ph}
	}
	want := retrain.Promote(score(ev.Champion), score(ev.Challenger), false)
	if ev.Promoted != want {
		t.Fatalf("verdict %v, the rule says %v: %s", ev.Promoted, want, ev.Message)
	}
	if ev.Promoted {
		id, _ := reg.Find(registry.Champion)
		if id != challenger || a.Version != registry.Short(challenger) || a.Promotions != 1 {
			t.Fatalf("promoted agent: registry champion %s, status %+v, want %s", id, a, registry.Short(challenger))
		}
		if len(events(t, c, ns, "shop", v1alpha1.ReasonModelPromoted)) == 0 {
			t.Fatal("no ModelPromoted event")
		}
	} else {
		if a.Version != "none" || a.Promotions != 0 {
			t.Fatalf("rejected agent, yet status %+v", a)
		}
		if len(events(t, c, ns, "shop", v1alpha1.ReasonModelRejected)) == 0 {
			t.Fatal("no ModelRejected event")
		}
		// One CLI call (`bascaler models promote agents challenger`) makes it serve anyway.
		out := runBascaler(t, bin, "models", "promote", filepath.Join(dir, "agents"), registry.Challenger)
		t.Logf("models promote: %s", out)
		eventually(t, 30*time.Second, "the agent promoted outside the controller corrects the policy", func() (bool, string) {
			a := getBAA(t, c, ns, "shop").Status.Model.Agent
			return a.Version == registry.Short(challenger), fmt.Sprintf("status.model.agent %+v", a)
		})
	}
	trained := false
	for _, n := range eventNotes(t, c, ns, "shop", v1alpha1.ReasonModelTrained) {
		trained = trained || strings.Contains(n, "agent training Job "+job.Name)
	}
	if !trained {
		t.Fatal("no ModelTrained event for the Job's agent")
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The agent's Job arguments carry the loop's policy parameters, not its model paths, and
// the segment fits the training window.
func TestAgentJobArgs(t *testing.T) {
	baa := retrainAutoscaler("ns", "http://prom:9090")
	from := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	a := AgentJob{RegistryDir: "/models/agents", ProfilePath: "/models/.profiles/p.csv", From: from, To: from.Add(1000 * time.Minute),
		Interval: time.Minute, Startup: 30 * time.Second, SLO: policy.SLO{Metric: perf.P95, TargetMS: 16}, Policy: "bascaler", Forecaster: "arima",
		Params: map[string]string{"model": "/models/fc@champion", "rl-model": "/models/agents@champion", "forecaster": "naive", "detector": "none"},
		Steps:  5000, Seed: 7}
	args := a.Args(baa)
	joined := strings.Join(args, " ")
	for _, want := range []string{"--segment 240", "--rollout 2048", "--param forecaster=arima", "--param detector=none", "--slo 16ms", "--slo-metric p95",
		"--start 2026-01-01T00:00:00Z", "--end 2026-01-01T16:40:00Z"} {
		if !strings.Contains(joined, want) {
			t.Fatalf("args %q lack %q", joined, want)
		}
	}
	for _, bad := range []string{"model=", "forecaster=naive"} {
		if strings.Contains(joined, "--param "+bad) {
			t.Fatalf("args %q pass %q", joined, bad)
		}
	}
	a.To, a.Steps = from.Add(30*time.Minute), 100
	if joined := strings.Join(a.Args(baa), " "); !strings.Contains(joined, "--segment 12") || !strings.Contains(joined, "--rollout 100") {
		t.Fatalf("30 intervals, 100 steps: %s", joined)
	}
}
