package controller

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/retrain"
	"github.com/bascaler/bascaler/internal/rl"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/sim"
)

// agentLife is the PPO corrector's lifecycle in one loop (spec.policy.training.agent): at
// every retrain round a Job trains a challenger agent into the agent registry; when it has
// succeeded, the challenger is judged against the serving agent by sim.EvaluateAgent (the
// retrain replay, with the serving forecaster) and promoted or rejected. Advanced only
// inside the loop's step, as the rest of the lifecycle.
type agentLife struct {
	registry string // agent registry directory (under the model dir)
	steps    int
	// ref is what the serving corrector was loaded from (an rl-model path or REGISTRY@id;
	// "" none), which replays load their own copy from; version names it in status.
	ref, version string
	cfgErr       error // an agent spec the controller cannot run
	// seen is the agent registry's champion as the loop last saw or set it: one that moves
	// away from it was moved outside the controller (`bascaler models rollback|promote`).
	seen string

	jobName    string
	jobAt      time.Time
	jobEnd     time.Time // end of the completed intervals the Job's windows were cut from
	jobTrigger retrain.Trigger
	retrains   int
	promoted   int
	lastEval   *v1alpha1.Evaluation
}

// newAgentLife reads spec.policy.training.agent (nil when it is absent).
func (r *Reconciler) newAgentLife(tr *v1alpha1.TrainingSpec, params map[string]string) *agentLife {
	spec := tr.Agent
	if spec == nil {
		return nil
	}
	a := &agentLife{steps: int(spec.Steps), ref: params["rl-model"], version: "none"}
	if a.steps <= 0 {
		a.steps = 150000
	}
	if a.ref != "" {
		a.version = filepath.Base(a.ref)
		if rr, ok := registry.ParseRef(a.ref); ok {
			a.registry = rr.Registry
			if _, id, err := registry.Resolve(a.ref); err == nil && id != "" {
				a.version = id
			}
		}
	}
	if spec.Registry != "" {
		a.registry = modelPath(r.ModelDir, spec.Registry)
	}
	a.seen = champion(a.registry)
	switch {
	case tr.Job == nil:
		a.cfgErr = errors.New("spec.policy.training.agent trains in a Job: set training.job (image, claimName)")
	case a.registry == "":
		a.cfgErr = errors.New("spec.policy.training.agent writes agents to a registry: set agent.registry or an rlModel path DIR@champion")
	}
	return a
}

// AgentJob is the command of an agent training Job: `bascaler train rl` on the rate the
// controller reads over [From, To) in periods of Interval, in a simulator with the
// workload's profile (a CSV the controller wrote into the model volume), SLO and start-up
// delay, correcting Policy with the loop's parameters; the agent is written into the
// registry at RegistryDir (as the Job mounts it) under the challenger alias.
type AgentJob struct {
	RegistryDir, ProfilePath string
	From, To                 time.Time
	Interval, Startup        time.Duration
	SLO                      policy.SLO
	Policy, Forecaster       string
	Params                   map[string]string
	Steps                    int
	Seed                     int64
}

// agentSegment is the PPO episode length the Job uses for n training intervals: train rl
// fits its forecaster on the first half of the training split (0.8 of the window) and
// replays segments from the second half, of at most 240 intervals (its default).
func agentSegment(n int) int { return min(240, n*8/10/2) }

