package policy

import (
	"math"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/series"
)

// zeroEnv is testEnv with min 0 (scale to zero allowed).
func zeroEnv(kv ...string) Env {
	env := testEnv(kv...)
	env.Min = 0
	return env
}

// TestServerlessDefaultsArePinned pins the documented defaults of the scale-to-zero
// policies: Knative's, KEDA's, the FaaS platforms' keep-alives and the paper's histogram.
func TestServerlessDefaultsArePinned(t *testing.T) {
	capacity, err := testEnv().Profile.CapacityAt(testEnv().SLO.Metric, testEnv().SLO.TargetMS)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name  string
		pol   string
		env   Env
		check func(p Policy) (got, want any)
	}{
		{"keepalive:10m keeps 10 minutes (AWS Lambda-like)", "keepalive:10m", zeroEnv(),
			func(p Policy) (any, any) { return p.(*keepAlive).keep, 10 * time.Minute }},
		{"keepalive:20m keeps 20 minutes (Azure Functions-like)", "keepalive:20m", zeroEnv(),
			func(p Policy) (any, any) { return p.(*keepAlive).keep, 20 * time.Minute }},
		{"keepalive decides every 2 s", "keepalive:10m", zeroEnv(),
			func(p Policy) (any, any) { return p.Period(), 2 * time.Second }},
		{"keepalive keeps its full name", "keepalive:90s", zeroEnv(),
			func(p Policy) (any, any) { return p.Name(), "keepalive:90s" }},
		{"kpa scales to zero with min 0", "kpa", zeroEnv(),
			func(p Policy) (any, any) { return p.(*kpa).scaleToZero, true }},
		{"kpa does not with min 1", "kpa", testEnv(),
			func(p Policy) (any, any) { return p.(*kpa).scaleToZero, false }},
		{"kpa enable-scale-to-zero=false", "kpa", zeroEnv("enable-scale-to-zero=false"),
			func(p Policy) (any, any) { return p.(*kpa).scaleToZero, false }},
		{"kpa scale-to-zero-grace-period 30 s", "kpa", zeroEnv(),
			func(p Policy) (any, any) { return p.(*kpa).grace, 30 * time.Second }},
		{"kpa stable window 60 s", "kpa", zeroEnv(),
			func(p Policy) (any, any) { return p.(*kpa).stableWindow, 60 * time.Second }},
		{"keda pollingInterval 30 s", "keda", zeroEnv(),
			func(p Policy) (any, any) { return p.Period(), 30 * time.Second }},
		{"keda cooldownPeriod 300 s", "keda", zeroEnv(),
			func(p Policy) (any, any) { return p.(*keda).cooldown, 300 * time.Second }},
		{"keda activationThreshold 0", "keda", zeroEnv(),
			func(p Policy) (any, any) { return p.(*keda).activation, 0.0 }},
		{"keda threshold 70% of the SLO capacity", "keda", zeroEnv(),
			func(p Policy) (any, any) { return p.(*keda).threshold, 0.7 * capacity }},
		{"hybrid: 240 one-minute bins (4 h)", "hybrid-histogram", zeroEnv(),
			func(p Policy) (any, any) { return len(p.(*hybrid).bins), 240 }},
		{"hybrid: head 5th, tail 99th percentile", "hybrid-histogram", zeroEnv(),
			func(p Policy) (any, any) { h := p.(*hybrid); return [2]float64{h.head, h.tail}, [2]float64{0.05, 0.99} }},
		{"hybrid: 10% margin, CV threshold 2", "hybrid-histogram", zeroEnv(),
			func(p Policy) (any, any) { h := p.(*hybrid); return [2]float64{h.margin, h.cv}, [2]float64{0.1, 2} }},
		{"hybrid: fallback keep-alive is the 4 h range", "hybrid-histogram", zeroEnv(),
			func(p Policy) (any, any) { return p.(*hybrid).fallback, 4 * time.Hour }},
	} {
		t.Run(c.name, func(t *testing.T) {
			got, want := c.check(mustNew(t, c.pol, c.env))
			if got != want {
				t.Errorf("got %v, want %v", got, want)
			}
		})
	}
}

