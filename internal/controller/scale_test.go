package controller

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/go-logr/logr"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/metrics"
	"github.com/bascaler/bascaler/internal/scale"
	"github.com/bascaler/bascaler/internal/testenv"
)

// The scale benchmark: one controller process (an in-process manager) against its own real
// kube-apiserver and etcd (envtest) with N BurstAwareAutoscalers, each with its own
// Deployment (scale subresource, no pods), half on the bascaler policy (arima forecaster,
// guard ticks at a third of the interval), half on hpa. Metrics come from an in-process
// source (synthSource) so that the numbers are the controller's, not a metrics server's.
// It measures, over a bounded number of grid intervals after every object has decided
// once: process CPU per decision, the driver step's and the whole reconcile's latency, how
// late steps run after their grid instant, RSS and Go heap, and the API requests the
// controller sends per interval (counted by a transport wrapper on its rest config).
//
// By default it runs 50 objects on a 3 s grid for 3 intervals (part of the package's
// tests, to keep the harness working). The benchmark proper (bench/controller-scale.md):
//
//	BASCALER_SCALE_N=1000 BASCALER_SCALE_GRID=15s BASCALER_SCALE_INTERVALS=4 \
//	BASCALER_SCALE_OUT=/tmp/scale.json go test ./internal/controller/ -run TestControllerScale -v -timeout 30m
//
// BASCALER_SCALE_PPROF names a folder for cpu.pprof (the window) and heap.pprof (its end).
// BASCALER_SCALE_WORKERS sets Reconciler.Workers (default DefaultWorkers).
func TestControllerScale(t *testing.T) {
	o := scaleOptionsFromEnv(t)
	res := runScale(t, scaleEnv(t), o)
	t.Logf("scale result:\n%s", res.summary())
	if o.out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(o.out, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// What must hold at any size: every object decided on every interval of the window
	// (bascaler on each guard tick too), and the steps kept to the grid.
	if res.Decisions < res.ExpectedDecisions {
		t.Errorf("%d decisions in %d intervals, want at least %d (every object at every tick)", res.Decisions, o.intervals, res.ExpectedDecisions)
	}
	if res.Failed > 0 {
		t.Errorf("%d steps failed to read metrics", res.Failed)
	}
	if lim := o.grid / 3; res.LateP99 > lim.Seconds()*1e3 {
		t.Errorf("steps ran %.1f ms after their grid instant at p99, want under %v: the controller does not keep up", res.LateP99, lim)
	}
}

var (
	scaleEnvOnce sync.Once
	scaleEnvCfg  *rest.Config
	scaleEnvErr  error
)

// scaleEnv starts the scale tests' own envtest once (not the package's shared one, whose
// manager would reconcile these objects too). TestMain stops it.
func scaleEnv(t *testing.T) *rest.Config {
	t.Helper()
	assets := testenv.KubebuilderAssets(t)
	scaleEnvOnce.Do(func() {
		env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "deploy", "crd")},
			ErrorIfCRDPathMissing: true, BinaryAssetsDirectory: assets}
		scaleEnvCfg, scaleEnvErr = env.Start()
		scaleTestEnv = env
	})
	if scaleEnvErr != nil {
		t.Fatalf("start envtest: %v", scaleEnvErr)
	}
	return scaleEnvCfg
}

type scaleOptions struct {
	n, intervals, workers int
	grid                  time.Duration
	out, pprof            string
}

func scaleOptionsFromEnv(t *testing.T) scaleOptions {
	t.Helper()
	o := scaleOptions{n: 50, intervals: 3, grid: 3 * time.Second, out: os.Getenv("BASCALER_SCALE_OUT"),
		pprof: os.Getenv("BASCALER_SCALE_PPROF")}
	num := func(key string, dst *int) {
		if v := os.Getenv(key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				t.Fatalf("$%s=%q: want a positive integer", key, v)
			}
			*dst = n
		}
	}
	num("BASCALER_SCALE_N", &o.n)
	num("BASCALER_SCALE_INTERVALS", &o.intervals)
	num("BASCALER_SCALE_WORKERS", &o.workers)
	if v := os.Getenv("BASCALER_SCALE_GRID"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 600*time.Millisecond || d%(3*time.Millisecond) != 0 {
			t.Fatalf("$BASCALER_SCALE_GRID=%q: want a duration of at least 600ms, a multiple of 3ms", v)
		}
		o.grid = d
	}
	if o.n%2 != 0 {
		o.n++ // half bascaler, half hpa
	}
	return o
}