// Args spells the Job's command line for the autoscaler baa (its metrics preset and target).
func (a AgentJob) Args(baa *v1alpha1.BurstAwareAutoscaler) []string {
	m := baa.Spec.Metrics
	preset := m.Preset
	if preset == "" {
		preset = v1alpha1.PresetIstio
	}
	n := int(a.To.Sub(a.From) / a.Interval)
	slo := time.Duration(a.SLO.TargetMS * float64(time.Millisecond))
	args := []string{"train", "rl", "--policy", a.Policy,
		"--prometheus", m.Prometheus.Address, "--preset", preset,
		"--namespace", baa.Namespace, "--target", baa.Spec.ScaleTargetRef.Name,
		"--start", a.From.UTC().Format(time.RFC3339), "--end", a.To.UTC().Format(time.RFC3339), "--step", a.Interval.String(),
		"--interval", a.Interval.String(), "--startup", a.Startup.String(),
		"--slo", slo.String(), "--slo-metric", a.SLO.Metric.String(), "--profile", a.ProfilePath,
		"--split", "0.8,0.2,0", "--segment", strconv.Itoa(agentSegment(n)),
		"--steps", strconv.Itoa(a.Steps), "--rollout", strconv.Itoa(min(2048, max(64, a.Steps))), "--seed", strconv.FormatInt(a.Seed, 10),
		"--registry", a.RegistryDir, "--alias", registry.Challenger}
	if m.Selector != "" {
		args = append(args, "--selector", m.Selector)
	}
	// The loop's policy parameters but the model paths (the Job fits its own forecaster of
	// the serving kind; the agent it trains is the one being replaced).
	keys := make([]string, 0, len(a.Params))
	for k := range a.Params {
		if k != "model" && k != "rl-model" && k != "forecaster" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	if a.Forecaster != "" {
		args = append(args, "--param", "forecaster="+a.Forecaster)
	}
	for _, k := range keys {
		args = append(args, "--param", k+"="+a.Params[k])
	}
	return args
}

// startAgentJob creates the agent training Job for the round at t, on the windows the
// forecaster's round cuts from s.
func (r *Reconciler) startAgentJob(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, s series.Series, t time.Time, trigger retrain.Trigger) {
	life, a := l.life, l.life.agent
	iv := l.cfg.interval
	skip := func(why string) {
		r.agentJudged(ctx, baa, l, retrain.Event{At: t, Trigger: trigger, Skipped: why}, "", nil)
	}
	from, to, ok := life.sched.Windows(s.Len(), iv, life.serving.f.MinHistory()+8)
	if !ok {
		skip(fmt.Sprintf("only %d completed intervals: too few to train and evaluate", s.Len()))
		return
	}
	if seg := agentSegment(to - from); seg < 8 {
		skip(fmt.Sprintf("a training window of %d intervals is too short for PPO episodes (train rl needs segments of at least 8 intervals: 20 intervals)", to-from))
		return
	}
	if baa.Spec.Metrics.Preset == v1alpha1.PresetCustom || l.cfg.cpuFromAPI {
		skip("a training Job reads a preset's rate from Prometheus; custom queries and the metrics API cannot be read by it")
		return
	}
	mount, rel, err := r.jobPath(life.job, a.registry)
	if err != nil {
		skip(err.Error())
		return
	}
	// The Job trains in a simulator with the workload's profile: written where it mounts
	// the model volume.
	profDir := filepath.Join(r.ModelDir, ".profiles")
	profFile := filepath.Join(profDir, baa.Namespace+"."+baa.Name+".csv")
	if err := writeProfile(profFile, life.profile); err != nil {
		r.agentJudged(ctx, baa, l, retrain.Event{At: t, Trigger: trigger}, "", fmt.Errorf("write the workload's profile for the agent Job: %w", err))
		return
	}
	_, profRel, err := r.jobPath(life.job, profFile)
	if err != nil {
		skip(err.Error())
		return
	}
	job := AgentJob{RegistryDir: filepath.Join(mount, rel), ProfilePath: filepath.Join(mount, profRel),
		From: s.Time(from), To: s.Time(to), Interval: iv, Startup: l.cfg.startup, SLO: l.cfg.slo,
		Policy: l.cfg.policyName, Forecaster: life.serving.kind, Params: l.cfg.params, Steps: a.steps,
		Seed: life.env.Seed + int64(life.lastRound)}
	name := fmt.Sprintf("%s-agent-%d", trimName(baa.Name, 40), t.Unix())
	created, err := r.createJob(ctx, baa, life.job, name, jobAgent, job.Args(baa))
	if err != nil {
		r.agentJudged(ctx, baa, l, retrain.Event{At: t, Trigger: trigger}, "", err)
		return
	}
	a.jobName, a.jobAt, a.jobEnd, a.jobTrigger = name, t, s.Time(s.Len()), trigger
	r.Events.Eventf(baa, created, corev1.EventTypeNormal, v1alpha1.ReasonTrainingJob, "Train", "agent training Job %s (%s, %s): PPO challenger, %d steps, on %s..%s",
		name, life.job.Image, trigger, a.steps, job.From.UTC().Format(time.RFC3339), job.To.UTC().Format(time.RFC3339))
}

// writeProfile writes p as a profile CSV at path, atomically (a Job never reads half).
func writeProfile(path string, p *perf.Profile) error {
	if p == nil {
		p = perf.FFT()
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), ".profile-*")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	if err := perf.WriteProfileCSV(f, p); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(f.Name(), path)
}