func TestServerlessPoliciesRejectBadSpecs(t *testing.T) {
	for _, c := range []struct{ name, pol, param string }{
		{"keep-alive not a duration", "keepalive:ten", ""},
		{"keep-alive zero", "keepalive:0s", ""},
		{"negative cooldown", "keda", "cooldown-period=-1s"},
		{"bad bool", "kpa", "enable-scale-to-zero=maybe"},
		{"head above tail", "hybrid-histogram", "head=99"},
		{"unknown parameter", "keepalive:10m", "nope=1"},
	} {
		env := zeroEnv()
		if c.param != "" {
			env = zeroEnv(c.param)
		}
		if _, err := New(c.pol, env); err == nil {
			t.Errorf("%s: %s accepted", c.name, c.pol)
		}
	}
}

// zeroStep is one tick of a scripted scale-to-zero timeline: the counts, the demand (rate
// at the pods, held by the activator), and the wanted decision and mode.
type zeroStep struct {
	replicas, ready int
	rate, held      float64
	want            int
	mode            string
}

func runZero(t *testing.T, p Policy, f *feed, steps []zeroStep) {
	t.Helper()
	for i, s := range steps {
		d := p.Decide(f.stepSample(s.replicas, s.ready, Sample{Rate: s.rate, Held: s.held}))
		if d.Replicas != s.want || d.Explanation.Mode.String() != s.mode {
			t.Fatalf("step %d (t=%v): got %d (%s), want %d in mode %s", i+1, f.now.Sub(t0), d.Replicas, d.Explanation, s.want, s.mode)
		}
	}
}

func zeros(n int, s zeroStep) []zeroStep {
	out := make([]zeroStep, n)
	for i := range out {
		out[i] = s
	}
	return out
}

// TestKeepAliveTimeline: keepalive:10m with 2 s ticks. A request in the first tick (ending
// at 2 s): warm through the decision at 2 s + 9:58 = 10:00, zero from 10:02 on. Then a tick
// with held requests and no ready pod wakes it.
func TestKeepAliveTimeline(t *testing.T) {
	p := mustNew(t, "keepalive:10m", zeroEnv())
	f := newFeed(2*time.Second, 0, 100)
	runZero(t, p, f, []zeroStep{{1, 1, 5, 0, 1, "steady"}})
	runZero(t, p, f, zeros(299, zeroStep{1, 1, 0, 0, 1, "steady"})) // decisions at 4 s .. 10:00
	runZero(t, p, f, []zeroStep{{1, 1, 0, 0, 0, "idle"}, {0, 0, 0, 0, 0, "idle"}})
	runZero(t, p, f, []zeroStep{{0, 0, 0.5, 0.5, 1, "wake"}, {1, 0, 0.5, 0.5, 1, "wake"}, {1, 1, 0.5, 0, 1, "steady"}})
	// With min 1 the keep-alive never goes below one pod.
	p1 := mustNew(t, "keepalive:10m", testEnv())
	f1 := newFeed(2*time.Second, 1, 100)
	runZero(t, p1, f1, []zeroStep{{1, 1, 5, 0, 1, "steady"}})
	runZero(t, p1, f1, zeros(400, zeroStep{1, 1, 0, 0, 1, "steady"})[:299])
	runZero(t, p1, f1, []zeroStep{{1, 1, 0, 0, 1, "idle"}})
}

// TestKPAScaleToZeroAfterGracePeriod follows kpa.go's worked example: the last request is
// in the tick ending at 2 s (t is counted from the feed's start): the stable window (30
// ticks) holds it through the decision at 60 s, the first zero recommendation is at 62 s,
// the grace period keeps one pod through 90 s and the decision at 92 s is 0. A held
// request then wakes it.
func TestKPAScaleToZeroAfterGracePeriod(t *testing.T) {
	p := mustNew(t, "kpa", zeroEnv("target-rps=50"))
	f := newFeed(2*time.Second, 0, 100)
	runZero(t, p, f, []zeroStep{{1, 1, 10, 0, 1, "steady"}})                       // decision at 2 s
	runZero(t, p, f, zeros(29, zeroStep{1, 1, 0, 0, 1, "steady"}))                 // 4 s .. 60 s
	runZero(t, p, f, zeros(15, zeroStep{1, 1, 0, 0, 1, "idle"}))                   // 62 s .. 90 s: grace
	runZero(t, p, f, []zeroStep{{1, 1, 0, 0, 0, "idle"}, {0, 0, 0, 0, 0, "idle"}}) // 92 s: zero
	runZero(t, p, f, []zeroStep{{0, 0, 3, 3, 1, "wake"}})
	if !p.(*kpa).inactiveSince.IsZero() {
		t.Error("a woken revision still counts as inactive")
	}
}

