package controller

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/bascaler/bascaler/api/v1alpha1"
)

// autoscaler returns a spec for the test workload: threshold policy (latency above the
// 16 ms SLO -> +1 pod per interval), 2 s intervals, Istio metrics from prometheus at addr.
func autoscaler(ns, name, target, addr string) *v1alpha1.BurstAwareAutoscaler {
	return &v1alpha1.BurstAwareAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.BurstAwareAutoscalerSpec{
			ScaleTargetRef: v1alpha1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 10,
			SLO:      v1alpha1.SLO{Metric: "mean", Target: "16ms"},
			Interval: &metav1.Duration{Duration: 2 * time.Second},
			Metrics: v1alpha1.MetricsSpec{Prometheus: v1alpha1.PrometheusSpec{Address: addr}, Preset: "istio",
				CPU: &v1alpha1.CPUSpec{RequestMillicores: ptr.To[int32](1000)}},
			Policy: v1alpha1.PolicySpec{Name: "threshold", Params: map[string]string{"cpu-low": "0.2"}, HistoryIntervals: 30},
			Mode:   v1alpha1.ModeAuto,
		},
	}
}

func getBAA(t *testing.T, c client.Client, ns, name string) *v1alpha1.BurstAwareAutoscaler {
	t.Helper()
	b := &v1alpha1.BurstAwareAutoscaler{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, b); err != nil {
		t.Fatalf("get autoscaler %s/%s: %v", ns, name, err)
	}
	return b
}

func condition(b *v1alpha1.BurstAwareAutoscaler, typ string) *metav1.Condition {
	return meta.FindStatusCondition(b.Status.Conditions, typ)
}

