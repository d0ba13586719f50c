package policy

import (
	"github.com/bascaler/bascaler/internal/hpa"
	"math"
	"strings"
	"testing"
	"time"
)

// hpaStep is one sync of a scripted HPA timeline: the state the backend reports and the
// decision expected.
type hpaStep struct {
	replicas, ready int
	cpu             float64
	want            int
	limit           string
}

func runHPA(t *testing.T, p Policy, f *feed, steps []hpaStep) {
	t.Helper()
	for i, s := range steps {
		d := p.Decide(f.step(s.replicas, s.ready, s.cpu, 0))
		if d.Replicas != s.want || d.Explanation.Limit != s.limit {
			t.Fatalf("sync %d (t=%v, %d/%d ready, cpu %.2f): got %d limited by %q (%s), want %d limited by %q",
				i+1, f.now.Sub(t0), s.ready, s.replicas, s.cpu, d.Replicas, d.Explanation.Limit, d.Explanation, s.want, s.limit)
		}
	}
}

func TestHPABehaviour(t *testing.T) {
	cases := []struct {
		name   string
		params []string
		min    int
		max    int
		steps  []hpaStep
	}{
		{
			name: "within tolerance -> no change", min: 1, max: 100,
			steps: []hpaStep{{4, 4, 0.74, 4, ""}, {4, 4, 0.65, 4, ""}},
		},
		{
			name: "2 pods at 140% with target 70% -> 4", min: 1, max: 100,
			steps: []hpaStep{{2, 2, 1.40, 4, ""}},
		},
		{
			name: "scale-up capped at max(4 pods, 100%) per period, then doubles", min: 1, max: 100,
			steps: []hpaStep{
				{1, 1, 10, 5, hpa.LimitUpRate.String()},  // wants 15; 1+4 beats 1*2
				{5, 1, 10, 10, hpa.LimitUpRate.String()}, // 4 starting pods count as 0%: still 15 wanted; 5*2 beats 5+4
				{10, 5, 2.0, 15, ""},                     // 5 ready at 200%, 5 starting at 0%: 100%/70% -> ceil(14.3)
			},
		},
		{
			name: "scale events are remembered for the whole policy period", params: []string{"policy-period=60s"}, min: 1, max: 100,
			steps: []hpaStep{
				{1, 1, 10, 5, hpa.LimitUpRate.String()},
				{5, 1, 10, 5, hpa.LimitUpRate.String()}, // period started at 1 replica: limit still 5
				{5, 1, 10, 5, hpa.LimitUpRate.String()},
				{5, 5, 2.8, 5, hpa.LimitUpRate.String()},
				{5, 5, 2.8, 10, hpa.LimitUpRate.String()}, // the +4 event is now 60 s old: the period starts at 5
			},
		},
		{
			name: "select=min takes the smaller scale-up policy", params: []string{"select=min"}, min: 1, max: 100,
			steps: []hpaStep{{1, 1, 10, 2, hpa.LimitUpRate.String()}, {2, 2, 5, 4, hpa.LimitUpRate.String()}},
		},
		{
			name: "scale-down limited by down-percent=50", params: []string{"window=0s", "down-percent=50"}, min: 1, max: 100,
			steps: []hpaStep{
				{10, 10, 0.07, 5, hpa.LimitDownRate.String()},
				{5, 5, 0.07, 2, hpa.LimitDownRate.String()}, // floor(5 * 0.5)
				{2, 2, 0.07, 1, ""},                         // floor(2 * 0.5) = 1 is the wanted count anyway
			},
		},
		{
			name: "a scale-down in the same period raises the scale-up base", params: []string{"window=0s", "policy-period=60s"}, min: 1, max: 100,
			steps: []hpaStep{
				{10, 10, 0.07, 1, ""}, // -9
				{1, 1, 10, 15, ""},    // period start = 1 + 9 = 10: limit max(14, 20)
			},
		},
		{
			name: "scale-up stabilisation window ignores a one-sample spike", params: []string{"up-window=30s"}, min: 1, max: 100,
			steps: []hpaStep{
				{2, 2, 0.70, 2, ""},
				{2, 2, 0.70, 2, ""},
				{2, 2, 1.40, 2, hpa.LimitUpStabilization.String()}, // min over (0 s, 30 s]: the 2 of 15 s
				{2, 2, 0.70, 2, ""}, // spike over
				{2, 2, 1.40, 2, hpa.LimitUpStabilization.String()}, // the 2 of 45 s is in the window
				{2, 2, 1.40, 4, ""}, // sustained: only 4s in the window
			},
		},
		{
			name: "max replicas bounds a scale-up", min: 1, max: 3,
			steps: []hpaStep{{2, 2, 1.40, 3, limitMax}},
		},
		{
			name: "min replicas bounds a scale-down", params: []string{"window=0s"}, min: 3, max: 100,
			steps: []hpaStep{{10, 10, 0.07, 3, limitMin}},
		},
		{
			name: "current replicas above max go to max at once", min: 1, max: 5,
			steps: []hpaStep{{9, 9, 0.70, 5, limitMax}},
		},
		{
			name: "current replicas below min go to min at once", min: 4, max: 100,
			steps: []hpaStep{{2, 2, 0.70, 4, limitMin}},
		},
		{
			name: "moves to a bound count as scale events for the rate limit", params: []string{"policy-period=60s", "up-pods=1", "up-percent=0"}, min: 4, max: 100,
			steps: []hpaStep{
				{1, 1, 0.70, 4, limitMin},                 // +3 recorded
				{4, 4, 1.40, 4, hpa.LimitUpRate.String()}, // period start 1: limit 2 < 4, so hold until the event expires
				{4, 4, 1.40, 4, hpa.LimitUpRate.String()},
				{4, 4, 1.40, 4, hpa.LimitUpRate.String()},
				{4, 4, 1.40, 5, hpa.LimitUpRate.String()}, // 60 s later: start 4, +1
			},
		},
		{
			name: "behavior=none: at most max(2 x current, 4) per sync, no period memory", params: []string{"behavior=none"}, min: 1, max: 100,
			steps: []hpaStep{
				{1, 1, 10, 4, hpa.LimitUpRate.String()},               // wants 15
				{4, 1, 10, 8, hpa.LimitUpRate.String()},               // 3 starting pods at 0%: still 15 wanted
				{8, 8, 0.70, 15, hpa.LimitDownStabilization.String()}, // at target now, but the 15s are in the window
			},
		},
		{
			name: "no ready pods: no metrics, hold", min: 1, max: 100,
			steps: []hpaStep{{3, 0, 0, 3, ""}},
		},
		{
			name: "not-a-number cpu: hold", min: 1, max: 100,
			steps: []hpaStep{{3, 3, math.NaN(), 3, ""}},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := testEnv(c.params...)
			env.Min, env.Max = c.min, c.max
			runHPA(t, mustNew(t, "hpa", env), newFeed(15*time.Second, c.min, c.max), c.steps)
		})
	}
}

