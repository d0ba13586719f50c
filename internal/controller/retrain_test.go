package controller

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/promserver"
	"github.com/bascaler/bascaler/internal/registry"
)

// retrainAutoscaler is bascaler with a naive forecaster on 2 s intervals, drift windows of
// 5 forecast and 8 input intervals, and drift-triggered retraining on 20 training and 5
// evaluation intervals, at most every 20 s; versions go to the registry "reg" under the
// controller's model directory.
func retrainAutoscaler(ns, addr string) *v1alpha1.BurstAwareAutoscaler {
	baa := autoscaler(ns, "shop", "shop", addr)
	baa.Spec.Mode = v1alpha1.ModeObserve
	baa.Spec.Policy = v1alpha1.PolicySpec{Name: "bascaler", Params: map[string]string{"forecaster": "naive", "guard-period": "1s"}, HistoryIntervals: 40,
		StartupDelay: &metav1.Duration{Duration: 2 * time.Second},
		Capacity:     &v1alpha1.CapacitySpec{PerPodRPS: "50"},
		// No burst detector: its calibration needs 30 one-step forecasts, more history than
		// the test's short windows hold.
		Burst: &v1alpha1.BurstSpec{Detector: "none"},
		Training: &v1alpha1.TrainingSpec{Every: &metav1.Duration{}, TrainingWindow: &metav1.Duration{Duration: 40 * time.Second},
			EvaluationWindow: &metav1.Duration{Duration: 10 * time.Second}, OnDrift: ptr.To(true),
			DriftCooldown: &metav1.Duration{Duration: 20 * time.Second}, Registry: "reg"},
		Drift: &v1alpha1.DriftSpec{Window: 5, PSIWindow: 8}}
	return baa
}

func eventNotes(t *testing.T, c client.Client, ns, name, reason string) []string {
	var out []string
	for _, e := range events(t, c, ns, name, reason) {
		out = append(out, e.Note)
	}
	return out
}

