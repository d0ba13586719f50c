package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
)

// kpaStep is one 2 s tick of a scripted KPA timeline.
type kpaStep struct {
	replicas, ready int
	rate            float64
	want            int
	mode, limit     string
}

func runKPA(t *testing.T, p Policy, f *feed, steps []kpaStep) {
	t.Helper()
	for i, s := range steps {
		d := p.Decide(f.step(s.replicas, s.ready, 0, s.rate))
		if d.Replicas != s.want || d.Explanation.Mode.String() != s.mode || d.Explanation.Limit != s.limit {
			t.Fatalf("tick %d (t=%v, %d/%d ready, %g req/s): got %d (%s), want %d in %s mode limited by %q",
				i+1, f.now.Sub(t0), s.ready, s.replicas, s.rate, d.Replicas, d.Explanation, s.want, s.mode, s.limit)
		}
	}
}

// repeat returns n copies of a step.
func repeat(n int, s kpaStep) []kpaStep {
	out := make([]kpaStep, n)
	for i := range out {
		out[i] = s
	}
	return out
}

func TestKPASteadyState(t *testing.T) {
	p := mustNew(t, "kpa", testEnv("target-rps=50"))
	f := newFeed(2*time.Second, 1, 100)
	runKPA(t, p, f, repeat(40, kpaStep{6, 6, 290, 6, "steady", ""})) // 5.8 pods' worth
	// A one-tick +20% wobble: the stable average moves to 291.9 (still 6 pods) and the panic
	// average to 309 (7 pods, 7/6 below the 200% threshold).
	runKPA(t, p, f, []kpaStep{{6, 6, 348, 6, "steady", ""}, {6, 6, 290, 6, "steady", ""}})
}

func TestKPAPanicOnTripleLoad(t *testing.T) {
	p := mustNew(t, "kpa", testEnv("target-rps=50"))
	f := newFeed(2*time.Second, 1, 100)
	runKPA(t, p, f, repeat(30, kpaStep{6, 6, 300, 6, "steady", ""}))
	runKPA(t, p, f, []kpaStep{
		// panic window (6 s = 3 ticks): (300+300+900)/3 = 500 -> 10 pods, 10/6 < 2: no panic;
		// the stable average (29*300+900)/30 = 320 -> 7.
		{6, 6, 900, 7, "steady", ""},
		// (300+900+900)/3 = 700 -> 14 pods, 14/6 >= 2: panic, and the panic window decides.
		{6, 6, 900, 14, "panic", ""},
		{14, 6, 900, 18, "panic", ""}, // 900/50 = 18; new pods still starting
		{18, 18, 900, 18, "panic", ""},
	})
}

func TestKPANoScaleDownWhilePanicking(t *testing.T) {
	p := mustNew(t, "kpa", testEnv("target-rps=50"))
	f := newFeed(2*time.Second, 1, 100)
	runKPA(t, p, f, repeat(30, kpaStep{6, 6, 300, 6, "steady", ""}))
	runKPA(t, p, f, []kpaStep{{6, 6, 900, 7, "steady", ""}, {6, 6, 900, 14, "panic", ""}})
	lastPanic := f.now // 14/6 >= 2 here; from now on the panic window stays below 200%
	runKPA(t, p, f, []kpaStep{{14, 14, 900, 18, "panic", ""}})
	// The load falls back at once. Both recommendations drop (the stable one slowly, as its
	// window still remembers the surge), but the decision stays at the panic's highest, 18,
	// until a full stable window (60 s) has passed since the last tick over the threshold.
	for {
		d := p.Decide(f.step(18, 18, 0, 300))
		age := f.now.Sub(lastPanic)
		if age <= 60*time.Second {
			if d.Replicas != 18 || d.Explanation.Mode != ModePanic || d.Explanation.Limit != kpaLimitPanic {
				t.Fatalf("%v after the last panicking tick: got %d (%s), want 18 held in panic mode", age, d.Replicas, d.Explanation)
			}
			continue
		}
		// Panic is over; the stable window holds only 300 req/s, so 6 pods are wanted, but
		// at most half of the 18 ready pods may go at once.
		if d.Replicas != 9 || d.Explanation.Mode != ModeSteady || d.Explanation.Limit != kpaLimitDownRate {
			t.Fatalf("%v after the last panicking tick: got %d (%s), want 9 in stable mode, limited by the scale-down rate", age, d.Replicas, d.Explanation)
		}
		break
	}
	runKPA(t, p, f, []kpaStep{{9, 9, 300, 6, "steady", ""}}) // floor(9/2) = 4 < 6
}

