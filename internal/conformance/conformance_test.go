package conformance

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clocktesting "k8s.io/utils/clock/testing"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/controller"
	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/metrics"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/promserver"
	"github.com/bascaler/bascaler/internal/scale"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/sim"
	"github.com/bascaler/bascaler/internal/testbed"
	"github.com/bascaler/bascaler/internal/testenv"
)

// The test replays one simulated run per policy through the two other backends:
//  1. the simulator runs the policy on a workload window and taps every step it took and
//     every period its cluster reported (what a metric source would hold);
//  2. those periods are backfilled into a real Prometheus as gauges at their exact end
//     timestamps (promtool), one series per run, step and signal;
//  3. the testbed's feed (testbed.NewFeed over metrics.Prometheus with custom queries) and
//     the controller (Reconciler against envtest, its clock at each tick, a scaler that
//     reports the simulator's replica counts) read them back and decide at the same ticks.
//
// A decision is the policy's recommendation and the desired count after bounds. Two runs
// per policy: "cold" (no past: the testbed's case) and "warm" (a history of completed
// intervals before the start: the controller's warm start, given to the simulator as
// Config.Warm).

const (
	interval   = time.Minute
	evalLen    = 20
	historyLen = 240
	namespace  = "conf"
)

var slo = policy.SLO{Metric: perf.Mean, TargetMS: 16}

// tap records a simulated run.
type tap struct {
	steps    []driver.Step
	reported map[time.Duration]map[time.Time]driver.Point
}

func (r *tap) Step(st driver.Step) { r.steps = append(r.steps, st) }
func (r *tap) Reported(step time.Duration, p driver.Point, _, _ int) {
	if r.reported == nil {
		r.reported = map[time.Duration]map[time.Time]driver.Point{}
	}
	if r.reported[step] == nil {
		r.reported[step] = map[time.Time]driver.Point{}
	}
	r.reported[step][p.Start] = p
}

// workload is the window and history every policy runs on: a synthetic flash crowd, so
// bursts, scale-ups and scale-downs happen within a few intervals.
type workload struct {
	t0      time.Time
	rates   []float64
	history series.Series
	warm    []driver.Point
}