// A workload whose traffic shifts makes the model drift (condition, event, metrics), which
// triggers a retrain judged by replaying both models (event and status with both numbers);
// a promoted challenger is written to the registry as its champion; the rollback annotation
// puts the previous model back.
func TestControllerDriftRetrainPromoteRollback(t *testing.T) {
	c := cluster(t)
	p := prom(t)
	ns := namespace(t, c, "retrain")
	deployment(t, c, ns, "shop", 2)
	exp.setRate(ns, "shop", 60)
	dir := t.TempDir()
	mgr, r := newManager(t, "")
	r.FeatureDir, r.ModelDir = filepath.Join(dir, "features"), dir
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = mgr.Start(ctx); close(done) }()
	defer func() { stop(); <-done }()
	baa := retrainAutoscaler(ns, p.URL)
	if err := c.Create(context.Background(), baa); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Delete(context.Background(), baa) }()

	// On a busy machine the start-up rounds (each promotion restarts the scores, which then
	// take Window intervals to fill) have taken up to 80 s: CI saw the third promotion at 79 s
	// and the scores a few seconds short of full at 90 s.
	eventually(t, 180*time.Second, "the model serves and its scores fill (not drifting on steady traffic)", func() (bool, string) {
		b := getBAA(t, c, ns, "shop")
		ready, dr := condition(b, v1alpha1.ConditionModelReady), condition(b, v1alpha1.ConditionModelDrifting)
		ok := ready != nil && ready.Status == metav1.ConditionTrue && b.Status.Model != nil && b.Status.Model.Scores != nil &&
			b.Status.Model.Scores.PSI != "" && b.Status.Model.Scores.Coverage != ""
		return ok && dr != nil && dr.Status == metav1.ConditionFalse, fmt.Sprintf("model %+v, drifting %+v, conditions %+v", b.Status.Model, dr, b.Status.Conditions)
	})
	// The first intervals (the exporter's series starting, rate() warming up) may already
	// drift and retrain; count what happened before the shift.
	before := getBAA(t, c, ns, "shop").Status.Model
	if before.Kind != "naive" || before.TrainingWindow == nil || before.ServingSince == nil {
		t.Fatalf("serving model before the shift: %+v", before)
	}
	promotionsBefore := len(events(t, c, ns, "shop", v1alpha1.ReasonModelPromoted))
	t.Logf("before the shift: version %s, %d retrains, %d promotions", before.Version, before.Retrains, before.Promotions)

	exp.setRate(ns, "shop", 200) // the traffic shifts
	eventually(t, 40*time.Second, "ModelDrifting", func() (bool, string) {
		b := getBAA(t, c, ns, "shop")
		dr := condition(b, v1alpha1.ConditionModelDrifting)
		return dr != nil && dr.Status == metav1.ConditionTrue && len(events(t, c, ns, "shop", v1alpha1.ReasonModelDrifting)) > 0, fmt.Sprintf("%+v", dr)
	})
	var gauge dto.Metric
	if err := r.Stats.PSI.WithLabelValues(ns, "shop").Write(&gauge); err != nil {
		t.Fatal(err)
	}
	if psi := gauge.GetGauge().GetValue(); !(psi > 0.25) {
		t.Fatalf("bascaler_drift_psi = %v while drifting on a shifted input, want > 0.25", psi)
	}
	t.Logf("drifting: %s", condition(getBAA(t, c, ns, "shop"), v1alpha1.ConditionModelDrifting).Message)

	// A retrain follows, judged with both models' numbers; wait for a promotion (a tie on
	// the first, pre-shift training window, or a later challenger fitted after the shift).
	eventually(t, 120*time.Second, "a retrain judged and a challenger promoted", func() (bool, string) {
		b := getBAA(t, c, ns, "shop")
		m := b.Status.Model
		return len(events(t, c, ns, "shop", v1alpha1.ReasonModelPromoted)) > promotionsBefore && m != nil && m.Promotions > before.Promotions,
			fmt.Sprintf("model %+v; rejected: %v; failed: %v", m, eventNotes(t, c, ns, "shop", v1alpha1.ReasonModelRejected), eventNotes(t, c, ns, "shop", v1alpha1.ReasonTrainingFailed))
	})
	trained := eventNotes(t, c, ns, "shop", v1alpha1.ReasonModelTrained)
	if len(trained) == 0 {
		t.Fatal("no ModelTrained event")
	}
	promoted := eventNotes(t, c, ns, "shop", v1alpha1.ReasonModelPromoted)
	t.Logf("trained: %v\npromoted: %v\nrejected: %v", trained, promoted, eventNotes(t, c, ns, "shop", v1alpha1.ReasonModelRejected))
	for _, want := range []string{"challenger", "violating intervals", "pod-hours", "champion "} {
		if !strings.Contains(promoted[len(promoted)-1], want) {
			t.Fatalf("promotion event %q does not say %q", promoted[len(promoted)-1], want)
		}
	}
	m := getBAA(t, c, ns, "shop").Status.Model
	ev := m.LastEvaluation
	if ev == nil || ev.Champion == nil || ev.Challenger == nil || ev.EvaluationWindow == nil || ev.TrainingWindow == nil || ev.Trigger != "drift" || ev.Message == "" {
		t.Fatalf("last evaluation in status: %+v", ev)
	}
	if !ev.TrainingWindow.To.Equal(&ev.EvaluationWindow.From) {
		t.Fatalf("training window %v must end where the evaluation window %v starts", ev.TrainingWindow, ev.EvaluationWindow)
	}
	// The promoted challenger is the registry's champion, with its lineage.
	reg, err := registry.Open(filepath.Join(dir, "reg"))
	if err != nil {
		t.Fatal(err)
	}
	champ, err := reg.Get(registry.Champion)
	if err != nil {
		t.Fatal(err)
	}
	if champ.Lineage.Data.Source != "feature-record" || champ.Lineage.Data.SeriesDigest == "" || champ.Lineage.Kind != "naive" {
		t.Fatalf("champion lineage %+v", champ.Lineage)
	}
	servedVersion := ""
	for _, n := range promoted {
		if strings.Contains(n, "challenger "+registry.Short(champ.ID)) {
			servedVersion = registry.Short(champ.ID)
		}
	}
	if servedVersion == "" {
		t.Fatalf("no promotion event names the registry's champion %s: %v", registry.Short(champ.ID), promoted)
	}

	// Roll back with the annotation: the previous model serves again.
	cur := getBAA(t, c, ns, "shop")
	from := cur.Status.Model.Version
	patch := client.MergeFrom(cur.DeepCopy())
	if cur.Annotations == nil {
		cur.Annotations = map[string]string{}
	}
	cur.Annotations[v1alpha1.ModelRollbackAnnotation] = "1"
	if err := c.Patch(context.Background(), cur, patch); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "ModelRolledBack", func() (bool, string) {
		b := getBAA(t, c, ns, "shop")
		notes := eventNotes(t, c, ns, "shop", v1alpha1.ReasonModelRolledBack)
		return len(notes) > 0 && b.Status.Model != nil && b.Status.Model.RollbackHandled == "1", fmt.Sprintf("%v %+v", notes, b.Status.Model)
	})
	notes := eventNotes(t, c, ns, "shop", v1alpha1.ReasonModelRolledBack)
	if !strings.Contains(notes[0], "from "+from+" to ") {
		t.Fatalf("rollback event %q does not name the version rolled back from (%s)", notes[0], from)
	}
	t.Logf("rolled back: %s", notes[0])
}

