package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/metrics"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/scale"
)

// Unit tests of one control step with fakes: a fake API client, scaler, metric source and
// clock. The integration tests run the same code against real servers.

type fakeScaler struct {
	mu       sync.Mutex
	replicas int32
	sets     []int32
	err      error
	selector string // the scale status.selector to report
}

func (f *fakeScaler) Get(context.Context, scale.Ref) (scale.State, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return scale.State{}, f.err
	}
	return scale.State{Replicas: f.replicas, Current: f.replicas, Ready: f.replicas, Selector: f.selector}, nil
}

func (f *fakeScaler) Set(_ context.Context, _ scale.Ref, n int32) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.replicas = n
	f.sets = append(f.sets, n)
	return nil
}

type fakeEvents struct {
	mu   sync.Mutex
	list []string // "reason: note"
}

func (f *fakeEvents) Eventf(_ runtime.Object, _ runtime.Object, _, reason, _, note string, args ...interface{}) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.list = append(f.list, reason+": "+fmt.Sprintf(note, args...))
}

func (f *fakeEvents) has(reason string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, e := range f.list {
		if strings.HasPrefix(e, reason+":") {
			return true
		}
	}
	return false
}

// fakeSource serves a constant workload, or fails; it checks that nobody asks for a period
// that has not ended yet.
type fakeSource struct {
	t        *testing.T
	clock    *clocktesting.FakePassiveClock
	rate     float64
	latency  float64
	cpu      float64
	memory   float64 // summed working set, bytes (NaN: not measured)
	fail     bool
	noData   bool                          // every period unmeasured (NaN rate), as before a workload's first scrape
	noSeries bool                          // the queries match no series at all (ErrNoData)
	rateAt   func(start time.Time) float64 // when set, the rate of the period starting at start
	cpuOnly  bool
	// scaler, when set, spreads the CPU demand cpu x demandAt over its current replicas, as
	// real pods share a fixed load.
	scaler   *fakeScaler
	demandAt int32
}

func (f *fakeSource) Range(_ context.Context, w metrics.Window) ([]metrics.Point, error) {
	if w.End.After(f.clock.Now()) {
		f.t.Errorf("source asked for a window ending %v, after now %v: data from the future", w.End, f.clock.Now())
	}
	if f.fail && !f.cpuOnly {
		return nil, &metrics.QueryError{Address: "fake", Query: "q", Kind: metrics.ErrUnavailable}
	}
	if f.noSeries {
		return nil, &metrics.QueryError{Address: "fake", Query: "q", Kind: metrics.ErrNoData}
	}
	pts := make([]metrics.Point, w.Count)
	for i := range pts {
		pts[i] = metrics.Point{Start: w.Start().Add(time.Duration(i) * w.Step), Rate: f.rate, LatencyMeanMS: f.latency,
			LatencyP95MS: f.latency, LatencyP99MS: f.latency, CPU: f.cpu, MemoryBytes: f.memory}
		if f.rateAt != nil {
			pts[i].Rate = f.rateAt(pts[i].Start)
		}
		if f.cpuOnly || f.noData {
			pts[i].Rate = math.NaN()
		}
		if f.scaler != nil {
			f.scaler.mu.Lock()
			pts[i].CPU = f.cpu * float64(f.demandAt) / float64(max(f.scaler.replicas, 1))
			f.scaler.mu.Unlock()
		}
	}
	return pts, nil
}

type rig struct {
	r      *Reconciler
	c      client.Client
	clock  *clocktesting.FakePassiveClock
	scaler *fakeScaler
	events *fakeEvents
	src    *fakeSource
	cpuSrc *fakeSource
	key    types.NamespacedName
}

