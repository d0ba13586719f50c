package cluster_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bascaler/bascaler/internal/cluster"
	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/hpa"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/testenv"
)

// The fidelity harness runs the real HPA controller (kube-controller-manager) on a faster
// clock than the model's: one HPA sync every fidClock.Sync (S, 2 s: 7.5x) of wall time stands
// for one every hpa.SyncPeriod (15 s) of model time. Every duration of the controller is scaled so that
// it spans the same number of syncs, with half a sync of margin where it is a window edge:
//
//	model (hpa policy)              real controller here
//	sync 15 s                       2 s (a grid the harness holds the HPA to, below)
//	scale-down window 300 s         39 s (20 syncs back is 40 s old: out; 19 back, 38 s: in)
//	rate-policy period 15 s         1 s (the previous sync's event, 2 s old, is out, as the
//	                                     15 s-old one is out in the model: only younger count)
//	CPU initialisation 5 min        40 s; initial readiness delay 30 s: 4 s
//	pod start-up (KWOK)             3 s (1.5 syncs: pods turn Ready between syncs)
//	a sample's window (15 s)        1 s
//
// How the HPA is held to the grid: kube-controller-manager reaches the API server through a
// loopback proxy of this test, which forwards everything except the pods.metrics.k8s.io list
// the HPA reads once per sync. That request is held until the sync's grid instant
// (t0 + k x S; sync 0 is answered at once and fixes t0), then answered with the step's
// CPU. The HPA's own sync period (Resync, S/4) is shorter than the grid, so its next request
// is always waiting for the next instant. The arrival of request k+1 means sync k has
// finished: its decision is read from the HPA's status then.
//
// The same inputs go to the hpa policy through internal/driver (a Loop, model time exact
// multiples of 15 s): current replicas = the Deployment's spec (the scale the HPA read), ready
// = the pods hpa.GroupPods counts ready (from the very pod objects and metric timestamps
// the HPA sees), CPU = the ready pods' usage. Teacher forcing: the real HPA's decisions drive
// the cluster, ours are compared with them and not applied.
const (
	fidSyncs   = 64 // per trace window: 16 trace minutes, 4 syncs each
	fidMax     = 16
	fidPeakPod = 11 // the window's peak rate needs this many pods at the 70% target
	fidTarget  = 70
)

// fidClock is the real controller's clock: S stands for hpa.SyncPeriod, every other duration
// follows (the table above is S = 2 s). $BASCALER_HPA_FIDELITY_SYNC (whole seconds, even)
// sets S, for a machine too loaded to keep a 2 s grid.
type fidClock struct {
	Sync, Resync, Window, CPUInit, ReadyIn, Startup, MetricW time.Duration
	Period                                                   int32 // rate-policy period, seconds
}

func newFidClock() (fidClock, error) {
	sec := 2
	if v := os.Getenv("BASCALER_HPA_FIDELITY_SYNC"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 2 || n%2 != 0 {
			return fidClock{}, fmt.Errorf("BASCALER_HPA_FIDELITY_SYNC=%q: want an even number of seconds >= 2", v)
		}
		sec = n
	}
	s := time.Duration(sec) * time.Second
	return fidClock{Sync: s, Resync: s / 4, Window: 20*s - s/2, CPUInit: 20 * s, ReadyIn: 2 * s,
		Startup: s * 3 / 2, MetricW: s / 2, Period: int32(sec / 2)}, nil
}

// fidelityTraces are the shared traces compared, each on its most variable 16-minute
// window.
var fidelityTraces = []struct{ name, file string }{
	{"nasa", "nasa_http_1995-07_per_minute.csv"},
	{"clarknet", "clarknet_http_1995-08-28_to_09-10_per_minute.csv"},
	{"worldcup", "worldcup98_per_minute.csv"},
	{"azure-fn", "azure_functions_2019_top_event_function_per_minute.csv"},
}

