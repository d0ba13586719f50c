package controller

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/drift"
	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/retrain"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/sim"
)

// forecasting is a policy that serves a forecaster (bascaler): its forecasts are scored.
type forecasting interface {
	Forecaster() forecast.Forecaster
}

// served is one forecaster that served (or serves) a loop.
type served struct {
	f        forecast.Forecaster
	version  string // registry id, or "in-process:<n>"
	kind     string
	since    time.Time
	from, to time.Time // training window
	inputs   []float64 // training inputs (the PSI's reference)
}

// lifecycle is the serving forecaster's life in one loop: drift scores, retrains, promotion,
// rollback. It is advanced only inside the loop's step (under loop.mu).
type lifecycle struct {
	mon       *drift.Monitor
	scored    time.Time // start of the newest interval scored
	last      drift.Scores
	drifting  bool
	sched     *retrain.Schedule // nil: no retraining
	runner    string
	registry  string // registry directory versions are written to ("" none)
	job       *v1alpha1.TrainingJobSpec
	serving   served
	prev      []served // earlier champions, newest last
	serial    int
	start     time.Time // the loop's first interval: index 0 of the schedule
	lastRound int       // interval index of the last retrain (-1: none)
	next      time.Time // next scheduled retrain
	retrains  int
	promoted  int
	lastEval  *v1alpha1.Evaluation
	handled   string // model-rollback annotation value acted on
	// seen is the registry's champion as the loop last saw or set it: a champion that moves
	// away from it was moved outside the controller (`bascaler models rollback|promote`).
	seen string

	// The running training Job (runner Job): its name and the instant it was created for
	// (the windows are cut at that instant).
	jobName    string
	jobAt      time.Time
	jobEnd     time.Time // end of the completed intervals the Job's windows were cut from
	jobTrigger retrain.Trigger

	env     policy.Env // how the serving policy was built (replays build fresh ones alike)
	profile *perf.Profile
	cfgErr  error // a training spec the controller cannot run

	agent *agentLife // the PPO corrector's retraining (nil: not configured)
}

// heavyKinds are the forecasters trained in a Job by default: neural models whose fit takes
// minutes of CPU, which the cluster should schedule rather than the controller absorb.
var heavyKinds = map[string]bool{"mlp": true, "gru": true, "lstm": true, "informer": true}

// newLifecycle starts the lifecycle of a just-built forecasting policy.
func (r *Reconciler) newLifecycle(baa *v1alpha1.BurstAwareAutoscaler, l *loop, fp forecasting, env policy.Env, prof *perf.Profile, t time.Time) *lifecycle {
	cfg := l.cfg
	life := &lifecycle{lastRound: -1, start: t, env: env, profile: prof}
	// Every result's counter exists from the start at 0, so rates and increases over it
	// (the dashboard's "Retrains / h") answer before the first retrain instead of "no data".
	for _, result := range []string{"promoted", "rejected", "failed", "rolled-back"} {
		r.Stats.Retrains.WithLabelValues(baa.Namespace, baa.Name, result)
	}
	if baa.Status.Model != nil {
		life.handled = baa.Status.Model.RollbackHandled
	}
	h := env.History
	life.serving = served{f: fp.Forecaster(), kind: fp.Forecaster().Kind(), since: t, inputs: h.Values}
	if h.Len() > 0 {
		life.serving.from, life.serving.to = h.Start, h.Time(h.Len())
	}
	life.serving.version = "in-process:0"
	if ref := cfg.params["model"]; ref != "" {
		if rr, ok := registry.ParseRef(ref); ok {
			life.registry = rr.Registry
		}
		if _, id, err := registry.Resolve(ref); err == nil && id != "" {
			life.serving.version = id
		} else {
			life.serving.version = filepath.Base(ref)
		}
	}
	life.seen = champion(life.registry)
	// The monitor's reference is the warm history but its newest interval, which the
	// Observe below hands it as the interval just completed (the seasonal score's recent
	// inputs continue the reference: the newest one must not be counted twice).
	life.mon = drift.New(cfg.drift, h.Values[:max(h.Len()-1, 0)])
	// Issue the first forecast from the warm history, so the first interval the loop
	// completes is scored.
	if h.Len() > 0 {
		life.last = life.mon.Observe(life.serving.f, h)
		life.scored = h.Time(h.Len() - 1)
	}
	if tr := baa.Spec.Policy.Training; tr != nil {
		s := cfg.training
		life.sched = &s
		life.runner = tr.Runner
		if life.runner == "" {
			life.runner = v1alpha1.RunnerInProcess
			if heavyKinds[life.serving.kind] {
				life.runner = v1alpha1.RunnerJob
			}
		}
		life.job = tr.Job
		if tr.Registry != "" {
			life.registry = modelPath(r.ModelDir, tr.Registry)
			life.seen = champion(life.registry)
		}
		if s.Every > 0 {
			life.next = t.Add(s.Every)
		}
		if life.runner == v1alpha1.RunnerJob && life.job == nil {
			life.cfgErr = fmt.Errorf("spec.policy.training: forecaster %s trains in a Job (runner Job) and needs training.job (image, claimName)", life.serving.kind)
		}
		if life.runner == v1alpha1.RunnerJob && life.registry == "" {
			life.cfgErr = fmt.Errorf("spec.policy.training: runner Job writes the challenger to a registry: set training.registry or a forecaster path DIR@champion")
		}
		life.agent = r.newAgentLife(tr, cfg.params)
		if _, ok := l.drv.Policy().(policy.CorrectorSwapper); life.agent != nil && !ok {
			life.agent.cfgErr = fmt.Errorf("spec.policy.training.agent: policy %s has no PPO corrector", cfg.policyName)
		}
	}
	return life
}

