package controller

import (
	"context"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/promserver"
	"github.com/bascaler/bascaler/internal/scale"
	"github.com/bascaler/bascaler/internal/testenv"
)

// The integration tests run the controller against a real kube-apiserver and etcd (envtest,
// binaries from hack/tools/build.sh via KUBEBUILDER_ASSETS) and a real Prometheus (package
// promserver) that scrapes an exporter served by the test: a scripted workload whose latency
// and CPU follow the replicas of its Deployment. Missing binaries fail the tests in CI
// (CI=true) and skip them elsewhere (package testenv).

var (
	clusterOnce sync.Once
	testEnv     *envtest.Environment
	// scaleTestEnv is the scale tests' own (scale_test.go).
	scaleTestEnv *envtest.Environment
	restCfg      *rest.Config
	k8s          client.Client
	scheme       = runtime.NewScheme()
	clusterErr   error

	sharedOnce sync.Once
	sharedErr  error
	shared     *Reconciler

	promOnce   sync.Once
	sharedProm *promserver.Server
	promErr    error
	exp        = newExporter()

	metricsAddrOnce sync.Once
	sharedMetrics   string // host:port of the shared manager's /metrics
)

// sharedMetricsAddr is where the shared manager serves /metrics (controller-runtime's
// metrics server and registry, as the deployed controller does), picked once: the shared
// Prometheus scrapes it from the start, whichever of the two starts first.
func sharedMetricsAddr() string {
	metricsAddrOnce.Do(func() {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic("pick a port for /metrics: " + err.Error())
		}
		sharedMetrics = l.Addr().String()
		_ = l.Close()
	})
	return sharedMetrics
}

func init() {
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
}

func TestMain(m *testing.M) {
	// The controller's logs are not part of any test's verdict (events and status are);
	// without a logger controller-runtime prints a stack trace into the output instead.
	ctrl.SetLogger(logr.Discard())
	code := m.Run()
	if sharedProm != nil {
		_ = sharedProm.Stop()
	}
	exp.stop()
	if testEnv != nil {
		_ = testEnv.Stop()
	}
	if scaleTestEnv != nil {
		_ = scaleTestEnv.Stop()
	}
	os.Exit(code)
}

// cluster starts envtest once for the package.
func cluster(t *testing.T) client.Client {
	t.Helper()
	assets := testenv.KubebuilderAssets(t)
	testenv.Prometheus(t)
	clusterOnce.Do(func() {
		testEnv = &envtest.Environment{
			CRDDirectoryPaths:     []string{filepath.Join("..", "..", "deploy", "crd")},
			ErrorIfCRDPathMissing: true,
			BinaryAssetsDirectory: assets,
		}
		restCfg, clusterErr = testEnv.Start()
		if clusterErr != nil {
			return
		}
		k8s, clusterErr = client.New(restCfg, client.Options{Scheme: scheme})
		if clusterErr == nil {
			clusterErr = exp.start(k8s)
		}
	})
	if clusterErr != nil {
		t.Fatalf("start envtest: %v", clusterErr)
	}
	return k8s
}

// prom returns the package's shared Prometheus, scraping the exporter (job workload) and
// the shared manager's /metrics (job bascaler-controller) every 500 ms.
func prom(t *testing.T) *promserver.Server {
	t.Helper()
	promOnce.Do(func() {
		sharedProm, promErr = startProm()
	})
	if promErr != nil {
		t.Fatalf("start prometheus: %v", promErr)
	}
	return sharedProm
}

func startProm() (*promserver.Server, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	return promserver.Start(ctx, promserver.Options{ScrapeInterval: 500 * time.Millisecond,
		Jobs: map[string][]string{"workload": {exp.addr}, "bascaler-controller": {sharedMetricsAddr()}}})
}

// newManager builds a manager with a Reconciler; with leaderID set it elects a leader. It
// serves no /metrics and its Stats go to a registry of their own.
func newManager(t *testing.T, leaderID string) (ctrl.Manager, *Reconciler) {
	t.Helper()
	return newManagerServing(t, leaderID, "0", prometheus.NewRegistry())
}

// newManagerServing is newManager with /metrics at metricsAddr ("0": none) and Stats
// registered with reg.
func newManagerServing(t *testing.T, leaderID, metricsAddr string, reg prometheus.Registerer) (ctrl.Manager, *Reconciler) {
	t.Helper()
	opts := ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: metricsAddr}, HealthProbeBindAddress: "0",
		Controller: config.Controller{SkipNameValidation: ptr.To(true)}}
	if leaderID != "" {
		opts.LeaderElection, opts.LeaderElectionID, opts.LeaderElectionNamespace = true, leaderID, "default"
		opts.LeaseDuration, opts.RenewDeadline, opts.RetryPeriod = ptr.To(3*time.Second), ptr.To(2*time.Second), ptr.To(250*time.Millisecond)
		opts.LeaderElectionReleaseOnCancel = true
	}
	mgr, err := ctrl.NewManager(restCfg, opts)
	if err != nil {
		t.Fatal(err)
	}
	r := &Reconciler{Client: mgr.GetClient(), Scaler: scale.Kubernetes{Client: mgr.GetClient()},
		Events: mgr.GetEventRecorder("bascaler-controller"), Stats: NewStats(reg)}
	if err := r.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	return mgr, r
}

