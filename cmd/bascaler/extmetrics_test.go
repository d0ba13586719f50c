package main

import (
	"context"
	"net"
	"strconv"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	externalclient "k8s.io/metrics/pkg/client/external_metrics"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/cluster"
	"github.com/bascaler/bascaler/internal/extmetrics"
	"github.com/bascaler/bascaler/internal/testenv"
)

// TestControllerServesExternalMetric runs `bascaler controller --external-metrics-addr`
// against a real API server with aggregation and reads, through it, the decision the
// controller made: Prometheus is unreachable, so after 3 failed reads the fallback (fixed,
// 4 replicas) decides; in Observe mode the Deployment stays at 2, and the metric says 4.
func TestControllerServesExternalMetric(t *testing.T) {
	env, cfg := testenv.APIServer(t, true)
	kubeconfig := testenv.MastersKubeconfig(t, env, "bascaler-test")

	extAddr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer runControllerCmd(t, ctx, cancel, "--kubeconfig", kubeconfig, "--metrics-bind-address", "0",
		"--health-probe-bind-address", freeAddr(t), "--external-metrics-addr", extAddr)()
	c := testenv.Client(t, cfg)
	_, p, _ := net.SplitHostPort(extAddr)
	port, _ := strconv.Atoi(p)
	if err := cluster.RegisterAPIService(ctx, c, "external.metrics.k8s.io", "v1beta1", port, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	lbl := map[string]string{"app": "shop"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "shop"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: lbl},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: lbl},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/app"}}}}}}
	if err := c.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	baa := &v1alpha1.BurstAwareAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "shop"},
		Spec: v1alpha1.BurstAwareAutoscalerSpec{
			ScaleTargetRef: v1alpha1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "shop"},
			MaxReplicas:    5, SLO: v1alpha1.SLO{Target: "16ms"}, Interval: &metav1.Duration{Duration: time.Second},
			Metrics:  v1alpha1.MetricsSpec{Prometheus: v1alpha1.PrometheusSpec{Address: "http://" + freeAddr(t)}},
			Mode:     v1alpha1.ModeObserve,
			Fallback: &v1alpha1.Fallback{AfterFailures: 3, Action: v1alpha1.FallbackFixed, Replicas: ptr.To[int32](4)},
		}}
	if err := c.Create(ctx, baa); err != nil {
		t.Fatal(err)
	}
	em := externalclient.NewForConfigOrDie(cfg).NamespacedMetrics("default")
	sel := labels.SelectorFromSet(labels.Set{extmetrics.LabelAutoscaler: "shop"})
	deadline := time.Now().Add(60 * time.Second)
	for {
		got, err := em.List(extmetrics.MetricName, sel)
		if err == nil && len(got.Items) == 1 && got.Items[0].Value.Value() == 4 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("within 60s the metric is not the fallback's 4: %+v, %v", got, err)
		}
		time.Sleep(300 * time.Millisecond)
	}
	if err := c.Get(ctx, client.ObjectKeyFromObject(d), d); err != nil {
		t.Fatal(err)
	}
	if *d.Spec.Replicas != 2 {
		t.Errorf("Observe mode: replicas %d, want the 2 nobody changed", *d.Spec.Replicas)
	}
}
