package policy_test

import (
	"context"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/sim"
)

// savedNaive fits a naive model on the workload's history (req/s, one-minute steps) and
// saves it as forecast train would, with the rate unit stated.
func savedNaive(t *testing.T) (string, policy.Env) {
	t.Helper()
	w := workload(t, "steady")
	n := w.History.Len()
	train, val := w.History.Slice(0, n*3/4), w.History.Slice(n*3/4, n)
	base, err := forecast.New("naive", nil)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := forecast.FitCalibrated(base, train, val, forecast.FitOptions{Horizon: 3}, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "naive")
	if err := forecast.Save(dir, m, forecast.Manifest{Training: forecast.WindowOf(train), RateUnit: forecast.UnitPerSecond}); err != nil {
		t.Fatal(err)
	}
	env := policy.Env{Interval: time.Minute, SLO: policy.SLO{Metric: perf.Mean, TargetMS: 16}, Min: 1, Max: 50,
		Startup: 30 * time.Second, Profile: perf.FFT(), History: w.History}
	return dir, env
}

func TestPolicyBuildErrorsAreTyped(t *testing.T) {
	dir, env := savedNaive(t)
	for _, pol := range []string{"bascaler", "bascaler-paper"} {
		for _, tc := range []struct {
			name     string
			policy   string
			params   map[string]string
			interval time.Duration
			sentinel error
			says     []string
		}{
			{"unknown policy", "nope", nil, time.Minute, policy.ErrUnknownPolicy, []string{`"nope"`}},
			{"missing model", pol, map[string]string{"model": "/nonexistent"}, time.Minute, policy.ErrModel, []string{"/nonexistent"}},
			{"missing rl-model", pol, map[string]string{"rl-model": "/nonexistent"}, time.Minute, policy.ErrModel, []string{"/nonexistent"}},
			{"step is not the interval", pol, map[string]string{"model": dir}, 2 * time.Minute, policy.ErrModelMismatch, []string{"1m0s", "2m0s"}},
			{"kind is not the forecaster", pol, map[string]string{"model": dir, "forecaster": "arima"}, time.Minute, policy.ErrModelMismatch, []string{"naive", "arima"}},
		} {
			t.Run(pol+"/"+tc.name, func(t *testing.T) {
				e := env
				e.Interval, e.Params = tc.interval, tc.params
				_, err := policy.New(tc.policy, e)
				if !errors.Is(err, tc.sentinel) {
					t.Fatalf("error %v, want one wrapping %v", err, tc.sentinel)
				}
				for _, s := range tc.says {
					if !strings.Contains(err.Error(), s) {
						t.Errorf("error %q does not name %q", err, s)
					}
				}
			})
		}
		for _, kind := range []string{"", "naive", "auto"} {
			e := env
			e.Params = map[string]string{"model": dir}
			if kind != "" {
				e.Params["forecaster"] = kind
			}
			if _, err := policy.New(pol, e); err != nil {
				t.Errorf("%s with the model and forecaster %q: %v", pol, kind, err)
			}
		}
	}
}

// The simulator's default: a trace paper-normalised by the simulator, and a model trained as
// forecast train trains it (counts per step, the same paper fit on the same training split).
// The simulator's rates are then already the model's units; the loaded model must see them
// unchanged, not normalised twice, and forecast in the simulator's units.
func TestSimulatorFeedsAPaperModelItsOwnUnits(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 5))
	counts := series.Series{Name: "trace", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Step: time.Minute}
	for k := range 2000 {
		counts.Values = append(counts.Values, math.Round(60*(80+30*math.Sin(2*math.Pi*float64(k)/120)+5*rng.NormFloat64())))
	}
	path := filepath.Join(t.TempDir(), "trace.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := series.Write(f, counts); err != nil {
		t.Fatal(err)
	}
	f.Close()
	w, err := sim.LoadWorkload(sim.WorkloadOptions{Trace: path})
	if err != nil {
		t.Fatal(err)
	}
	if w.Normalizer.Kind != "paper" {
		t.Fatalf("workload normaliser %s, want paper (the default)", w.Normalizer)
	}
	train, val, _, err := series.Split(counts, series.DefaultSplit)
	if err != nil {
		t.Fatal(err)
	}
	norm, err := series.FitPaper(train.Values)
	if err != nil {
		t.Fatal(err)
	}
	base, err := forecast.New("arima", nil)
	if err != nil {
		t.Fatal(err)
	}
	model, _, err := forecast.FitCalibrated(base, norm.Apply(train), norm.Apply(val), forecast.FitOptions{Horizon: 2}, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "arima")
	if err := forecast.Save(dir, model, forecast.Manifest{Training: forecast.WindowOf(train), Normalizer: &norm}); err != nil {
		t.Fatal(err)
	}
	cfg := sim.DefaultConfig()
	cfg.Max = 200
	out, err := sim.Experiment{Workloads: []sim.Workload{w}, Policies: []string{"bascaler"}, Config: cfg,
		Params: map[string]string{"model": dir, "detector": "none"}}.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	// The decision at the start of eval interval i saw History + Eval[:i]: the model, applied
	// directly to those normalised rates, must give the same median.
	all := forecast.Concat(w.History, w.Eval)
	checked := 0
	for i, rec := range out[0].Result.Records {
		fc := rec.Decision.Explanation.Forecast
		if !fc.Set || i%25 != 0 {
			continue
		}
		n := w.History.Len() + i
		want, err := model.Predict(all.Slice(max(0, n-512), n), 1)
		if err != nil {
			t.Fatal(err)
		}
		if d := math.Abs(fc.P50 - want.Quantile(0, 0.5)); d > 1e-6*math.Abs(want.Quantile(0, 0.5)) {
			t.Fatalf("eval interval %d: the policy's forecast p50 %v, the model on the simulator's rates %v", i, fc.P50, want.Quantile(0, 0.5))
		}
		checked++
	}
	if checked < 5 {
		t.Fatalf("only %d decisions with a forecast checked", checked)
	}
}