// sharedManager runs one controller manager (no leader election) for the scenario tests,
// serving /metrics at sharedMetricsAddr from controller-runtime's registry, as the deployed
// controller does (the dashboard test reads it through the shared Prometheus).
func sharedManager(t *testing.T) *Reconciler {
	t.Helper()
	cluster(t)
	sharedOnce.Do(func() {
		mgr, r := newManagerServing(t, "", sharedMetricsAddr(), ctrlmetrics.Registry)
		shared = r
		go func() {
			if err := mgr.Start(context.Background()); err != nil {
				sharedErr = err
			}
		}()
	})
	if sharedErr != nil {
		t.Fatal(sharedErr)
	}
	return shared
}

// namespace creates a fresh namespace for one test.
func namespace(t *testing.T, c client.Client, name string) string {
	t.Helper()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
	if err := c.Create(context.Background(), ns); err != nil {
		t.Fatalf("create namespace %s: %v", name, err)
	}
	return name
}

// deployment creates a Deployment with the given replicas (no pods will run: envtest has no
// controller-manager; the exporter marks spec.replicas ready in its status).
func deployment(t *testing.T, c client.Client, ns, name string, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: appsv1.DeploymentSpec{Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/app"}}}}},
	}
	if err := c.Create(context.Background(), d); err != nil {
		t.Fatalf("create deployment %s/%s: %v", ns, name, err)
	}
}

func replicasOf(t *testing.T, c client.Client, ns, name string) int32 {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		t.Fatalf("get deployment %s/%s: %v", ns, name, err)
	}
	return *d.Spec.Replicas
}

// eventually polls cond every 200 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if msg != "" {
			last = msg
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last: %s)", what, timeout, last)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// exporter serves Istio-named and http-histogram metrics for scripted workloads. Every
// 100 ms it integrates each workload's request rate over its pods: a pod's mean latency is
// 10 ms up to 50 req/s and grows by 0.5 ms per req/s beyond; its CPU use is load/100 cores;
// its working set (cAdvisor's container_memory_working_set_bytes) is podMemoryBytes(load).
type exporter struct {
	mu        sync.Mutex
	addr      string
	srv       *http.Server
	done      chan struct{}
	workloads map[string]*workload // key ns/name
}

type workload struct {
	ns, name string
	rate     float64 // req/s, set by the test
	replicas int32   // from the Deployment
	requests float64
	latSum   float64 // ms
	buckets  []float64
	cpu      []float64 // per pod, core-seconds
	// serverless workloads have no pod at 0 replicas: their destination series vanish then
	// (nothing serves, nothing is counted there), and a source-side count (Istio
	// reporter="source", the clients' proxies) counts every arrival whatever the replicas.
	serverless bool
	arrivals   float64
}

var bucketBounds = []float64{5, 10, 15, 20, 25, 30, 40, 50, 75, 100, 250, 500, 1000}

func newExporter() *exporter {
	return &exporter{workloads: map[string]*workload{}, done: make(chan struct{})}
}

func podLatencyMS(perPod float64) float64 {
	if perPod <= 50 {
		return 10
	}
	return 10 + 0.5*(perPod-50)
}

// podMemoryBytes is a pod's working set at perPod req/s: 64 MiB plus 1 MiB per req/s.
func podMemoryBytes(perPod float64) float64 { return (64 + perPod) * (1 << 20) }

func (e *exporter) start(c client.Client) error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	e.addr = l.Addr().String()
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serve)}
	go func() { _ = e.srv.Serve(l) }()
	go e.run(c)
	return nil
}

func (e *exporter) stop() {
	select {
	case <-e.done:
	default:
		close(e.done)
	}
	if e.srv != nil {
		_ = e.srv.Close()
	}
}

// setRate registers or updates a workload's request rate.
func (e *exporter) setRate(ns, name string, rate float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	w, ok := e.workloads[ns+"/"+name]
	if !ok {
		w = &workload{ns: ns, name: name, buckets: make([]float64, len(bucketBounds)+1)}
		e.workloads[ns+"/"+name] = w
	}
	w.rate = rate
}

// run advances the counters and mirrors each Deployment's spec.replicas into its status
// (ready), standing in for the ReplicaSet controller and the kubelet.
func (e *exporter) run(c client.Client) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	lastSync, last := time.Time{}, time.Now()
	for {
		select {
		case <-e.done:
			return
		case <-tick.C:
			// The counters advance by the time that passed, not by the tick's nominal 100 ms:
			// on a busy machine ticks are late or dropped (the replica sync below blocks on
			// the API server), and a fixed step would lower the rate the test set.
			now := time.Now()
			e.advance(now.Sub(last).Seconds())
			last = now
			if now.Sub(lastSync) >= 300*time.Millisecond {
				lastSync = now
				e.syncReplicas(c)
			}
		}
	}
}