// history returns the loop's completed intervals as a rate series.
func (l *loop) history() series.Series {
	hist := l.drv.History()
	s := series.Series{Name: "completed", Step: l.cfg.interval, Values: make([]float64, len(hist))}
	if len(hist) > 0 {
		s.Start = hist[0].Start
	}
	for i, iv := range hist {
		s.Values[i] = iv.Rate
	}
	return s
}

// modelStep advances the model lifecycle after a decided step at t: scores the intervals
// completed since the last step, handles a rollback request or a champion moved in the
// registry, a finished training Job and a due retrain, and writes status, metrics,
// conditions and events.
func (r *Reconciler) modelStep(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, st *v1alpha1.BurstAwareAutoscalerStatus, t time.Time) {
	life := l.life
	fp, ok := l.drv.Policy().(forecasting)
	if life == nil || !ok {
		clearModel(st)
		return
	}
	gen := baa.Generation
	h := l.history()
	for j := range h.Len() {
		if !h.Time(j).After(life.scored) {
			continue
		}
		life.last = life.mon.Observe(fp.Forecaster(), h.Slice(0, j+1))
		life.scored = h.Time(j)
	}
	r.driftStatus(baa, l, st)

	if v := baa.Annotations[v1alpha1.ModelRollbackAnnotation]; v != "" && v != life.handled {
		life.handled = v
		r.rollback(ctx, baa, l, st, t, "the "+v1alpha1.ModelRollbackAnnotation+" annotation asked for it")
	}
	r.watchRegistry(ctx, baa, l, t)
	r.watchAgentRegistry(baa, l)
	if life.cfgErr != nil {
		setCond(st, gen, v1alpha1.ConditionModelReady, true, v1alpha1.ReasonModelServing, fmt.Sprintf("%s serves; retraining is off: %v", life.serving.version, life.cfgErr))
	} else {
		r.training(ctx, baa, l, t)
		setCond(st, gen, v1alpha1.ConditionModelReady, true, v1alpha1.ReasonModelServing, fmt.Sprintf("%s version %s serves", life.serving.kind, shortVersion(life.serving.version)))
	}
	r.modelStatus(baa, l, st, t)
}

