package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/metrics"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/scale"
	"github.com/bascaler/bascaler/internal/series"
)

// EventRecorder emits Kubernetes events (events.k8s.io); the manager's recorder satisfies it.
type EventRecorder interface {
	Eventf(regarding runtime.Object, related runtime.Object, eventtype, reason, action, note string, args ...interface{})
}

// Reconciler runs one control loop per BurstAwareAutoscaler. The work queue calls Reconcile;
// RequeueAfter paces each object at its tick, so no goroutine per object is needed.
type Reconciler struct {
	Client client.Client
	Scaler scale.Scaler
	Events EventRecorder
	// Clock is the wall clock (a fake in unit tests); nil means the real one.
	Clock clock.PassiveClock
	Stats *Stats
	// ModelDir is where relative model paths of specs are resolved (the mounted model volume).
	ModelDir string
	// NewSource builds an object's metric source; nil means Prometheus.
	NewSource func(metrics.PrometheusOptions) (metrics.Source, error)
	// MetricsReader reads Pods and PodMetrics for cpu.source metrics-api; nil means Client.
	// (Unstructured reads through the manager's client are not cached: they go to the API
	// server, which needs only get/list RBAC.)
	MetricsReader client.Reader

	decisions atomic.Int64
	mu        sync.Mutex
	loops     map[types.NamespacedName]*loop
}

// loop is the state of one autoscaler between reconciles. It is rebuilt when the spec's
// generation changes; the policy's own state lives in pol.
type loop struct {
	generation int64
	uid        types.UID
	cfg        settings
	cfgErr     error
	source     metrics.Source
	cpuSource  metrics.Source
	podCPU     *metrics.PodMetricsCPU // cpu.source metrics-api: the only metric, read once per tick
	ticks      []metrics.Point        // metrics-api: the controller's own record of completed ticks
	behavior   *behavior
	pol        policy.Policy
	tick       time.Duration
	last       time.Time // grid instant of the last step
	epoch      time.Time // start of the first history interval (Index 0)
	history    []metrics.Point
	histEnd    time.Time // end of the last history interval
	log        *metrics.ReplicaLog
	failures   int
	obs        policy.Observation
}

// Decisions returns how many policy decisions this reconciler made (tests use it to see
// which of two leader-electing managers acts).
func (r *Reconciler) Decisions() int64 { return r.decisions.Load() }