// TestHPAFidelity compares the hpa policy with the real HPA controller decision by decision
// over the shared traces, for an HPA with spec.behavior (all rules at their defaults,
// scaled) against `hpa`, and an HPA without spec.behavior against `hpa` with
// behavior=none. bench/hpa-fidelity.md has the numbers; BASCALER_HPA_FIDELITY_OUT names a
// file for the per-sync table.
func TestHPAFidelity(t *testing.T) {
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	missing := cluster.Missing(assets)
	requireOrSkip(t, len(missing) == 0, fmt.Sprintf("HPA fidelity test needs %s in $KUBEBUILDER_ASSETS (%q): export KUBEBUILDER_ASSETS=$(hack/tools/build.sh)",
		strings.Join(missing, ", "), assets))
	clk, err := newFidClock()
	if err != nil {
		t.Fatal(err)
	}
	var runs []*fidelityRun
	for _, tr := range fidelityTraces {
		rates, from, err := fidelityWindow(testenv.Trace(t, tr.file))
		if err != nil {
			t.Fatal(err)
		}
		for _, cfg := range []string{"behavior", "none"} {
			r, err := newFidelityRun(tr.name, cfg, rates, clk)
			if err != nil {
				t.Fatal(err)
			}
			r.from = from
			runs = append(runs, r)
		}
	}
	proxy := &metricsProxy{runs: map[string]*fidelityRun{}}
	for _, r := range runs {
		proxy.runs[r.ns] = r
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	proxy.ctx = ctx
	c, err := cluster.Start(ctx, cluster.Options{PodReadyDelay: clk.Startup, ReadyTimeout: 2 * time.Minute,
		Controllers:                 []string{cluster.ControllerDeployment, cluster.ControllerReplicaSet, cluster.ControllerHPA},
		ControllerManagerKubeconfig: proxy.start,
		ExtraControllerManagerArgs: []string{
			"--horizontal-pod-autoscaler-sync-period=" + clk.Resync.String(),
			"--horizontal-pod-autoscaler-downscale-stabilization=" + clk.Window.String(),
			"--horizontal-pod-autoscaler-cpu-initialization-period=" + clk.CPUInit.String(),
			"--horizontal-pod-autoscaler-initial-readiness-delay=" + clk.ReadyIn.String(),
			"--concurrent-horizontal-pod-autoscaler-syncs=16", "--kube-api-qps=300", "--kube-api-burst=600"}})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		cancel()
		proxy.stop()
		if err := c.Stop(); err != nil {
			t.Log(err)
		}
	}()
	proxy.client = c.Client
	if err := c.AddNode(ctx, cluster.Node{Name: "fidelity", CPU: "1000", Pods: 1000}); err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		r.deploy(t, c.Client)
	}
	for _, r := range runs {
		eventually(t, 90*time.Second, r.ns+": initial pods Ready", func() (bool, string) {
			n := readyPods(podsOf(t, c.Client, r.ns, "web"))
			return n == r.initial, fmt.Sprintf("%d of %d ready", n, r.initial)
		})
	}
	// One sample window after readiness, as metrics-server would first report the pods
	// (else sync 0 finds them all within their CPU initialisation).
	time.Sleep(clk.MetricW + time.Second)
	for _, r := range runs {
		create(t, c.Client, r.autoscaler())
	}
	deadline := time.After(time.Duration(fidSyncs+20)*clk.Sync + time.Minute)
	for _, r := range runs {
		select {
		case <-r.done:
		case <-deadline:
			r.mu.Lock()
			k := r.k
			r.mu.Unlock()
			t.Fatalf("%s: the real HPA made %d of %d syncs in time (kube-controller-manager log in %s; BASCALER_KEEP_CLUSTER_LOGS=1 keeps it)", r.ns, k, fidSyncs, c.Dir)
		}
	}
	fidelityReport(t, runs, clk)
}

// fidelityWindow returns the trace's most variable fidSyncs/4-minute window ((max - min) /
// mean, the first of equals) among those without an outage (min >= 15% of max), one rate per sync (each minute's rate for its 4 syncs), scaled
// so that the window's peak needs fidPeakPod pods at the target on the fft profile.
func fidelityWindow(path string) ([]float64, time.Time, error) {
	s, err := series.Load(path)
	if err != nil {
		return nil, time.Time{}, err
	}
	n := fidSyncs / 4
	if len(s.Values) < n {
		return nil, time.Time{}, fmt.Errorf("%s: %d intervals, want at least %d", path, len(s.Values), n)
	}
	best, bestAt := -1.0, 0
	for i := 0; i+n <= len(s.Values); i++ {
		lo, hi, sum := math.Inf(1), 0.0, 0.0
		for _, v := range s.Values[i : i+n] {
			lo, hi, sum = math.Min(lo, v), math.Max(hi, v), sum+v
		}
		// An outage (a minute near zero) would make every decision "scale to min".
		if sum > 0 && lo >= 0.15*hi && (hi-lo)/(sum/float64(n)) > best {
			best, bestAt = (hi-lo)/(sum/float64(n)), i
		}
	}
	if best < 0 {
		return nil, time.Time{}, fmt.Errorf("%s: no %d-minute window without an outage", path, n)
	}
	w := s.Values[bestAt : bestAt+n]
	peak := 0.0
	for _, v := range w {
		peak = math.Max(peak, v)
	}
	scale := fidPeakPod * fidTarget / 100.0 * perf.FFT().MaxLoad / peak
	out := make([]float64, 0, fidSyncs)
	for _, v := range w {
		for range 4 {
			out = append(out, v*scale)
		}
	}
	return out, s.Start.Add(time.Duration(bestAt) * s.Step), nil
}

