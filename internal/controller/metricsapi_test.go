package controller

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/yaml"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/metrics"
)

// Tests of metrics.cpu.source metrics-api: CPU from the metrics.k8s.io API, no Prometheus.
//
// envtest runs no metrics-server. In a cluster metrics.k8s.io is an aggregated API (an
// APIService backed by metrics-server); here a CRD registers the same group, version, kind
// and resource (pods.metrics.k8s.io, kind PodMetrics, namespaced, with containers[].usage.cpu)
// so that the controller's real client reads PodMetrics through the real kube-apiserver, and
// the test writes the usage numbers metrics-server would report. The reader cannot tell the
// difference: it lists PodMetricsList/v1beta1 by label selector, as the HPA does.

var podMetricsOnce sync.Once

// podMetricsCRD stands in for metrics-server's aggregated API.
func podMetricsCRD() *apiextensionsv1.CustomResourceDefinition {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "pods.metrics.k8s.io",
			// *.k8s.io groups are protected; "unapproved" marks a stand-in the API server accepts.
			Annotations: map[string]string{"api-approved.kubernetes.io": "unapproved, test stand-in for the metrics-server aggregated API"}},
		Spec: apiextensionsv1.CustomResourceDefinitionSpec{
			Group: "metrics.k8s.io", Scope: apiextensionsv1.NamespaceScoped,
			Names: apiextensionsv1.CustomResourceDefinitionNames{Plural: "pods", Singular: "podmetrics", Kind: "PodMetrics", ListKind: "PodMetricsList"},
			Versions: []apiextensionsv1.CustomResourceDefinitionVersion{{Name: "v1beta1", Served: true, Storage: true,
				Schema: &apiextensionsv1.CustomResourceValidation{OpenAPIV3Schema: &apiextensionsv1.JSONSchemaProps{Type: "object",
					Properties: map[string]apiextensionsv1.JSONSchemaProps{
						"timestamp": {Type: "string", Format: "date-time"},
						"window":    str,
						"containers": {Type: "array", Items: &apiextensionsv1.JSONSchemaPropsOrArray{Schema: &apiextensionsv1.JSONSchemaProps{
							Type: "object", Required: []string{"name", "usage"},
							Properties: map[string]apiextensionsv1.JSONSchemaProps{
								"name":  str,
								"usage": {Type: "object", Properties: map[string]apiextensionsv1.JSONSchemaProps{"cpu": str, "memory": str}},
							}}}},
					}}}}},
		},
	}
}

// cpuAutoscaler is an hpa autoscaler with CPU from the metrics API and no Prometheus:
// 2 s intervals, an HPA sync every second, target 70%.
func cpuAutoscaler(ns, name, target string) *v1alpha1.BurstAwareAutoscaler {
	return &v1alpha1.BurstAwareAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.BurstAwareAutoscalerSpec{
			ScaleTargetRef: v1alpha1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 3,
			SLO:      v1alpha1.SLO{Metric: "mean", Target: "100ms"},
			Interval: &metav1.Duration{Duration: 2 * time.Second},
			Metrics:  v1alpha1.MetricsSpec{CPU: &v1alpha1.CPUSpec{Source: v1alpha1.CPUSourceMetricsAPI}},
			Policy:   v1alpha1.PolicySpec{Name: "hpa", Params: map[string]string{"period": "1s"}, HistoryIntervals: 30},
			Mode:     v1alpha1.ModeAuto,
		},
	}
}

// readyPod creates a running, ready pod labelled app=<app> with the given CPU request ("" =
// none). envtest has no kubelet: the test writes the status a kubelet would.
func readyPod(t *testing.T, c client.Client, ns, name, app, request string) {
	t.Helper()
	ctr := corev1.Container{Name: "app", Image: "example/app"}
	if request != "" {
		ctr.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(request)}
	}
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{ctr}}}
	ctx := context.Background()
	if err := c.Create(ctx, p); err != nil {
		t.Fatalf("create pod %s/%s: %v", ns, name, err)
	}
	p.Status.Phase = corev1.PodRunning
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: metav1.Now()}}
	if err := c.Status().Update(ctx, p); err != nil {
		t.Fatalf("mark pod %s/%s ready: %v", ns, name, err)
	}
}

// podMetrics writes what metrics-server would serve for a pod: one container's CPU usage.
func podMetrics(t *testing.T, c client.Client, ns, name, app, cpu string) {
	t.Helper()
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
		"metadata":  map[string]any{"namespace": ns, "name": name, "labels": map[string]any{"app": app}},
		"timestamp": time.Now().UTC().Format(time.RFC3339), "window": "30s",
		"containers": []any{map[string]any{"name": "app", "usage": map[string]any{"cpu": cpu, "memory": "64Mi"}}},
	}}
	if err := c.Create(context.Background(), u); err != nil {
		t.Fatalf("create PodMetrics %s/%s: %v", ns, name, err)
	}
}