// SetupWithManager registers the reconciler. Status-only updates do not trigger it: the
// loop paces itself with RequeueAfter.
func (r *Reconciler) SetupWithManager(mgr ctrl.Manager) error {
	r.init()
	return ctrl.NewControllerManagedBy(mgr).
		For(&v1alpha1.BurstAwareAutoscaler{}, builder.WithPredicates(predicate.Or(predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Named("burstawareautoscaler").
		Complete(r)
}

func (r *Reconciler) init() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.Stats == nil {
		r.Stats = NewStats(nil)
	}
	if r.loops == nil {
		r.loops = map[types.NamespacedName]*loop{}
	}
}

// Reconcile implements reconcile.Reconciler.
func (r *Reconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	r.init()
	baa := &v1alpha1.BurstAwareAutoscaler{}
	if err := r.Client.Get(ctx, req.NamespacedName, baa); err != nil {
		if apierrors.IsNotFound(err) {
			r.mu.Lock()
			delete(r.loops, req.NamespacedName)
			r.mu.Unlock()
			r.Stats.forget(req.Namespace, req.Name)
			return ctrl.Result{}, nil
		}
		return ctrl.Result{}, err
	}
	l := r.loopFor(req.NamespacedName, baa)
	now := r.Clock.Now()
	st := baa.Status.DeepCopy()
	// A step slower than its tick must not end the loop: RequeueAfter <= 0 means "never".
	wait := max(r.step(ctx, baa, l, now, st), 10*time.Millisecond)
	st.ObservedGeneration = baa.Generation
	if !equality.Semantic.DeepEqual(&baa.Status, st) {
		orig := baa.DeepCopy()
		baa.Status = *st
		if err := r.Client.Status().Patch(ctx, baa, client.MergeFrom(orig)); err != nil && !apierrors.IsNotFound(err) {
			return ctrl.Result{}, fmt.Errorf("update status of %s: %w", req.NamespacedName, err)
		}
	}
	return ctrl.Result{RequeueAfter: wait}, nil
}

func (r *Reconciler) loopFor(key types.NamespacedName, baa *v1alpha1.BurstAwareAutoscaler) *loop {
	r.mu.Lock()
	defer r.mu.Unlock()
	if l, ok := r.loops[key]; ok && l.generation == baa.Generation && l.uid == baa.UID {
		return l
	}
	l := &loop{generation: baa.Generation, uid: baa.UID, log: metrics.NewReplicaLog(0)}
	l.cfg, l.cfgErr = resolve(baa, r.ModelDir)
	if l.cfgErr == nil {
		l.tick = l.cfg.interval
		l.log = metrics.NewReplicaLog(time.Duration(l.cfg.historyIntervals+1) * l.cfg.interval)
		l.behavior = newBehavior(baa.Spec.Behavior)
		if l.cfg.cpuFromAPI {
			rd := r.MetricsReader
			if rd == nil {
				rd = r.Client
			}
			l.podCPU = &metrics.PodMetricsCPU{Client: rd}
			r.loops[key] = l
			return l
		}
		opts := metrics.PrometheusOptions{Address: l.cfg.address, Timeout: l.cfg.timeout, Queries: l.cfg.queries, SLOMS: l.cfg.slo.TargetMS}
		newSource := r.NewSource
		if newSource == nil {
			newSource = func(o metrics.PrometheusOptions) (metrics.Source, error) { return metrics.NewPrometheus(o) }
		}
		l.source, l.cfgErr = newSource(opts)
		if l.cfgErr == nil && l.cfg.fallbackAction == v1alpha1.FallbackCPU {
			opts.Queries.CPUOnly = true
			l.cpuSource, l.cfgErr = newSource(opts)
		}
	}
	r.loops[key] = l
	return l
}

func setCond(st *v1alpha1.BurstAwareAutoscalerStatus, gen int64, typ string, ok bool, reason, msg string) {
	s := metav1.ConditionFalse
	if ok {
		s = metav1.ConditionTrue
	}
	meta.SetStatusCondition(&st.Conditions, metav1.Condition{Type: typ, Status: s, Reason: reason, Message: msg, ObservedGeneration: gen})
}

// step runs one control step at now and returns when to run the next.
func (r *Reconciler) step(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, now time.Time, st *v1alpha1.BurstAwareAutoscalerStatus) time.Duration {
	gen := baa.Generation
	key := baa.Namespace + "/" + baa.Name
	logger := log.FromContext(ctx)
	if l.cfgErr != nil {
		setCond(st, gen, v1alpha1.ConditionReady, false, v1alpha1.ReasonInvalidSpec, l.cfgErr.Error())
		setCond(st, gen, v1alpha1.ConditionScalingActive, false, v1alpha1.ReasonInvalidSpec, l.cfgErr.Error())
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonInvalidSpec, "Validate", "%v", l.cfgErr)
		return time.Minute
	}
	cfg := l.cfg
	t := now.Truncate(l.tick)
	if !l.last.IsZero() && !t.After(l.last) {
		return l.last.Add(l.tick).Sub(now) + 10*time.Millisecond // woken early (e.g. a spec edit): keep the grid
	}
	l.last = t
	next := t.Add(l.tick).Sub(now) + 10*time.Millisecond

	if baa.Annotations[v1alpha1.PausedAnnotation] == "true" {
		setCond(st, gen, v1alpha1.ConditionScalingActive, false, v1alpha1.ReasonPaused, "the "+v1alpha1.PausedAnnotation+" annotation is set: replicas are left alone")
		setCond(st, gen, v1alpha1.ConditionReady, true, v1alpha1.ReasonPaused, "paused")
		return next
	}

	ref := scale.Ref{Namespace: baa.Namespace, APIVersion: baa.Spec.ScaleTargetRef.APIVersion, Kind: baa.Spec.ScaleTargetRef.Kind, Name: baa.Spec.ScaleTargetRef.Name}
	state, err := r.Scaler.Get(ctx, ref)
	if err != nil {
		reason := v1alpha1.ReasonFailedGetScale
		switch {
		case errors.Is(err, scale.ErrTargetNotFound):
			reason = v1alpha1.ReasonTargetNotFound
		case errors.Is(err, scale.ErrNoScale):
			reason = v1alpha1.ReasonNoScaleSubresource
		}
		setCond(st, gen, v1alpha1.ConditionAbleToScale, false, reason, err.Error())
		setCond(st, gen, v1alpha1.ConditionReady, false, reason, err.Error())
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonFailedGetScale, "GetScale", "%v", err)
		return next
	}
	setCond(st, gen, v1alpha1.ConditionAbleToScale, true, v1alpha1.ReasonSucceededGetScale, "the autoscaler can read and write the target's scale")
	current, ready := int(state.Replicas), int(state.Ready)
	st.CurrentReplicas, st.ReadyReplicas = state.Replicas, state.Ready
	r.Stats.Current.WithLabelValues(baa.Namespace, baa.Name).Set(float64(current))
	l.log.Record(t, current, ready)

	// Metrics of completed intervals, then the policy (it trains on the warm history), then
	// the completed ticks at the policy's own period.
	// The metrics API has no past: its policy starts without history (no warm start).
	hist := series.Series{Name: baa.Namespace + "/" + baa.Name, Step: cfg.interval}
	if l.podCPU == nil {
		if err := r.readHistory(ctx, l, t); err != nil {
			return r.metricFailure(ctx, baa, l, st, t, ref, current, err, next)
		}
		if hist, err = l.historySeries(baa); err != nil {
			return r.metricFailure(ctx, baa, l, st, t, ref, current, err, next)
		}
	}
	if l.pol == nil {
		if err := r.buildPolicy(ctx, baa, l, hist); err != nil {
			reason := v1alpha1.ReasonInvalidPolicy
			switch {
			case errors.Is(err, policy.ErrUnknownPolicy):
				reason = v1alpha1.ReasonUnknownPolicy
			case errors.Is(err, policy.ErrModelMismatch):
				reason = v1alpha1.ReasonModelMismatch
			case errors.Is(err, policy.ErrModel):
				reason = v1alpha1.ReasonModelNotFound
			}
			setCond(st, gen, v1alpha1.ConditionScalingActive, false, reason, err.Error())
			setCond(st, gen, v1alpha1.ConditionReady, false, reason, err.Error())
			r.Events.Eventf(baa, nil, corev1.EventTypeWarning, reason, "BuildPolicy", "%v", err)
			l.last = time.Time{} // retry at the next interval, not the next tick
			return cfg.interval
		}
		// The tick rule of the simulator: a period at or above the interval means once per
		// interval; a shorter one must divide it.
		if p := l.pol.Period(); p > 0 && p < cfg.interval && cfg.interval%p != 0 {
			err := fmt.Errorf("policy %s: period %s does not divide the interval %s", cfg.policyName, p, cfg.interval)
			l.pol = nil
			setCond(st, gen, v1alpha1.ConditionScalingActive, false, v1alpha1.ReasonInvalidPolicy, err.Error())
			setCond(st, gen, v1alpha1.ConditionReady, false, v1alpha1.ReasonInvalidPolicy, err.Error())
			r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonInvalidPolicy, "BuildPolicy", "%v", err)
			l.last = time.Time{}
			return cfg.interval
		}
		if p := l.pol.Period(); p > 0 && p < cfg.interval {
			l.tick = p
			t = now.Truncate(p)
			l.last = t
			next = t.Add(p).Sub(now) + 10*time.Millisecond
		}
	}
	var recent []metrics.Point
	if l.podCPU == nil {
		recent, err = l.source.Range(ctx, metrics.Window{End: t, Step: l.tick, Count: recentTicks})
	} else {
		recent, err = l.readPodCPU(ctx, baa.Namespace, state.Selector, t)
	}
	if err != nil {
		return r.metricFailure(ctx, baa, l, st, t, ref, current, err, next)
	}
	in := metrics.ObserveInput{Now: t, Interval: cfg.interval, Tick: l.tick, Index: int(t.Sub(l.epoch) / cfg.interval),
		History: l.history, Recent: recent, Replicas: current, Ready: ready, Min: cfg.min, Max: cfg.max, SLO: cfg.slo, Log: l.log}
	if _, err := metrics.BuildObservation(in, &l.obs); err != nil {
		return r.metricFailure(ctx, baa, l, st, t, ref, current, err, next)
	}
	if l.failures >= cfg.failuresBeforeFallback {
		r.Events.Eventf(baa, nil, corev1.EventTypeNormal, v1alpha1.ReasonMetricsHealthy, "ReadMetrics", "metrics readable again after %d failed reads; the policy decides again", l.failures)
	}
	l.failures = 0
	st.MetricFailures = 0
	r.Stats.Fallback.WithLabelValues(baa.Namespace, baa.Name).Set(0)
	setCond(st, gen, v1alpha1.ConditionFallback, false, v1alpha1.ReasonMetricsHealthy, "metrics are readable")
	setCond(st, gen, v1alpha1.ConditionScalingActive, true, v1alpha1.ReasonValidMetricFound, fmt.Sprintf("policy %s decides from %d intervals of history", cfg.policyName, len(l.obs.History)))

	began := time.Now()
	dec := l.pol.Decide(&l.obs)
	r.Stats.Decision.WithLabelValues(baa.Namespace, baa.Name).Observe(time.Since(began).Seconds())
	r.decisions.Add(1)

	e := dec.Explanation
	desired, limitReason := l.behavior.apply(t, dec.Replicas, current)
	if c := policy.Clamp(desired, cfg.min, cfg.max); c != desired {
		limitReason = v1alpha1.ReasonTooManyReplicas
		if c > desired {
			limitReason = v1alpha1.ReasonTooFewReplicas
		}
		desired = c
	}
	if limitReason != "" {
		setCond(st, gen, v1alpha1.ConditionScalingLimited, true, limitReason, fmt.Sprintf("the policy asked for %d, limited to %d", dec.Replicas, desired))
	} else {
		setCond(st, gen, v1alpha1.ConditionScalingLimited, false, v1alpha1.ReasonDesiredWithinRange, "the desired count is within range and behavior limits")
	}
	// Burst state follows the policy's regime; a "guard" tick (bascaler's sub-interval
	// check) says nothing about bursts and leaves the state as the last interval set it.
	burst := e.Mode.InBurst() || (e.Mode == policy.ModeGuard && st.Burst == "burst")
	st.Burst = "normal"
	if burst {
		st.Burst = "burst"
		setCond(st, gen, v1alpha1.ConditionBurstDetected, true, v1alpha1.ReasonBurst, e.String())
		r.Stats.Burst.WithLabelValues(baa.Namespace, baa.Name).Set(1)
	} else {
		setCond(st, gen, v1alpha1.ConditionBurstDetected, false, v1alpha1.ReasonNoBurst, "no burst")
		r.Stats.Burst.WithLabelValues(baa.Namespace, baa.Name).Set(0)
	}
	st.Forecast = nil
	for _, kv := range e.Values {
		q := strings.TrimPrefix(kv.Key, "forecast_")
		if q == kv.Key || (q != "p50" && q != "p99") {
			continue
		}
		if st.Forecast == nil {
			st.Forecast = &v1alpha1.ForecastStatus{}
		}
		v := strconv.FormatFloat(kv.Value, 'f', 2, 64)
		if q == "p50" {
			st.Forecast.P50 = v
		} else {
			st.Forecast.P99 = v
		}
		r.Stats.Forecast.WithLabelValues(baa.Namespace, baa.Name, q).Set(kv.Value)
	}
	why := e.String()
	applied := r.apply(ctx, baa, l, st, t, ref, current, desired, why)
	st.DesiredReplicas = int32(desired)
	st.LastDecision = &v1alpha1.DecisionStatus{Policy: cfg.policyName, Replicas: int32(desired), Recommendation: int32(dec.Replicas),
		Explanation: why, Mode: e.Mode.String(), Applied: applied, Time: metav1.NewTime(t)}
	r.Stats.Desired.WithLabelValues(baa.Namespace, baa.Name).Set(float64(desired))
	logger.V(1).Info("decided", "autoscaler", key, "current", current, "desired", desired, "why", why)
	return next
}