// driftStatus exports the last scores and raises or clears ModelDrifting.
func (r *Reconciler) driftStatus(baa *v1alpha1.BurstAwareAutoscaler, l *loop, st *v1alpha1.BurstAwareAutoscalerStatus) {
	life, sc := l.life, l.life.last
	ns, name := baa.Namespace, baa.Name
	set := func(g interface{ Set(float64) }, v float64) {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			g.Set(v)
		}
	}
	set(r.Stats.Coverage.WithLabelValues(ns, name), sc.Coverage)
	set(r.Stats.Pinball.WithLabelValues(ns, name), sc.PinballMean)
	set(r.Stats.RelError.WithLabelValues(ns, name), sc.RelError)
	set(r.Stats.PSI.WithLabelValues(ns, name), sc.PSI)
	set(r.Stats.Seasonal.WithLabelValues(ns, name), sc.Seasonal)
	gen := baa.Generation
	opts := life.mon.Options()
	if sc.Drifting {
		r.Stats.Drifting.WithLabelValues(ns, name).Set(1)
		why := sc.Why(opts)
		if !life.drifting {
			r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonModelDrifting, "ScoreForecast", "model %s drifts: %s", shortVersion(life.serving.version), why)
		}
		setCond(st, gen, v1alpha1.ConditionModelDrifting, true, v1alpha1.ReasonModelDrifting, why)
	} else {
		r.Stats.Drifting.WithLabelValues(ns, name).Set(0)
		msg := "the forecast's scores are within their thresholds"
		if math.IsNaN(sc.Coverage) && math.IsNaN(sc.PSI) {
			msg = fmt.Sprintf("scoring: windows not full yet (%d forecast intervals, %d input intervals)", opts.Window, opts.PSIWindow)
		}
		setCond(st, gen, v1alpha1.ConditionModelDrifting, false, v1alpha1.ReasonModelFits, msg)
	}
	life.drifting = sc.Drifting
}

// training starts a due retrain or finishes a training Job.
func (r *Reconciler) training(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, t time.Time) {
	life := l.life
	if life.sched == nil {
		return
	}
	iv := l.cfg.interval
	i := int(t.Sub(life.start) / iv)
	if life.agent != nil && life.agent.jobName != "" {
		r.pollAgentJob(ctx, baa, l, t)
	}
	if life.jobName != "" {
		r.pollJob(ctx, baa, l, t, i)
		return
	}
	var trigger retrain.Trigger
	switch {
	case life.sched.Every > 0 && !t.Before(life.next):
		trigger = retrain.TriggerSchedule
		for !life.next.After(t) {
			life.next = life.next.Add(life.sched.Every)
		}
	default:
		driftOnly := *life.sched
		driftOnly.Every = 0
		if due, why := driftOnly.DueAt(i, iv, life.drifting, life.lastRound); due {
			trigger = why
		}
	}
	if trigger == "" {
		return
	}
	life.lastRound = i
	s := r.completed(baa, l, t)
	if a := life.agent; a != nil && a.jobName == "" {
		if a.cfgErr != nil {
			r.agentJudged(ctx, baa, l, retrain.Event{At: t, Trigger: trigger, Interval: i}, "", a.cfgErr)
		} else {
			r.startAgentJob(ctx, baa, l, s, t, trigger)
		}
	}
	if life.runner == v1alpha1.RunnerJob {
		r.startJob(ctx, baa, l, s, t, trigger)
		return
	}
	rp, ok := l.drv.Policy().(policy.Retrainable)
	if !ok {
		return
	}
	began := time.Now()
	ev, chall, err := sim.Evaluate(r.replayConfig(l), rp, *life.sched, s, r.builder(l), l.life.env.Seed+int64(i), life.drifting)
	ev.Interval, ev.At, ev.Trigger = i, t, trigger
	r.judged(ctx, baa, l, rp, ev, chall, err, s)
	if r.onRetrain != nil {
		r.onRetrain(began, time.Since(began))
	}
}

// completed returns the completed intervals before t the retrain reads: the feature
// record's newest contiguous run over the training and evaluation windows when it holds
// more than the loop's History, else the History.
func (r *Reconciler) completed(baa *v1alpha1.BurstAwareAutoscaler, l *loop, t time.Time) series.Series {
	iv := l.cfg.interval
	end := t.Truncate(iv)
	// A Job's windows are cut again when it has finished, from a History that has grown
	// since: only the intervals before t count.
	h := until(l.history(), end)
	if l.frec == nil {
		return h
	}
	span := l.life.sched.TrainWindow + l.life.sched.EvalWindow
	ivs := l.frec.rec.Range(end.Add(-span), end)
	// The newest contiguous run of this interval length ending at end.
	k := len(ivs)
	for k > 0 && ivs[k-1].Step == iv && ivs[k-1].Start.Equal(end.Add(-time.Duration(len(ivs)-k+1)*iv)) {
		k--
	}
	run := ivs[k:]
	if len(run) <= h.Len() {
		return h
	}
	s := series.Series{Name: "feature-record", Start: run[0].Start, Step: iv, Values: make([]float64, len(run))}
	for j, x := range run {
		s.Values[j] = x.Rate
	}
	return s
}

