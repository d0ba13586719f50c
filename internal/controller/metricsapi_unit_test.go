package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bascaler/bascaler/api/v1alpha1"
)

// fakeMetricsAPI serves one ready pod (request 1 CPU) and its PodMetrics with usage cpu
// cores, or fails the PodMetrics list.
type fakeMetricsAPI struct {
	cpu  float64
	fail bool
}

func (f *fakeMetricsAPI) Get(context.Context, client.ObjectKey, client.Object, ...client.GetOption) error {
	return errors.New("fakeMetricsAPI: Get not used")
}

func (f *fakeMetricsAPI) List(_ context.Context, list client.ObjectList, _ ...client.ListOption) error {
	ul := list.(*unstructured.UnstructuredList)
	switch ul.GetKind() {
	case "PodList":
		ul.Items = []unstructured.Unstructured{{Object: map[string]any{"metadata": map[string]any{"name": "app-0"},
			"spec":   map[string]any{"containers": []any{map[string]any{"name": "c", "resources": map[string]any{"requests": map[string]any{"cpu": "1"}}}}},
			"status": map[string]any{"phase": "Running", "conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}}}}
	case "PodMetricsList":
		if f.fail {
			return errors.New("fakeMetricsAPI: service unavailable")
		}
		ul.Items = []unstructured.Unstructured{{Object: map[string]any{"metadata": map[string]any{"name": "app-0"},
			"containers": []any{map[string]any{"name": "c", "usage": map[string]any{"cpu": fmt.Sprintf("%dm", int(math.Round(f.cpu*1000)))}}}}}}
	}
	return nil
}

func cpuUnitBAA(policyName string) *v1alpha1.BurstAwareAutoscaler {
	b := unitBAA(policyName)
	b.Spec.Metrics = v1alpha1.MetricsSpec{CPU: &v1alpha1.CPUSpec{Source: v1alpha1.CPUSourceMetricsAPI}}
	return b
}

func TestMetricsAPISpecsThatCannotWorkAreConditionsAndEvents(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(*v1alpha1.BurstAwareAutoscaler)
		want   string
	}{
		{"request-rate policy", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.Policy.Name = "kpa" }, `spec.policy.name "kpa" needs request rate or latency`},
		{"threshold scales up on latency only", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.Policy.Name = "threshold" }, `"threshold" needs request rate or latency`},
		{"prometheus too", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.Metrics.Prometheus.Address = "http://127.0.0.1:9" }, "remove metrics.prometheus"},
		{"fallback cpu", func(b *v1alpha1.BurstAwareAutoscaler) {
			b.Spec.Fallback = &v1alpha1.Fallback{Action: v1alpha1.FallbackCPU}
		}, "fallback.action cpu"},
		{"no prometheus, cadvisor", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.Metrics.CPU.Source = v1alpha1.CPUSourceCadvisor }, "prometheus.address is required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := cpuUnitBAA("hpa")
			c.mutate(b)
			rg := newRig(t, b, 2)
			rg.r.MetricsReader = &fakeMetricsAPI{cpu: 0.5}
			got := rg.step(t, 0)
			cond := meta.FindStatusCondition(got.Status.Conditions, v1alpha1.ConditionScalingActive)
			if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != v1alpha1.ReasonInvalidSpec || !strings.Contains(cond.Message, c.want) {
				t.Fatalf("ScalingActive %+v, want False/InvalidSpec saying %q", cond, c.want)
			}
			if !rg.events.has(v1alpha1.ReasonInvalidSpec) {
				t.Errorf("no InvalidSpec event: %v", rg.events.list)
			}
			if len(rg.scaler.sets) != 0 {
				t.Errorf("an invalid spec scaled the target: %v", rg.scaler.sets)
			}
		})
	}
}

func TestMetricsAPIHistoryStartsEmptyAndIsTheLoopsOwnRecord(t *testing.T) {
	b := cpuUnitBAA("hpa")
	b.Spec.Policy.Params = map[string]string{"period": "1s", "target": "0.9"} // 2 s interval, a tick per second
	rg := newRig(t, b, 1)
	rg.scaler.selector = "app=app"
	api := &fakeMetricsAPI{cpu: 0.5}
	rg.r.MetricsReader = api
	rg.step(t, 0)
	l := rg.r.loops[rg.key]
	obs := l.drv.Observation()
	// The first reading describes the tick before the loop's start: like the simulator's
	// first tick, the first decision sees nothing.
	if len(obs.History) != 0 || len(obs.Recent) != 0 {
		t.Fatalf("first step: %d intervals, recent %+v; want no history and no tick (events %v)", len(obs.History), obs.Recent, rg.events.list)
	}
	rg.step(t, time.Second)
	api.fail = true
	rg.step(t, time.Second) // a failed read: no decision, a gap in the record
	if n := rg.r.Decisions(); n != 2 {
		t.Fatalf("%d decisions, want 2 (the failed read must not decide)", n)
	}
	api.fail, api.cpu = false, 0.7
	for range 3 {
		rg.step(t, time.Second)
	}
	if len(obs.History) < 2 {
		t.Fatalf("after 6 s of 2 s intervals, %d completed intervals, want at least 2", len(obs.History))
	}
	for i, iv := range obs.History {
		if math.IsNaN(iv.CPU) || iv.Rate != 0 || iv.LatencyMeanMS != 0 {
			t.Errorf("interval %d: %+v; want measured CPU, no rate, no latency", i, iv)
		}
	}
	rec := obs.Recent
	if len(rec) != 5 {
		t.Fatalf("%d recent ticks, want 5 (one per step after the first, the failed one a gap)", len(rec))
	}
	if rec[0].CPU != 0.5 || rec[1].CPU != 0.5 || rec[4].CPU != 0.7 {
		t.Errorf("the gap is filled from the tick before it and the last tick is fresh: %+v", rec)
	}
	for i := 1; i < len(rec); i++ {
		if rec[i].Start.Sub(rec[i-1].Start) != time.Second {
			t.Errorf("ticks %d and %d are not consecutive: %v, %v", i-1, i, rec[i-1].Start, rec[i].Start)
		}
	}
	if end := rec[len(rec)-1].Start.Add(time.Second); end.After(obs.Now) {
		t.Errorf("the last tick ends at %v, after now %v", end, obs.Now)
	}
	if !rg.events.has(v1alpha1.ReasonFailedGetMetrics) {
		t.Errorf("the failed read made no FailedGetMetrics event: %v", rg.events.list)
	}
}