// events lists the events about the named object with the given reason.
func events(t *testing.T, c client.Client, ns, name, reason string) []eventsv1.Event {
	t.Helper()
	var list eventsv1.EventList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatalf("list events: %v", err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

func TestRisingLoadScalesUpAndSaysWhy(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	sharedManager(t)
	p := prom(t)
	ns := namespace(t, c, "rising")
	deployment(t, c, ns, "shop", 1)
	// 200 req/s: one pod sees 200 req/s (85 ms); 4 pods see 50 req/s each (10 ms).
	exp.setRate(ns, "shop", 200)
	if err := c.Create(context.Background(), autoscaler(ns, "shop", "shop", p.URL)); err != nil {
		t.Fatal(err)
	}
	// Threshold adds one pod per 2 s interval: 3 steps, plus warm-up and scrape lag.
	eventually(t, 40*time.Second, "replicas reach 4", func() (bool, string) {
		n := replicasOf(t, c, ns, "shop")
		return n >= 4, fmt.Sprintf("%d replicas, conditions %v", n, getBAA(t, c, ns, "shop").Status.Conditions)
	})
	b := getBAA(t, c, ns, "shop")
	if b.Status.LastDecision == nil || b.Status.LastScaleTime == nil {
		t.Fatalf("status lacks the decision or scale time: %+v", b.Status)
	}
	evs := events(t, c, ns, "shop", v1alpha1.ReasonSuccessfulRescale)
	if len(evs) == 0 || !strings.Contains(evs[0].Note, "latency above SLO") {
		t.Fatalf("want a SuccessfulRescale event saying latency above SLO, got %+v", evs)
	}
	if cond := condition(b, v1alpha1.ConditionScalingActive); cond == nil || cond.Status != metav1.ConditionTrue {
		t.Errorf("ScalingActive condition %+v, want True", cond)
	}
	// With 4 pods the latency is back within the SLO: the count must settle, not run to max.
	time.Sleep(6 * time.Second)
	if n := replicasOf(t, c, ns, "shop"); n > 6 {
		t.Errorf("replicas ran away to %d at 50 req/s per pod", n)
	}
}

func TestObserveModeRecommendsWithoutScaling(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	sharedManager(t)
	p := prom(t)
	ns := namespace(t, c, "observe")
	deployment(t, c, ns, "shop", 1)
	exp.setRate(ns, "shop", 200)
	baa := autoscaler(ns, "shop", "shop", p.URL)
	baa.Spec.Mode = v1alpha1.ModeObserve
	if err := c.Create(context.Background(), baa); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "a recommendation above 1", func() (bool, string) {
		b := getBAA(t, c, ns, "shop")
		if n := replicasOf(t, c, ns, "shop"); n != 1 {
			t.Fatalf("observe mode changed replicas to %d", n)
		}
		d := b.Status.LastDecision
		return d != nil && b.Status.DesiredReplicas > 1, fmt.Sprintf("status %+v", b.Status.LastDecision)
	})
	b := getBAA(t, c, ns, "shop")
	if b.Status.LastDecision.Applied {
		t.Error("observe mode marked a decision applied")
	}
	if cond := condition(b, v1alpha1.ConditionReady); cond == nil || cond.Reason != v1alpha1.ReasonObserveOnly {
		t.Errorf("Ready condition %+v, want reason ObserveOnly", cond)
	}
	time.Sleep(4 * time.Second)
	if n := replicasOf(t, c, ns, "shop"); n != 1 {
		t.Fatalf("observe mode changed replicas to %d", n)
	}
}

func TestPrometheusStoppedFallsBackWithoutScalingDown(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	sharedManager(t)
	own, err := startProm()
	if err != nil {
		t.Fatal(err)
	}
	defer own.Stop()
	ns := namespace(t, c, "fallback")
	deployment(t, c, ns, "shop", 5)
	exp.setRate(ns, "shop", 100) // 20 req/s per pod: fast and CPU 0.2, a candidate for scale-down
	baa := autoscaler(ns, "shop", "shop", own.URL)
	baa.Spec.Policy.Params = map[string]string{"cpu-low": "0.1"} // hold at 5 while metrics flow
	baa.Spec.Fallback = &v1alpha1.Fallback{AfterFailures: 2, Action: v1alpha1.FallbackFixed, Replicas: ptr.To[int32](7)}
	if err := c.Create(context.Background(), baa); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "a decision from metrics", func() (bool, string) {
		b := getBAA(t, c, ns, "shop")
		cond := condition(b, v1alpha1.ConditionScalingActive)
		return cond != nil && cond.Status == metav1.ConditionTrue, fmt.Sprintf("%+v", cond)
	})
	if err := own.Stop(); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "fallback condition", func() (bool, string) {
		b := getBAA(t, c, ns, "shop")
		cond := condition(b, v1alpha1.ConditionFallback)
		return cond != nil && cond.Status == metav1.ConditionTrue, fmt.Sprintf("%+v", cond)
	})
	// The fixed action scales up to 7; nothing ever goes below 5.
	eventually(t, 10*time.Second, "fallback replicas", func() (bool, string) {
		n := replicasOf(t, c, ns, "shop")
		if n < 5 {
			t.Fatalf("scaled down blind to %d", n)
		}
		return n == 7, fmt.Sprintf("%d replicas", n)
	})
	if len(events(t, c, ns, "shop", v1alpha1.ReasonFailedGetMetrics)) == 0 {
		t.Error("no FailedGetMetrics event")
	}
	b := getBAA(t, c, ns, "shop")
	if cond := condition(b, v1alpha1.ConditionScalingActive); cond.Status != metav1.ConditionFalse || cond.Reason != v1alpha1.ReasonFailedGetMetrics {
		t.Errorf("ScalingActive %+v, want False/FailedGetMetrics", cond)
	}
}

func TestInvalidSpecsAreRejectedReadably(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	ns := namespace(t, c, "invalid")
	cases := []struct {
		name   string
		mutate func(*v1alpha1.BurstAwareAutoscaler)
		want   string
	}{
		{"min above max", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.MinReplicas = ptr.To[int32](5); b.Spec.MaxReplicas = 2 },
			"minReplicas must be less than or equal to maxReplicas"},
		{"negative slo", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.SLO.Target = "-5ms" }, "slo.target must be a positive duration"},
		{"zero slo", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.SLO.Target = "0ms" }, "slo.target must be a positive duration"},
		{"bad preset", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.Metrics.Preset = "nginx" }, `Unsupported value: "nginx"`},
		{"custom without queries", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.Metrics.Preset = "custom" },
			"preset custom requires custom.rate and custom.latency queries"},
		{"bad slo metric", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.SLO.Metric = "p50" }, `Unsupported value: "p50"`},
		{"fixed fallback without replicas", func(b *v1alpha1.BurstAwareAutoscaler) {
			b.Spec.Fallback = &v1alpha1.Fallback{Action: v1alpha1.FallbackFixed}
		}, "fallback action fixed requires replicas"},
		{"interval too short", func(b *v1alpha1.BurstAwareAutoscaler) {
			b.Spec.Interval = &metav1.Duration{Duration: 100 * time.Millisecond}
		},
			"interval must be between 1s and 1h"},
	}
	for i, tc := range cases {
		b := autoscaler(ns, fmt.Sprintf("bad-%d", i), "shop", "http://127.0.0.1:9")
		tc.mutate(b)
		err := c.Create(context.Background(), b)
		if err == nil {
			t.Errorf("%s: accepted", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %q does not say %q", tc.name, err, tc.want)
		}
	}
}

