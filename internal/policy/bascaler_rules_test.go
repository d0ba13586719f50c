package policy

import (
	"math"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

// The guard's rise projection, worked: ticks of 5 s at 100, 110, 120, 130 req/s rise by
// 10 req/s a tick; a 30 s start-up is 6 ticks, so with guard-trend=1 the pods asked for now
// are sized for 130 + 6*10 = 190 req/s (guard-trend=0.5: 130 + 3*10 = 160). A falling or
// flat series is not projected (the last rate), and one tick has no slope.
func TestGuardProjectsTheRiseOverTheStartupDelay(t *testing.T) {
	rates := func(rs ...float64) []Sample {
		out := make([]Sample, len(rs))
		for i, r := range rs {
			out[i] = Sample{Rate: r}
		}
		return out
	}
	for _, c := range []struct {
		trend float64
		in    []Sample
		want  float64
	}{
		{1, rates(100, 110, 120, 130), 190},
		{0.5, rates(100, 110, 120, 130), 160},
		{1, rates(50, 100, 110, 120, 130), 190}, // the slope is over the last 3 ticks only
		{1, rates(130, 120, 110, 100), 100},
		{1, rates(100, 100), 100},
		{1, rates(100), 100},
	} {
		b := &bascaler{trend: c.trend, startup: 30 * time.Second}
		if got := b.projectRise(c.in, 5*time.Second); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("trend %g, ticks %v: projected %g req/s, want %g", c.trend, c.in, got, c.want)
		}
	}
}

// The guard sizes for the projection when it fires: on the worked example above at
// 76.37 req/s per pod (fft at 16 ms, headroom 0.95), 130 req/s alone needs 2 pods, 190 needs 3.
func TestGuardScalesForTheProjectedRise(t *testing.T) {
	for _, c := range []struct {
		trend string
		want  int
	}{{"0", 2}, {"1", 3}} {
		env := testEnv("detector=none", "forecaster=naive", "guard-trend="+c.trend)
		flat := make([]float64, 200)
		for i := range flat {
			flat[i] = 100
		}
		env.History = series.Series{Name: "flat", Start: t0.Add(-200 * time.Minute), Step: time.Minute, Values: flat}
		p := mustNew(t, "bascaler", env)
		f := newFeed(5*time.Second, 1, 100)
		var obs *Observation
		for _, r := range []float64{100, 100, 100, 100, 110, 120, 130} {
			obs = f.step(1, 1, 0.5, r)
		}
		// The first decision is an interval decision; the ones after it are guard ticks.
		if d := p.Decide(f.obs(1, 1)); d.Replicas < 1 {
			t.Fatalf("first decision %d pods", d.Replicas)
		}
		obs = f.step(1, 1, 0.5, 130)
		d := p.Decide(obs)
		if d.Explanation.Mode != ModeGuard || d.Replicas != c.want {
			t.Fatalf("guard-trend=%s: %d pods (%q), want %d from the guard", c.trend, d.Replicas, d.Explanation.Reason, c.want)
		}
	}
}

// The burst cap, worked: the last completed interval ran at 100 req/s, so burst-cap=1.5
// bounds a burst plan at 150 req/s: an overestimate of 240 becomes 150, one of 120 is kept.
// The spike before it (300 req/s) is not looked at: once it has passed, the plan falls.
func TestBurstPlanIsCappedByTheLastObservedRate(t *testing.T) {
	b := &bascaler{burstCap: 1.5, lead: 1, mem: &workloadMemory{values: []float64{300, 100}, step: time.Minute}}
	for _, c := range []struct{ over, want float64 }{{240, 150}, {120, 120}, {150, 150}} {
		if got := b.capBurst(c.over); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("overestimate %g after 300, 100 req/s: capped to %g, want %g", c.over, got, c.want)
		}
	}
}