func loadWorkload(t *testing.T) workload {
	t.Helper()
	w, err := sim.LoadWorkload(sim.WorkloadOptions{Trace: "synthetic:flash-crowd", Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	from := 0
	if len(w.Eval.Bursts) > 0 {
		from = max(w.Eval.Bursts[0].Start-8, 0)
	}
	// Aligned to every tick of every policy, hours in the past (Prometheus holds the past).
	t0 := time.Now().UTC().Truncate(time.Hour).Add(-3 * time.Hour)
	h := w.History.Values
	if len(h) > historyLen {
		h = h[len(h)-historyLen:]
	}
	wl := workload{t0: t0, rates: append([]float64(nil), w.Eval.Values[from:from+evalLen]...),
		history: series.Series{Name: "history", Start: t0.Add(-time.Duration(len(h)) * interval), Step: interval, Values: append([]float64(nil), h...)}}
	for i, v := range h {
		// What a source would have reported for the past: the rate, an unloaded latency and
		// a moderate CPU (the values matter only in that every backend sees the same ones).
		wl.warm = append(wl.warm, driver.Point{Start: wl.history.Start.Add(time.Duration(i) * interval), Rate: v,
			LatencyMeanMS: 10, LatencyP95MS: 10, LatencyP99MS: 10, CPU: 0.5})
	}
	return wl
}

func names() []string {
	var out []string
	for _, n := range policy.Names() {
		if policy.NeedsFuture(n) {
			continue
		}
		switch n {
		case "static:N":
			n = "static:3"
		case "keepalive:N":
			n = "keepalive:10m"
		}
		out = append(out, n)
	}
	return out
}

func env(wl workload, name string) policy.Env {
	return policy.Env{Interval: interval, SLO: slo, Min: 1, Max: 50, Startup: 30 * time.Second, Profile: perf.FFT(),
		History: wl.history, Seed: policy.SeedOf(namespace, objName(name))}
}

func objName(policyName string) string { return strings.NewReplacer(":", "-").Replace(policyName) }

// simulate runs the policy in the simulator and returns the tap.
func simulate(t *testing.T, wl workload, name string, warm bool) *tap {
	t.Helper()
	p, err := policy.New(name, env(wl, name))
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.DefaultConfig()
	cfg.Max = 50
	rec := &tap{}
	cfg.Tap = rec
	if warm {
		cfg.Warm = wl.warm
	}
	if _, err := sim.Run(cfg, wl.rates, wl.t0, p); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return rec
}

// openMetrics renders the runs as gauges conf_<signal>{run, step} at their periods' ends.
func openMetrics(runs map[string]*tap, wl workload) string {
	type key struct {
		run  string
		step time.Duration
	}
	all := map[key]map[time.Time]driver.Point{}
	for run, rec := range runs {
		for step, pts := range rec.reported {
			all[key{run, step}] = pts
		}
		if strings.HasSuffix(run, "/warm") {
			k := key{run, interval}
			for _, p := range wl.warm {
				all[k][p.Start] = p
			}
		}
	}
	keys := make([]key, 0, len(all))
	for k := range all {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].run != keys[j].run {
			return keys[i].run < keys[j].run
		}
		return keys[i].step < keys[j].step
	})
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	var b strings.Builder
	for _, sig := range []struct {
		name string
		get  func(driver.Point) float64
	}{{"rate", func(p driver.Point) float64 { return p.Rate }}, {"errors", func(p driver.Point) float64 { return p.Errors }},
		{"latency", func(p driver.Point) float64 { return p.LatencyMeanMS }}, {"cpu", func(p driver.Point) float64 { return p.CPU }}} {
		fmt.Fprintf(&b, "# TYPE conf_%s gauge\n", sig.name)
		for _, k := range keys {
			starts := make([]time.Time, 0, len(all[k]))
			for s := range all[k] {
				starts = append(starts, s)
			}
			sort.Slice(starts, func(i, j int) bool { return starts[i].Before(starts[j]) })
			for _, s := range starts {
				end := s.Add(k.step)
				fmt.Fprintf(&b, "conf_%s{run=%q,step=%q} %s %s\n", sig.name, k.run, promDur(k.step), f(sig.get(all[k][s])),
					strconv.FormatFloat(float64(end.UnixMilli())/1000, 'f', 3, 64))
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

func promDur(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

func queries(run string) metrics.Queries {
	sel := fmt.Sprintf(`run=%q,step="$interval"`, run)
	return metrics.Queries{Preset: metrics.PresetCustom, Namespace: namespace, Target: "conf",
		CustomRate: "conf_rate{" + sel + "}", CustomLatency: "conf_latency{" + sel + "}",
		CustomErrors: "conf_errors{" + sel + "}", CustomCPU: "conf_cpu{" + sel + "}"}
}

// decision is what the test compares at a tick.
type decision struct {
	recommended, desired int
	mode                 policy.Mode
}

func (d decision) String() string {
	return fmt.Sprintf("recommended %d, desired %d (%s)", d.recommended, d.desired, d.mode)
}

func simDecision(st driver.Step) decision {
	return decision{st.Decision.Replicas, st.Desired, st.Mode()}
}

// compare fails on the first tick where got differs from the simulator.
func compare(t *testing.T, backend, name string, steps []driver.Step, got []decision) {
	t.Helper()
	if len(got) != len(steps) {
		t.Errorf("%s %s: %d decisions, the simulator made %d", backend, name, len(got), len(steps))
	}
	for i := range min(len(got), len(steps)) {
		if want := simDecision(steps[i]); got[i] != want {
			t.Errorf("%s %s: tick %d (%s, %d/%d ready): %s, the simulator: %s", backend, name, i,
				steps[i].At.Format("15:04:05"), steps[i].Ready, steps[i].Replicas, got[i], want)
			return
		}
	}
}

// replayTestbed decides at the simulator's ticks through the testbed's feed. wrap, when
// set, changes the source (the divergence test uses it).
func replayTestbed(t *testing.T, prom string, wl workload, name, run string, steps []driver.Step, wrap func(driver.Source) driver.Source) []decision {
	t.Helper()
	var src driver.Source
	src, err := metrics.NewPrometheus(metrics.PrometheusOptions{Address: prom, Timeout: 10 * time.Second, SLOMS: slo.TargetMS, Queries: queries(run)})
	if err != nil {
		t.Fatal(err)
	}
	if wrap != nil {
		src = wrap(src)
	}
	p, err := policy.New(name, env(wl, name))
	if err != nil {
		t.Fatal(err)
	}
	loop, err := driver.New(driver.Config{Interval: interval, Min: 1, Max: 50, SLO: slo})
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.Bind(p); err != nil {
		t.Fatal(err)
	}
	log := driver.NewReplicaLog(0)
	feed := testbed.NewFeed(src, interval, wl.t0, log)
	var out []decision
	for _, st := range steps {
		log.Record(st.At, st.Replicas, st.Ready)
		got := feed.Step(context.Background(), loop, st.At, st.Replicas, st.Ready, nil)
		if !got.Decided {
			t.Fatalf("testbed %s at %s: no decision: %v", name, st.At, got.Err)
		}
		out = append(out, simDecision(got))
		loop.Applied(st.At, st.Replicas, got.Desired)
	}
	return out
}

// scripted reports the simulator's replica counts at each tick and ignores writes (the
// autoscaler runs in Observe mode).
type scripted struct {
	mu              sync.Mutex
	replicas, ready int32
}

func (s *scripted) Get(context.Context, scale.Ref) (scale.State, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return scale.State{Replicas: s.replicas, Current: s.replicas, Ready: s.ready, Selector: "app=conf"}, nil
}
func (s *scripted) Set(context.Context, scale.Ref, int32) error { return nil }

type noEvents struct{}

func (noEvents) Eventf(runtime.Object, runtime.Object, string, string, string, string, ...interface{}) {
}

func startEnvtest(t *testing.T) client.Client {
	t.Helper()
	_, cfg := testenv.APIServer(t, false)
	c := testenv.Client(t, cfg)
	if err := c.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: namespace}}); err != nil {
		t.Fatal(err)
	}
	return c
}

// replayController decides at the simulator's ticks through the controller's reconciler.
func replayController(t *testing.T, c client.Client, prom string, name, run string, steps []driver.Step) []decision {
	t.Helper()
	q := queries(run)
	baa := &v1alpha1.BurstAwareAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: objName(name)},
		Spec: v1alpha1.BurstAwareAutoscalerSpec{
			ScaleTargetRef: v1alpha1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "conf"},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: 50,
			SLO:      v1alpha1.SLO{Metric: "mean", Target: "16ms"},
			Interval: &metav1.Duration{Duration: interval},
			Metrics: v1alpha1.MetricsSpec{Prometheus: v1alpha1.PrometheusSpec{Address: prom, Timeout: &metav1.Duration{Duration: 10 * time.Second}},
				Preset: metrics.PresetCustom,
				Custom: &v1alpha1.CustomQueries{Rate: q.CustomRate, Latency: q.CustomLatency, Errors: q.CustomErrors, CPU: q.CustomCPU}},
			Policy: v1alpha1.PolicySpec{Name: name, HistoryIntervals: historyLen, StartupDelay: &metav1.Duration{Duration: 30 * time.Second}},
			Mode:   v1alpha1.ModeObserve,
		},
	}
	if err := c.Create(context.Background(), baa); err != nil {
		t.Fatalf("create %s: %v", name, err)
	}
	clk := clocktesting.NewFakePassiveClock(steps[0].At)
	sc := &scripted{}
	r := &controller.Reconciler{Client: c, Scaler: sc, Events: noEvents{}, Clock: clk}
	key := types.NamespacedName{Namespace: namespace, Name: baa.Name}
	var out []decision
	forecasts := 0
	for _, st := range steps {
		clk.SetTime(st.At)
		sc.mu.Lock()
		sc.replicas, sc.ready = int32(st.Replicas), int32(st.Ready)
		sc.mu.Unlock()
		if _, err := r.Reconcile(context.Background(), ctrl.Request{NamespacedName: key}); err != nil {
			t.Fatalf("reconcile %s at %s: %v", name, st.At, err)
		}
		got := &v1alpha1.BurstAwareAutoscaler{}
		if err := c.Get(context.Background(), key, got); err != nil {
			t.Fatal(err)
		}
		d := got.Status.LastDecision
		if d == nil || !d.Time.Time.Equal(st.At) {
			t.Fatalf("controller %s at %s: no decision at this tick (last %+v; conditions %+v)", name, st.At, d, got.Status.Conditions)
		}
		out = append(out, decision{int(d.Recommendation), int(d.Replicas), modeOf(d.Mode)})
		// The forecast the decision used is in status: p50 and the planned-for quantile.
		if f := st.Decision.Explanation.Forecast; f.Set {
			fs := got.Status.Forecast
			want := strconv.FormatFloat(f.P50, 'f', 2, 64) + "/" + strconv.FormatFloat(f.Upper, 'f', 2, 64) + "@" + strconv.FormatFloat(f.UpperQuantile, 'g', -1, 64)
			if fs == nil || fs.P50+"/"+fs.Upper+"@"+fs.Quantile != want {
				t.Errorf("controller %s at %s: status.forecast %+v, the simulator's forecast (p50/upper@quantile) %s", name, st.At, fs, want)
			}
			forecasts++
		}
	}
	if strings.HasPrefix(name, "bascaler") && forecasts == 0 {
		t.Errorf("controller %s: no decision carried a forecast", name)
	}
	return out
}