// fidelityRun is one HPA on one trace window, in its own namespace, and its twin Loop.
type fidelityRun struct {
	trace, config, ns string
	from              time.Time // the window's start in the trace
	rates             []float64
	initial           int
	loop              *driver.Loop
	profile           *perf.Profile
	epoch             time.Time // model time of sync 0
	clk               fidClock

	mu    sync.Mutex
	k     int       // the next sync
	t0    time.Time // wall instant of sync 0
	steps []fidelityStep
	done  chan struct{}
}

// fidelityStep is one sync: what both saw and decided.
type fidelityStep struct {
	K                    int
	Late                 time.Duration
	Cur, Ready, Unready  int
	Rate                 float64
	Milli                int64
	Ours                 int
	OurRaw               int
	OurLimit             string
	Real                 int
	RealWhy              string
	Race, Inconsistent   bool
	ReadyAfter, PodsSeen int
}

func newFidelityRun(trace, config string, rates []float64, clk fidClock) (*fidelityRun, error) {
	params := map[string]string{"target": "0.7"}
	if config == "none" {
		params["behavior"] = "none"
	}
	prof := perf.FFT()
	p, err := policy.New("hpa", policy.Env{Interval: hpa.SyncPeriod, Min: 1, Max: fidMax, Profile: prof, Params: params})
	if err != nil {
		return nil, err
	}
	loop, err := driver.New(driver.Config{Interval: hpa.SyncPeriod, Min: 1, Max: fidMax})
	if err != nil {
		return nil, err
	}
	if err := loop.Bind(p); err != nil {
		return nil, err
	}
	initial := min(max(int(math.Ceil(rates[0]/(fidTarget/100.0*prof.MaxLoad))), 1), fidMax)
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	loop.SetEpoch(epoch)
	return &fidelityRun{trace: trace, config: config, ns: "fid-" + trace + "-" + config, rates: rates, initial: initial,
		loop: loop, profile: prof, epoch: epoch, clk: clk, done: make(chan struct{})}, nil
}

func (r *fidelityRun) deploy(t *testing.T, c client.Client) {
	t.Helper()
	create(t, c, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: r.ns}})
	labels := map[string]string{"app": "web"}
	create(t, c, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To(int32(r.initial)), Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "example/app",
					Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("1")}}}}}}}})
}

// autoscaler is the run's HPA: with spec.behavior holding the default rules on the scaled
// clock, or without spec.behavior.
func (r *fidelityRun) autoscaler() *autoscalingv2.HorizontalPodAutoscaler {
	h := &autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: r.ns, Name: "web"},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: fidMax,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](fidTarget)}}}}}}
	if r.config == "behavior" {
		maxSel := autoscalingv2.MaxChangePolicySelect
		h.Spec.Behavior = &autoscalingv2.HorizontalPodAutoscalerBehavior{
			ScaleUp: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To[int32](0), SelectPolicy: &maxSel,
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PodsScalingPolicy, Value: 4, PeriodSeconds: r.clk.Period},
					{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: r.clk.Period}}},
			ScaleDown: &autoscalingv2.HPAScalingRules{StabilizationWindowSeconds: ptr.To(int32(r.clk.Window / time.Second)), SelectPolicy: &maxSel,
				Policies: []autoscalingv2.HPAScalingPolicy{{Type: autoscalingv2.PercentScalingPolicy, Value: 100, PeriodSeconds: r.clk.Period}}},
		}
	}
	return h
}

// metricsProxy is kube-controller-manager's API server: a loopback HTTP proxy to the real one
// that serves the pods.metrics.k8s.io list itself, on the fidelity runs' grid.
type metricsProxy struct {
	ctx    context.Context
	runs   map[string]*fidelityRun
	client client.Client
	srv    *http.Server
	fwd    *httputil.ReverseProxy
}