// TestKEDAActivationAndCooldown: 30 s polls. Requests in the first poll (ending 30 s),
// none after: the poll at 30 s + 300 s = 330 s scales to zero. An arrival held in the next
// poll activates (0 -> 1).
func TestKEDAActivationAndCooldown(t *testing.T) {
	p := mustNew(t, "keda", zeroEnv("threshold=50"))
	f := newFeed(30*time.Second, 0, 100)
	runZero(t, p, f, []zeroStep{{1, 1, 10, 0, 1, "steady"}})      // 30 s
	runZero(t, p, f, zeros(9, zeroStep{1, 1, 0, 0, 1, "steady"})) // 60 s .. 300 s
	runZero(t, p, f, []zeroStep{{1, 1, 0, 0, 0, "idle"}})         // 330 s
	runZero(t, p, f, []zeroStep{{0, 0, 0, 0, 0, "idle"}, {0, 0, 0.2, 0.2, 1, "wake"}})
	// Above one replica the HPA decides: 180 req/s over 1 pod against 50 per pod -> 4.
	runZero(t, p, f, []zeroStep{{1, 1, 180, 0, 4, "steady"}})
}

// onOffHistory is per-minute history of a workload busy one minute in every `every`.
func onOffHistory(cycles, every int) series.Series {
	v := make([]float64, 0, cycles*every)
	for range cycles {
		v = append(v, 1)
		for range every - 1 {
			v = append(v, 0)
		}
	}
	return series.Series{Name: "periodic", Start: t0.Add(-time.Duration(len(v)) * time.Minute), Step: time.Minute, Values: v}
}

// TestHybridHistogramWorkedExample is hybrid.go's worked example: one busy minute every 10
// minutes gives ITs of 9 minutes; pre-warm 0.9 x 9 = 8.1 min, keep-end 1.1 x 10 = 11 min.
// With 6 s ticks: the invocation's last tick ends at E; 0 pods through E + 8:00, one pod
// from E + 8:06 through E + 10:54, 0 from E + 11:00.
func TestHybridHistogramWorkedExample(t *testing.T) {
	env := zeroEnv("period=6s")
	env.History = onOffHistory(21, 10) // 21 busy minutes: 20 ITs of 9
	p := mustNew(t, "hybrid-histogram", env)
	h := p.(*hybrid)
	pre, keep, rep := h.windows()
	if !rep || pre != 486*time.Second || keep != 660*time.Second {
		t.Fatalf("windows: pre-warm %v, keep-end %v, representative %v; want 8m6s, 11m0s, true", pre, keep, rep)
	}
	f := newFeed(6*time.Second, 0, 100)
	runZero(t, p, f, []zeroStep{{1, 1, 2, 0, 1, "steady"}})                            // E = 6 s
	runZero(t, p, f, zeros(80, zeroStep{0, 0, 0, 0, 0, "idle"}))                       // E+6 s .. E+8:00
	runZero(t, p, f, zeros(28, zeroStep{1, 1, 0, 0, 1, "pre-warm"}))                   // E+8:06 .. E+10:48
	runZero(t, p, f, []zeroStep{{1, 1, 0, 0, 1, "pre-warm"}, {1, 1, 0, 0, 0, "idle"}}) // 10:54, 11:00
}

// TestHybridHistogramFallsBack: the fixed keep-alive (the 4 h range, pre-warm 0) when the
// histogram is not representative.
func TestHybridHistogramFallsBack(t *testing.T) {
	spread := func() series.Series {
		// ITs 0, 1, ..., 99 once each: 100 bins with one count of 240; mean m = 100/240,
		// CV = sqrt((1-m)/m) = sqrt(1.4) = 1.18 < 2.
		var v []float64
		for k := 0; k < 100; k++ {
			v = append(v, 1)
			for range k {
				v = append(v, 0)
			}
		}
		v = append(v, 1)
		return series.Series{Name: "spread", Start: t0.Add(-time.Duration(len(v)) * time.Minute), Step: time.Minute, Values: v}
	}
	for _, c := range []struct {
		name string
		hist series.Series
	}{
		{"too few idle times (5 < min-its 10)", onOffHistory(6, 10)},
		{"flat histogram (CV 1.18 < 2)", spread()},
	} {
		env := zeroEnv()
		env.History = c.hist
		pre, keep, rep := mustNew(t, "hybrid-histogram", env).(*hybrid).windows()
		if rep || pre != 0 || keep != 4*time.Hour {
			t.Errorf("%s: pre-warm %v keep-end %v representative %v, want the 4 h fixed keep-alive", c.name, pre, keep, rep)
		}
	}
	if cv := math.Sqrt(1.4); cv >= 2 {
		t.Fatal("the flat case's arithmetic is wrong")
	}
}