func TestMetricsAPICPU(t *testing.T) {
	t.Parallel()
	c := cluster(t)

	// Before the group exists, the reader says the API is missing, in words.
	fresh, err := client.New(restCfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	_, err = metrics.PodMetricsCPU{Client: fresh}.Read(context.Background(), "default", "app=none")
	if !errors.Is(err, metrics.ErrUnavailable) || !strings.Contains(err.Error(), "metrics.k8s.io API is not available") {
		t.Fatalf("read without the metrics API: %v, want ErrUnavailable naming metrics.k8s.io", err)
	}
	podMetricsOnce.Do(func() {
		_, err = envtest.InstallCRDs(restCfg, envtest.CRDInstallOptions{CRDs: []*apiextensionsv1.CustomResourceDefinition{podMetricsCRD()}})
	})
	if err != nil {
		t.Fatalf("register metrics.k8s.io: %v", err)
	}
	r := sharedManager(t)

	t.Run("rejected specs", func(t *testing.T) {
		ns := namespace(t, c, "mapi-invalid")
		cases := []struct {
			name   string
			mutate func(*v1alpha1.BurstAwareAutoscaler)
			want   string
		}{
			{"request-rate policy", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.Policy.Name = "threshold" }, "use policy hpa or static:N"},
			{"with prometheus", func(b *v1alpha1.BurstAwareAutoscaler) {
				b.Spec.Metrics.Prometheus = v1alpha1.PrometheusSpec{Address: "http://127.0.0.1:9"}
			}, "remove metrics.prometheus, or use cpu.source cadvisor"},
			{"fallback cpu", func(b *v1alpha1.BurstAwareAutoscaler) {
				b.Spec.Fallback = &v1alpha1.Fallback{Action: v1alpha1.FallbackCPU}
			},
				"fallback action cpu would re-read the metrics API"},
			{"no prometheus with cadvisor", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.Metrics.CPU.Source = v1alpha1.CPUSourceCadvisor },
				"metrics.prometheus is required unless metrics.cpu.source is metrics-api"},
			{"bad cpu source", func(b *v1alpha1.BurstAwareAutoscaler) { b.Spec.Metrics.CPU.Source = "heapster" }, `Unsupported value: "heapster"`},
		}
		for i, tc := range cases {
			b := cpuAutoscaler(ns, fmt.Sprintf("bad-%d", i), "web")
			tc.mutate(b)
			err := c.Create(context.Background(), b)
			if err == nil {
				t.Errorf("%s: accepted", tc.name)
			} else if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, tc.want)
			}
		}
	})

	t.Run("shipped sample is accepted", func(t *testing.T) {
		data, err := os.ReadFile(filepath.Join("..", "..", "deploy", "samples", "metrics-api-web.yaml"))
		if err != nil {
			t.Fatal(err)
		}
		b := &v1alpha1.BurstAwareAutoscaler{}
		if err := yaml.UnmarshalStrict(data, b); err != nil {
			t.Fatalf("deploy/samples/metrics-api-web.yaml: %v", err)
		}
		b.Namespace = namespace(t, c, "mapi-sample")
		if err := c.Create(context.Background(), b); err != nil {
			t.Fatalf("the API server rejects the shipped sample: %v", err)
		}
		_ = c.Delete(context.Background(), b) // its target does not exist: nothing to reconcile
	})

	t.Run("cpu above target scales up without prometheus", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, c, "mapi-up")
		deployment(t, c, ns, "web", 1)
		exp.setRate(ns, "web", 0) // only mirrors spec.replicas into the Deployment's ready status
		readyPod(t, c, ns, "web-0", "web", "500m")
		podMetrics(t, c, ns, "web-0", "web", "450m") // 90% of request against a 70% target
		readyPod(t, c, ns, "other-0", "other", "500m")
		podMetrics(t, c, ns, "other-0", "other", "5m") // another workload's idle pod: not selected
		if err := c.Create(context.Background(), cpuAutoscaler(ns, "web", "web")); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "replicas rise above 1", func() (bool, string) {
			n := replicasOf(t, c, ns, "web")
			return n >= 2, fmt.Sprintf("%d replicas, conditions %v", n, getBAA(t, c, ns, "web").Status.Conditions)
		})
		evs := events(t, c, ns, "web", v1alpha1.ReasonSuccessfulRescale)
		if len(evs) == 0 || !strings.Contains(evs[0].Note, "New size: 2") {
			t.Fatalf("want a SuccessfulRescale event to 2 (ceil(1 x 0.90 / 0.70)), got %+v", evs)
		}
		b := getBAA(t, c, ns, "web")
		if d := b.Status.LastDecision; d == nil || d.Policy != "hpa" {
			t.Errorf("last decision %+v, want one by hpa", d)
		}
		if cond := condition(b, v1alpha1.ConditionScalingActive); cond == nil || cond.Status != metav1.ConditionTrue {
			t.Errorf("ScalingActive %+v, want True", cond)
		}
	})

	t.Run("pod without cpu request is named in condition and event", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, c, "mapi-noreq")
		deployment(t, c, ns, "bare", 2)
		exp.setRate(ns, "bare", 0)
		readyPod(t, c, ns, "bare-0", "bare", "200m")
		readyPod(t, c, ns, "bare-greedy", "bare", "")
		podMetrics(t, c, ns, "bare-0", "bare", "100m")
		podMetrics(t, c, ns, "bare-greedy", "bare", "100m")
		if err := c.Create(context.Background(), cpuAutoscaler(ns, "bare", "bare")); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "FailedGetMetrics naming the pod", func() (bool, string) {
			cond := condition(getBAA(t, c, ns, "bare"), v1alpha1.ConditionScalingActive)
			return cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == v1alpha1.ReasonFailedGetMetrics &&
				strings.Contains(cond.Message, "pod bare-greedy") && strings.Contains(cond.Message, "no CPU request"), fmt.Sprintf("%+v", cond)
		})
		eventually(t, 10*time.Second, "event naming the pod", func() (bool, string) {
			for _, e := range events(t, c, ns, "bare", v1alpha1.ReasonFailedGetMetrics) {
				if strings.Contains(e.Note, "bare-greedy") {
					return true, ""
				}
			}
			return false, ""
		})
		before := r.Decisions()
		eventually(t, 10*time.Second, "controller keeps deciding for others", func() (bool, string) { return r.Decisions() > before, "" })
		if n := replicasOf(t, c, ns, "bare"); n != 2 {
			t.Errorf("replicas changed to %d without a usable metric", n)
		}
	})

	t.Run("missing metrics fall back without scaling down, then recover", func(t *testing.T) {
		t.Parallel()
		ns := namespace(t, c, "mapi-missing")
		deployment(t, c, ns, "quiet", 4)
		exp.setRate(ns, "quiet", 0)
		for i := range 4 {
			readyPod(t, c, ns, fmt.Sprintf("quiet-%d", i), "quiet", "1")
		}
		baa := cpuAutoscaler(ns, "quiet", "quiet")
		baa.Spec.MaxReplicas = 6
		// Scale-down stabilisation off: with metrics at 1% the HPA would cut at once.
		baa.Spec.Policy.Params["window"] = "0s"
		baa.Spec.Fallback = &v1alpha1.Fallback{AfterFailures: 2, Action: v1alpha1.FallbackHold}
		if err := c.Create(context.Background(), baa); err != nil {
			t.Fatal(err)
		}
		eventually(t, 20*time.Second, "fallback condition", func() (bool, string) {
			if n := replicasOf(t, c, ns, "quiet"); n != 4 {
				t.Fatalf("replicas changed to %d without metrics", n)
			}
			b := getBAA(t, c, ns, "quiet")
			cond := condition(b, v1alpha1.ConditionFallback)
			return cond != nil && cond.Status == metav1.ConditionTrue, fmt.Sprintf("%+v", cond)
		})
		evs := events(t, c, ns, "quiet", v1alpha1.ReasonFailedGetMetrics)
		if len(evs) == 0 || !strings.Contains(evs[0].Note, "no PodMetrics yet") {
			t.Errorf("want a FailedGetMetrics event saying no PodMetrics yet, got %+v", evs)
		}
		time.Sleep(3 * time.Second) // more failed ticks: still 4
		if n := replicasOf(t, c, ns, "quiet"); n != 4 {
			t.Fatalf("replicas changed to %d without metrics", n)
		}
		// metrics-server catches up with idle pods: the policy decides again and may now shrink.
		for i := range 4 {
			podMetrics(t, c, ns, fmt.Sprintf("quiet-%d", i), "quiet", "10m")
		}
		eventually(t, 20*time.Second, "metrics healthy again and a scale-down", func() (bool, string) {
			b := getBAA(t, c, ns, "quiet")
			cond := condition(b, v1alpha1.ConditionFallback)
			n := replicasOf(t, c, ns, "quiet")
			return cond != nil && cond.Status == metav1.ConditionFalse && n < 4, fmt.Sprintf("%d replicas, %+v", n, cond)
		})
	})
}