var podMetricsPath = regexp.MustCompile(`^/apis/metrics\.k8s\.io/v1beta1/namespaces/([^/]+)/pods$`)

// start serves the proxy and returns a kubeconfig that points at it (no credentials: the
// proxy forwards with the administrator's).
func (p *metricsProxy) start(admin *rest.Config, adminKubeconfig string) (string, error) {
	tr, err := rest.TransportFor(admin)
	if err != nil {
		return "", err
	}
	target, err := url.Parse(admin.Host)
	if err != nil {
		return "", err
	}
	p.fwd = &httputil.ReverseProxy{Transport: tr, FlushInterval: -1, Rewrite: func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		pr.Out.Host = target.Host
	}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	p.srv = &http.Server{Handler: http.HandlerFunc(p.serve), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(l) }()
	kc := fmt.Sprintf(`apiVersion: v1
kind: Config
clusters:
- name: proxy
  cluster:
    server: http://%s
users:
- name: proxy
  user: {}
contexts:
- name: proxy
  context:
    cluster: proxy
    user: proxy
current-context: proxy
`, l.Addr().String())
	path := filepath.Join(filepath.Dir(adminKubeconfig), "kcm-through-proxy.kubeconfig")
	return path, os.WriteFile(path, []byte(kc), 0o600)
}

func (p *metricsProxy) stop() {
	if p.srv != nil {
		_ = p.srv.Close()
	}
}

func (p *metricsProxy) serve(w http.ResponseWriter, req *http.Request) {
	if m := podMetricsPath.FindStringSubmatch(req.URL.Path); m != nil && req.Method == http.MethodGet {
		if r := p.runs[m[1]]; r != nil {
			r.sync(p.ctx, p.client, w)
			return
		}
	}
	p.fwd.ServeHTTP(w, req)
}

// sync answers the HPA's metrics request of one sync (see the top of the file).
func (r *fidelityRun) sync(ctx context.Context, c client.Client, w http.ResponseWriter) {
	r.mu.Lock()
	k := r.k
	if k > 0 && r.steps[k-1].Real < 0 {
		r.recordReal(ctx, c, k-1)
	}
	if k >= len(r.rates) {
		select {
		case <-r.done:
		default:
			close(r.done)
		}
		r.mu.Unlock()
		<-ctx.Done() // hold the HPA: the run is over
		http.Error(w, "fidelity run over", http.StatusServiceUnavailable)
		return
	}
	defer r.mu.Unlock()
	if k == 0 {
		// At once: the HPA stamped its initial recommendation a moment ago, and its age
		// must stay a whole number of syncs.
		r.t0 = time.Now()
	}
	at := r.t0.Add(time.Duration(k) * r.clk.Sync)
	st := fidelityStep{K: k, Real: -1}
	if d := time.Until(at); d > 0 {
		select {
		case <-time.After(d):
		case <-ctx.Done():
			return
		}
	} else {
		st.Late = -d
	}
	var dep appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: "web"}, &dep); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	st.Cur = int(*dep.Spec.Replicas)
	// The Deployment and ReplicaSet controllers follow a rescale within milliseconds here;
	// wait until the pods (not being deleted) are as many as the scale says, so that
	// unready = current - ready holds for the HPA as for the policy.
	var pods []corev1.Pod
	for wait := time.Now().Add(5 * time.Second); ; {
		pods = listPods(ctx, c, r.ns)
		if len(livePods(pods)) == st.Cur || time.Now().After(wait) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	st.PodsSeen = len(livePods(pods))
	st.Inconsistent = st.PodsSeen != st.Cur
	now := time.Now()
	stamp := now.Truncate(time.Second) // the API's precision
	g := hpa.GroupPods(r.hpaPods(pods, stamp), now, r.clk.CPUInit, r.clk.ReadyIn)
	st.Ready, st.Unready = g.Ready, g.Unready
	st.Rate = r.rates[k]
	st.Milli = 1000
	if st.Ready > 0 {
		st.Milli = int64(math.Round(math.Min(r.profile.At(st.Rate/float64(st.Ready)).CPU, 1) * 1000))
	}
	// The twin: the hpa policy through the driver, at the model's instant.
	mnow := r.epoch.Add(time.Duration(k) * hpa.SyncPeriod)
	cpu := float64(st.Milli) / 1000
	r.loop.AddSample(policy.Sample{Start: mnow.Add(-hpa.SyncPeriod), Rate: st.Rate, CPU: cpu, Replicas: st.Cur, Ready: st.Ready})
	step := r.loop.Decide(mnow, st.Cur, st.Ready)
	st.Ours, st.OurRaw, st.OurLimit = step.Desired, step.Decision.Explanation.Raw, step.Decision.Explanation.Limit

	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(podMetricsList(r.ns, pods, stamp, r.clk.MetricW, st.Milli))
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	// A pod that turned Ready between this read and the HPA's (from its informer, a moment
	// later) would make the two see different inputs: flag the sync.
	time.Sleep(100 * time.Millisecond)
	if after := hpa.GroupPods(r.hpaPods(listPods(ctx, c, r.ns), stamp), now.Add(100*time.Millisecond), r.clk.CPUInit, r.clk.ReadyIn); after.Ready != g.Ready {
		st.Race, st.ReadyAfter = true, after.Ready
	}
	r.steps = append(r.steps, st)
	r.k++
}