// scaleResult is what the benchmark measured (JSON in BASCALER_SCALE_OUT).
type scaleResult struct {
	Objects, Intervals, Workers int
	Grid                        string
	GOMAXPROCS                  int
	// StartupSeconds: from the manager's start until every object had decided once (this
	// includes fitting 1/2 N arima models on their warm history).
	StartupSeconds float64
	WallSeconds    float64
	CPUSeconds     float64
	// Decisions is the decided steps due in the window, by their grid instant (bascaler:
	// one per guard tick).
	Decisions, ExpectedDecisions, Failed int64
	CPUPerDecisionMS                     float64
	// CoresUsed is CPU over wall time; ObjectsPerCore is Objects / CoresUsed.
	CoresUsed, ObjectsPerCore float64
	// Latencies in milliseconds: the driver step (read the in-process source, decide), the
	// whole reconcile (read the object from the cache, scale subresource, step, status
	// write), and how long after its grid instant a step began.
	StepP50, StepP99, StepMax       float64
	ReconcileP50, ReconcileP99      float64
	ReconcileMax                    float64
	LateP50, LateP99, LateMax       float64
	RSSMB, PeakRSSMB, BaselineRSSMB float64
	HeapInuseMB                     float64
	Goroutines                      int
	RequestsPerInterval             float64
	RequestsByKind                  map[string]float64 // per interval, "verb resource"
	Load                            string             // /proc/loadavg at the end
}

func (r scaleResult) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "objects %d, grid %s, %d intervals, workers %d, GOMAXPROCS %d, load %s\n", r.Objects, r.Grid, r.Intervals, r.Workers, r.GOMAXPROCS, r.Load)
	fmt.Fprintf(&b, "startup %.1f s; window %.1f s wall, %.2f s CPU, %d decisions (want >= %d), %d failed\n", r.StartupSeconds, r.WallSeconds, r.CPUSeconds, r.Decisions, r.ExpectedDecisions, r.Failed)
	fmt.Fprintf(&b, "CPU per decision %.3f ms; cores used %.3f; objects per core %.0f\n", r.CPUPerDecisionMS, r.CoresUsed, r.ObjectsPerCore)
	fmt.Fprintf(&b, "driver step p50 %.3f p99 %.3f max %.3f ms; reconcile p50 %.3f p99 %.3f max %.3f ms; late p50 %.1f p99 %.1f max %.1f ms\n",
		r.StepP50, r.StepP99, r.StepMax, r.ReconcileP50, r.ReconcileP99, r.ReconcileMax, r.LateP50, r.LateP99, r.LateMax)
	fmt.Fprintf(&b, "RSS %.1f MB (peak %.1f, before the manager %.1f); Go heap in use %.1f MB; %d goroutines\n", r.RSSMB, r.PeakRSSMB, r.BaselineRSSMB, r.HeapInuseMB, r.Goroutines)
	fmt.Fprintf(&b, "API requests per interval %.1f:", r.RequestsPerInterval)
	keys := make([]string, 0, len(r.RequestsByKind))
	for k := range r.RequestsByKind {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%.1f", k, r.RequestsByKind[k])
	}
	return b.String()
}

// workloadOf is the synthetic traffic of target i: a base rate between 40 and 400 req/s
// with a +-30% wave of 40 intervals and a phase of its own, so that some targets scale in
// every interval.
type synthWorkload struct {
	base, phase float64
	period      time.Duration
	replicas    atomic.Int32 // spec.replicas, mirrored by the harness
}

func (w *synthWorkload) rate(at time.Time) float64 {
	x := 2 * math.Pi * float64(at.UnixNano()%int64(w.period)) / float64(w.period)
	return w.base * (1 + 0.3*math.Sin(x+w.phase))
}

// synthSource answers a Range from the workload: the rate at each period's middle; latency
// 10 ms up to 50 req/s per pod and 0.5 ms more per req/s beyond (the exporter's model); CPU
// per pod load/100 of the request. It is a metrics read that costs next to nothing, so the
// benchmark measures the controller.
type synthSource struct{ w *synthWorkload }

