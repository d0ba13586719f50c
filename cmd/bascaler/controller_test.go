package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/testenv"
)

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

func get(url string) (int, string) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestControllerCommandServesProbesAndMetrics runs `bascaler controller` against a real API
// server (envtest) with a kubeconfig and checks the wiring: leader election, probes, and
// bascaler_* series on /metrics once an autoscaler is reconciled.
func TestControllerCommandServesProbesAndMetrics(t *testing.T) {
	env, cfg := testenv.APIServer(t, false)
	kubeconfig := testenv.MastersKubeconfig(t, env, "bascaler-test")

	metricsAddr, probeAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer runControllerCmd(t, ctx, cancel, "--kubeconfig", kubeconfig, "--metrics-bind-address", metricsAddr,
		"--health-probe-bind-address", probeAddr, "--leader-elect", "--leader-election-namespace", "default")()
	c := testenv.Client(t, cfg)
	labels := map[string]string{"app": "shop"}
	d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "shop"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/app"}}}}}}
	if err := c.Create(ctx, d); err != nil {
		t.Fatal(err)
	}
	// Prometheus at a closed port: every read fails, which the metrics must count.
	baa := &v1alpha1.BurstAwareAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "shop"},
		Spec: v1alpha1.BurstAwareAutoscalerSpec{
			ScaleTargetRef: v1alpha1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "shop"},
			MaxReplicas:    5, SLO: v1alpha1.SLO{Target: "16ms"}, Interval: &metav1.Duration{Duration: time.Second},
			Metrics: v1alpha1.MetricsSpec{Prometheus: v1alpha1.PrometheusSpec{Address: "http://" + freeAddr(t)}},
		}}
	if err := c.Create(ctx, baa); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		code, _ := get("http://" + probeAddr + "/readyz")
		_, body := get("http://" + metricsAddr + "/metrics")
		if code == http.StatusOK && strings.Contains(body, `bascaler_metric_read_errors_total{kind="unavailable",name="shop",namespace="default"}`) &&
			strings.Contains(body, `bascaler_current_replicas{name="shop",namespace="default"} 2`) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("within 60s: /readyz %d, /metrics without the expected bascaler_* series:\n%s", code, grepBascaler(body))
		}
		time.Sleep(300 * time.Millisecond)
	}
}

func grepBascaler(body string) string {
	var out []string
	for _, l := range strings.Split(body, "\n") {
		if strings.HasPrefix(l, "bascaler_") {
			out = append(out, l)
		}
	}
	return fmt.Sprint(out)
}

func TestControllerCommandRejectsABadShard(t *testing.T) {
	cmd := newRootCmd()
	cmd.SetArgs([]string{"controller", "--shard", "2/2", "--kubeconfig", "/nonexistent"})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	if err := cmd.Execute(); err == nil || !strings.Contains(err.Error(), "--shard") || !strings.Contains(err.Error(), "0 <= i < n") {
		t.Fatalf("controller --shard 2/2: error %v, want one naming --shard and the valid range", err)
	}
}

// runControllerCmd starts `bascaler controller args...` until ctx ends; the function it
// returns cancels and waits (30 s at most) for the command to stop, reporting its error.
func runControllerCmd(t *testing.T, ctx context.Context, cancel context.CancelFunc, args ...string) func() {
	t.Helper()
	done := make(chan error, 1)
	root := newRootCmd()
	root.SetArgs(append([]string{"controller"}, args...))
	go func() { done <- root.ExecuteContext(ctx) }()
	return func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("controller exited with %v", err)
			}
		case <-time.After(30 * time.Second):
			t.Error("controller did not stop within 30s of cancel")
		}
	}
}