func TestHPAScaleDownWaitsForStabilisationWindow(t *testing.T) {
	p := mustNew(t, "hpa", testEnv())
	f := newFeed(15*time.Second, 1, 100)
	var lastHigh time.Time
	for range 6 { // steady at target: every recommendation is 10
		if d := p.Decide(f.step(10, 10, 0.70, 0)); d.Replicas != 10 {
			t.Fatalf("steady state at target: got %d, want 10", d.Replicas)
		}
		lastHigh = f.now
	}
	// The load drops to a tenth: the raw recommendation is 1 from now on.
	for {
		d := p.Decide(f.step(10, 10, 0.07, 0))
		if d.Explanation.Raw != 1 {
			t.Fatalf("raw recommendation at 7%% cpu = %d, want 1", d.Explanation.Raw)
		}
		age := f.now.Sub(lastHigh)
		if age < 300*time.Second {
			if d.Replicas != 10 || d.Explanation.Limit != hpa.LimitDownStabilization.String() {
				t.Fatalf("%v after the last high recommendation: got %d (%s), want 10 held by the window", age, d.Replicas, d.Explanation)
			}
			continue
		}
		// 300 s after the last high recommendation it has left the window: straight to 1,
		// as the default scale-down policy allows removing 100% per 15 s.
		if d.Replicas != 1 || d.Explanation.Limit != "" {
			t.Fatalf("%v after the last high recommendation: got %d (%s), want 1", age, d.Replicas, d.Explanation)
		}
		break
	}
}