func (s synthSource) Range(_ context.Context, win driver.Window) ([]driver.Point, error) {
	if err := win.Validate(); err != nil {
		return nil, err
	}
	pods := max(float64(s.w.replicas.Load()), 1)
	out := make([]driver.Point, win.Count)
	start := win.Start()
	for i := range out {
		at := start.Add(time.Duration(i) * win.Step)
		r := s.w.rate(at.Add(win.Step / 2))
		lat := podLatencyMS(r / pods)
		out[i] = driver.Point{Start: at, Rate: r, LatencyMeanMS: lat, LatencyP95MS: 1.5 * lat, LatencyP99MS: 2 * lat,
			CPU: r / pods / 100, MemoryBytes: math.NaN()}
	}
	return out, nil
}

// apiCounts counts the requests a rest config's transport sends, by verb and resource.
type apiCounts struct {
	mu sync.Mutex
	by map[string]int
}

func (c *apiCounts) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripper(func(req *http.Request) (*http.Response, error) {
		k := requestKind(req)
		c.mu.Lock()
		c.by[k]++
		c.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

func (c *apiCounts) take() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.by
	c.by = map[string]int{}
	return out
}

type roundTripper func(*http.Request) (*http.Response, error)

func (f roundTripper) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// requestKind names a request as "verb resource[/subresource]", e.g. "get deployments/scale".
func requestKind(req *http.Request) string {
	segs := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	i := 0
	switch {
	case len(segs) > 0 && segs[0] == "api":
		i = 2
	case len(segs) > 0 && segs[0] == "apis":
		i = 3
	default:
		return strings.ToLower(req.Method) + " " + req.URL.Path
	}
	if len(segs) > i+2 && segs[i] == "namespaces" {
		i += 2
	}
	if i >= len(segs) {
		return strings.ToLower(req.Method) + " " + req.URL.Path
	}
	res, named := segs[i], len(segs) > i+1
	if len(segs) > i+2 {
		res += "/" + segs[i+2]
	}
	verb := map[string]string{http.MethodGet: "get", http.MethodPost: "create", http.MethodPut: "update",
		http.MethodPatch: "patch", http.MethodDelete: "delete"}[req.Method]
	if req.Method == http.MethodGet && !named {
		verb = "list"
		if req.URL.Query().Get("watch") == "true" {
			verb = "watch"
		}
	}
	return verb + " " + res
}

// scaleAutoscaler is object i's spec: even i bascaler (arima, guard ticks at a third of
// the grid, 50 req/s per pod), odd i hpa on CPU; Istio preset, read through the in-process
// source (the address is never dialled).
func scaleAutoscaler(ns, name string, i int, grid time.Duration) *v1alpha1.BurstAwareAutoscaler {
	b := &v1alpha1.BurstAwareAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.BurstAwareAutoscalerSpec{
			ScaleTargetRef: v1alpha1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: name},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 40,
			SLO:      v1alpha1.SLO{Metric: "mean", Target: "16ms"},
			Interval: &metav1.Duration{Duration: grid},
			Metrics: v1alpha1.MetricsSpec{Prometheus: v1alpha1.PrometheusSpec{Address: "http://127.0.0.1:9"}, Preset: "istio",
				CPU: &v1alpha1.CPUSpec{RequestMillicores: ptr.To[int32](1000)}},
			Policy: v1alpha1.PolicySpec{Name: "hpa"},
			Mode:   v1alpha1.ModeAuto,
		},
	}
	if i%2 == 0 {
		b.Spec.Policy = v1alpha1.PolicySpec{Name: "bascaler", Forecaster: &v1alpha1.ModelRef{Kind: "arima"},
			Params:   map[string]string{"guard-period": (grid / 3).String()},
			Capacity: &v1alpha1.CapacitySpec{PerPodRPS: "50"}}
	}
	return b
}

// scaleFixture is the benchmark's objects: namespaces prefix-00.., a Deployment and an
// autoscaler per target, the synthetic workloads, and the harness's mirror of spec.replicas.
type scaleFixture struct {
	setup client.Client
	byKey map[string]*synthWorkload
	keys  []string // namespace/name of every autoscaler
}