func modeOf(s string) policy.Mode {
	for m := policy.ModeUnset; m <= policy.ModeFallback; m++ {
		if m.String() == s {
			return m
		}
	}
	return policy.ModeUnset
}

func startProm(t *testing.T, text string) *promserver.Server {
	t.Helper()
	testenv.Prometheus(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := promserver.Start(ctx, promserver.Options{Backfill: text})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Stop() })
	return srv
}

func TestConformanceSimulatorTestbedController(t *testing.T) {
	wl := loadWorkload(t)
	runs := map[string]*tap{}
	for _, name := range names() {
		runs[name+"/cold"] = simulate(t, wl, name, false)
		runs[name+"/warm"] = simulate(t, wl, name, true)
	}
	prom := startProm(t, openMetrics(runs, wl))
	c := startEnvtest(t)
	for _, name := range names() {
		t.Run(name, func(t *testing.T) {
			cold, warm := runs[name+"/cold"], runs[name+"/warm"]
			t.Logf("%s: %d ticks cold (%d changes of replicas), %d warm (%d changes)", name, len(cold.steps), changes(cold.steps), len(warm.steps), changes(warm.steps))
			compare(t, "testbed", name, cold.steps, replayTestbed(t, prom.URL, wl, name, name+"/cold", cold.steps, nil))
			compare(t, "controller", name, warm.steps, replayController(t, c, prom.URL, name, name+"/warm", warm.steps))
		})
	}
}