// recordReal reads the decision of sync k from the HPA's status, written before its next
// metrics request.
func (r *fidelityRun) recordReal(ctx context.Context, c client.Client, k int) {
	var h autoscalingv2.HorizontalPodAutoscaler
	if err := c.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: "web"}, &h); err != nil {
		return
	}
	st := &r.steps[k]
	// The decision is the scale the HPA left: status.desiredReplicas, or the current count
	// when the sync could not compute one (the status then keeps its last value, 0 at first).
	var dep appsv1.Deployment
	if err := c.Get(ctx, client.ObjectKey{Namespace: r.ns, Name: "web"}, &dep); err != nil {
		return
	}
	st.Real = int(*dep.Spec.Replicas)
	if d := int(h.Status.DesiredReplicas); d != st.Real && !failedSync(&h) {
		st.RealWhy = fmt.Sprintf("status desired %d, scale %d! ", d, st.Real)
	}
	var why []string
	for _, cond := range h.Status.Conditions {
		if cond.Type == autoscalingv2.AbleToScale || cond.Type == autoscalingv2.ScalingLimited && cond.Status == corev1.ConditionTrue {
			why = append(why, cond.Reason)
		}
		if cond.Type == autoscalingv2.ScalingActive && cond.Status != corev1.ConditionTrue {
			why = append(why, cond.Reason)
		}
	}
	st.RealWhy += strings.Join(why, ",")
}

// failedSync reports an HPA whose last sync could not compute a count (ScalingActive false).
func failedSync(h *autoscalingv2.HorizontalPodAutoscaler) bool {
	for _, c := range h.Status.Conditions {
		if c.Type == autoscalingv2.ScalingActive && c.Status != corev1.ConditionTrue {
			return true
		}
	}
	return false
}

func listPods(ctx context.Context, c client.Client, ns string) []corev1.Pod {
	var list corev1.PodList
	if err := c.List(ctx, &list, client.InNamespace(ns), client.MatchingLabels{"app": "web"}); err != nil {
		return nil
	}
	return list.Items
}

func livePods(pods []corev1.Pod) []corev1.Pod {
	var out []corev1.Pod
	for _, p := range pods {
		if p.DeletionTimestamp == nil && p.Status.Phase != corev1.PodFailed {
			out = append(out, p)
		}
	}
	return out
}

// servesMetrics: metrics-server reports the pods a kubelet runs.
func servesMetrics(p *corev1.Pod) bool {
	return p.DeletionTimestamp == nil && p.Status.Phase == corev1.PodRunning
}

// hpaPods is what the HPA's groupPods reads of the pods, with the samples this test serves.
func (r *fidelityRun) hpaPods(pods []corev1.Pod, stamp time.Time) []hpa.Pod {
	out := make([]hpa.Pod, 0, len(pods))
	for i := range pods {
		p := &pods[i]
		hp := hpa.Pod{Deleting: p.DeletionTimestamp != nil}
		switch p.Status.Phase {
		case corev1.PodPending:
			hp.Phase = hpa.PhasePending
		case corev1.PodRunning:
			hp.Phase = hpa.PhaseRunning
		case corev1.PodSucceeded:
			hp.Phase = hpa.PhaseSucceeded
		case corev1.PodFailed:
			hp.Phase = hpa.PhaseFailed
		default:
			hp.Phase = hpa.PhaseUnknown
		}
		if rc := podCond(p, corev1.PodReady); rc != nil {
			hp.HasReady, hp.Ready, hp.ReadySince = true, rc.Status == corev1.ConditionTrue, rc.LastTransitionTime.Time
		}
		if p.Status.StartTime != nil {
			hp.Started = p.Status.StartTime.Time
		}
		if servesMetrics(p) {
			hp.HasMetric, hp.MetricAt, hp.MetricWindow = true, stamp, r.clk.MetricW
		}
		out = append(out, hp)
	}
	return out
}

