package extmetrics

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/provider"

	"github.com/bascaler/bascaler/api/v1alpha1"
)

var now = time.Date(2026, 12, 2, 8, 0, 0, 0, time.UTC)

// baa is an autoscaler named name for target, interval 10 s, that decided desired at
// decided (no decision when decided is zero).
func baa(ns, name, target string, desired int32, decided time.Time) *v1alpha1.BurstAwareAutoscaler {
	b := &v1alpha1.BurstAwareAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.BurstAwareAutoscalerSpec{ScaleTargetRef: v1alpha1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: target},
			MaxReplicas: 20, Interval: &metav1.Duration{Duration: 10 * time.Second}}}
	if !decided.IsZero() {
		b.Status.DesiredReplicas = desired
		b.Status.LastDecision = &v1alpha1.DecisionStatus{Policy: "static:5", Replicas: desired, Recommendation: desired, Time: metav1.NewTime(decided)}
	}
	return b
}

func newProvider(t *testing.T, objs ...client.Object) *Provider {
	t.Helper()
	s := runtime.NewScheme()
	if err := v1alpha1.AddToScheme(s); err != nil {
		t.Fatal(err)
	}
	return &Provider{Reader: fake.NewClientBuilder().WithScheme(s).WithObjects(objs...).Build(), Now: func() time.Time { return now }}
}

func sel(t *testing.T, s string) labels.Selector {
	t.Helper()
	l, err := labels.Parse(s)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestValuesAreDesiredReplicas(t *testing.T) {
	p := newProvider(t,
		baa("shop", "web", "web-deploy", 5, now.Add(-5*time.Second)),
		baa("shop", "api", "api-deploy", 3, now.Add(-time.Second)),
		baa("other", "web", "web", 9, now))
	info := provider.ExternalMetricInfo{Metric: MetricName}
	cases := []struct {
		selector string
		want     map[string]int64 // autoscaler -> value
	}{
		{"autoscaler=web", map[string]int64{"web": 5}},
		{"target=api-deploy", map[string]int64{"api": 3}},
		{"", map[string]int64{"web": 5, "api": 3}},
		{"autoscaler in (web,api)", map[string]int64{"web": 5, "api": 3}},
	}
	for _, tc := range cases {
		got, err := p.GetExternalMetric(context.Background(), "shop", sel(t, tc.selector), info)
		if err != nil {
			t.Fatalf("selector %q: %v", tc.selector, err)
		}
		if len(got.Items) != len(tc.want) {
			t.Fatalf("selector %q: %d values %+v, want %v", tc.selector, len(got.Items), got.Items, tc.want)
		}
		for _, it := range got.Items {
			name := it.MetricLabels[LabelAutoscaler]
			if w, ok := tc.want[name]; !ok || it.Value.Value() != w || it.MetricName != MetricName {
				t.Errorf("selector %q: %s = %s (metric %q), want %d", tc.selector, name, it.Value.String(), it.MetricName, w)
			}
		}
	}
	got, _ := p.GetExternalMetric(context.Background(), "shop", sel(t, "autoscaler=web"), info)
	if ts := got.Items[0].Timestamp.Time; !ts.Equal(now.Add(-5 * time.Second)) {
		t.Errorf("timestamp %v, want the decision's time %v", ts, now.Add(-5*time.Second))
	}
	if got.Items[0].MetricLabels[LabelTarget] != "web-deploy" {
		t.Errorf("labels %v, want target=web-deploy", got.Items[0].MetricLabels)
	}
}

// A value the HPA must not act on is an error with a status code and a message that says
// what and where.
func TestRefusals(t *testing.T) {
	paused := baa("shop", "paused", "p", 4, now)
	paused.Annotations = map[string]string{v1alpha1.PausedAnnotation: "true"}
	p := newProvider(t,
		baa("shop", "fresh", "f", 2, now.Add(-29*time.Second)),
		baa("shop", "stale", "s", 7, now.Add(-31*time.Second)), // 3 intervals of 10 s is 30 s
		baa("shop", "new", "n", 0, time.Time{}),
		paused)
	cases := []struct {
		metric, selector string
		code             int32
		msg              string
	}{
		{"cpu", "autoscaler=fresh", http.StatusNotFound, `external metric "cpu" is not served here`},
		{MetricName, "autoscaler=missing", http.StatusNotFound, `no BurstAwareAutoscaler in namespace shop matches selector "autoscaler=missing"`},
		{MetricName, "autoscaler=stale", http.StatusServiceUnavailable, "BurstAwareAutoscaler shop/stale last decided 31s ago, more than 3 intervals of 10s"},
		{MetricName, "autoscaler=new", http.StatusServiceUnavailable, "BurstAwareAutoscaler shop/new has made no decision yet"},
		{MetricName, "autoscaler=paused", http.StatusServiceUnavailable, "BurstAwareAutoscaler shop/paused is paused"},
		// One stale autoscaler among those selected fails the sum, not just its part.
		{MetricName, "autoscaler in (fresh,stale)", http.StatusServiceUnavailable, "shop/stale last decided"},
	}
	for _, tc := range cases {
		_, err := p.GetExternalMetric(context.Background(), "shop", sel(t, tc.selector), provider.ExternalMetricInfo{Metric: tc.metric})
		var se *apierrors.StatusError
		if !errors.As(err, &se) || se.ErrStatus.Code != tc.code || !strings.Contains(se.ErrStatus.Message, tc.msg) {
			t.Errorf("%s %q: error %v, want code %d containing %q", tc.metric, tc.selector, err, tc.code, tc.msg)
		}
	}
	if got, err := p.GetExternalMetric(context.Background(), "shop", sel(t, "autoscaler=fresh"), provider.ExternalMetricInfo{Metric: MetricName}); err != nil || got.Items[0].Value.Value() != 2 {
		t.Errorf("fresh: %+v, %v; want 2", got, err)
	}
}

func TestDefaultInterval(t *testing.T) {
	b := baa("shop", "web", "web", 3, now.Add(-150*time.Second))
	b.Spec.Interval = nil // 60 s: 150 s is within 3 intervals
	p := newProvider(t, b)
	if _, err := p.GetExternalMetric(context.Background(), "shop", labels.Everything(), provider.ExternalMetricInfo{Metric: MetricName}); err != nil {
		t.Fatalf("a decision 150 s old with the default 60 s interval: %v", err)
	}
}

func TestListAll(t *testing.T) {
	if got := (&Provider{}).ListAllExternalMetrics(); len(got) != 1 || got[0].Metric != MetricName {
		t.Fatalf("ListAllExternalMetrics %v, want only %s", got, MetricName)
	}
}