// newScaleFixture creates n targets on a grid; the mirror runs until ctx ends.
func newScaleFixture(t *testing.T, ctx context.Context, restCfg *rest.Config, prefix string, n int, grid time.Duration) *scaleFixture {
	t.Helper()
	setupCfg := rest.CopyConfig(restCfg)
	setupCfg.QPS = -1 // no client-side rate limit (controller-runtime's GetConfig does the same)
	setup, err := client.New(setupCfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	type target struct {
		ns, name string
		w        *synthWorkload
	}
	f := &scaleFixture{setup: setup, byKey: map[string]*synthWorkload{}}
	targets := make([]target, n)
	nss := max(1, n/100)
	for k := 0; k < nss; k++ {
		if err := setup.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("%s-%02d", prefix, k)}}); err != nil {
			t.Fatal(err)
		}
	}
	for i := range targets {
		h := fnv.New64a()
		fmt.Fprintf(h, "%d", i)
		u := float64(h.Sum64()%10000) / 10000
		w := &synthWorkload{base: 40 + 360*u, phase: 2 * math.Pi * u * 7, period: 40 * grid}
		targets[i] = target{ns: fmt.Sprintf("%s-%02d", prefix, i%nss), name: fmt.Sprintf("w-%04d", i), w: w}
		key := targets[i].ns + "/" + targets[i].name
		f.byKey[key] = w
		f.keys = append(f.keys, key)
	}
	// Create the Deployments (status: all replicas ready) and the autoscalers, 8 at a time.
	began := time.Now()
	parallel(t, n, 8, func(i int) error {
		tg := targets[i]
		r0 := int32(math.Ceil(tg.w.rate(time.Now()) / 45))
		tg.w.replicas.Store(r0)
		labels := map[string]string{"app": tg.name}
		d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: tg.ns, Name: tg.name},
			Spec: appsv1.DeploymentSpec{Replicas: &r0, Selector: &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/app"}}}}}}
		if err := setup.Create(ctx, d); err != nil {
			return err
		}
		d.Status = appsv1.DeploymentStatus{Replicas: r0, ReadyReplicas: r0, AvailableReplicas: r0, UpdatedReplicas: r0}
		if err := setup.Status().Update(ctx, d); err != nil {
			return err
		}
		return setup.Create(ctx, scaleAutoscaler(tg.ns, tg.name, i, grid))
	})
	t.Logf("created %d Deployments and autoscalers in %.1f s", n, time.Since(began).Seconds())

	// The harness mirrors spec.replicas into status (the Deployment controller's and the
	// kubelets' part) and into the workloads, on its own client (not counted).
	go func() {
		tick := time.NewTicker(grid / 6)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			var list appsv1.DeploymentList
			if err := setup.List(ctx, &list); err != nil {
				continue
			}
			for i := range list.Items {
				d := &list.Items[i]
				w := f.byKey[d.Namespace+"/"+d.Name]
				if w == nil || d.Spec.Replicas == nil {
					continue
				}
				n := *d.Spec.Replicas
				w.replicas.Store(n)
				if d.Status.Replicas != n || d.Status.ReadyReplicas != n {
					d.Status = appsv1.DeploymentStatus{Replicas: n, ReadyReplicas: n, AvailableReplicas: n, UpdatedReplicas: n}
					_ = setup.Status().Update(ctx, d)
				}
			}
		}
	}()
	return f
}

// newSource is the Reconciler's NewSource: the target's synthetic workload.
func (f *scaleFixture) newSource(po metrics.PrometheusOptions) (metrics.Source, error) {
	w := f.byKey[po.Queries.Namespace+"/"+po.Queries.Target]
	if w == nil {
		return nil, fmt.Errorf("no synthetic workload for %s/%s", po.Queries.Namespace, po.Queries.Target)
	}
	return synthSource{w: w}, nil
}