// apply writes desired to the target in Auto mode and says whether it did.
func (r *Reconciler) apply(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, st *v1alpha1.BurstAwareAutoscalerStatus, t time.Time, ref scale.Ref, current, desired int, why string) bool {
	gen := baa.Generation
	if baa.Spec.Mode == v1alpha1.ModeObserve {
		setCond(st, gen, v1alpha1.ConditionReady, true, v1alpha1.ReasonObserveOnly, "observe mode: the recommendation is in status.desiredReplicas, the target is not changed")
		return false
	}
	if desired == current {
		setCond(st, gen, v1alpha1.ConditionReady, true, v1alpha1.ReasonReconciled, "replicas are as decided")
		return false
	}
	if err := r.Scaler.Set(ctx, ref, int32(desired)); err != nil {
		setCond(st, gen, v1alpha1.ConditionAbleToScale, false, v1alpha1.ReasonFailedUpdateScale, err.Error())
		setCond(st, gen, v1alpha1.ConditionReady, false, v1alpha1.ReasonFailedUpdateScale, err.Error())
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonFailedRescale, "Rescale", "New size: %d; reason: %s; error: %v", desired, why, err)
		return false
	}
	l.behavior.record(t, current, desired)
	dir := "up"
	if desired < current {
		dir = "down"
	}
	r.Stats.ScaleChanges.WithLabelValues(baa.Namespace, baa.Name, dir).Inc()
	nt := metav1.NewTime(t)
	st.LastScaleTime = &nt
	setCond(st, gen, v1alpha1.ConditionReady, true, v1alpha1.ReasonSucceededRescale, fmt.Sprintf("scaled from %d to %d", current, desired))
	r.Events.Eventf(baa, nil, corev1.EventTypeNormal, v1alpha1.ReasonSuccessfulRescale, "Rescale", "New size: %d; reason: %s", desired, why)
	return true
}