func newRig(t *testing.T, baa *v1alpha1.BurstAwareAutoscaler, replicas int32) *rig {
	t.Helper()
	clk := clocktesting.NewFakePassiveClock(time.Date(2026, 1, 1, 12, 0, 0, 500e6, time.UTC))
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(baa).WithStatusSubresource(baa).Build()
	rg := &rig{c: c, clock: clk, scaler: &fakeScaler{replicas: replicas}, events: &fakeEvents{},
		key: types.NamespacedName{Namespace: baa.Namespace, Name: baa.Name}}
	rg.src = &fakeSource{t: t, clock: clk, rate: 100, latency: 10, cpu: 0.5}
	rg.cpuSrc = &fakeSource{t: t, clock: clk, cpu: 0.5, cpuOnly: true}
	rg.r = &Reconciler{Client: c, Scaler: rg.scaler, Events: rg.events, Clock: clk,
		NewSource: func(o metrics.PrometheusOptions) (metrics.Source, error) {
			if o.Queries.CPUOnly {
				return rg.cpuSrc, nil
			}
			return rg.src, nil
		}}
	return rg
}

// step advances the clock by d and reconciles once.
func (rg *rig) step(t *testing.T, d time.Duration) *v1alpha1.BurstAwareAutoscaler {
	t.Helper()
	rg.clock.SetTime(rg.clock.Now().Add(d))
	if _, err := rg.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: rg.key}); err != nil {
		t.Fatalf("reconcile: %v", err)
	}
	b := &v1alpha1.BurstAwareAutoscaler{}
	if err := rg.c.Get(context.Background(), rg.key, b); err != nil {
		t.Fatal(err)
	}
	return b
}

func unitBAA(policyName string) *v1alpha1.BurstAwareAutoscaler {
	b := autoscaler("ns", "app", "app", "http://127.0.0.1:9")
	b.Generation = 1
	b.Spec.Policy = v1alpha1.PolicySpec{Name: policyName, HistoryIntervals: 10}
	return b
}

func TestStepDecidesOncePerInterval(t *testing.T) {
	rg := newRig(t, unitBAA("static:3"), 1)
	first := rg.step(t, 0)
	if rg.scaler.replicas != 3 || first.Status.DesiredReplicas != 3 || !first.Status.LastDecision.Applied {
		t.Errorf("replicas %d, status %+v", rg.scaler.replicas, first.Status.LastDecision)
	}
	rg.step(t, 100*time.Millisecond) // woken again within the same 2 s slot
	if n := rg.r.Decisions(); n != 1 {
		t.Fatalf("%d decisions within one interval, want 1", n)
	}
	b := rg.step(t, 2*time.Second)
	if n := rg.r.Decisions(); n != 2 {
		t.Fatalf("%d decisions after the next boundary, want 2", n)
	}
	if len(rg.scaler.sets) != 1 || b.Status.LastDecision.Applied {
		t.Errorf("an unchanged count was written again: sets %v, applied %v", rg.scaler.sets, b.Status.LastDecision.Applied)
	}
	if got := read(t, rg.r.Stats.Desired.WithLabelValues("ns", "app")).GetGauge().GetValue(); got != 3 {
		t.Errorf("bascaler_desired_replicas = %g, want 3", got)
	}
	if got := read(t, rg.r.Stats.Decision.WithLabelValues("ns", "app").(prometheus.Metric)).GetHistogram().GetSampleCount(); got != 2 {
		t.Errorf("decision duration histogram counted %d decisions, want 2", got)
	}
	if !rg.events.has(v1alpha1.ReasonSuccessfulRescale) {
		t.Errorf("no SuccessfulRescale event: %v", rg.events.list)
	}
	// Decisions happen on the interval grid, with all data ending at the decision instant.
	if got := b.Status.LastDecision.Time.Time; got.UnixNano()%int64(2*time.Second) != 0 {
		t.Errorf("decision time %v is not on the 2 s grid", got)
	}
}

