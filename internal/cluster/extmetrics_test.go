package cluster_test

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/cluster"
	"github.com/bascaler/bascaler/internal/extmetrics"
)

// TestPlainHPAFollowsExternalMetric: the whole path of a plain HPA that follows bascaler.
// The real controller decides in Observe mode (static:2, then static:5) and writes
// status.desiredReplicas; the external metrics server serves it through the API server's
// aggregation layer; kube-controller-manager's HPA controller reads it as an External
// metric with an AverageValue target of 1 and scales the Deployment; KWOK makes the pods
// Ready. The controller itself writes no replicas (Observe): every change is the HPA's.
func TestPlainHPAFollowsExternalMetric(t *testing.T) {
	c := start(t)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := extmetrics.New(extmetrics.Options{Addr: "127.0.0.1:0", Kubeconfig: cl.Kubeconfig, Reader: c})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	_, p, _ := net.SplitHostPort(srv.Addr())
	port, _ := strconv.Atoi(p)
	if err := cluster.RegisterAPIService(ctx, c, "external.metrics.k8s.io", "v1beta1", port, 60*time.Second); err != nil {
		cancel()
		<-done
		t.Fatal(err)
	}
	t.Cleanup(func() {
		// The APIService goes first, so no one else's discovery sees a dead server.
		if err := cluster.UnregisterAPIService(context.Background(), c, "external.metrics.k8s.io", "v1beta1"); err != nil {
			t.Error(err)
		}
		cancel()
		if err := <-done; err != nil {
			t.Errorf("external metrics server: %v", err)
		}
	})

	ns := "e2e-extmetrics"
	setup(t, c, ns, 1, 20)
	gauges.set(ns, "web", 50, 5)
	b := autoscaler(ns, "web", "Deployment", "static:2", 10)
	b.Spec.Mode = v1alpha1.ModeObserve
	zero := resource.MustParse("0")
	follow := &autoscalingv2.HPAScalingRules{Tolerance: &zero, StabilizationWindowSeconds: ptr.To[int32](0),
		Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 10, PeriodSeconds: 15}}}
	create(t, c, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: podTemplate("web", ns)}},
		b,
		&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MinReplicas:    ptr.To[int32](1), MaxReplicas: 10,
				Behavior: &autoscalingv2.HorizontalPodAutoscalerBehavior{ScaleUp: follow, ScaleDown: follow},
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ExternalMetricSourceType, External: &autoscalingv2.ExternalMetricSource{
					Metric: autoscalingv2.MetricIdentifier{Name: extmetrics.MetricName,
						Selector: &metav1.LabelSelector{MatchLabels: map[string]string{extmetrics.LabelAutoscaler: "web"}}},
					Target: autoscalingv2.MetricTarget{Type: autoscalingv2.AverageValueMetricType, AverageValue: resource.NewQuantity(1, resource.DecimalSI)}}}}}})

	// The HPA reads bascaler's 2 (and so keeps 2 replicas).
	hpaSees := func(want int64) func() (bool, string) {
		return func() (bool, string) {
			h := &autoscalingv2.HorizontalPodAutoscaler{}
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, h); err != nil {
				return false, err.Error()
			}
			for _, m := range h.Status.CurrentMetrics {
				if m.External != nil && m.External.Current.AverageValue != nil && m.External.Current.AverageValue.Value() == want {
					return true, ""
				}
			}
			return false, fmt.Sprintf("HPA status %+v", h.Status)
		}
	}
	eventually(t, 60*time.Second, "the HPA reads bascaler's desired 2", hpaSees(2))
	if n := replicas(t, c, ns, "web"); n != 2 {
		t.Fatalf("replicas %d at desired 2", n)
	}

	// bascaler now wants 5: the HPA follows.
	cur := getBAA(t, c, ns, "web")
	cur.Spec.Policy.Name = "static:5"
	if err := c.Update(ctx, cur); err != nil {
		t.Fatal(err)
	}
	eventually(t, 60*time.Second, "status.desiredReplicas 5", func() (bool, string) {
		st := getBAA(t, c, ns, "web").Status
		return st.DesiredReplicas == 5, fmt.Sprintf("status %+v", st)
	})
	eventually(t, 60*time.Second, "the HPA reads 5", hpaSees(5))
	eventually(t, 60*time.Second, "5 Ready pods of the HPA's scale", func() (bool, string) {
		pods := podsOf(t, c, ns, "web")
		return replicas(t, c, ns, "web") == 5 && readyPods(pods) == 5, fmt.Sprintf("replicas %d, %d ready", replicas(t, c, ns, "web"), readyPods(pods))
	})
	h := &autoscalingv2.HorizontalPodAutoscaler{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: "web"}, h); err != nil {
		t.Fatal(err)
	}
	if h.Status.DesiredReplicas != 5 || h.Status.LastScaleTime == nil {
		t.Errorf("HPA status %+v, want desired 5 after a scale", h.Status)
	}
	if d := getBAA(t, c, ns, "web").Status.LastDecision; d == nil || d.Applied {
		t.Errorf("last decision %+v: in Observe mode the controller must not have written replicas", d)
	}
}