// readHistory brings l.history up to the last interval boundary at or before t: at the first
// step it reads cfg.historyIntervals intervals (the warm start), later only the new ones.
func (r *Reconciler) readHistory(ctx context.Context, l *loop, t time.Time) error {
	cfg := l.cfg
	end := t.Truncate(cfg.interval)
	n := cfg.historyIntervals
	if len(l.history) > 0 {
		n = min(int(end.Sub(l.histEnd)/cfg.interval), cfg.historyIntervals)
	}
	if n <= 0 {
		return nil
	}
	pts, err := l.source.Range(ctx, metrics.Window{End: end, Step: cfg.interval, Count: n})
	if err != nil {
		return err
	}
	if len(l.history) == 0 || n == cfg.historyIntervals {
		l.history = append(l.history[:0], pts...)
	} else {
		l.history = append(l.history, pts...)
		if extra := len(l.history) - cfg.historyIntervals; extra > 0 {
			l.history = append(l.history[:0], l.history[extra:]...)
		}
	}
	l.histEnd = end
	if l.epoch.IsZero() {
		l.epoch = l.history[0].Start
	}
	return nil
}

// readPodCPU reads the metrics API once and records the reading as the tick that ends at t
// (metrics-server's sample covers its window before its timestamp, so it is past data).
// The API keeps no history, so the loop keeps its own: the last recentTicks ticks, and
// completed intervals as the mean of their ticks' CPU. A failed read is recorded as a gap
// (NaN CPU, filled from the previous tick by BuildObservation once reads succeed again).
// Request rate and latency are not measured and are 0; only CPU-only policies run here.
func (l *loop) readPodCPU(ctx context.Context, ns, selector string, t time.Time) ([]metrics.Point, error) {
	cfg := l.cfg
	if l.epoch.IsZero() {
		l.epoch = t.Truncate(cfg.interval)
		l.histEnd = l.epoch
	}
	// Ticks missed while the controller was busy or down are gaps too.
	if n := len(l.ticks); n > 0 {
		for s := l.ticks[n-1].Start.Add(l.tick); s.Add(l.tick).Before(t) && len(l.ticks) < n+recentTicks; s = s.Add(l.tick) {
			l.ticks = append(l.ticks, metrics.Point{Start: s, CPU: math.NaN()})
		}
	}
	rd, err := l.podCPU.Read(ctx, ns, selector)
	p := metrics.Point{Start: t.Add(-l.tick), CPU: rd.Utilization}
	if err != nil {
		p.CPU = math.NaN()
	}
	if n := len(l.ticks); n == 0 || l.ticks[n-1].Start.Before(p.Start) {
		l.ticks = append(l.ticks, p)
	}
	// Completed intervals: mean CPU of the ticks inside each.
	for end := l.histEnd.Add(cfg.interval); !end.After(t); end = end.Add(cfg.interval) {
		iv := metrics.Point{Start: end.Add(-cfg.interval)}
		sum, k := 0.0, 0
		for _, tp := range l.ticks {
			if !tp.Start.Before(iv.Start) && !tp.Start.Add(l.tick).After(end) && !math.IsNaN(tp.CPU) {
				sum, k = sum+tp.CPU, k+1
			}
		}
		iv.CPU = math.NaN()
		if k > 0 {
			iv.CPU = sum / float64(k)
		}
		l.history = append(l.history, iv)
		l.histEnd = end
	}
	if extra := len(l.history) - cfg.historyIntervals; extra > 0 {
		l.history = append(l.history[:0], l.history[extra:]...)
	}
	// Keep enough ticks for Recent and for the interval being filled.
	keep := max(recentTicks, int(cfg.interval/l.tick)+1)
	if extra := len(l.ticks) - keep; extra > 0 {
		l.ticks = append(l.ticks[:0], l.ticks[extra:]...)
	}
	if err != nil {
		return nil, err
	}
	return append([]metrics.Point(nil), l.ticks[max(len(l.ticks)-recentTicks, 0):]...), nil
}