func (e *exporter) syncReplicas(c client.Client) {
	e.mu.Lock()
	keys := make([]*workload, 0, len(e.workloads))
	for _, w := range e.workloads {
		keys = append(keys, w)
	}
	e.mu.Unlock()
	for _, w := range keys {
		d := &appsv1.Deployment{}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := c.Get(ctx, client.ObjectKey{Namespace: w.ns, Name: w.name}, d)
		if err == nil && d.Spec.Replicas != nil {
			n := *d.Spec.Replicas
			if d.Status.Replicas != n || d.Status.ReadyReplicas != n {
				d.Status.Replicas, d.Status.ReadyReplicas, d.Status.AvailableReplicas, d.Status.UpdatedReplicas = n, n, n, n
				_ = c.Status().Update(ctx, d)
			}
			e.mu.Lock()
			w.replicas = n
			e.mu.Unlock()
		}
		cancel()
	}
}

// setServerless marks a registered workload as serverless (see workload.serverless).
func (e *exporter) setServerless(ns, name string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.workloads[ns+"/"+name].serverless = true
}

func (e *exporter) advance(dt float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, w := range e.workloads {
		w.arrivals += w.rate * dt
		if w.serverless && w.replicas == 0 {
			continue // no pod: nothing served or measured at the destination
		}
		pods := max(int(w.replicas), 1)
		perPod := w.rate / float64(pods)
		lat := podLatencyMS(perPod)
		n := w.rate * dt
		w.requests += n
		w.latSum += n * lat
		for i, b := range bucketBounds {
			if lat <= b {
				w.buckets[i] += n
			}
		}
		w.buckets[len(bucketBounds)] += n
		for len(w.cpu) < pods {
			w.cpu = append(w.cpu, 0)
		}
		for i := 0; i < pods; i++ {
			w.cpu[i] += perPod / 100 * dt
		}
	}
}

func (e *exporter) serve(rw http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var b strings.Builder
	keys := make([]string, 0, len(e.workloads))
	for k := range e.workloads {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("# TYPE istio_requests_total counter\n# TYPE istio_request_duration_milliseconds histogram\n")
	b.WriteString("# TYPE http_requests_total counter\n# TYPE http_request_duration_seconds histogram\n# TYPE container_cpu_usage_seconds_total counter\n")
	b.WriteString("# TYPE container_memory_working_set_bytes gauge\n")
	for _, k := range keys {
		w := e.workloads[k]
		if w.serverless {
			fmt.Fprintf(&b, "istio_requests_total{reporter=\"source\",destination_workload=%q,destination_workload_namespace=%q,response_code=\"200\"} %g\n",
				w.name, w.ns, w.arrivals)
			if w.replicas == 0 {
				continue
			}
		}
		il := fmt.Sprintf(`reporter="destination",destination_workload=%q,destination_workload_namespace=%q`, w.name, w.ns)
		hl := fmt.Sprintf(`namespace=%q,pod=%q`, w.ns, w.name+"-0")
		fmt.Fprintf(&b, "istio_requests_total{%s,response_code=\"200\"} %g\n", il, w.requests)
		fmt.Fprintf(&b, "http_requests_total{%s,code=\"200\"} %g\n", hl, w.requests)
		for i, bound := range bucketBounds {
			fmt.Fprintf(&b, "istio_request_duration_milliseconds_bucket{%s,le=\"%g\"} %g\n", il, bound, w.buckets[i])
			fmt.Fprintf(&b, "http_request_duration_seconds_bucket{%s,le=\"%g\"} %g\n", hl, bound/1000, w.buckets[i])
		}
		inf := w.buckets[len(bucketBounds)]
		fmt.Fprintf(&b, "istio_request_duration_milliseconds_bucket{%s,le=\"+Inf\"} %g\n", il, inf)
		fmt.Fprintf(&b, "istio_request_duration_milliseconds_sum{%s} %g\nistio_request_duration_milliseconds_count{%s} %g\n", il, w.latSum, il, w.requests)
		fmt.Fprintf(&b, "http_request_duration_seconds_bucket{%s,le=\"+Inf\"} %g\n", hl, inf)
		fmt.Fprintf(&b, "http_request_duration_seconds_sum{%s} %g\nhttp_request_duration_seconds_count{%s} %g\n", hl, w.latSum/1000, hl, w.requests)
		for i, c := range w.cpu[:min(len(w.cpu), max(int(w.replicas), 1))] {
			if math.IsNaN(c) {
				continue
			}
			fmt.Fprintf(&b, "container_cpu_usage_seconds_total{namespace=%q,pod=\"%s-%d\",container=\"app\"} %g\n", w.ns, w.name, i, c)
			fmt.Fprintf(&b, "container_memory_working_set_bytes{namespace=%q,pod=\"%s-%d\",container=\"app\"} %g\n", w.ns, w.name, i,
				podMemoryBytes(w.rate/float64(max(int(w.replicas), 1))))
		}
	}
	_, _ = rw.Write([]byte(b.String()))
}