// podMetricsList is a PodMetricsList of metrics.k8s.io/v1beta1 (metrics-server's fields).
func podMetricsList(ns string, pods []corev1.Pod, stamp time.Time, window time.Duration, milli int64) map[string]any {
	items := []any{}
	for i := range pods {
		p := &pods[i]
		if !servesMetrics(p) {
			continue
		}
		items = append(items, map[string]any{
			"metadata":   map[string]any{"name": p.Name, "namespace": ns, "labels": p.Labels},
			"timestamp":  stamp.UTC().Format(time.RFC3339),
			"window":     window.String(),
			"containers": []any{map[string]any{"name": "app", "usage": map[string]any{"cpu": fmt.Sprintf("%dm", milli), "memory": "64Mi"}}},
		})
	}
	return map[string]any{"kind": "PodMetricsList", "apiVersion": "metrics.k8s.io/v1beta1", "metadata": map[string]any{}, "items": items}
}

// fidelityReport logs each run's syncs and agreement, writes them to
// $BASCALER_HPA_FIDELITY_OUT when set, and fails on a disagreement not explained by a
// flagged timing race.
func fidelityReport(t *testing.T, runs []*fidelityRun, clk fidClock) {
	var out strings.Builder
	fmt.Fprintf(&out, "| trace | HPA | window start | syncs | compared | identical | agreement | flagged (late/race/pods) |\n|---|---|---|---|---|---|---|---|\n")
	var detail strings.Builder
	for _, r := range runs {
		r.mu.Lock()
		compared, same, flagged := 0, 0, 0
		for _, s := range r.steps {
			if s.Real < 0 {
				continue
			}
			if s.Late > clk.Sync/2 || s.Race || s.Inconsistent {
				flagged++
				continue
			}
			compared++
			if s.Real == s.Ours {
				same++
			} else {
				t.Errorf("%s sync %d: real HPA %d (%s), hpa policy %d (raw %d, %s); current %d, ready %d, cpu %dm, rate %.1f",
					r.ns, s.K, s.Real, s.RealWhy, s.Ours, s.OurRaw, s.OurLimit, s.Cur, s.Ready, s.Milli, s.Rate)
			}
		}
		hpaKind := map[string]string{"behavior": "spec.behavior defaults / `hpa`", "none": "no spec.behavior / `hpa` behavior=none"}[r.config]
		fmt.Fprintf(&out, "| %s | %s | %s | %d | %d | %d | %.1f%% | %d |\n", r.trace, hpaKind, r.from.Format("2006-01-02 15:04"),
			len(r.steps), compared, same, 100*float64(same)/math.Max(float64(compared), 1), flagged)
		fmt.Fprintf(&detail, "\n%s (%s):\nk,late_ms,current,ready,unready,rate,cpu_milli,real,ours,our_raw,our_limit,real_conditions,flags\n", r.ns, r.from.Format(time.RFC3339))
		for _, s := range r.steps {
			var flags []string
			if s.Late > clk.Sync/2 {
				flags = append(flags, "late")
			}
			if s.Race {
				flags = append(flags, fmt.Sprintf("race(ready %d->%d)", s.Ready, s.ReadyAfter))
			}
			if s.Inconsistent {
				flags = append(flags, fmt.Sprintf("pods %d of %d", s.PodsSeen, s.Cur))
			}
			fmt.Fprintf(&detail, "%d,%d,%d,%d,%d,%.1f,%d,%d,%d,%d,%s,%s,%s\n", s.K, s.Late.Milliseconds(), s.Cur, s.Ready, s.Unready, s.Rate, s.Milli,
				s.Real, s.Ours, s.OurRaw, s.OurLimit, s.RealWhy, strings.Join(flags, " "))
		}
		if compared < len(r.steps)*3/4 {
			t.Errorf("%s: only %d of %d syncs compared (the rest flagged): the grid did not hold", r.ns, compared, len(r.steps))
		}
		r.mu.Unlock()
	}
	t.Log("\n" + out.String())
	t.Log(detail.String())
	if path := os.Getenv("BASCALER_HPA_FIDELITY_OUT"); path != "" {
		if err := os.WriteFile(path, []byte(out.String()+detail.String()), 0o644); err != nil {
			t.Error(err)
		}
	}
}
