package policy

import (
	"math"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/series"
)

// bascaler can be built around a given forecaster (no fit), refitted on newer data and
// have the new model swapped in; the swapped model serves the next decision.
func TestBascalerRefitAndSwap(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	vals := make([]float64, 800)
	for i := range vals {
		vals[i] = 400 + 150*math.Sin(2*math.Pi*float64(i)/60) + 30*math.Sin(float64(i)*1.7)
	}
	h := series.Series{Name: "h", Start: t0, Step: time.Minute, Values: vals}
	env := Env{Interval: time.Minute, SLO: SLO{Metric: perf.Mean, TargetMS: 16}, Min: 1, Max: 100, Startup: 30 * time.Second,
		Profile: perf.FFT(), History: h, Seed: 1, Params: map[string]string{"forecaster": "seasonal-naive"}}
	p, err := New("bascaler", env)
	if err != nil {
		t.Fatal(err)
	}
	rp, ok := p.(Retrainable)
	if !ok {
		t.Fatal("bascaler is not Retrainable")
	}
	// Refit on data at 3x the level: the new model forecasts 3x.
	high := h
	high.Values = make([]float64, len(vals))
	for i, v := range vals {
		high.Values[i] = 3 * v
	}
	f, err := rp.Refit(high, 2)
	if err != nil {
		t.Fatal(err)
	}
	env2 := env
	env2.Forecaster = f
	p2, err := New("bascaler", env2)
	if err != nil {
		t.Fatal(err)
	}
	if p2.(Retrainable).Forecaster() != f {
		t.Fatal("Env.Forecaster was not used")
	}
	obs := &Observation{Now: t0.Add(800 * time.Minute), Interval: time.Minute, Replicas: 5, Ready: 5, Min: 1, Max: 100}
	p.Decide(obs)
	if err := rp.Swap(f, high); err != nil {
		t.Fatal(err)
	}
	if rp.Forecaster() != f {
		t.Fatal("Swap did not change the serving model")
	}
	// The next interval's decision forecasts with the swapped model from the policy's memory.
	iv := Interval{Start: t0.Add(800 * time.Minute), Rate: 500, Served: 500, LatencyMeanMS: 10, Replicas: 5, Ready: 5}
	obs2 := &Observation{Now: t0.Add(801 * time.Minute), Interval: time.Minute, Replicas: 5, Ready: 5, Min: 1, Max: 100,
		History: []Interval{iv}}
	got := p.Decide(obs2).Explanation.Forecast.P50
	mem := append(append([]float64(nil), vals...), 500)
	fc, err := f.Predict(series.Series{Start: t0, Step: time.Minute, Values: mem}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want := fc.Quantile(0, 0.5); math.Abs(want-got) > 1e-9 {
		t.Fatalf("after swap p50 %v, the swapped model forecasts %v", got, want)
	}
}
