package policy

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/rl"
	"github.com/bascaler/bascaler/internal/series"
)

// rlInput is a CorrectionInput with a known last interval, workload and forecast.
func rlInput() CorrectionInput {
	hist := []Interval{{Rate: 400, CPU: 0.6, LatencyMeanMS: 12, OverSLO: 0.1, Failed: 4}}
	obs := &Observation{Now: time.Date(2026, 7, 1, 6, 0, 0, 0, time.UTC), Index: 1, History: hist,
		Replicas: 6, Ready: 5, Min: 1, Max: 100, SLO: SLO{TargetMS: 16}}
	fc := forecast.Forecast{Levels: []float64{0.05, 0.5, 0.9, 0.95, 0.99},
		Q: [][]float64{{300, 400, 500, 550, 600}, {320, 420, 520, 580, 700}}}
	return CorrectionInput{Obs: obs, Estimate: 5, Forecast: fc, HaveForecast: true, Lead: 1, Capacity: 80,
		Workload: []float64{100, 200, 400}}
}

// TestRLStateFeaturesByHand pins the state layout documented on RLState.
func TestRLStateFeaturesByHand(t *testing.T) {
	s := RLState(rlInput(), nil)
	if len(s) != RLStateSize {
		t.Fatalf("state has %d features, RLStateSize is %d", len(s), RLStateSize)
	}
	const scale = 5 * 80.0
	want := map[int]float64{
		0: 0.6, 1: 12.0 / 16, 2: 0.1, 3: 4.0 / 400, 4: 6.0 / 5, 5: 1, 6: 400.0 / (5 * 80), 7: math.Log1p(5),
		8: 100 / scale, 28: 100 / scale, 29: 100 / scale, 30: 200 / scale, 31: 400 / scale,
		32: 1, 33: math.Cos(math.Pi / 2), // 06:00 UTC
		36: 320 / scale, 37: 420 / scale, 38: 520 / scale, 39: 580 / scale, 40: 700 / scale, // lead peaks
		41: 260 / scale, 42: 1,
	}
	for i, w := range want {
		if math.Abs(s[i]-w) > 1e-12 {
			t.Errorf("feature %d = %v, want %v", i, s[i], w)
		}
	}
}

func TestRLStateWithoutForecastOrHistoryIsFinite(t *testing.T) {
	in := rlInput()
	in.HaveForecast = false
	in.Obs.History = nil
	in.Workload = nil
	in.Estimate = 0
	in.Capacity = math.NaN()
	s := RLState(in, make([]float64, 3))
	for i, v := range s {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			t.Fatalf("feature %d is %v", i, v)
		}
	}
	if s[42] != 0 {
		t.Fatalf("forecast flag = %v without a forecast", s[42])
	}
}

func TestRLDeltaStepsScaleWithTheEstimate(t *testing.T) {
	for _, tc := range []struct{ a, est, want int }{
		{RLMaxStep, 7, 0}, {0, 7, -4}, {RLActions - 1, 7, 4}, {RLMaxStep + 1, 100, 5}, {0, 100, -20}, {RLMaxStep - 1, 0, -1},
	} {
		if got := RLDelta(tc.a, tc.est); got != tc.want {
			t.Errorf("RLDelta(%d, %d) = %d, want %d", tc.a, tc.est, got, tc.want)
		}
	}
}

// agentPreferring returns an agent whose greedy action is always a (output bias dominates).
func agentPreferring(t testing.TB, states, actions, a int) *rl.Agent {
	t.Helper()
	ag, err := rl.NewAgent(states, actions, rl.Config{Hidden: 8}, 1)
	if err != nil {
		t.Fatal(err)
	}
	if err := ag.SetActionBias(a, 100); err != nil {
		t.Fatal(err)
	}
	return ag
}

func saveAgent(t testing.TB, ag *rl.Agent, meta map[string]string) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "agent")
	if err := rl.Save(dir, ag, rl.Manifest{Meta: meta}); err != nil {
		t.Fatal(err)
	}
	return dir
}

var goodMeta = map[string]string{"policy": "bascaler", "features": RLFeatureSet}

// TestRLCorrectorStaysWithinBounds loads agents that always push hardest up or down and
// checks that the corrected replicas stay within [Min, Max].
func TestRLCorrectorStaysWithinBounds(t *testing.T) {
	for _, tc := range []struct {
		name          string
		action        int
		estimate, max int
		want          int
	}{
		{"up, clamped to max", RLActions - 1, 98, 100, 100},
		{"up, free", RLActions - 1, 10, 100, 14},
		{"down, clamped to min", 0, 2, 100, 1},
		{"hold", RLMaxStep, 7, 100, 7},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := saveAgent(t, agentPreferring(t, RLStateSize, RLActions, tc.action), goodMeta)
			c, err := CorrectorLoader(dir, "bascaler", testEnv())
			if err != nil {
				t.Fatal(err)
			}
			in := rlInput()
			in.Estimate, in.Obs.Max = tc.estimate, tc.max
			got, _ := c.Correct(in)
			if got != tc.want {
				t.Fatalf("Correct = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestRLLoaderRefusesMismatchedModels(t *testing.T) {
	for _, tc := range []struct {
		name      string
		states, a int
		meta      map[string]string
		want      string
	}{
		{"other state size", RLStateSize - 3, RLActions, goodMeta, "state of 40 features, this policy builds 43"},
		{"other action space", RLStateSize, 21, goodMeta, "trained for 21 actions, this policy has 9"},
		{"other policy", RLStateSize, RLActions, map[string]string{"policy": "bascaler-paper", "features": RLFeatureSet}, `policy "bascaler-paper", not "bascaler"`},
		{"other features", RLStateSize, RLActions, map[string]string{"policy": "bascaler", "features": "v0"}, `feature set "v0"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := saveAgent(t, agentPreferring(t, tc.states, tc.a, 0), tc.meta)
			_, err := CorrectorLoader(dir, "bascaler", testEnv())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("load = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	env := testEnv("rl-model=" + filepath.Join(t.TempDir(), "missing"))
	env.History = series.Series{Start: t0, Step: time.Minute, Values: make([]float64, 300)}
	for i := range env.History.Values {
		env.History.Values[i] = 300 + 100*math.Sin(float64(i)/20)
	}
	_, err := New("bascaler", env)
	if err == nil || !strings.Contains(err.Error(), "rl-model") || !strings.Contains(err.Error(), "does not exist") {
		t.Fatalf("bascaler with a missing rl-model: %v", err)
	}
}

// BenchmarkCorrect measures one corrector decision: state building plus the actor's forward
// pass (aim: at most 50 µs).
func BenchmarkCorrect(b *testing.B) {
	c, err := NewRLCorrector(mustDefaultAgent(b))
	if err != nil {
		b.Fatal(err)
	}
	in := rlInput()
	in.Workload = make([]float64, 64)
	for i := range in.Workload {
		in.Workload[i] = 300 + float64(i)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		c.Correct(in)
	}
}

// mustDefaultAgent is an agent of the default width (64), as training builds it.
func mustDefaultAgent(b testing.TB) *rl.Agent {
	ag, err := rl.NewAgent(RLStateSize, RLActions, rl.Config{}, 3)
	if err != nil {
		b.Fatal(err)
	}
	return ag
}