func TestKPAScaleDownHalvesAtMost(t *testing.T) {
	p := mustNew(t, "kpa", testEnv("target-rps=50"))
	f := newFeed(2*time.Second, 1, 100)
	runKPA(t, p, f, []kpaStep{
		{20, 20, 50, 10, "steady", kpaLimitDownRate}, // wants 1
		{10, 10, 50, 5, "steady", kpaLimitDownRate},
		{5, 5, 50, 2, "steady", kpaLimitDownRate}, // floor(5/2)
		{2, 2, 50, 1, "steady", ""},
		{4, 2, 50, 1, "steady", ""}, // the clamp is relative to ready pods, not allocated ones
	})
}

func TestKPAScaleUpRateAndBounds(t *testing.T) {
	cases := []struct {
		name     string
		params   []string
		min, max int
		steps    []kpaStep
	}{
		{
			name: "max-scale-up-rate=2 limits a jump from 2 pods to 4", params: []string{"target-rps=50", "max-scale-up-rate=2"}, min: 1, max: 100,
			steps: []kpaStep{{2, 2, 1000, 4, "panic", kpaLimitUpRate}},
		},
		{
			name: "rate 1.1 still adds a pod", params: []string{"target-rps=1", "max-scale-up-rate=1.1"}, min: 1, max: 100,
			steps: []kpaStep{{2, 2, 5, 3, "panic", kpaLimitUpRate}}, // ceil(1.1 * 2) = 3, not 2
		},
		{
			name: "demand of exactly 200% of the ready pods enters panic", params: []string{"target-rps=50"}, min: 1, max: 100,
			steps: []kpaStep{{3, 3, 300, 6, "panic", ""}},
		},
		{
			name: "max replicas", params: []string{"target-rps=50"}, min: 1, max: 10,
			steps: []kpaStep{{6, 6, 1000, 10, "panic", limitMax}},
		},
		{
			name: "min replicas", params: []string{"target-rps=50"}, min: 3, max: 100,
			steps: []kpaStep{{4, 4, 10, 3, "steady", limitMin}},
		},
		{
			name: "no ready pods count as one", params: []string{"target-rps=50"}, min: 1, max: 100,
			steps: []kpaStep{{3, 0, 40, 1, "steady", ""}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := testEnv(c.params...)
			env.Min, env.Max = c.min, c.max
			runKPA(t, mustNew(t, "kpa", env), newFeed(2*time.Second, c.min, c.max), c.steps)
		})
	}
}

func TestKPAWindowsAverageWhatIsThere(t *testing.T) {
	p := mustNew(t, "kpa", testEnv("target-rps=10"))
	f := newFeed(2*time.Second, 1, 100)
	if d := p.Decide(f.obs(3, 3)); d.Replicas != 3 || d.Explanation.Mode != ModeWarmingUp {
		t.Fatalf("no samples: got %d (%s), want hold at 3 warming up", d.Replicas, d.Explanation)
	}
	// Two ticks of a 30-tick window: the average is over those two, (20+40)/2 = 30 req/s,
	// not over the whole window (which would be 2 req/s).
	p.Decide(f.step(3, 3, 0, 20))
	if d := p.Decide(f.step(3, 3, 0, 40)); d.Replicas != 3 {
		t.Fatalf("got %d (%s), want 3 = ceil(mean(20, 40) / 10)", d.Replicas, d.Explanation)
	}
}