// pollAgentJob checks the running agent Job; when it has succeeded, its challenger is judged
// on the windows cut at the Job's creation.
func (r *Reconciler) pollAgentJob(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, t time.Time) {
	a := l.life.agent
	name, trig := a.jobName, a.jobTrigger
	state := r.jobState(ctx, baa.Namespace, name)
	if state == jobRunning {
		return
	}
	a.jobName = ""
	ev := retrain.Event{At: t, Trigger: trig, Interval: int(t.Sub(l.life.start) / l.cfg.interval)}
	switch state {
	case jobGone:
		r.agentJudged(ctx, baa, l, ev, "", fmt.Errorf("agent training Job %s disappeared", name))
		return
	case jobFailed:
		r.agentJudged(ctx, baa, l, ev, "", fmt.Errorf("agent training Job %s failed", name))
		return
	}
	reg, err := registry.Open(a.registry)
	var id string
	if err == nil {
		id, err = reg.Find(registry.Challenger)
	}
	ref := a.registry + "@" + id
	if err == nil {
		// Load it once here: a version that cannot serve is refused before any replay.
		_, err = policy.LoadCorrector(ref, l.cfg.policyName, l.life.env)
	}
	if err != nil {
		r.agentJudged(ctx, baa, l, ev, "", fmt.Errorf("agent training Job %s succeeded, but its challenger cannot be loaded: %w", name, err))
		return
	}
	r.Events.Eventf(baa, nil, corev1.EventTypeNormal, v1alpha1.ReasonModelTrained, "Train", "agent training Job %s wrote %s challenger %s", name, rl.Kind, registry.Short(id))
	// The windows the Job was cut from: intervals read late since then do not shift them.
	s := until(r.completed(baa, l, a.jobAt), a.jobEnd)
	f := l.life.serving.f
	build := func(h series.Series, challenger bool) (policy.Policy, error) {
		use := a.ref
		if challenger {
			use = ref
		}
		return r.builderWith(l, use)(h, f)
	}
	judged, err := sim.EvaluateAgent(r.replayConfig(l), *l.life.sched, s, f.MinHistory(), build)
	judged.At, judged.Trigger, judged.Interval = ev.At, ev.Trigger, ev.Interval
	r.agentJudged(ctx, baa, l, judged, id, err)
}

// agentJudged acts on an agent's verdict: status, events, the registry, the swap.
func (r *Reconciler) agentJudged(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, ev retrain.Event, id string, err error) {
	a := l.life.agent
	ns, name := baa.Namespace, baa.Name
	eval := &v1alpha1.Evaluation{Time: metav1.NewTime(ev.At), Trigger: string(ev.Trigger)}
	a.lastEval = eval
	if err != nil || ev.Skipped != "" {
		msg := ev.Skipped
		if err != nil {
			msg = err.Error()
		}
		eval.Message = "no agent judged: " + msg
		r.Stats.Retrains.WithLabelValues(ns, name, "failed").Inc()
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonTrainingFailed, "Train", "agent retrain (%s): %s", ev.Trigger, msg)
		log.FromContext(ctx).Info("agent retrain judged nothing", "autoscaler", ns+"/"+name, "reason", msg)
		return
	}
	a.retrains++
	eval.TrainingWindow = &v1alpha1.TimeWindow{From: metav1.NewTime(ev.TrainFrom), To: metav1.NewTime(ev.TrainTo)}
	eval.EvaluationWindow = &v1alpha1.TimeWindow{From: metav1.NewTime(ev.TrainTo), To: metav1.NewTime(ev.EvalTo)}
	eval.Champion, eval.Challenger = replayScore(ev.Champion), replayScore(ev.Challenger)
	eval.ChallengerVersion = registry.Short(id)
	numbers := fmt.Sprintf("replayed on %s..%s with forecaster %s: challenger agent %d violating intervals, %.3f pod-hours; serving agent %s %d violating intervals, %.3f pod-hours (%s)",
		ev.TrainTo.UTC().Format(time.RFC3339), ev.EvalTo.UTC().Format(time.RFC3339), shortVersion(l.life.serving.version),
		ev.Challenger.Violations, ev.Challenger.PodHours, shortVersion(a.version), ev.Champion.Violations, ev.Champion.PodHours, ev.Reason)
	if !ev.Promoted {
		eval.Message = "rejected: " + numbers
		r.Stats.Retrains.WithLabelValues(ns, name, "rejected").Inc()
		r.Events.Eventf(baa, nil, corev1.EventTypeNormal, v1alpha1.ReasonModelRejected, "Evaluate", "challenger agent %s rejected, the serving agent keeps correcting: %s", registry.Short(id), numbers)
		return
	}
	if err := r.serveAgent(l, a.registry+"@"+id, id); err != nil {
		eval.Message = "promotion failed: " + err.Error()
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonTrainingFailed, "Promote", "swap in challenger agent %s: %v", registry.Short(id), err)
		return
	}
	reg, err := registry.Open(a.registry)
	if err == nil {
		_, err = reg.Promote(registry.Champion, id)
	}
	if err != nil {
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonTrainingFailed, "Promote", "agent %s serves, but the registry's champion alias could not move: %v", registry.Short(id), err)
	} else {
		a.seen = id
	}
	eval.Promoted = true
	eval.Message = "promoted: " + numbers
	a.promoted++
	r.Stats.Retrains.WithLabelValues(ns, name, "promoted").Inc()
	r.Events.Eventf(baa, nil, corev1.EventTypeNormal, v1alpha1.ReasonModelPromoted, "Evaluate", "challenger agent %s promoted: %s", registry.Short(id), numbers)
}