// recentTicks is how many completed ticks Observation.Recent holds: the simulator's default,
// so a policy sees the same Observation in both.
const recentTicks = 64

// historySeries returns the arrival rates of the completed intervals as the policy's
// training history: the numbers BuildObservation shows it (gaps repaired). A history whose
// last interval has no rate is an error (ErrStale): a model must not train on stale data.
func (l *loop) historySeries(baa *v1alpha1.BurstAwareAutoscaler) (series.Series, error) {
	cfg := l.cfg
	hist := series.Series{Name: baa.Namespace + "/" + baa.Name, Step: cfg.interval}
	var obs policy.Observation
	in := metrics.ObserveInput{Now: l.histEnd, Interval: cfg.interval, Tick: cfg.interval, History: l.history, Min: cfg.min, Max: cfg.max, SLO: cfg.slo}
	if _, err := metrics.BuildObservation(in, &obs); err != nil {
		return hist, err
	}
	if len(obs.History) > 0 {
		hist.Start = obs.History[0].Start
	}
	for _, iv := range obs.History {
		hist.Values = append(hist.Values, iv.Rate)
	}
	return hist, nil
}

func (r *Reconciler) buildPolicy(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, hist series.Series) error {
	cfg := l.cfg
	if err := cfg.checkModels(); err != nil {
		return fmt.Errorf("%w: %v", policy.ErrModel, err)
	}
	prof, err := profile(baa, cfg.slo, func(name, key string) (string, error) {
		cm := &corev1.ConfigMap{}
		if err := r.Client.Get(ctx, types.NamespacedName{Namespace: baa.Namespace, Name: name}, cm); err != nil {
			return "", fmt.Errorf("profile ConfigMap %s: %w", name, err)
		}
		v, ok := cm.Data[key]
		if !ok {
			return "", fmt.Errorf("profile ConfigMap %s has no key %s", name, key)
		}
		return v, nil
	})
	if err != nil {
		return err
	}
	env := policy.Env{Interval: cfg.interval, SLO: cfg.slo, Min: cfg.min, Max: cfg.max, Startup: cfg.startup,
		Profile: prof, History: hist, Seed: seed(baa.Namespace, baa.Name), Params: cfg.params}
	p, err := newPolicy(cfg.policyName, env)
	if err != nil {
		return err
	}
	l.pol = p
	return nil
}