// A heavy model trains in a Job the controller creates (same image, `bascaler forecast train
// ... --registry` on the model volume). No Job controller runs in envtest, so the test runs
// the Job's command itself against the same directory, as the Job's pod would on the
// volume, marks the Job complete, and the controller judges the version it wrote.
func TestControllerTrainingJob(t *testing.T) {
	c, p, ns, dir, bin := jobTestRig(t, "trainjob")
	baa := retrainAutoscaler(ns, p.URL)
	tr := baa.Spec.Policy.Training
	// 30 training intervals: forecast train's calibration needs a few validation origins.
	tr.Every, tr.OnDrift, tr.Runner = &metav1.Duration{Duration: 60 * time.Second}, ptr.To(false), v1alpha1.RunnerJob
	tr.TrainingWindow = &metav1.Duration{Duration: 60 * time.Second}
	tr.Job = &v1alpha1.TrainingJobSpec{Image: "ghcr.io/bascaler/bascaler:test", ClaimName: "bascaler-models"}
	if err := c.Create(context.Background(), baa); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Delete(context.Background(), baa) }()

	var job batchv1.Job
	eventually(t, 150*time.Second, "the controller creates a training Job", func() (bool, string) {
		var list batchv1.JobList
		if err := c.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{TrainingJobLabel: "shop"}); err != nil {
			return false, err.Error()
		}
		if len(list.Items) == 0 {
			return false, fmt.Sprintf("no Job yet; model %+v", getBAA(t, c, ns, "shop").Status.Model)
		}
		job = list.Items[0]
		return true, ""
	})
	pod := job.Spec.Template.Spec
	if len(pod.Containers) != 1 || pod.Containers[0].Image != "ghcr.io/bascaler/bascaler:test" || !slices.Equal(pod.Containers[0].Command, []string{"bascaler"}) {
		t.Fatalf("Job container %+v", pod.Containers)
	}
	args := pod.Containers[0].Args
	flag := func(name string) string {
		i := slices.Index(args, name)
		if i < 0 || i+1 >= len(args) {
			t.Fatalf("Job args %v lack %s", args, name)
		}
		return args[i+1]
	}
	if args[0] != "forecast" || args[1] != "train" || flag("--registry") != "/models/reg" || flag("--alias") != "challenger" ||
		flag("--prometheus") != p.URL || flag("--preset") != "istio" || flag("--target") != "shop" || flag("--namespace") != ns ||
		flag("--step") != "2s" || flag("--model") != "naive" {
		t.Fatalf("Job args %v", args)
	}
	if len(pod.Volumes) != 1 || pod.Volumes[0].PersistentVolumeClaim == nil || pod.Volumes[0].PersistentVolumeClaim.ClaimName != "bascaler-models" ||
		len(pod.Containers[0].VolumeMounts) != 1 || pod.Containers[0].VolumeMounts[0].MountPath != "/models" || pod.Containers[0].VolumeMounts[0].Name != pod.Volumes[0].Name {
		t.Fatalf("Job volume %+v mounts %+v", pod.Volumes, pod.Containers[0].VolumeMounts)
	}
	if len(job.OwnerReferences) != 1 || job.OwnerReferences[0].Name != "shop" {
		t.Fatalf("Job owner %+v", job.OwnerReferences)
	}
	// The Job is created before the step's status is written (and a conflicting status write
	// is retried at the next step): status names it soon after, not at once.
	eventually(t, 30*time.Second, "status.model.trainingJob names the Job", func() (bool, string) {
		m := getBAA(t, c, ns, "shop").Status.Model
		return m != nil && m.TrainingJob == job.Name, fmt.Sprintf("status.model %+v, want trainingJob %s", m, job.Name)
	})

	// The Job's pod: the same command against the same volume (mounted at the model dir).
	runJobCommand(t, bin, args, "--registry", filepath.Join(dir, "reg"))
	markJobComplete(t, c, &job)

	reg, err := registry.Open(filepath.Join(dir, "reg"))
	if err != nil {
		t.Fatal(err)
	}
	challenger, err := reg.Find(registry.Challenger)
	if err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the controller judges the Job's challenger", func() (bool, string) {
		b := getBAA(t, c, ns, "shop")
		m := b.Status.Model
		return m != nil && m.LastEvaluation != nil && m.LastEvaluation.ChallengerVersion == registry.Short(challenger) && m.TrainingJob == "",
			fmt.Sprintf("%+v", m)
	})
	m := getBAA(t, c, ns, "shop").Status.Model
	t.Logf("evaluation of the Job's challenger: %s", m.LastEvaluation.Message)
	if m.LastEvaluation.Champion == nil || m.LastEvaluation.Challenger == nil {
		t.Fatalf("evaluation without numbers: %+v", m.LastEvaluation)
	}
	if m.LastEvaluation.Promoted {
		eventually(t, 10*time.Second, "the promoted Job model serves and is the registry's champion", func() (bool, string) {
			id, _ := reg.Find(registry.Champion)
			b := getBAA(t, c, ns, "shop")
			return id == challenger && b.Status.Model.Version == registry.Short(challenger), b.Status.Model.Version
		})
	}
	if len(events(t, c, ns, "shop", v1alpha1.ReasonModelTrained)) == 0 {
		t.Fatal("no ModelTrained event for the Job's model")
	}
}