// TestBascalerPredictivePrewarm is bascaler's scale-to-zero rule on a given forecast
// (60 s intervals, 30 s start-up, 5 s guard): with no request in the last interval,
//
//	forecast idle for 4 intervals (< 0.5 request each), busy in the 5th:
//	  4 min >= 30 s + 5 s: scale to zero, pre-warm at now + 4 min - 30 s = 3:30;
//	forecast idle for 1 interval: 1 min >= 35 s still pays: zero, pre-warm at 0:30
//	(with a 60 s start-up it would not: 1 min < 65 s).
//
// At zero, the guard keeps 0 until 3:30 and starts one pod then; a held request wakes it
// at once whatever the plan.
func TestBascalerPredictivePrewarm(t *testing.T) {
	env := zeroEnv("min-gaps=100000") // the rate forecast; the gap forecast is tested below
	env.History = onOffHistory(60, 10)
	p := mustNew(t, "bascaler", env).(*bascaler)
	fcOf := func(rates ...float64) forecast.Forecast {
		f := forecast.Forecast{Levels: []float64{0.5, 0.9}}
		for _, r := range rates {
			f.Q = append(f.Q, []float64{r, r})
		}
		return f
	}
	obsAt := func(at time.Duration, replicas int, held float64) *Observation {
		return &Observation{Now: t0.Add(at), Interval: time.Minute, Tick: 5 * time.Second, Replicas: replicas, Ready: replicas,
			History: []Interval{{Start: t0.Add(at - time.Minute)}},
			Recent:  []Sample{{Start: t0.Add(at - 5*time.Second), Rate: held, Held: held}}, Min: 0, Max: 100}
	}
	for _, c := range []struct {
		name   string
		fc     forecast.Forecast
		want   int
		mode   string
		wakeAt time.Duration // from the decision; -1: none
	}{
		{"idle 4 intervals: zero, pre-warm at 3:30", fcOf(0, 0, 0, 0.001, 0.5, 0.5), 0, "idle", 3*time.Minute + 30*time.Second},
		{"idle beyond the horizon: zero, no pre-warm", fcOf(0, 0, 0, 0, 0, 0), 0, "idle", -1},
		{"idle 1 interval: pays 25 s", fcOf(0, 0.5, 0.5), 0, "idle", 30 * time.Second},
		{"busy next interval: keep one pod", fcOf(0.5, 0.5), 1, "steady", -1},
	} {
		got, mode, _ := p.scaleToZero(obsAt(0, 1, 0), 0, c.fc, true, 0, ModeSteady, "")
		wake := time.Duration(-1)
		if !p.wakeAt.IsZero() {
			wake = p.wakeAt.Sub(t0)
		}
		if got != c.want || mode.String() != c.mode || wake != c.wakeAt {
			t.Errorf("%s: got %d (%s), pre-warm at %v; want %d (%s), %v", c.name, got, mode, wake, c.want, c.mode, c.wakeAt)
		}
	}
	slow := *p
	slow.startup = time.Minute
	if slow.pays(1) || !slow.pays(2) || p.pays(0) {
		t.Error("pays: with a 60 s start-up and 5 s guard, 1 idle minute must not pay and 2 must; 0 never pays")
	}
	// At zero with the first plan: the guard's decisions.
	p.scaleToZero(obsAt(0, 1, 0), 0, fcOf(0, 0, 0, 0.001, 0.5, 0.5), true, 0, ModeSteady, "")
	for _, g := range []struct {
		at   time.Duration
		held float64
		want int
		mode string
	}{
		{3*time.Minute + 25*time.Second, 0, 0, "idle"},
		{3*time.Minute + 30*time.Second, 0, 1, "pre-warm"},
		{time.Minute, 0.2, 1, "wake"},
	} {
		d := p.guardDecision(obsAt(g.at, 0, g.held))
		if d.Replicas != g.want || d.Explanation.Mode.String() != g.mode {
			t.Errorf("guard at %v (held %g): %d (%s), want %d (%s)", g.at, g.held, d.Replicas, d.Explanation, g.want, g.mode)
		}
	}
	// The gap forecast: busy one minute in 30 (gaps of 29 idle minutes), the history ending
	// busy, then 2 idle intervals: the remaining gap is 27 intervals for every past gap, so
	// its 10% quantile is 27: zero, pre-warm at 27 min - 30 s.
	genv := zeroEnv()
	genv.History = onOffHistory(40, 30)
	genv.History.Values = append(genv.History.Values, 1)
	genv.History.Start = genv.History.Start.Add(-time.Minute)
	gp := mustNew(t, "bascaler", genv).(*bascaler)
	gp.gaps.syncValues(gp.mem.values)
	gp.gaps.learn(false)
	gp.gaps.learn(false)
	if got, mode, _ := gp.scaleToZero(obsAt(0, 1, 0), 0, forecast.Forecast{}, false, 0, ModeSteady, ""); got != 0 || mode != ModeIdle ||
		gp.wakeAt.Sub(t0) != 27*time.Minute-30*time.Second {
		t.Errorf("gap forecast: %d (%s), pre-warm at %v; want 0 (idle) at 26m30s", got, mode, gp.wakeAt.Sub(t0))
	}
	if r, n := gp.gaps.remaining(2, 0.1); r != 27 || n != 40 {
		t.Errorf("remaining gap %d over %g gaps, want 27 over 40 (40 cycles, the last one closed by the final busy minute)", r, n)
	}
	// Right after a busy interval (requests in its last tick) the same gap statistics at
	// zero idle time decide: every gap was 29 idle minutes, so the pod goes at once and is
	// pre-warmed at 29 min - 30 s, as the hybrid histogram unloads after an execution; a
	// request held in the last tick (waking) keeps it.
	ap := mustNew(t, "bascaler", genv).(*bascaler)
	busyObs := func(held float64) *Observation {
		o := obsAt(0, 1, 1)
		o.History[0].Rate = 1
		o.Recent[0].Held = held
		return o
	}
	if got, mode, _ := ap.scaleToZero(busyObs(0), 1, forecast.Forecast{}, false, 1, ModeSteady, ""); got != 0 || mode != ModeIdle ||
		ap.wakeAt.Sub(t0) != 29*time.Minute-30*time.Second {
		t.Errorf("after a busy interval: %d (%s), pre-warm at %v; want 0 (idle) at 28m30s", got, mode, ap.wakeAt.Sub(t0))
	}
	if got, _, _ := ap.scaleToZero(busyObs(1), 1, forecast.Forecast{}, false, 1, ModeSteady, ""); got != 1 {
		t.Errorf("after a busy interval with a held request: %d, want 1", got)
	}
	// Busy intervals in a row in the history (gaps of 0): the early side of the next gap
	// is 0, so the pod stays.
	benv := zeroEnv()
	benv.History = onOffHistory(40, 30)
	for i := 0; i < len(benv.History.Values); i += 30 {
		benv.History.Values[i+1] = 1 // two busy minutes per cycle
	}
	benv.History.Values = append(benv.History.Values, 1)
	benv.History.Start = benv.History.Start.Add(-time.Minute)
	bp := mustNew(t, "bascaler", benv).(*bascaler)
	if got, _, _ := bp.scaleToZero(busyObs(0), 1, forecast.Forecast{}, false, 1, ModeSteady, ""); got != 1 {
		t.Errorf("after a busy interval where busy intervals come in pairs: %d, want 1", got)
	}
	// At zero, traffic forecast in the next interval: the pre-warm is planned 30 s ahead
	// (60 s - 30 s start-up), not started at once; traffic in this interval starts it now.
	if got, mode, _ := p.scaleToZero(obsAt(0, 0, 0), 0, fcOf(0, 0.5), true, 0, ModeSteady, ""); got != 0 || mode != ModeIdle || p.wakeAt.Sub(t0) != 30*time.Second {
		t.Errorf("near traffic at zero: %d (%s), pre-warm at %v; want 0, planned at 30s", got, mode, p.wakeAt.Sub(t0))
	}
	if got, mode, _ := p.scaleToZero(obsAt(0, 0, 0), 0, fcOf(0.5, 0.5), true, 0, ModeSteady, ""); got != 1 || mode != ModePrewarm {
		t.Errorf("traffic forecast now at zero: %d (%s), want 1 (pre-warm)", got, mode)
	}
	// With min 1 the rule is off.
	if mustNew(t, "bascaler", func() Env { e := testEnv(); e.History = onOffHistory(60, 10); return e }()).(*bascaler).zero {
		t.Error("bascaler with min 1 scales to zero")
	}
}