// waitDecided waits until every autoscaler of the fixture has a decision in its status.
func (f *scaleFixture) waitDecided(t *testing.T, ctx context.Context, timeout time.Duration, stopped <-chan error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	want := map[string]bool{}
	for _, k := range f.keys {
		want[k] = true
	}
	for {
		var list v1alpha1.BurstAwareAutoscalerList
		if err := f.setup.List(ctx, &list); err != nil {
			t.Fatal(err)
		}
		decided := 0
		for i := range list.Items {
			b := &list.Items[i]
			if want[b.Namespace+"/"+b.Name] && b.Status.LastDecision != nil {
				decided++
			}
		}
		if decided == len(f.keys) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d autoscalers decided within %v", decided, len(f.keys), timeout)
		}
		select {
		case err := <-stopped:
			t.Fatalf("manager stopped: %v", err)
		case <-time.After(500 * time.Millisecond):
		}
	}
}

func runScale(t *testing.T, restCfg *rest.Config, o scaleOptions) scaleResult {
	t.Helper()
	ctrl.SetLogger(logr.Discard())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	f := newScaleFixture(t, ctx, restCfg, "scale", o.n, o.grid)

	baseline := procStatusMB("VmRSS")
	counts := &apiCounts{by: map[string]int{}}
	mcfg := rest.CopyConfig(restCfg)
	mcfg.QPS = -1
	mcfg.Wrap(counts.wrap)
	mgr, err := ctrl.NewManager(mcfg, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0", Controller: config.Controller{SkipNameValidation: ptr.To(true)}, Cache: CacheOptions()})
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu                       sync.Mutex
		steps, reconciles, lates []time.Duration
		recording                atomic.Bool
		window                   atomic.Pointer[[2]time.Time]
		inWindow                 atomic.Int64
	)
	r := &Reconciler{Client: mgr.GetClient(), Scaler: scale.Kubernetes{Client: mgr.GetClient()},
		Events: mgr.GetEventRecorder("bascaler-controller"), Stats: NewStats(prometheus.NewRegistry()), Workers: o.workers,
		NewSource: f.newSource, StatusRefresh: ScaleStatusRefresh,
		onStep: func(at time.Time, step, late time.Duration) {
			if recording.Load() {
				mu.Lock()
				steps, lates = append(steps, step), append(lates, late)
				mu.Unlock()
			}
			// Decisions are counted by the grid instant they decide for, so that a step
			// due inside the window that ran a little late still counts (and one due after
			// it does not).
			if w := window.Load(); w != nil && !at.Before(w[0]) && at.Before(w[1]) {
				inWindow.Add(1)
			}
		},
		onReconcile: func(d time.Duration) {
			if recording.Load() {
				mu.Lock()
				reconciles = append(reconciles, d)
				mu.Unlock()
			}
		},
	}
	if err := r.SetupWithManager(mgr); err != nil {
		t.Fatal(err)
	}
	mgrDone := make(chan error, 1)
	started := time.Now()
	go func() { mgrDone <- mgr.Start(ctx) }()

	// Start-up: every object has decided once.
	f.waitDecided(t, ctx, 5*time.Minute+time.Duration(o.n)*100*time.Millisecond, mgrDone)
	res := scaleResult{Objects: o.n, Intervals: o.intervals, Workers: cmp.Or(o.workers, DefaultWorkers), Grid: o.grid.String(),
		GOMAXPROCS: runtime.GOMAXPROCS(0), StartupSeconds: time.Since(started).Seconds()}

	// The window: whole grid intervals, from one boundary (plus a margin for the 10 ms the
	// controller waits past its instant) to o.intervals later.
	next := time.Now().Truncate(o.grid).Add(o.grid)
	end := next.Add(time.Duration(o.intervals) * o.grid)
	window.Store(&[2]time.Time{next, end})
	time.Sleep(time.Until(next))
	counts.take()
	runtime.GC()
	fails0 := failedReads(r)
	d0, cpu0, w0 := r.Decisions(), cpuSeconds(), time.Now()
	recording.Store(true)
	stopCPU := startCPUProfile(t, o.pprof)
	time.Sleep(time.Until(end))
	stopCPU()
	recording.Store(false)
	d1, cpu1, w1 := r.Decisions(), cpuSeconds(), time.Now()
	byKind := counts.take()
	// Steps due just before the window's end may still be running: give them the lateness
	// the test allows before counting the window's decisions.
	time.Sleep(o.grid / 3)

	res.WallSeconds, res.CPUSeconds = w1.Sub(w0).Seconds(), cpu1-cpu0
	res.Decisions, res.Failed = inWindow.Load(), int64(failedReads(r)-fails0)
	// bascaler decides at each of 3 guard ticks per interval, hpa once.
	res.ExpectedDecisions = int64(o.intervals * (o.n/2*3 + o.n/2))
	if done := d1 - d0; done > 0 { // the CPU is the window's: per decision completed in it
		res.CPUPerDecisionMS = res.CPUSeconds / float64(done) * 1e3
	}
	res.CoresUsed = res.CPUSeconds / res.WallSeconds
	if res.CoresUsed > 0 && res.ExpectedDecisions > 0 {
		// Scaled by the share of the due decisions made: a controller that fell behind
		// spent its CPU on fewer objects' worth of work.
		done := min(float64(res.Decisions)/float64(res.ExpectedDecisions), 1)
		res.ObjectsPerCore = float64(o.n) * done / res.CoresUsed
	}
	mu.Lock()
	res.StepP50, res.StepP99, res.StepMax = quantilesMS(steps)
	res.ReconcileP50, res.ReconcileP99, res.ReconcileMax = quantilesMS(reconciles)
	res.LateP50, res.LateP99, res.LateMax = quantilesMS(lates)
	mu.Unlock()
	if o.pprof != "" {
		writeHeapProfile(t, filepath.Join(o.pprof, "heap.pprof"))
	}
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	res.HeapInuseMB = float64(ms.HeapInuse) / (1 << 20)
	res.RSSMB, res.PeakRSSMB, res.BaselineRSSMB = procStatusMB("VmRSS"), procStatusMB("VmHWM"), baseline
	res.Goroutines = runtime.NumGoroutine()
	res.RequestsByKind = map[string]float64{}
	total := 0
	for k, n := range byKind {
		res.RequestsByKind[k] = float64(n) / float64(o.intervals)
		total += n
	}
	res.RequestsPerInterval = float64(total) / float64(o.intervals)
	if b, err := os.ReadFile("/proc/loadavg"); err == nil {
		res.Load = strings.TrimSpace(string(b))
	}
	cancel()
	<-mgrDone
	return res
}