// serveAgent loads the agent at ref into the serving policy (its own copy: correctors keep
// per-decision buffers) and makes replays load it too.
func (r *Reconciler) serveAgent(l *loop, ref, id string) error {
	cs, ok := l.drv.Policy().(policy.CorrectorSwapper)
	if !ok {
		return fmt.Errorf("policy %s has no corrector to swap", l.cfg.policyName)
	}
	c, err := policy.LoadCorrector(ref, l.cfg.policyName, l.life.env)
	if err != nil {
		return err
	}
	cs.SwapCorrector(c)
	a := l.life.agent
	a.ref, a.version = ref, id
	return nil
}

// watchAgentRegistry follows the agent registry's champion alias: when something else moved
// it (`bascaler models rollback DIR` or `promote`), the loop's policy is corrected by the
// version it names.
func (r *Reconciler) watchAgentRegistry(baa *v1alpha1.BurstAwareAutoscaler, l *loop) {
	a := l.life.agent
	if a == nil || a.cfgErr != nil {
		return
	}
	id := champion(a.registry)
	if id == "" || id == a.seen {
		return
	}
	a.seen = id
	if id == a.version {
		return
	}
	from := a.version
	if err := r.serveAgent(l, a.registry+"@"+id, id); err != nil {
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonTrainingFailed, "LoadModel", "agent registry champion moved to %s, which cannot be loaded: %v", registry.Short(id), err)
		return
	}
	r.Events.Eventf(baa, nil, corev1.EventTypeNormal, v1alpha1.ReasonModelPromoted, "LoadModel", "agent registry champion moved from %s to %s outside the controller; it corrects from now on", shortVersion(from), registry.Short(id))
}

// builderWith builds replay policies as the loop built its own, with the corrector loaded
// from rlRef ("" none) instead of the spec's.
func (r *Reconciler) builderWith(l *loop, rlRef string) func(h series.Series, f forecast.Forecaster) (policy.Policy, error) {
	name, env := l.cfg.policyName, l.life.env
	return func(h series.Series, f forecast.Forecaster) (policy.Policy, error) {
		e := env
		e.History, e.Forecaster = h, f
		e.Params = make(map[string]string, len(env.Params))
		for k, v := range env.Params {
			e.Params[k] = v
		}
		delete(e.Params, "rl-model")
		if rlRef != "" {
			e.Params["rl-model"] = rlRef
		}
		return newPolicy(name, e)
	}
}

// agentStatus is status.model.agent.
func (a *agentLife) status() *v1alpha1.AgentStatus {
	if a == nil {
		return nil
	}
	return &v1alpha1.AgentStatus{Version: shortVersion(a.version), TrainingJob: a.jobName, Retrains: int32(a.retrains),
		Promotions: int32(a.promoted), LastEvaluation: a.lastEval}
}