func changes(steps []driver.Step) int {
	n := 0
	for _, st := range steps {
		if st.Desired != st.Replicas {
			n++
		}
	}
	return n
}

// shortRecent serves Recent windows of at most 4 ticks: the testbed's old ceil(1 min /
// tick) for a 15 s policy, a divergence the conformance check must catch.
type shortRecent struct{ driver.Source }

func (s shortRecent) Range(ctx context.Context, w driver.Window) ([]driver.Point, error) {
	if w.Step < interval && w.Count > 4 {
		w.Count = 4
	}
	return s.Source.Range(ctx, w)
}

// TestConformanceCatchesADivergentRecentWindow shows the check can fail: a backend whose
// Recent window is shorter than the driver's (the old testbed loop's bug) decides
// differently from the simulator for the KPA, which averages 60 s of 2 s ticks.
func TestConformanceCatchesADivergentRecentWindow(t *testing.T) {
	wl := loadWorkload(t)
	run := simulate(t, wl, "kpa", false)
	prom := startProm(t, openMetrics(map[string]*tap{"kpa/cold": run}, wl))
	got := replayTestbed(t, prom.URL, wl, "kpa", "kpa/cold", run.steps, func(s driver.Source) driver.Source { return shortRecent{s} })
	same := len(got) == len(run.steps)
	for i := range min(len(got), len(run.steps)) {
		if got[i] != simDecision(run.steps[i]) {
			same = false
			break
		}
	}
	if same {
		t.Fatal("a 4-tick Recent window made the same kpa decisions as the driver's 64: the conformance check could not see this divergence")
	}
	// And the unmodified feed agrees, so the difference is the window's.
	compare(t, "testbed", "kpa", run.steps, replayTestbed(t, prom.URL, wl, "kpa", "kpa/cold", run.steps, nil))
}