// runJobCommand runs a training Job's command line with the built binary, as the Job's pod
// would against the same volume: each flag of the pairs (flag, local path) is pointed at
// where the test keeps that directory instead of the Job's mount.
func runJobCommand(t *testing.T, bin string, args []string, pairs ...string) {
	t.Helper()
	run := slices.Clone(args)
	for k := 0; k+1 < len(pairs); k += 2 {
		i := slices.Index(run, pairs[k])
		if i < 0 || i+1 >= len(run) {
			t.Fatalf("Job args %v lack %s", args, pairs[k])
		}
		run[i+1] = pairs[k+1]
	}
	out := runBascaler(t, bin, run...)
	t.Logf("bascaler %s\n%s", strings.Join(run, " "), out)
}

// markJobComplete marks a Job succeeded, as the Job controller would when its pod exits 0.
func markJobComplete(t *testing.T, c client.Client, job *batchv1.Job) {
	t.Helper()
	now := metav1.Now()
	job.Status.StartTime, job.Status.CompletionTime = &now, &now
	job.Status.Succeeded = 1
	job.Status.Conditions = []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now}}
	if err := c.Status().Update(context.Background(), job); err != nil {
		t.Fatalf("mark the Job complete: %v", err)
	}
}

// jobTestRig is the training-Job tests' setting: a running manager whose feature and model
// directories are under dir, a Deployment "shop" at 80 req/s in a new namespace named after
// prefix, a real Prometheus, and the bascaler binary the Jobs' commands run with.
func jobTestRig(t *testing.T, prefix string) (c client.Client, p *promserver.Server, ns, dir, bin string) {
	t.Helper()
	c, p = cluster(t), prom(t)
	ns = namespace(t, c, prefix)
	deployment(t, c, ns, "shop", 2)
	exp.setRate(ns, "shop", 80)
	dir = t.TempDir()
	bin = buildBascaler(t)
	mgr, r := newManager(t, "")
	r.FeatureDir, r.ModelDir = filepath.Join(dir, "features"), dir
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = mgr.Start(ctx); close(done) }()
	t.Cleanup(func() { stop(); <-done })
	return c, p, ns, dir, bin
}
