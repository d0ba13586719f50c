package policy

import (
	"math"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/series"
)

// A corrector swapped into a serving bascaler corrects its next recommendation; swapping nil
// switches correction off again; LoadCorrector loads an agent directory as rl-model does.
func TestBascalerSwapCorrector(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	vals := make([]float64, 600)
	for i := range vals {
		vals[i] = 400 + 100*math.Sin(2*math.Pi*float64(i)/60)
	}
	h := series.Series{Name: "h", Start: start, Step: time.Minute, Values: vals}
	for _, name := range []string{"bascaler", "bascaler-paper"} {
		t.Run(name, func(t *testing.T) {
			env := Env{Interval: time.Minute, SLO: SLO{Metric: perf.Mean, TargetMS: 16}, Min: 1, Max: 100, Startup: 30 * time.Second,
				Profile: perf.FFT(), History: h, Seed: 1, Params: map[string]string{"forecaster": "seasonal-naive"}}
			p, err := New(name, env)
			if err != nil {
				t.Fatal(err)
			}
			twin := mustNew(t, name, env) // never corrected: the reference at each step
			cs, ok := p.(CorrectorSwapper)
			if !ok {
				t.Fatalf("%s is not a CorrectorSwapper", name)
			}
			if cs.Corrector() != nil {
				t.Fatal("a policy without rl-model has a corrector")
			}
			dir := saveAgent(t, agentPreferring(t, RLStateSize, RLActions, RLActions-1), map[string]string{"policy": name, "features": RLFeatureSet})
			c, err := LoadCorrector(dir, name, env)
			if err != nil {
				t.Fatal(err)
			}
			decide := func(k int) (int, int) {
				at := start.Add(time.Duration(600+k) * time.Minute)
				iv := Interval{Start: at.Add(-time.Minute), Rate: 400, Served: 400, LatencyMeanMS: 10, Replicas: 10, Ready: 10}
				obs := &Observation{Now: at, Interval: time.Minute, Index: 600 + k, Replicas: 10, Ready: 10, Min: 1, Max: 100,
					SLO: env.SLO, History: []Interval{iv}}
				return p.Decide(obs).Explanation.Raw, twin.Decide(obs).Explanation.Raw
			}
			plain, ref0 := decide(0)
			cs.SwapCorrector(c)
			if cs.Corrector() != c {
				t.Fatal("SwapCorrector did not change the corrector")
			}
			up, ref1 := decide(1)
			cs.SwapCorrector(nil)
			again, ref2 := decide(2)
			// The agent always takes the largest step up: +RLMaxStep pods at these sizes
			// (steps of max(1, round(E/20))). Raw is the recommendation before stabilisation.
			if plain != ref0 || up != ref1+RLMaxStep || again != ref2 {
				t.Fatalf("recommendations before the swap %d (uncorrected twin %d), with an always-up agent %d (twin %d, want +%d), after switching it off %d (twin %d)",
					plain, ref0, up, ref1, RLMaxStep, again, ref2)
			}
			if _, err := LoadCorrector(dir, "bascaler-nope", env); err == nil {
				t.Fatal("LoadCorrector accepted an agent trained for another policy")
			}
		})
	}
}