// until returns the intervals of s that start before end.
func until(s series.Series, end time.Time) series.Series {
	n := s.Len()
	for n > 0 && !s.Time(n-1).Before(end) {
		n--
	}
	return s.Slice(0, n)
}

// replayConfig is the simulated cluster the replays run in: the workload's profile, SLO,
// bounds and start-up delay, the simulator's defaults otherwise.
func (r *Reconciler) replayConfig(l *loop) sim.Config {
	c := sim.DefaultConfig()
	cfg := l.cfg
	c.Interval, c.Startup, c.SLO, c.Min, c.Max = cfg.interval, cfg.startup, cfg.slo, cfg.min, cfg.max
	if l.life.profile != nil {
		c.Profile = l.life.profile
	}
	c.Seed = l.life.env.Seed
	return c
}

// builder builds the replays' fresh policies as the loop built its own, with the agent
// that serves now.
func (r *Reconciler) builder(l *loop) func(h series.Series, f forecast.Forecaster) (policy.Policy, error) {
	ref := l.cfg.params["rl-model"]
	if a := l.life.agent; a != nil {
		ref = a.ref
	}
	return r.builderWith(l, ref)
}

// judged acts on a retrain's verdict: events, the registry, the swap.
func (r *Reconciler) judged(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, rp policy.Retrainable, ev retrain.Event, chall forecast.Forecaster, err error, s series.Series) {
	life := l.life
	logger := log.FromContext(ctx).WithValues("autoscaler", baa.Namespace+"/"+baa.Name)
	eval := &v1alpha1.Evaluation{Time: metav1.NewTime(ev.At), Trigger: string(ev.Trigger)}
	life.lastEval = eval
	r.Stats.Round.WithLabelValues(baa.Namespace, baa.Name).Set(float64(ev.Interval))
	if err != nil || ev.Skipped != "" {
		msg := ev.Skipped
		if err != nil {
			msg = err.Error()
		}
		eval.Message = "no challenger judged: " + msg
		r.Stats.Retrains.WithLabelValues(baa.Namespace, baa.Name, "failed").Inc()
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonTrainingFailed, "Train", "retrain (%s): %s", ev.Trigger, msg)
		logger.Info("retrain judged nothing", "reason", msg)
		return
	}
	life.retrains++
	eval.TrainingWindow = &v1alpha1.TimeWindow{From: metav1.NewTime(ev.TrainFrom), To: metav1.NewTime(ev.TrainTo)}
	eval.EvaluationWindow = &v1alpha1.TimeWindow{From: metav1.NewTime(ev.TrainTo), To: metav1.NewTime(ev.EvalTo)}
	eval.Champion = replayScore(ev.Champion)
	eval.Challenger = replayScore(ev.Challenger)
	eval.Promoted = ev.Promoted
	from, to, _ := life.sched.Windows(s.Len(), l.cfg.interval, 0)
	train := s.Slice(from, to)
	version := fmt.Sprintf("in-process:%d", life.serial+1)
	if life.registry != "" {
		id, perr := r.publish(baa, l, chall, train, ev)
		if perr != nil {
			r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonTrainingFailed, "Publish", "write the challenger to registry %s: %v", life.registry, perr)
		} else {
			version = id
			eval.ChallengerVersion = registry.Short(id)
		}
	}
	if _, fromJob := jobVersion(chall); !fromJob {
		r.Events.Eventf(baa, nil, corev1.EventTypeNormal, v1alpha1.ReasonModelTrained, "Train", "trained %s challenger %s on %s..%s (%d intervals, data %s)",
			chall.Kind(), shortVersion(version), ev.TrainFrom.UTC().Format(time.RFC3339), ev.TrainTo.UTC().Format(time.RFC3339), train.Len(), ev.TrainDigest[:12])
	}
	numbers := fmt.Sprintf("replayed on %s..%s: challenger %d violating intervals, %.3f pod-hours; champion %s %d violating intervals, %.3f pod-hours",
		ev.TrainTo.UTC().Format(time.RFC3339), ev.EvalTo.UTC().Format(time.RFC3339), ev.Challenger.Violations, ev.Challenger.PodHours,
		shortVersion(life.serving.version), ev.Champion.Violations, ev.Champion.PodHours)
	if ev.Reason != "" {
		numbers += " (" + ev.Reason + ")"
	}
	if !ev.Promoted {
		eval.Message = "rejected: " + numbers
		r.Stats.Retrains.WithLabelValues(baa.Namespace, baa.Name, "rejected").Inc()
		r.Events.Eventf(baa, nil, corev1.EventTypeNormal, v1alpha1.ReasonModelRejected, "Evaluate", "challenger %s rejected, champion keeps serving: %s", shortVersion(version), numbers)
		return
	}
	if err := rp.Swap(chall, l.history()); err != nil {
		eval.Promoted = false
		eval.Message = "promotion failed: " + err.Error()
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonTrainingFailed, "Promote", "swap in challenger %s: %v", shortVersion(version), err)
		return
	}
	life.serial++
	life.promoted++
	life.prev = append(life.prev, life.serving)
	life.serving = served{f: chall, version: version, kind: chall.Kind(), since: ev.At, from: ev.TrainFrom, to: ev.TrainTo, inputs: train.Values}
	life.mon.Reset(train.Values)
	life.last = drift.Scores{Coverage: math.NaN(), PinballMean: math.NaN(), RelError: math.NaN(), PSI: math.NaN()}
	eval.Message = "promoted: " + numbers
	r.Stats.Retrains.WithLabelValues(baa.Namespace, baa.Name, "promoted").Inc()
	r.Events.Eventf(baa, nil, corev1.EventTypeNormal, v1alpha1.ReasonModelPromoted, "Evaluate", "challenger %s promoted: %s", shortVersion(version), numbers)
}

