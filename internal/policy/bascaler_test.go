package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/sim"
)

// workload prepares a synthetic workload the way `bascaler simulate` does.
func workload(t *testing.T, name string) sim.Workload {
	t.Helper()
	w, err := sim.LoadWorkload(sim.WorkloadOptions{Trace: "synthetic:" + name, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func runPolicy(t *testing.T, name string, w sim.Workload, rates []float64, params ...string) sim.Result {
	t.Helper()
	cfg := sim.DefaultConfig()
	env := policy.Env{Interval: cfg.Interval, SLO: cfg.SLO, Min: cfg.Min, Max: cfg.Max, Startup: cfg.Startup,
		Profile: cfg.Profile, History: w.History, Seed: 1, Params: map[string]string{}}
	if policy.NeedsFuture(name) {
		env.Future = rates
	}
	for _, kv := range params {
		k, v, _ := strings.Cut(kv, "=")
		env.Params[k] = v
	}
	p, err := policy.New(name, env)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(cfg, rates, w.Eval.Start, p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestBascalerKeepsTheSLOOnASteadyDayNearTheOracleCost(t *testing.T) {
	w := workload(t, "steady")
	res := runPolicy(t, "bascaler", w, w.Eval.Values)
	oracle := runPolicy(t, "oracle", w, w.Eval.Values)
	if v := res.Summary.SLOViolationRate; v > 0.02 {
		t.Errorf("violation rate %.4f on a steady day, want <= 2%%", v)
	}
	if r := res.Summary.CostPodHours / oracle.Summary.CostPodHours; r > 1.3 {
		t.Errorf("cost %.2f x the oracle's on a steady day, want <= 1.3", r)
	}
}

func TestBascalerEntersBurstModeDuringAFlashCrowd(t *testing.T) {
	w := workload(t, "flash-crowd")
	if len(w.Eval.Bursts) == 0 {
		t.Fatal("the flash-crowd workload has no labelled burst")
	}
	b := w.Eval.Bursts[0]
	res := runPolicy(t, "bascaler", w, w.Eval.Values)
	found := -1
	for i := b.Start; i < b.End && found < 0; i++ {
		if res.Records[i].Decision.Explanation.Mode.InBurst() {
			found = i
		}
	}
	if found < 0 {
		t.Fatalf("no burst-mode decision during the labelled flash crowd [%d, %d)", b.Start, b.End)
	}
	if found-b.Start > 4 {
		t.Errorf("burst mode from interval %d, %d intervals after the flash crowd began", found, found-b.Start)
	}
	// The burst decision is explained with its overestimate.
	hasOver := false
	for _, kv := range res.Records[found].Decision.Explanation.Values {
		hasOver = hasOver || kv.Key == "overestimate"
	}
	if !hasOver {
		t.Errorf("burst decision %q lacks its overestimate", res.Records[found].Decision.Explanation)
	}
}

// A jump the forecast could not know is caught within the interval by the guard.
func TestGuardScalesUpWithinTheInterval(t *testing.T) {
	w := workload(t, "steady")
	rates := append([]float64(nil), w.Eval.Values[:200]...)
	for i := 120; i < 130; i++ {
		rates[i] *= 2.5
	}
	res := runPolicy(t, "bascaler", w, rates)
	rec := res.Records[120]
	if rec.Decision.Explanation.Mode != policy.ModeGuard || rec.Desired <= res.Records[119].Desired {
		t.Fatalf("interval 120 (rate x2.5): decision %q, desired %d after %d; want a guard scale-up within the interval",
			rec.Decision.Explanation, rec.Desired, res.Records[119].Desired)
	}
	// guard-period=0 makes Period() 0, which every backend reads as "decide once per interval":
	// the only decision of interval 120 is taken at its start, before any of its arrivals, so
	// its pods are exactly those of the same run without the jump, and the jump is answered
	// only at interval 121.
	off := runPolicy(t, "bascaler", w, rates, "guard-period=0")
	calm := runPolicy(t, "bascaler", w, w.Eval.Values[:200], "guard-period=0")
	if off.Summary.Decisions != len(rates) {
		t.Fatalf("guard-period=0: %d decisions over %d intervals, want one per interval", off.Summary.Decisions, len(rates))
	}
	if got, want := off.Records[120].Desired, calm.Records[120].Desired; got != want || off.Records[120].Decision.Explanation.Mode == policy.ModeGuard {
		t.Fatalf("guard-period=0, interval 120: %d pods (%q), want %d as without the jump: something reacted within the interval",
			got, off.Records[120].Decision.Explanation, want)
	}
	if off.Records[121].Desired <= off.Records[120].Desired {
		t.Fatalf("guard-period=0: interval 121 has %d pods after %d, want the jump answered at the next interval",
			off.Records[121].Desired, off.Records[120].Desired)
	}
}

func TestScaleDownWaitsForTheStabilisationWindow(t *testing.T) {
	w := workload(t, "steady")
	rates := make([]float64, 60)
	for i := range rates {
		rates[i] = 800
		if i >= 30 {
			rates[i] = 200
		}
	}
	res := runPolicy(t, "bascaler", w, rates, "down-window=4", "detector=none")
	high := res.Records[29].Desired
	// The recommendations of intervals 27..29 were still high: 30, 31 and 32 keep the pods.
	for i := 30; i < 33; i++ {
		if res.Records[i].Desired < high {
			t.Fatalf("interval %d: %d pods, fell below %d before the 4-interval window passed", i, res.Records[i].Desired, high)
		}
	}
	if got := res.Records[40].Desired; got >= high {
		t.Fatalf("interval 40: still %d pods long after the load fell", got)
	}
}

func TestBurstAwarePoliciesRejectBadParams(t *testing.T) {
	w := workload(t, "steady")
	for _, c := range []struct{ name, kv, want string }{
		{"bascaler", "quantile=1.5", "quantile"},
		{"bascaler", "headroom=0", "headroom"},
		{"bascaler", "detector=nope", "detector"},
		{"bascaler", "forecaster=nope", "forecaster"},
		{"bascaler", "guard-period=7s", "guard-period"},
		{"bascaler", "burst-cap=0.5", "burst-cap"},
		{"bascaler", "guard-trend=-1", "guard-trend"},
		{"bascaler", "tagret=1", "unknown parameter"},
		{"bascaler", "online-calibration=cqr", "online-calibration"},
		{"bascaler", "rl-model=/nonexistent", "rl-model"},
		{"bascaler-paper", "profiling-samples=3", "profiling-samples"},
		{"bascaler", "model=/nonexistent", "forecaster"},
	} {
		env := policy.Env{Interval: time.Minute, SLO: policy.SLO{Metric: perf.Mean, TargetMS: 16}, Min: 1, Max: 50,
			Startup: 30 * time.Second, Profile: perf.FFT(), History: w.History, Params: map[string]string{}}
		k, v, _ := strings.Cut(c.kv, "=")
		env.Params[k] = v
		_, err := policy.New(c.name, env)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s %s: error %v, want one mentioning %q", c.name, c.kv, err, c.want)
		}
	}
}

func TestBascalerPaperUsesTheMedianOutsideBursts(t *testing.T) {
	w := workload(t, "steady")
	res := runPolicy(t, "bascaler-paper", w, w.Eval.Values[:100])
	rec := res.Records[50].Decision.Explanation
	if rec.Mode != policy.ModeSteady || rec.Reason != "one-step median forecast" {
		t.Fatalf("interval 50 of a steady day: %q, want the one-step median forecast", rec)
	}
	var p50, capacity float64
	for _, kv := range rec.Values {
		switch kv.Key {
		case "forecast_p50":
			p50 = kv.Value
		case "capacity":
			capacity = kv.Value
		}
	}
	if capacity < 70 || capacity > 90 {
		t.Errorf("SVR capacity %.1f req/s per pod, want close to the fft profile's 80.4", capacity)
	}
	if want := int(p50/capacity) + 1; rec.Raw != want && rec.Raw != want-1 {
		t.Errorf("raw %d pods for %.1f req/s at %.1f per pod", rec.Raw, p50, capacity)
	}
}

// bandMisses returns the fraction of intervals from "from" on whose rate exceeded the
// planned quantile of the forecast made at that interval's start, and the mean distance
// between that quantile and the median.
func bandMisses(res sim.Result, rates []float64, from int) (miss, spread float64) {
	n := 0
	for i := from; i < len(rates); i++ {
		var p50, q float64
		ok := 0
		for _, kv := range res.Records[i].Decision.Explanation.Values {
			switch kv.Key {
			case "forecast_p50":
				p50, ok = kv.Value, ok+1
			case "forecast_q":
				q, ok = kv.Value, ok+1
			}
		}
		if ok != 2 {
			continue
		}
		if rates[i] > q {
			miss++
		}
		spread += q - p50
		n++
	}
	return miss / float64(n), spread / float64(n)
}

// The history is the calm steady day; the evaluated stretch swings ±25 % around it in
// 3-interval blocks, which the model's bands (fitted on the calm history) miss far more often
// than 10 % of intervals until the online calibrator widens them.
func TestBascalerOnlineCalibrationWidensBandsThatKeepMissing(t *testing.T) {
	w := workload(t, "steady")
	rates := append([]float64(nil), w.Eval.Values[:600]...)
	for i := range rates {
		// Deterministic zig-zag noise: ±25 % of the rate, alternating in 3-interval blocks.
		if (i/3)%2 == 0 {
			rates[i] *= 1.25
		} else {
			rates[i] *= 0.8
		}
	}
	none := runPolicy(t, "bascaler", w, rates, "online-calibration=none", "detector=none")
	missNone, spreadNone := bandMisses(none, rates, 300)
	// The default is none (see the policy's doc): it must equal the explicit none.
	def := runPolicy(t, "bascaler", w, rates, "detector=none")
	if m, sp := bandMisses(def, rates, 300); m != missNone || sp != spreadNone {
		t.Errorf("default: misses %.3f spread %.1f, want none's %.3f and %.1f", m, sp, missNone, spreadNone)
	}
	for _, method := range []string{"aci", "pid"} {
		res := runPolicy(t, "bascaler", w, rates, "detector=none", "online-calibration="+method)
		miss, spread := bandMisses(res, rates, 300)
		t.Logf("%q: misses of the planned 0.9 quantile over intervals 300-599 %.3f (spread %.1f), none %.3f (spread %.1f)", method, miss, spread, missNone, spreadNone)
		if !(miss < missNone && spread > spreadNone) {
			t.Errorf("%q: online calibration did not widen missing bands: misses %.3f -> %.3f, spread %.1f -> %.1f", method, missNone, miss, spreadNone, spread)
		}
		if miss > 0.15 {
			t.Errorf("%q: with online calibration the planned 0.9 quantile missed %.3f of intervals, want <= 0.15", method, miss)
		}
	}
}

// The first decision has no past recommendation: the replicas the run starts with stand in
// for one, so a plan made from the end of the training history cannot shed the start's pods
// before the stabilisation window has seen the workload.
func TestFirstDecisionsKeepTheStartingReplicasForTheStabilisationWindow(t *testing.T) {
	w := workload(t, "steady")
	rates := make([]float64, 20)
	for i := range rates {
		rates[i] = 200
	}
	cfg := sim.DefaultConfig()
	cfg.Initial = 30
	env := policy.Env{Interval: cfg.Interval, SLO: cfg.SLO, Min: cfg.Min, Max: cfg.Max, Startup: cfg.Startup,
		Profile: cfg.Profile, History: w.History, Seed: 1, Params: map[string]string{"down-window": "3", "detector": "none"}}
	p, err := policy.New("bascaler", env)
	if err != nil {
		t.Fatal(err)
	}
	res, err := sim.Run(cfg, rates, w.Eval.Start, p)
	if err != nil {
		t.Fatal(err)
	}
	// Window of 3: the start's 30 and the recommendations of intervals 0 and 1.
	for i := 0; i < 2; i++ {
		if got := res.Records[i].Desired; got < 30 {
			t.Fatalf("interval %d: %d pods, fell below the starting 30 before the 3-interval window passed", i, got)
		}
	}
	if got := res.Records[10].Desired; got >= 30 {
		t.Fatalf("interval 10: still %d pods for 200 req/s", got)
	}
}

// A history at another resolution than the interval (an hourly trace replayed one point per
// 1-minute interval) is the series the forecaster was fitted on: bascaler keeps it, one point
// per interval, and forecasts from the first decision instead of warming up for MinHistory
// intervals.
func TestBascalerKeepsAHistoryAtAnotherResolution(t *testing.T) {
	w := workload(t, "steady")
	w.History.Step = time.Hour // the same points, labelled hourly
	rates := w.Eval.Values[:30]
	res := runPolicy(t, "bascaler", w, rates, "detector=none")
	for i, r := range res.Records {
		if m := r.Decision.Explanation.Mode; m == policy.ModeWarmingUp {
			t.Fatalf("interval %d: %s (%s): the hourly history was dropped", i, m, r.Decision.Explanation.Reason)
		}
	}
}