func TestHPAScaleDownGoesToHighestRecentRecommendation(t *testing.T) {
	p := mustNew(t, "hpa", testEnv())
	f := newFeed(15*time.Second, 1, 100)
	p.Decide(f.step(10, 10, 0.70, 0)) // recommends 10
	p.Decide(f.step(10, 10, 0.35, 0)) // recommends 5
	for range 18 {                    // 30 s .. 285 s: recommends 2
		p.Decide(f.step(10, 10, 0.14, 0))
	}
	// At 300 s the 10 (made at 0 s) has left the window; the 5 (made at 15 s) has not.
	d := p.Decide(f.step(10, 10, 0.14, 0))
	if d.Replicas != 5 || d.Explanation.Raw != 2 {
		t.Fatalf("got %d (raw %d), want 5: the highest recommendation still in the window", d.Replicas, d.Explanation.Raw)
	}
}

func TestHPAWarmUpAndDisabled(t *testing.T) {
	p := mustNew(t, "hpa", testEnv())
	f := newFeed(15*time.Second, 1, 100)
	d := p.Decide(f.obs(3, 3)) // no tick has completed yet
	if d.Replicas != 3 || d.Explanation.Mode != ModeWarmingUp || d.Explanation.Reason != hpaReasonNoData {
		t.Errorf("empty Recent: got %d %q, want hold at 3 with %q", d.Replicas, d.Explanation, hpaReasonNoData)
	}
	obs := f.step(0, 0, 0, 0)
	obs.Min = 0
	if d := p.Decide(obs); d.Replicas != 0 || d.Explanation.Mode != ModeDisabled {
		t.Errorf("0 current replicas: got %d %q, want 0 (disabled)", d.Replicas, d.Explanation)
	}
}

func TestHPAParams(t *testing.T) {
	cases := []struct {
		name    string
		params  []string
		wantErr string // "" = must succeed
	}{
		{"defaults", nil, ""},
		{"all keys", []string{"target=0.5", "tolerance=0.05", "window=60s", "up-window=0", "policy-period=60", "up-pods=2", "up-percent=50", "down-pods=1", "down-percent=10", "select=min", "period=30s"}, ""},
		{"target as percent", []string{"target=80%"}, ""},
		{"target not a number", []string{"target=abc"}, `policy hpa: parameter target="abc" is not a finite number`},
		{"target not a whole percentage", []string{"target=0.725"}, "whole percentage"},
		{"negative tolerance", []string{"tolerance=-0.1"}, "parameter tolerance=-0.1"},
		{"bad window", []string{"window=soon"}, `parameter window="soon" is not a duration`},
		{"bad select", []string{"select=median"}, `parameter select="median" is not one of max, min, disabled`},
		{"no scale-up policy", []string{"up-pods=0", "up-percent=0"}, "no scale-up policy"},
		{"typo in a key", []string{"tagret=0.5"}, `policy hpa: unknown parameter "tagret" (valid: `},
		{"behavior=none with its window", []string{"behavior=none", "window=60s"}, ""},
		{"behavior=none has no rate rules", []string{"behavior=none", "up-pods=2"}, "parameter up-pods=2: is a spec.behavior rule"},
		{"unknown behavior", []string{"behavior=legacy"}, `parameter behavior="legacy" is not one of default, none`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New("hpa", testEnv(c.params...))
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("error = %v, want one containing %q", err, c.wantErr)
			}
		})
	}
}