func replayScore(s retrain.Score) *v1alpha1.ReplayScore {
	return &v1alpha1.ReplayScore{ViolatingIntervals: int32(s.Violations), PodHours: strconv.FormatFloat(s.PodHours, 'f', 3, 64)}
}

// publish writes the challenger into the registry with its lineage; a promoted one becomes
// the champion, a rejected one the challenger alias.
func (r *Reconciler) publish(baa *v1alpha1.BurstAwareAutoscaler, l *loop, f forecast.Forecaster, train series.Series, ev retrain.Event) (string, error) {
	life := l.life
	if id, ok := jobVersion(f); ok {
		// Trained by a Job: already a version; only the aliases move.
		reg, err := registry.Open(life.registry)
		if err != nil {
			return "", err
		}
		if ev.Promoted {
			if _, err := reg.Promote(registry.Champion, id); err != nil {
				return "", err
			}
			life.seen = id
		}
		return id, nil
	}
	levels := forecast.DefaultLevels
	if fc, err := f.Predict(train.Slice(max(train.Len()-max(2*f.MinHistory(), 512), 0), train.Len()), 1); err == nil {
		levels = fc.Levels
	}
	createdBy := fmt.Sprintf("bascaler controller: retrain of %s/%s (%s)", baa.Namespace, baa.Name, ev.Trigger)
	meta := forecast.Manifest{Levels: levels, Horizon: 1, Training: forecast.WindowOf(train), CreatedBy: createdBy, RateUnit: forecast.UnitPerSecond}
	lin := registry.Lineage{Kind: f.Kind(), Seed: life.env.Seed, Created: ev.At, CreatedBy: createdBy, CodeVersion: registry.CodeVersion(""),
		Data: registry.Data{Source: "feature-record", SeriesDigest: ev.TrainDigest, Split: "training window", Normalize: "none",
			Train: registry.WindowOf(train.Start, train.Step, train.Len())},
		Validation: map[string]float64{"replay_violating_intervals": float64(ev.Challenger.Violations), "replay_pod_hours": ev.Challenger.PodHours}}
	if isRegistryID(life.serving.version) {
		lin.Parent = life.serving.version
	}
	v, _, err := registry.Publish(life.registry, func(dir string) error { return forecast.Save(dir, f, meta) }, lin, ev.Promoted)
	if err != nil {
		return "", err
	}
	if ev.Promoted {
		life.seen = v.ID
	}
	if !ev.Promoted {
		reg, err := registry.Open(life.registry)
		if err == nil {
			_, err = reg.Promote(registry.Challenger, v.ID)
		}
		if err != nil {
			return v.ID, err
		}
	}
	return v.ID, nil
}