func TestBrokenTargetsAndModelsSetConditionsWithoutCrashing(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	r := sharedManager(t)
	p := prom(t)
	ns := namespace(t, c, "broken")
	deployment(t, c, ns, "doomed", 2)
	cm := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "plain"}}
	if err := c.Create(context.Background(), cm); err != nil {
		t.Fatal(err)
	}
	exp.setRate(ns, "doomed", 20)
	cases := []struct {
		name, reason string
		mutate       func(*v1alpha1.BurstAwareAutoscaler)
		condType     string
		event        string
	}{
		{"missing", v1alpha1.ReasonTargetNotFound, func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.ScaleTargetRef.Name = "nothere" },
			v1alpha1.ConditionAbleToScale, v1alpha1.ReasonFailedGetScale},
		{"noscale", v1alpha1.ReasonNoScaleSubresource, func(b *v1alpha1.BurstAwareAutoscaler) {
			b.Spec.ScaleTargetRef = v1alpha1.CrossVersionObjectReference{APIVersion: "v1", Kind: "ConfigMap", Name: "plain"}
		}, v1alpha1.ConditionAbleToScale, v1alpha1.ReasonFailedGetScale},
		{"nomodel", v1alpha1.ReasonModelNotFound, func(b *v1alpha1.BurstAwareAutoscaler) {
			b.Spec.ScaleTargetRef.Name = "doomed"
			b.Spec.Policy = v1alpha1.PolicySpec{Name: "bascaler", Forecaster: &v1alpha1.ModelRef{Kind: "arima", Path: "/nonexistent/model"}, HistoryIntervals: 30}
		}, v1alpha1.ConditionScalingActive, v1alpha1.ReasonModelNotFound},
		{"unknownpolicy", v1alpha1.ReasonUnknownPolicy, func(b *v1alpha1.BurstAwareAutoscaler) {
			b.Spec.ScaleTargetRef.Name = "doomed"
			b.Spec.Policy = v1alpha1.PolicySpec{Name: "no-such-policy"}
		}, v1alpha1.ConditionScalingActive, v1alpha1.ReasonUnknownPolicy},
	}
	for _, tc := range cases {
		b := autoscaler(ns, tc.name, "shop", p.URL)
		tc.mutate(b)
		if err := c.Create(context.Background(), b); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
	}
	for _, tc := range cases {
		eventually(t, 30*time.Second, tc.name+" condition "+tc.reason, func() (bool, string) {
			cond := condition(getBAA(t, c, ns, tc.name), tc.condType)
			return cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == tc.reason, fmt.Sprintf("%+v", cond)
		})
		eventually(t, 10*time.Second, tc.name+" event "+tc.event, func() (bool, string) {
			return len(events(t, c, ns, tc.name, tc.event)) > 0, ""
		})
	}
	// A target deleted under a working autoscaler.
	live := autoscaler(ns, "live", "doomed", p.URL)
	if err := c.Create(context.Background(), live); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "live autoscaler decides", func() (bool, string) {
		return getBAA(t, c, ns, "live").Status.LastDecision != nil, ""
	})
	if err := c.Delete(context.Background(), deploymentRef(ns, "doomed")); err != nil {
		t.Fatal(err)
	}
	eventually(t, 20*time.Second, "deleted target reported", func() (bool, string) {
		cond := condition(getBAA(t, c, ns, "live"), v1alpha1.ConditionAbleToScale)
		return cond != nil && cond.Reason == v1alpha1.ReasonTargetNotFound, fmt.Sprintf("%+v", cond)
	})
	// The controller survived all of it and still decides for the other autoscalers.
	before := r.Decisions()
	eventually(t, 10*time.Second, "controller keeps deciding", func() (bool, string) { return r.Decisions() > before, "" })
}

