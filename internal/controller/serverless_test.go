package controller

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/bascaler/bascaler/api/v1alpha1"
)

// The API server refuses minReplicas 0 unless something still counts requests with no pod.
func TestServerlessMinReplicasZeroNeedsAWakeUpSource(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c, "wakeup-cel")
	zero := func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.MinReplicas = ptr.To[int32](0) }
	for i, tc := range []struct {
		name   string
		mutate func(*v1alpha1.BurstAwareAutoscaler)
		want   string // "" = accepted
	}{
		{"istio destination only", zero, v1alpha1.MinReplicasZeroMessage},
		{"http destination only", func(b *v1alpha1.BurstAwareAutoscaler) { zero(b); b.Spec.Metrics.Preset = "http" }, v1alpha1.MinReplicasZeroMessage},
		{"istio with source reporter", func(b *v1alpha1.BurstAwareAutoscaler) {
			zero(b)
			b.Spec.Metrics.WakeUp = &v1alpha1.WakeUpSpec{Source: v1alpha1.WakeUpIstioSource}
		}, ""},
		{"keda http interceptor", func(b *v1alpha1.BurstAwareAutoscaler) {
			zero(b)
			b.Spec.Metrics.WakeUp = &v1alpha1.WakeUpSpec{Source: v1alpha1.WakeUpKEDAHTTP}
		}, ""},
		{"nginx ingress counts at the gateway", func(b *v1alpha1.BurstAwareAutoscaler) { zero(b); b.Spec.Metrics.Preset = "nginx-ingress" }, ""},
		{"min 1 needs none", func(b *v1alpha1.BurstAwareAutoscaler) {}, ""},
		{"custom without query", func(b *v1alpha1.BurstAwareAutoscaler) {
			zero(b)
			b.Spec.Metrics.WakeUp = &v1alpha1.WakeUpSpec{Source: v1alpha1.WakeUpCustom}
		}, "wakeUp.source custom requires wakeUp.query"},
		{"custom query", func(b *v1alpha1.BurstAwareAutoscaler) {
			zero(b)
			b.Spec.Metrics.WakeUp = &v1alpha1.WakeUpSpec{Source: v1alpha1.WakeUpCustom, Query: `sum(rate(gateway_requests_total{svc="$target"}[$interval]))`, Counts: "arrivals"}
		}, ""},
		{"query with a named source", func(b *v1alpha1.BurstAwareAutoscaler) {
			b.Spec.Metrics.WakeUp = &v1alpha1.WakeUpSpec{Source: v1alpha1.WakeUpIstioSource, Query: "x"}
		}, "wakeUp.query and wakeUp.counts are only for wakeUp.source custom"},
		{"unknown source", func(b *v1alpha1.BurstAwareAutoscaler) {
			b.Spec.Metrics.WakeUp = &v1alpha1.WakeUpSpec{Source: "gateway"}
		}, `Unsupported value: "gateway"`},
		{"wake-up without prometheus", func(b *v1alpha1.BurstAwareAutoscaler) {
			b.Spec.Policy.Name = "hpa"
			b.Spec.Metrics.Prometheus = v1alpha1.PrometheusSpec{}
			b.Spec.Metrics.CPU = &v1alpha1.CPUSpec{Source: v1alpha1.CPUSourceMetricsAPI}
			b.Spec.Metrics.WakeUp = &v1alpha1.WakeUpSpec{Source: v1alpha1.WakeUpIstioSource}
		}, "metrics.wakeUp is read from Prometheus: configure metrics.prometheus"},
	} {
		b := autoscaler(ns, fmt.Sprintf("z-%d", i), "shop", "http://127.0.0.1:9")
		b.Spec.Mode = v1alpha1.ModeObserve
		tc.mutate(b)
		err := c.Create(context.Background(), b)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%s: rejected: %v", tc.name, err)
		case tc.want != "" && err == nil:
			t.Errorf("%s: accepted", tc.name)
		case tc.want != "" && !strings.Contains(err.Error(), tc.want):
			t.Errorf("%s: error %q does not say %q", tc.name, err, tc.want)
		}
	}
}