func TestObserveModeAndPauseLeaveTheTargetAlone(t *testing.T) {
	obs := unitBAA("static:4")
	obs.Spec.Mode = v1alpha1.ModeObserve
	rg := newRig(t, obs, 1)
	b := rg.step(t, 0)
	if len(rg.scaler.sets) != 0 || b.Status.DesiredReplicas != 4 || b.Status.LastDecision.Applied {
		t.Errorf("observe: sets %v, desired %d, applied %v", rg.scaler.sets, b.Status.DesiredReplicas, b.Status.LastDecision.Applied)
	}

	paused := unitBAA("static:4")
	paused.Annotations = map[string]string{v1alpha1.PausedAnnotation: "true"}
	rg = newRig(t, paused, 1)
	b = rg.step(t, 0)
	cond := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionScalingActive)
	if len(rg.scaler.sets) != 0 || cond == nil || cond.Reason != v1alpha1.ReasonPaused {
		t.Errorf("paused: sets %v, condition %+v", rg.scaler.sets, cond)
	}
}

func TestFallbackNeverScalesDownBlind(t *testing.T) {
	cases := []struct {
		name     string
		fallback *v1alpha1.Fallback
		cpu      float64
		start    int32
		want     int32
	}{
		{"hold keeps replicas", &v1alpha1.Fallback{AfterFailures: 2, Action: v1alpha1.FallbackHold}, 0, 5, 5},
		{"fixed below current does not scale down", &v1alpha1.Fallback{AfterFailures: 2, Action: v1alpha1.FallbackFixed, Replicas: ptr.To[int32](2)}, 0, 5, 5},
		{"fixed above current scales up", &v1alpha1.Fallback{AfterFailures: 2, Action: v1alpha1.FallbackFixed, Replicas: ptr.To[int32](8)}, 0, 5, 8},
		{"cpu above target scales up (HPA rule)", &v1alpha1.Fallback{AfterFailures: 2, Action: v1alpha1.FallbackCPU, CPUTargetPercent: 70}, 1.4, 2, 4},
		{"cpu below target holds", &v1alpha1.Fallback{AfterFailures: 2, Action: v1alpha1.FallbackCPU, CPUTargetPercent: 70}, 0.1, 5, 5},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := unitBAA("static:1") // the policy would go to 1 if it were asked
			b.Spec.Fallback = c.fallback
			rg := newRig(t, b, c.start)
			rg.src.fail = true
			rg.cpuSrc.cpu, rg.cpuSrc.scaler, rg.cpuSrc.demandAt = c.cpu, rg.scaler, c.start
			var st *v1alpha1.BurstAwareAutoscaler
			for i := 0; i < 4; i++ {
				st = rg.step(t, 2*time.Second)
				if rg.scaler.replicas < c.start {
					t.Fatalf("step %d: scaled down blind to %d", i, rg.scaler.replicas)
				}
			}
			if rg.scaler.replicas != c.want {
				t.Errorf("replicas %d, want %d", rg.scaler.replicas, c.want)
			}
			cond := meta.FindStatusCondition(st.Status.Conditions, v1alpha1.ConditionFallback)
			if cond == nil || cond.Status != metav1.ConditionTrue {
				t.Errorf("Fallback condition %+v, want True", cond)
			}
			if !rg.events.has(v1alpha1.ReasonFailedGetMetrics) || !rg.events.has(v1alpha1.ReasonFallbackActive) {
				t.Errorf("events %v lack FailedGetMetrics/FallbackActive", rg.events.list)
			}
			if got := read(t, rg.r.Stats.ReadErrors.WithLabelValues("ns", "app", "unavailable")).GetCounter().GetValue(); got != 4 {
				t.Errorf("bascaler_metric_read_errors_total{kind=unavailable} = %g, want 4", got)
			}
			if st.Status.MetricFailures != 4 {
				t.Errorf("metricFailures %d, want 4", st.Status.MetricFailures)
			}
			// Metrics return: the policy decides again and the fallback clears.
			rg.src.fail = false
			st = rg.step(t, 2*time.Second)
			if cond := meta.FindStatusCondition(st.Status.Conditions, v1alpha1.ConditionFallback); cond.Status != metav1.ConditionFalse {
				t.Errorf("Fallback condition after recovery %+v, want False", cond)
			}
			if rg.scaler.replicas != 1 {
				t.Errorf("after recovery replicas %d, want the policy's 1", rg.scaler.replicas)
			}
		})
	}
}