// The HPA's recommendation ring must hold a full 300 s window even if the backend calls
// more often than the period (it grows instead of forgetting a recommendation).
func TestHPAWindowSurvivesFasterCalls(t *testing.T) {
	p := mustNew(t, "hpa", testEnv())
	f := newFeed(5*time.Second, 1, 100) // three times faster than the 15 s period
	p.Decide(f.step(10, 10, 0.70, 0))
	for i := 0; ; i++ {
		d := p.Decide(f.step(10, 10, 0.07, 0))
		if f.now.Sub(t0) < 305*time.Second {
			if d.Replicas != 10 {
				t.Fatalf("at %v: scaled down to %d before the 300 s window passed", f.now.Sub(t0), d.Replicas)
			}
			continue
		}
		if d.Replicas != 1 {
			t.Fatalf("at %v: got %d, want 1 after the window", f.now.Sub(t0), d.Replicas)
		}
		break
	}
}

func BenchmarkHPADecide(b *testing.B) {
	p := mustNew(b, "hpa", testEnv())
	f := newFeed(15*time.Second, 1, 100)
	for range 64 {
		f.step(10, 10, 0.7, 0)
	}
	o := f.obs(10, 10)
	// A load that moves every sync so that the windows and the rate limits are exercised;
	// the replicas follow the decisions as in the simulator.
	cpus := []float64{0.5, 0.9, 1.6, 0.3, 0.7, 1.1, 0.2, 2.5}
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		o.Now = t0.Add(time.Duration(i) * 15 * time.Second)
		o.Recent[len(o.Recent)-1].CPU = cpus[i%len(cpus)]
		d := p.Decide(o)
		o.Replicas, o.Ready = d.Replicas, d.Replicas
	}
}

// TestHPAMemoryTargetTakesTheLargerProposal: with memory-target the recommendation is the
// larger of the CPU and memory proposals, the reason names memory when it decided, and a
// missing memory reading leaves CPU alone.
func TestHPAMemoryTargetTakesTheLargerProposal(t *testing.T) {
	const mib = 1 << 20
	cases := []struct {
		name       string
		cpu, mem   float64 // mem: summed working set of the 4 ready pods
		want       int
		memDecided bool
	}{
		// 4 pods at 800 MiB each, target 400 MiB: memory asks for 8; CPU at target holds 4.
		{"memory bound", 0.7, 4 * 800 * mib, 8, true},
		// CPU at 140% of 70%: 8; memory at target: 4.
		{"cpu bound", 1.4, 4 * 400 * mib, 8, false},
		// Both want more; CPU (2.1/0.7 = 3x, 12) beats memory (1.5x, 6).
		{"both, cpu larger", 2.1, 4 * 600 * mib, 12, false},
		{"memory missing", 0.7, math.NaN(), 4, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustNew(t, "hpa", testEnv("memory-target=419430400", "up-pods=100"))
			f := newFeed(15*time.Second, 1, 100)
			obs := f.step(4, 4, c.cpu, 0)
			obs.Recent[len(obs.Recent)-1].MemoryBytes = c.mem
			d := p.Decide(obs)
			if d.Replicas != c.want {
				t.Errorf("got %d (%s), want %d", d.Replicas, d.Explanation, c.want)
			}
			if got := strings.HasPrefix(d.Explanation.Reason, "memory: "); got != c.memDecided {
				t.Errorf("reason %q: memory decided = %v, want %v", d.Explanation.Reason, got, c.memDecided)
			}
		})
	}
	if _, err := New("hpa", testEnv("memory-target=-1")); err == nil || !strings.Contains(err.Error(), "memory-target") {
		t.Errorf("negative memory-target: error %v, want one naming memory-target", err)
	}
}

// The policy syncs on the HPA controller's default period.
func TestHPAPeriodIsTheSyncPeriod(t *testing.T) {
	if got := mustNew(t, "hpa", testEnv()).Period(); got != hpa.SyncPeriod {
		t.Errorf("hpa period %v, want the controller's %v", got, hpa.SyncPeriod)
	}
}