// TestServerlessScalesToZeroAndWakesUp runs the controller against envtest and a real
// Prometheus on a workload whose traffic goes idle and then returns. With no pod the
// destination-side series (Istio reporter="destination") vanish; the source-side count
// (reporter="source") keeps counting, and that wakes the workload up. The decisions go
// through the driver, as in the simulator; the events and status say when and why.
func TestServerlessScalesToZeroAndWakesUp(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	sharedManager(t)
	p := prom(t)
	ns := namespace(t, c, "serverless")
	deployment(t, c, ns, "fn", 1)
	exp.setRate(ns, "fn", 20)
	exp.setServerless(ns, "fn")
	baa := autoscaler(ns, "fn", "fn", p.URL)
	baa.Spec.MinReplicas = ptr.To[int32](0)
	baa.Spec.Metrics.WakeUp = &v1alpha1.WakeUpSpec{Source: v1alpha1.WakeUpIstioSource}
	baa.Spec.Policy = v1alpha1.PolicySpec{Name: "keepalive:4s", HistoryIntervals: 30}
	// The HPA's default 300 s scale-down stabilisation would keep the pod for 5 minutes.
	baa.Spec.Behavior = &v1alpha1.Behavior{ScaleDown: &v1alpha1.ScalingRules{StabilizationWindowSeconds: ptr.To[int32](0)}}
	if err := c.Create(context.Background(), baa); err != nil {
		t.Fatal(err)
	}
	// Warm while traffic flows.
	time.Sleep(6 * time.Second)
	if n := replicasOf(t, c, ns, "fn"); n < 1 {
		t.Fatalf("scaled to %d while traffic flows at 20 req/s", n)
	}
	// Idle: the keep-alive (4 s) passes and the workload goes to zero.
	exp.setRate(ns, "fn", 0)
	eventually(t, 40*time.Second, "scale to zero", func() (bool, string) {
		n := replicasOf(t, c, ns, "fn")
		return n == 0, fmt.Sprintf("%d replicas, last decision %+v", n, getBAA(t, c, ns, "fn").Status.LastDecision)
	})
	b := getBAA(t, c, ns, "fn")
	sv := b.Status.Serverless
	if sv == nil || sv.ScaledToZeroTime == nil || sv.ScaledToZeroReason == "" {
		t.Fatalf("status.serverless %+v, want when and why it scaled to zero", sv)
	}
	if evs := events(t, c, ns, "fn", v1alpha1.ReasonScaledToZero); len(evs) == 0 || !strings.Contains(evs[0].Note, "Scaled to zero from 1") {
		t.Fatalf("ScaledToZero events %+v, want one saying it scaled to zero from 1", evs)
	}
	// Zero replicas stay zero while nothing arrives, although the destination's series
	// are gone (the wake-up source still answers: the controller keeps deciding).
	time.Sleep(4 * time.Second)
	if n := replicasOf(t, c, ns, "fn"); n != 0 {
		t.Fatalf("%d replicas with no traffic, want 0", n)
	}
	if cond := condition(getBAA(t, c, ns, "fn"), v1alpha1.ConditionScalingActive); cond == nil || cond.Status != metav1.ConditionTrue {
		t.Fatalf("ScalingActive %+v at zero replicas, want True (the wake-up source answers)", cond)
	}
	// Traffic returns: only the source side counts it, and that wakes the workload up.
	returned := time.Now()
	exp.setRate(ns, "fn", 20)
	eventually(t, 30*time.Second, "wake up", func() (bool, string) {
		n := replicasOf(t, c, ns, "fn")
		return n >= 1, fmt.Sprintf("%d replicas, status %+v", n, getBAA(t, c, ns, "fn").Status.Serverless)
	})
	b = getBAA(t, c, ns, "fn")
	sv = b.Status.Serverless
	if sv.WokeUpTime == nil || sv.WokeUpTime.Time.Before(returned.Add(-time.Second)) || sv.WokeUpReason == "" {
		t.Fatalf("status.serverless %+v, want a wake-up after traffic returned at %s, with its reason", sv, returned)
	}
	evs := events(t, c, ns, "fn", v1alpha1.ReasonWokeUp)
	if len(evs) == 0 || !strings.Contains(evs[0].Note, "Woke up from zero") {
		t.Fatalf("WokeUp events %+v, want one", evs)
	}
	t.Logf("woke up %s after traffic returned: %s", sv.WokeUpTime.Sub(returned).Round(100*time.Millisecond), evs[0].Note)
}

// Objects written before the CEL rule existed are refused by the controller with the same
// message.
func TestServerlessResolveRefusesMinZeroWithoutWakeUp(t *testing.T) {
	b := autoscaler("ns", "a", "shop", "http://127.0.0.1:9")
	b.Spec.MinReplicas = ptr.To[int32](0)
	if _, err := resolve(b, ""); err == nil || !strings.Contains(err.Error(), v1alpha1.MinReplicasZeroMessage) {
		t.Fatalf("resolve: error %v, want the minReplicas 0 message", err)
	}
	b.Spec.Metrics.WakeUp = &v1alpha1.WakeUpSpec{Source: v1alpha1.WakeUpIstioSource}
	s, err := resolve(b, "")
	if err != nil || s.min != 0 || s.queries.WakeUp != v1alpha1.WakeUpIstioSource {
		t.Fatalf("with a wake-up source: %+v, %v", s.queries, err)
	}
}

func TestServerlessShippedSampleIsAccepted(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	_ = c.Delete(context.Background(), createSample(t, c, "istio-serverless.yaml"))
}