func TestBehaviorAndBoundsLimitThePolicy(t *testing.T) {
	b := unitBAA("static:9")
	b.Spec.MaxReplicas = 6
	b.Spec.Behavior = &v1alpha1.Behavior{ScaleUp: &v1alpha1.ScalingRules{Policies: []v1alpha1.ScalingPolicy{{Type: v1alpha1.PodsPolicy, Value: 2, PeriodSeconds: 60}}}}
	rg := newRig(t, b, 1)
	st := rg.step(t, 0)
	if rg.scaler.replicas != 3 {
		t.Fatalf("replicas %d, want 3 (1 + 2 pods per 60 s)", rg.scaler.replicas)
	}
	cond := meta.FindStatusCondition(st.Status.Conditions, v1alpha1.ConditionScalingLimited)
	if cond == nil || cond.Status != metav1.ConditionTrue || cond.Reason != v1alpha1.ReasonScaleUpLimit {
		t.Errorf("ScalingLimited %+v, want True/ScaleUpLimit", cond)
	}
	// static:9 clamps itself to the bounds it is built with: it recommends 6.
	if got := st.Status.LastDecision.Recommendation; got != 6 {
		t.Errorf("recommendation %d, want 6", got)
	}
}

func TestUnknownPolicyAndMissingTargetAreConditions(t *testing.T) {
	rg := newRig(t, unitBAA("nope"), 1)
	st := rg.step(t, 0)
	cond := meta.FindStatusCondition(st.Status.Conditions, v1alpha1.ConditionScalingActive)
	if cond == nil || cond.Reason != v1alpha1.ReasonUnknownPolicy || !strings.Contains(cond.Message, "valid:") {
		t.Errorf("condition %+v, want UnknownPolicy listing the valid names", cond)
	}
	rg = newRig(t, unitBAA("static:2"), 1)
	rg.scaler.err = fmt.Errorf("get: %w", scale.ErrTargetNotFound)
	st = rg.step(t, 0)
	cond = meta.FindStatusCondition(st.Status.Conditions, v1alpha1.ConditionAbleToScale)
	if cond == nil || cond.Reason != v1alpha1.ReasonTargetNotFound || !rg.events.has(v1alpha1.ReasonFailedGetScale) {
		t.Errorf("condition %+v events %v", cond, rg.events.list)
	}
	if !errors.Is(rg.scaler.err, scale.ErrTargetNotFound) {
		t.Fatal("fake lost its error")
	}
}

