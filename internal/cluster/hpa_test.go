package cluster_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bascaler/bascaler/internal/hpa"
)

func init() { _ = apiextensionsv1.AddToScheme(scheme) }

// podMetricsCRD serves pods.metrics.k8s.io from the API server itself, a stand-in for
// metrics-server's aggregated API with the same paths and fields the HPA reads.
func podMetricsCRD() *apiextensionsv1.CustomResourceDefinition {
	str := apiextensionsv1.JSONSchemaProps{Type: "string"}
	return &apiextensionsv1.CustomResourceDefinition{
		ObjectMeta: metav1.ObjectMeta{Name: "pods.metrics.k8s.io",
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

// TestRealHPAFirstDecision: the Kubernetes HPA controller (in kube-controller-manager) and
// internal/hpa see the same pods and CPU (2 Ready pods at 200% of their 100m request, target
// 70%). With spec.behavior set (defaults filled in by the API server) the real HPA must
// decide as hpa.Replicas + hpa.Behavior with the default rules. Without spec.behavior the
// real HPA takes its older path, a scale-up limit of max(2 x current, 4) per sync
// (calculateScaleUpLimit in pkg/controller/podautoscaler/horizontal.go), which
// hpa.NewLegacyBehavior models (bench/hpa-fidelity.md; TestHPAFidelity compares both paths
// over whole trace windows).
func TestRealHPAFirstDecision(t *testing.T) {
	t.Parallel()
	c := start(t)
	ctx := context.Background()
	if err := c.Create(ctx, podMetricsCRD()); err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	ns := "e2e-hpa-metrics"
	setup(t, c, ns, 1, 20)
	const cur, minR, maxR, target = 2, 1, 10, 70
	raw, _ := hpa.Replicas(cur, cur, 0, 0, 2.0, target, 0.1)
	beh, err := hpa.NewBehavior(hpa.DefaultScaleUp(), hpa.DefaultScaleDown(), 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	withBehavior, _ := beh.Apply(time.Now(), cur, raw, minR, maxR)
	old, err := hpa.NewLegacyBehavior(hpa.DownscaleStabilization, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	legacy, _ := old.Apply(time.Now(), cur, raw, minR, maxR)
	cases := []struct {
		name     string
		behavior *autoscalingv2.HorizontalPodAutoscalerBehavior
		want     int
	}{
		{"behavior", &autoscalingv2.HorizontalPodAutoscalerBehavior{}, withBehavior},
		{"legacy", nil, legacy},
	}
	for _, tc := range cases {
		app := "web-" + tc.name
		create(t, c, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app},
			Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](cur), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": app}},
				Template: podTemplate(app, ns)}})
	}
	for _, tc := range cases {
		app := "web-" + tc.name
		eventually(t, 60*time.Second, app+": 2 Ready pods", func() (bool, string) {
			n := readyPods(podsOf(t, c, ns, app))
			return n == cur, fmt.Sprintf("%d ready", n)
		})
	}
	// One metric window after readiness, as metrics-server would first report them.
	time.Sleep(2 * time.Second)
	for _, tc := range cases {
		app := "web-" + tc.name
		for _, p := range podsOf(t, c, ns, app) {
			u := &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "metrics.k8s.io/v1beta1", "kind": "PodMetrics",
				"metadata":  map[string]any{"namespace": ns, "name": p.Name, "labels": map[string]any{"app": app}},
				"timestamp": time.Now().UTC().Format(time.RFC3339), "window": "1s",
				"containers": []any{map[string]any{"name": "app", "usage": map[string]any{"cpu": "200m", "memory": "64Mi"}}},
			}}
			eventually(t, 20*time.Second, "PodMetrics served", func() (bool, string) {
				err := c.Create(ctx, u.DeepCopy())
				return err == nil, fmt.Sprint(err)
			})
		}
		create(t, c, &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: app},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: app},
				MinReplicas:    ptr.To[int32](minR), MaxReplicas: maxR, Behavior: tc.behavior,
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](target)}}}}}})
	}
	for _, tc := range cases {
		app := "web-" + tc.name
		var h autoscalingv2.HorizontalPodAutoscaler
		eventually(t, 60*time.Second, app+": the real HPA's first scale", func() (bool, string) {
			if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: app}, &h); err != nil {
				return false, err.Error()
			}
			return h.Status.LastScaleTime != nil, fmt.Sprintf("status %+v", h.Status)
		})
		t.Logf("%s: real HPA desired %d at %d%% CPU; expected %d (internal/hpa raw %d, with default behavior %d, without behavior %d)",
			tc.name, h.Status.DesiredReplicas, *h.Status.CurrentMetrics[0].Resource.Current.AverageUtilization, tc.want, raw, withBehavior, legacy)
		if int(h.Status.DesiredReplicas) != tc.want {
			t.Errorf("%s: real HPA decided %d, want %d", tc.name, h.Status.DesiredReplicas, tc.want)
		}
	}
}
