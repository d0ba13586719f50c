package policy_test

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
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