func deploymentRef(ns, name string) client.Object {
	d := &appsv1.Deployment{}
	d.Namespace, d.Name = ns, name
	return d
}

func TestOnlyTheLeaderActs(t *testing.T) {
	c := cluster(t)
	p := prom(t)
	ns := namespace(t, c, "leader")
	deployment(t, c, ns, "shop", 1)
	exp.setRate(ns, "shop", 60)
	id := "bascaler-test-leader"
	mgrA, ra := newManager(t, id)
	mgrB, rb := newManager(t, id)
	ctxA, stopA := context.WithCancel(context.Background())
	ctxB, stopB := context.WithCancel(context.Background())
	doneA, doneB := make(chan struct{}), make(chan struct{})
	go func() { _ = mgrA.Start(ctxA); close(doneA) }()
	// Start B after A holds the lease, so that the leader is known.
	select {
	case <-mgrA.Elected():
	case <-time.After(30 * time.Second):
		t.Fatal("manager A not elected within 30s")
	}
	go func() { _ = mgrB.Start(ctxB); close(doneB) }()
	defer func() { stopB(); <-doneB }()
	baa := autoscaler(ns, "shop", "shop", p.URL)
	if err := c.Create(context.Background(), baa); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "the leader decides", func() (bool, string) {
		return ra.Decisions() >= 3, fmt.Sprintf("A %d, B %d decisions", ra.Decisions(), rb.Decisions())
	})
	if n := rb.Decisions(); n != 0 {
		t.Fatalf("the follower made %d decisions while A led", n)
	}
	// The leader steps down: B takes over.
	stopA()
	<-doneA
	eventually(t, 30*time.Second, "the new leader decides", func() (bool, string) {
		return rb.Decisions() >= 2, fmt.Sprintf("B %d decisions", rb.Decisions())
	})
	_ = c.Delete(context.Background(), baa)
}

// createSample creates the autoscaler of deploy/samples/file (strictly parsed) in its
// namespace, failing the test when the API server rejects it.
func createSample(t *testing.T, c client.Client, file string) *v1alpha1.BurstAwareAutoscaler {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "samples", file))
	if err != nil {
		t.Fatal(err)
	}
	b := &v1alpha1.BurstAwareAutoscaler{}
	if err := yaml.UnmarshalStrict(data, b); err != nil {
		t.Fatalf("deploy/samples/%s: %v", file, err)
	}
	// Samples share namespaces (prod): the second one finds it.
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: b.Namespace}}); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatalf("create namespace %s: %v", b.Namespace, err)
	}
	if err := c.Create(context.Background(), b); err != nil {
		t.Fatalf("the API server rejects the shipped sample %s: %v", file, err)
	}
	return b
}

func TestShippedSampleIsAccepted(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	b := createSample(t, c, "istio-shop.yaml")
	// Defaults from the CRD schema are filled in.
	got := getBAA(t, c, b.Namespace, b.Name)
	if got.Spec.Policy.HistoryIntervals != 512 || got.Spec.Metrics.Prometheus.Timeout == nil {
		t.Errorf("CRD defaults not applied: historyIntervals %d, timeout %v", got.Spec.Policy.HistoryIntervals, got.Spec.Metrics.Prometheus.Timeout)
	}
	// Nobody reconciles namespace prod's target (it does not exist): remove the object.
	_ = c.Delete(context.Background(), got)
	r := createSample(t, c, "istio-shop-retrain.yaml")
	if got := getBAA(t, c, r.Namespace, r.Name); got.Spec.Policy.Training.Agent == nil || got.Spec.Policy.Training.Agent.Steps != 150000 {
		t.Errorf("retrain sample: training %+v", got.Spec.Policy.Training)
	}
	_ = c.Delete(context.Background(), r)
	// training.agent without training.job is refused by the CRD's rule.
	bad := r.DeepCopy()
	bad.ResourceVersion, bad.Name = "", "no-job"
	bad.Spec.Policy.Training.Job = nil
	if err := c.Create(context.Background(), bad); err == nil || !strings.Contains(err.Error(), "training.agent trains in a Job") {
		t.Errorf("training.agent without job: %v", err)
	}
}