// parallel runs f(0..n-1) on k goroutines and fails the test on the first error.
func parallel(t *testing.T, n, k int, f func(i int) error) {
	t.Helper()
	var next atomic.Int64
	errs := make(chan error, k)
	for g := 0; g < k; g++ {
		go func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					errs <- nil
					return
				}
				if err := f(i); err != nil {
					errs <- fmt.Errorf("object %d: %w", i, err)
					return
				}
			}
		}()
	}
	for g := 0; g < k; g++ {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
}

func failedReads(r *Reconciler) float64 {
	ch := make(chan prometheus.Metric, 64)
	go func() { r.Stats.ReadErrors.Collect(ch); close(ch) }()
	n := 0.0
	for m := range ch {
		var pb dto.Metric
		if err := m.Write(&pb); err == nil && pb.Counter != nil {
			n += pb.Counter.GetValue()
		}
	}
	return n
}

func quantilesMS(ds []time.Duration) (p50, p99, mx float64) {
	if len(ds) == 0 {
		return 0, 0, 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	at := func(q float64) float64 {
		return float64(s[min(len(s)-1, int(math.Ceil(q*float64(len(s))))-1)]) / 1e6
	}
	return at(0.5), at(0.99), float64(s[len(s)-1]) / 1e6
}

func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return math.NaN()
	}
	tv := func(v syscall.Timeval) float64 { return float64(v.Sec) + float64(v.Usec)/1e6 }
	return tv(ru.Utime) + tv(ru.Stime)
}

// procStatusMB reads a "kB" field of /proc/self/status (VmRSS, VmHWM) in MB.
func procStatusMB(field string) float64 {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return math.NaN()
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return math.NaN()
}

func startCPUProfile(t *testing.T, dir string) func() {
	t.Helper()
	if dir == "" {
		return func() {}
	}
	f, err := os.Create(filepath.Join(dir, "cpu.pprof"))
	if err != nil {
		t.Fatal(err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		t.Fatal(err)
	}
	return func() { pprof.StopCPUProfile(); _ = f.Close() }
}

func writeHeapProfile(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	runtime.GC()
	if err := pprof.WriteHeapProfile(f); err != nil {
		t.Fatal(err)
	}
}