func isRegistryID(v string) bool {
	if len(v) != 64 {
		return false
	}
	for _, c := range v {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

func shortVersion(v string) string {
	if isRegistryID(v) {
		return registry.Short(v)
	}
	return v
}

// rollback puts the previous champion back in service: the loop's own earlier champion
// when it has one (through the registry when that one is a registry version, so the
// champion alias walks back as `bascaler models rollback` does), else the registry's
// previous champion (after a restart the loop remembers none).
func (r *Reconciler) rollback(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, st *v1alpha1.BurstAwareAutoscalerStatus, t time.Time, why string) {
	life := l.life
	rp, ok := l.drv.Policy().(policy.Retrainable)
	if !ok {
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonTrainingFailed, "Rollback", "policy %s cannot swap its forecaster", l.cfg.policyName)
		return
	}
	from := life.serving.version
	fail := func(format string, args ...any) {
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonTrainingFailed, "Rollback", format, args...)
	}
	var prev *served
	if n := len(life.prev); n > 0 {
		prev = &life.prev[n-1]
	}
	switch {
	case life.registry != "" && (prev == nil || isRegistryID(prev.version)):
		reg, err := registry.Open(life.registry)
		var ev registry.Event
		if err == nil {
			ev, err = reg.Rollback(registry.Champion)
		}
		if err != nil {
			fail("roll back the champion of %s: %v", life.registry, err)
			return
		}
		life.seen = ev.To
		if err := r.serveVersion(l, rp, ev.To, t); err != nil {
			fail("load version %s: %v", registry.Short(ev.To), err)
			return
		}
	case prev != nil:
		p := *prev
		if err := rp.Swap(p.f, l.history()); err != nil {
			fail("swap in %s: %v", shortVersion(p.version), err)
			return
		}
		life.prev = life.prev[:len(life.prev)-1]
		p.since = t
		life.serving = p
		life.mon.Reset(p.inputs)
	default:
		fail("no earlier champion to roll back to (serving %s)", shortVersion(from))
		return
	}
	r.Stats.Retrains.WithLabelValues(baa.Namespace, baa.Name, "rolled-back").Inc()
	r.Events.Eventf(baa, nil, corev1.EventTypeNormal, v1alpha1.ReasonModelRolledBack, "Rollback", "model rolled back from %s to %s (%s)", shortVersion(from), shortVersion(life.serving.version), why)
}

// champion returns the registry's champion id ("" without one).
func champion(dir string) string {
	if dir == "" {
		return ""
	}
	reg, err := registry.Open(dir)
	if err != nil {
		return ""
	}
	id, err := reg.Find(registry.Champion)
	if err != nil {
		return ""
	}
	return id
}

// serveVersion loads registry version id and swaps it in.
func (r *Reconciler) serveVersion(l *loop, rp policy.Retrainable, id string, t time.Time) error {
	life := l.life
	f, man, err := loadVersion(life.registry, id, l.cfg.interval)
	if err != nil {
		return err
	}
	if err := rp.Swap(f, l.history()); err != nil {
		return err
	}
	if life.serving.version != id {
		life.prev = append(life.prev, life.serving)
	}
	// Drop an earlier champion that is this version (walking back).
	for k := len(life.prev) - 1; k >= 0; k-- {
		if life.prev[k].version == id {
			life.prev = append(life.prev[:k], life.prev[k+1:]...)
			break
		}
	}
	s := served{f: f, version: id, kind: f.Kind(), since: t, from: man.Training.Start}
	if step, err := time.ParseDuration(man.Training.Step); err == nil {
		s.to = man.Training.End.Add(step)
	}
	// The PSI reference of a loaded version: the training inputs are not stored with it, so
	// the current history stands in.
	s.inputs = l.history().Values
	life.serving = s
	life.mon.Reset(s.inputs)
	return nil
}

