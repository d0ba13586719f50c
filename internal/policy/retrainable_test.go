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

// A challenger that needs a longer window than the serving model's memory kept forecasts at
// the decision after Swap (the memory is filled from the history Swap is given), as it did
// when it was judged; it does not warm up again. Without the fill the policy answered "no
// forecast yet" for the rest of the hourly Wikipedia run after a promotion (bench/mlops.md).
func TestBascalerSwapFillsMemoryForALongerWindow(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	long := series.Series{Name: "long", Start: t0, Step: time.Minute, Values: make([]float64, 4*1440)}
	for i := range long.Values {
		long.Values[i] = 400 + 150*math.Sin(2*math.Pi*float64(i)/1440) + 20*math.Sin(float64(i)*1.7)
	}
	env := Env{Interval: time.Minute, SLO: SLO{Metric: perf.Mean, TargetMS: 16}, Min: 1, Max: 100, Startup: 30 * time.Second,
		Profile: perf.FFT(), History: long, Seed: 1, Params: map[string]string{"forecaster": "seasonal-naive"}}
	seasonal, err := New("bascaler", env)
	if err != nil {
		t.Fatal(err)
	}
	f := seasonal.(Retrainable).Forecaster()
	if f.MinHistory() != 1440 {
		t.Fatalf("seasonal-naive on a daily minute cycle needs %d points, want 1440 (test setup)", f.MinHistory())
	}
	short := env
	short.History = long.Slice(long.Len()-100, long.Len())
	short.Params = map[string]string{"forecaster": "naive"}
	p, err := New("bascaler", short)
	if err != nil {
		t.Fatal(err)
	}
	rp := p.(Retrainable)
	if err := rp.Swap(f, long); err != nil {
		t.Fatal(err)
	}
	end := t0.Add(time.Duration(long.Len()) * time.Minute)
	iv := Interval{Start: end, Rate: 500, Served: 500, LatencyMeanMS: 10, Replicas: 5, Ready: 5}
	d := p.Decide(&Observation{Now: end.Add(time.Minute), Interval: time.Minute, Replicas: 5, Ready: 5, Min: 1, Max: 100, History: []Interval{iv}})
	if !d.Explanation.Forecast.Set {
		t.Fatalf("after swapping in a model that needs %d points the policy did not forecast: %s", f.MinHistory(), d.Explanation.Reason)
	}
	mem := append(append([]float64(nil), long.Values...), 500)
	fc, err := f.Predict(series.Series{Start: t0, Step: time.Minute, Values: mem}, 2)
	if err != nil {
		t.Fatal(err)
	}
	if want, got := fc.Quantile(0, 0.5), d.Explanation.Forecast.P50; math.Abs(want-got) > 1e-9 {
		t.Fatalf("after swap p50 %v, the swapped model on the full history forecasts %v", got, want)
	}
}