// newPolicy builds a policy and turns a panicking factory into an error: a bad model file
// must not take down the controller of every other autoscaler.
func newPolicy(name string, env policy.Env) (p policy.Policy, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, fmt.Errorf("policy %s: building it failed: %v", name, v)
		}
	}()
	return policy.New(name, env)
}

// metricFailure handles a failed metric read: count it, tell, and after
// cfg.failuresBeforeFallback failures let the fallback action decide. No path here lowers
// replicas: without metrics a scale-down is blind.
func (r *Reconciler) metricFailure(ctx context.Context, baa *v1alpha1.BurstAwareAutoscaler, l *loop, st *v1alpha1.BurstAwareAutoscalerStatus, t time.Time, ref scale.Ref, current int, err error, next time.Duration) time.Duration {
	gen := baa.Generation
	cfg := l.cfg
	l.failures++
	st.MetricFailures = int32(l.failures)
	kind := "other"
	for _, k := range []struct {
		err  error
		name string
	}{{metrics.ErrUnavailable, "unavailable"}, {metrics.ErrTimeout, "timeout"}, {metrics.ErrBadResponse, "bad_response"},
		{metrics.ErrQuery, "query"}, {metrics.ErrNoData, "no_data"}, {metrics.ErrManySeries, "many_series"}, {metrics.ErrStale, "stale"},
		{metrics.ErrNoPods, "no_pods"}, {metrics.ErrNoCPURequest, "no_cpu_request"}} {
		if errors.Is(err, k.err) {
			kind = k.name
			break
		}
	}
	r.Stats.ReadErrors.WithLabelValues(baa.Namespace, baa.Name, kind).Inc()
	r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonFailedGetMetrics, "ReadMetrics", "%v", err)
	setCond(st, gen, v1alpha1.ConditionScalingActive, false, v1alpha1.ReasonFailedGetMetrics, err.Error())
	if l.failures < cfg.failuresBeforeFallback {
		setCond(st, gen, v1alpha1.ConditionReady, false, v1alpha1.ReasonFailedGetMetrics,
			fmt.Sprintf("%d of %d failed metric reads before the fallback; holding %d replicas", l.failures, cfg.failuresBeforeFallback, current))
		return next
	}
	desired, why := current, "fallback hold: metrics unavailable, keeping replicas"
	switch cfg.fallbackAction {
	case v1alpha1.FallbackFixed:
		if f := policy.Clamp(cfg.fallbackReplicas, cfg.min, cfg.max); f > current {
			desired, why = f, fmt.Sprintf("fallback fixed: metrics unavailable, scaling up to %d", f)
		} else {
			why = fmt.Sprintf("fallback fixed: metrics unavailable, already at or above %d, not scaling down blind", cfg.fallbackReplicas)
		}
	case v1alpha1.FallbackCPU:
		pts, cerr := l.cpuSource.Range(ctx, metrics.Window{End: t, Step: cfg.interval, Count: 1})
		if cerr == nil && len(pts) == 1 && !math.IsNaN(pts[0].CPU) {
			// HPA rule: desired = ceil(current x utilisation / target), here only upwards.
			want := int(math.Ceil(float64(current) * pts[0].CPU / cfg.fallbackCPUTarget))
			if f := policy.Clamp(want, cfg.min, cfg.max); f > current {
				desired = f
			}
			why = fmt.Sprintf("fallback cpu: utilisation %.2f against target %.2f -> %d (never down without metrics)", pts[0].CPU, cfg.fallbackCPUTarget, desired)
		} else {
			why = fmt.Sprintf("fallback cpu: CPU unreadable too (%v), holding", cerr)
		}
	}
	if l.failures == cfg.failuresBeforeFallback {
		r.Events.Eventf(baa, nil, corev1.EventTypeWarning, v1alpha1.ReasonFallbackActive, "Fallback", "%d consecutive failed metric reads; fallback %s takes over", l.failures, cfg.fallbackAction)
	}
	setCond(st, gen, v1alpha1.ConditionFallback, true, v1alpha1.ReasonFallbackActive, fmt.Sprintf("%d consecutive failed metric reads: %s", l.failures, why))
	r.Stats.Fallback.WithLabelValues(baa.Namespace, baa.Name).Set(1)
	applied := r.apply(ctx, baa, l, st, t, ref, current, desired, why)
	st.DesiredReplicas = int32(desired)
	st.LastDecision = &v1alpha1.DecisionStatus{Policy: cfg.policyName, Replicas: int32(desired), Recommendation: int32(desired),
		Explanation: why, Mode: "fallback", Applied: applied, Time: metav1.NewTime(t)}
	r.Stats.Desired.WithLabelValues(baa.Namespace, baa.Name).Set(float64(desired))
	return next
}