func loadVersion(dir, id string, interval time.Duration) (forecast.Forecaster, forecast.Manifest, error) {
	vdir, _, err := registry.Resolve(dir + "@" + id)
	if err != nil {
		return nil, forecast.Manifest{}, err
	}
	return forecast.LoadForRates(vdir, forecast.Use{Interval: interval})
}

// watchRegistry follows the registry's champion alias: when something else moved it (`bascaler
// models rollback` or `promote`), the loop serves the version it names.
func (r *Reconciler) watchRegistry(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, t time.Time) {
	life := l.life
	if life.registry == "" {
		return
	}
	reg, err := registry.Open(life.registry)
	if err != nil {
		return
	}
	id, err := reg.Find(registry.Champion)
	if err != nil || id == life.seen {
		return
	}
	life.seen = id
	if id == life.serving.version {
		return
	}
	rp, ok := l.drv.Policy().(policy.Retrainable)
	if !ok {
		return
	}
	from := life.serving.version
	if err := r.serveVersion(l, rp, id, t); err != nil {
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonTrainingFailed, "LoadModel", "registry champion moved to %s, which cannot be loaded: %v", registry.Short(id), err)
		return
	}
	reason, what := v1alpha1.ReasonModelPromoted, "promoted"
	if hist, err := reg.History(); err == nil {
		for k := len(hist) - 1; k >= 0; k-- {
			if hist[k].Alias == registry.Champion {
				if hist[k].Action == "rollback" {
					reason, what = v1alpha1.ReasonModelRolledBack, "rolled back"
				}
				break
			}
		}
	}
	r.Events.Eventf(baa, nil, corev1.EventTypeNormal, reason, "LoadModel", "registry champion %s from %s to %s outside the controller; serving it", what, shortVersion(from), registry.Short(id))
	log.FromContext(ctx).Info("serving the registry's champion", "autoscaler", baa.Namespace+"/"+baa.Name, "version", registry.Short(id))
}

// modelStatus writes status.model.
func (r *Reconciler) modelStatus(baa *v1alpha1.BurstAwareAutoscaler, l *loop, st *v1alpha1.BurstAwareAutoscalerStatus, t time.Time) {
	life := l.life
	s := life.serving
	age := t.Sub(s.since).Truncate(l.cfg.interval)
	r.Stats.ModelAge.WithLabelValues(baa.Namespace, baa.Name).Set(t.Sub(s.since).Seconds())
	since := metav1.NewTime(s.since)
	ms := &v1alpha1.ModelStatus{Version: shortVersion(s.version), Kind: s.kind, ServingSince: &since, Age: age.String(),
		Retrains: int32(life.retrains), Promotions: int32(life.promoted), LastEvaluation: life.lastEval, TrainingJob: life.jobName,
		RollbackHandled: life.handled, Agent: life.agent.status()}
	if !s.from.IsZero() {
		ms.TrainingWindow = &v1alpha1.TimeWindow{From: metav1.NewTime(s.from), To: metav1.NewTime(s.to)}
	}
	if !life.next.IsZero() {
		n := metav1.NewTime(life.next)
		ms.NextTraining = &n
	}
	sc := life.last
	num := func(v float64, prec int) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return ""
		}
		return strconv.FormatFloat(v, 'f', prec, 64)
	}
	ms.Scores = &v1alpha1.DriftScores{Coverage: num(sc.Coverage, 3), PinballLoss: num(sc.PinballMean, 3), RelativeError: num(sc.RelError, 3),
		PSI: num(sc.PSI, 3), Drifting: sc.Drifting, Reason: sc.Why(life.mon.Options())}
	st.Model = ms
}

// clearModel removes the model conditions of a policy without a forecaster.
func clearModel(st *v1alpha1.BurstAwareAutoscalerStatus) {
	meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionModelDrifting)
	meta.RemoveStatusCondition(&st.Conditions, v1alpha1.ConditionModelReady)
	st.Model = nil
}
