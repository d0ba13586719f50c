package extmetrics_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	externalclient "k8s.io/metrics/pkg/client/external_metrics"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/cluster"
	"github.com/bascaler/bascaler/internal/extmetrics"
	"github.com/bascaler/bascaler/internal/testenv"
)

// A real kube-apiserver (envtest, with the front-proxy flags of cluster.EnableAggregation)
// proxies external.metrics.k8s.io/v1beta1 to the Server on loopback through an APIService;
// the test reads the metric the way the HPA controller does, with k8s.io/metrics' external
// metrics client, and over the raw path.
func TestThroughTheAPIServer(t *testing.T) {
	env, cfg := testenv.APIServer(t, true)
	kubeconfig := testenv.MastersKubeconfig(t, env, "bascaler-adapter")
	c := testenv.Client(t, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := extmetrics.New(extmetrics.Options{Addr: "127.0.0.1:0", Kubeconfig: kubeconfig, Reader: c})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	_, portStr, _ := net.SplitHostPort(srv.Addr())
	port, _ := strconv.Atoi(portStr)
	if err := cluster.RegisterAPIService(ctx, c, "external.metrics.k8s.io", "v1beta1", port, 60*time.Second); err != nil {
		t.Fatal(err)
	}

	ns := "shop"
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	b := &v1alpha1.BurstAwareAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1alpha1.BurstAwareAutoscalerSpec{ScaleTargetRef: v1alpha1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web-deploy"},
			MaxReplicas: 10, SLO: v1alpha1.SLO{Target: "100ms"}, Interval: &metav1.Duration{Duration: 5 * time.Second},
			Metrics: v1alpha1.MetricsSpec{Prometheus: v1alpha1.PrometheusSpec{Address: "http://127.0.0.1:9"}}, Mode: v1alpha1.ModeObserve}}
	if err := c.Create(ctx, b); err != nil {
		t.Fatal(err)
	}
	setDesired := func(n int32, at time.Time) {
		t.Helper()
		b.Status.DesiredReplicas = n
		b.Status.LastDecision = &v1alpha1.DecisionStatus{Policy: "static:" + fmt.Sprint(n), Replicas: n, Recommendation: n, Explanation: "test", Time: metav1.NewTime(at)}
		if err := c.Status().Update(ctx, b); err != nil {
			t.Fatal(err)
		}
	}
	em := externalclient.NewForConfigOrDie(cfg).NamespacedMetrics(ns)
	sel := labels.SelectorFromSet(labels.Set{extmetrics.LabelAutoscaler: "web"})

	// Before the controller decided: the HPA gets an error naming the autoscaler, not a number.
	_, err = em.List(extmetrics.MetricName, sel)
	if code, msg := status(err); code != http.StatusServiceUnavailable || !strings.Contains(msg, "shop/web has made no decision yet") {
		t.Fatalf("before a decision: %v, want 503 naming shop/web", err)
	}
	for _, want := range []int32{5, 2} {
		setDesired(want, time.Now())
		got, err := em.List(extmetrics.MetricName, sel)
		if err != nil {
			t.Fatalf("desired %d: %v", want, err)
		}
		if len(got.Items) != 1 || got.Items[0].Value.Value() != int64(want) || got.Items[0].MetricLabels[extmetrics.LabelTarget] != "web-deploy" {
			t.Fatalf("desired %d: got %+v", want, got.Items)
		}
	}
	// The raw path an operator would curl (kubectl get --raw).
	raw, err := rest.RESTClientFor(restConfig(cfg))
	if err != nil {
		t.Fatal(err)
	}
	body, err := raw.Get().AbsPath("/apis/external.metrics.k8s.io/v1beta1/namespaces", ns, extmetrics.MetricName).
		Param("labelSelector", "autoscaler=web").DoRaw(ctx)
	if err != nil || !strings.Contains(string(body), `"kind":"ExternalMetricValueList"`) || !strings.Contains(string(body), `"value":"2"`) {
		t.Fatalf("raw GET: %v\n%s", err, body)
	}
	if _, err := em.List(extmetrics.MetricName, labels.SelectorFromSet(labels.Set{extmetrics.LabelAutoscaler: "nope"})); !apierrors.IsNotFound(err) {
		t.Errorf("unknown autoscaler: %v, want 404", err)
	}
	// The controller stopped deciding: three intervals of 5 s later the value is refused.
	setDesired(2, time.Now().Add(-20*time.Second))
	if code, msg := status(func() error { _, err := em.List(extmetrics.MetricName, sel); return err }()); code != http.StatusServiceUnavailable || !strings.Contains(msg, "more than 3 intervals of 5s") {
		t.Errorf("stale decision: %d %q, want 503 saying it is stale", code, msg)
	}

	// Straight to the server, past the front proxy: without its client certificate an
	// X-Remote-User header is not believed, and the anonymous user may read nothing.
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+srv.Addr()+"/apis/external.metrics.k8s.io/v1beta1/namespaces/shop/"+extmetrics.MetricName, nil)
	req.Header.Set("X-Remote-User", "admin")
	req.Header.Set("X-Remote-Group", "system:masters")
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // loopback, self-signed
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	msg, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(string(msg), "system:anonymous") {
		t.Errorf("direct request with forged headers: %d %s, want 403 for system:anonymous", resp.StatusCode, msg)
	}
	if err := cluster.UnregisterAPIService(ctx, c, "external.metrics.k8s.io", "v1beta1"); err != nil {
		t.Error(err)
	}
}

func restConfig(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.GroupVersion = &corev1.SchemeGroupVersion
	c.APIPath = "/api"
	c.NegotiatedSerializer = clientgoscheme.Codecs.WithoutConversion()
	return c
}

// status is an API error's code and message (0 and the text for other errors).
func status(err error) (int32, string) {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		return se.Status().Code, se.Status().Message
	}
	return 0, fmt.Sprint(err)
}