// read returns a metric's current value.
func read(t *testing.T, m prometheus.Metric) *dto.Metric {
	t.Helper()
	out := &dto.Metric{}
	if err := m.Write(out); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestNoMetricsYetIsAFailedReadNotADecision(t *testing.T) {
	rg := newRig(t, unitBAA("static:3"), 1)
	rg.src.noData = true
	st := rg.step(t, 0)
	cond := meta.FindStatusCondition(st.Status.Conditions, v1alpha1.ConditionScalingActive)
	if rg.r.Decisions() != 0 || cond == nil || cond.Reason != v1alpha1.ReasonFailedGetMetrics || st.Status.MetricFailures != 1 {
		t.Fatalf("decisions %d, condition %+v, failures %d", rg.r.Decisions(), cond, st.Status.MetricFailures)
	}
	if !strings.Contains(cond.Message, "no rate measured") {
		t.Errorf("condition message %q should say the last period has no rate", cond.Message)
	}
	rg.src.noData = false
	st = rg.step(t, 2*time.Second)
	if rg.r.Decisions() != 1 || st.Status.MetricFailures != 0 || rg.scaler.replicas != 3 {
		t.Errorf("after data arrives: decisions %d, failures %d, replicas %d", rg.r.Decisions(), st.Status.MetricFailures, rg.scaler.replicas)
	}
}

func TestPolicyPeriodMustDivideTheInterval(t *testing.T) {
	b := unitBAA("hpa")
	b.Spec.Policy.Params = map[string]string{"period": "1500ms"} // the interval is 2 s
	rg := newRig(t, b, 2)
	st := rg.step(t, 0)
	cond := meta.FindStatusCondition(st.Status.Conditions, v1alpha1.ConditionScalingActive)
	if cond == nil || cond.Reason != v1alpha1.ReasonInvalidPolicy || !strings.Contains(cond.Message, "does not divide") || rg.r.Decisions() != 0 {
		t.Errorf("condition %+v, decisions %d", cond, rg.r.Decisions())
	}
	// A dividing period makes the loop tick at it. Recent holds the completed ticks since
	// the warm history's start (10 intervals of 2 s before the first step at 12:00:00), so
	// at 12:00:01 it has 42 ticks of 500 ms, fewer than the driver's 64.
	b = unitBAA("hpa")
	b.Spec.Policy.Params = map[string]string{"period": "500ms"}
	rg = newRig(t, b, 2)
	rg.step(t, 0)
	rg.step(t, 500*time.Millisecond)
	if n := rg.r.Decisions(); n != 2 {
		t.Errorf("%d decisions in two 500 ms ticks, want 2", n)
	}
	if l := rg.r.loops[rg.key]; l.drv.Tick() != 500*time.Millisecond || len(l.drv.Observation().Recent) != 42 {
		t.Errorf("tick %v, recent %d, want 500ms and 42 (at most %d)", l.drv.Tick(), len(l.drv.Observation().Recent), driver.RecentTicks)
	}
}

// A source with no series yet is the driver's "no data yet": the policy decides on empty
// windows (hpa: hold, warming up), nothing counts towards the fallback, and the controller
// warns once that the queries match nothing.
func TestNoSeriesYetDecidesAndWarns(t *testing.T) {
	b := unitBAA("hpa")
	rg := newRig(t, b, 3)
	rg.src.noSeries = true
	var st *v1alpha1.BurstAwareAutoscaler
	for range 4 {
		st = rg.step(t, 2*time.Second)
	}
	if rg.r.Decisions() != 4 || st.Status.MetricFailures != 0 || len(rg.scaler.sets) != 0 {
		t.Fatalf("decisions %d, failures %d, sets %v; want 4 decisions, no failure, no scaling", rg.r.Decisions(), st.Status.MetricFailures, rg.scaler.sets)
	}
	cond := meta.FindStatusCondition(st.Status.Conditions, v1alpha1.ConditionScalingActive)
	if cond == nil || cond.Reason != v1alpha1.ReasonNoMetricsYet {
		t.Fatalf("ScalingActive %+v, want reason %s", cond, v1alpha1.ReasonNoMetricsYet)
	}
	if st.Status.LastDecision == nil || st.Status.LastDecision.Mode != policy.ModeWarmingUp.String() {
		t.Errorf("last decision %+v, want the policy's warming-up hold", st.Status.LastDecision)
	}
	n := 0
	for _, e := range rg.events.list {
		if strings.HasPrefix(e, v1alpha1.ReasonNoMetricsYet) {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d NoMetricsYet events, want exactly 1: %v", n, rg.events.list)
	}
	// Data arrives: the warning clears.
	rg.src.noSeries = false
	st = rg.step(t, 2*time.Second)
	if cond := meta.FindStatusCondition(st.Status.Conditions, v1alpha1.ConditionScalingActive); cond == nil || cond.Reason != v1alpha1.ReasonValidMetricFound {
		t.Errorf("after data arrives: %+v", cond)
	}
}