func TestKPAConcurrencyMetric(t *testing.T) {
	p := mustNew(t, "kpa", testEnv("metric=concurrency", "target-concurrency=2"))
	f := newFeed(2*time.Second, 1, 100)
	d := p.Decide(f.stepSample(6, 6, Sample{Concurrency: 12, Rate: 1e6}))
	if d.Replicas != 6 {
		t.Fatalf("12 in flight at 2 per pod: got %d (%s), want 6 (the rate must be ignored)", d.Replicas, d.Explanation)
	}
}

func TestKPADefaultTargetFromSLO(t *testing.T) {
	// fft: 15.7 ms mean at 80 req/s and 23.5 ms at 90, so a 16 ms SLO allows a little over 80.
	p := mustNew(t, "kpa", testEnv()).(*kpa)
	if p.target < 0.7*80 || p.target > 0.7*81 {
		t.Errorf("rps target = %g, want 70%% of the ~80.4 req/s SLO capacity", p.target)
	}
	c := mustNew(t, "kpa", testEnv("metric=concurrency")).(*kpa)
	// At ~56 req/s the fft pod's mean latency is about 11 ms: about 0.63 requests in flight.
	if w := c.target / p.target; w < 0.010 || w > 0.013 {
		t.Errorf("concurrency target %g / rps target %g = %g s, want the ~11 ms mean latency at that load", c.target, p.target, w)
	}
	env := testEnv()
	env.SLO = SLO{Metric: perf.Mean, TargetMS: 5} // below an idle pod's 10 ms
	if _, err := New("kpa", env); err == nil || !strings.Contains(err.Error(), "policy kpa") {
		t.Errorf("unreachable SLO: error = %v, want the capacity error from the factory", err)
	}
	env = testEnv()
	env.Profile = nil
	if _, err := New("kpa", env); err == nil || !strings.Contains(err.Error(), "needs a performance profile") {
		t.Errorf("no profile: error = %v", err)
	}
	env.Params["target-rps"] = "50"
	if _, err := New("kpa", env); err != nil {
		t.Errorf("no profile but target-rps given: %v", err)
	}
}

func TestKPAParams(t *testing.T) {
	cases := []struct {
		params  []string
		wantErr string
	}{
		{[]string{"target-rps=-5"}, "parameter target-rps=-5"},
		{[]string{"metric=latency"}, `parameter metric="latency" is not one of rps, concurrency`},
		{[]string{"max-scale-down-rate=1"}, "parameter max-scale-down-rate=1: must be > 1"},
		{[]string{"stable-window=1s"}, "must be at least one period"},
		{[]string{"metric=concurrency", "target-rps=5"}, "applies to metric=rps"},
		{[]string{"panic-treshold=3"}, `unknown parameter "panic-treshold"`},
	}
	for _, c := range cases {
		_, err := New("kpa", testEnv(c.params...))
		if err == nil || !strings.Contains(err.Error(), c.wantErr) || !strings.HasPrefix(err.Error(), "policy kpa") {
			t.Errorf("params %v: error = %v, want one containing %q", c.params, err, c.wantErr)
		}
	}
}

func TestKPABadMetricHolds(t *testing.T) {
	p := mustNew(t, "kpa", testEnv("target-rps=50"))
	f := newFeed(2*time.Second, 1, 100)
	if d := p.Decide(f.step(5, 5, 0, math.NaN())); d.Replicas != 5 || d.Explanation.Reason != kpaReasonBadMetric {
		t.Errorf("NaN rate: got %d (%s), want hold at 5", d.Replicas, d.Explanation)
	}
}

func BenchmarkKPADecide(b *testing.B) {
	p := mustNew(b, "kpa", testEnv())
	f := newFeed(2*time.Second, 1, 100)
	for range 64 {
		f.step(10, 10, 0, 500)
	}
	o := f.obs(10, 10)
	rates := []float64{300, 500, 900, 1500, 700, 200, 400, 1100}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		o.Now = t0.Add(time.Duration(i) * 2 * time.Second)
		o.Recent[i%len(o.Recent)].Rate = rates[i%len(rates)]
		d := p.Decide(o)
		o.Replicas, o.Ready = d.Replicas, d.Replicas
	}
}
