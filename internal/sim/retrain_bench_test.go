package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/retrain"
	"github.com/bascaler/bascaler/internal/series"
)

// BenchmarkRetrainRound is the cost of one retrain of bascaler with a classic forecaster at
// 14 days of per-minute history: the challenger's fit on the training window (14 days
// before the evaluation day, cut to the policy's 20,000-point fit bound), the replays of
// champion and challenger over the last day (1440 intervals, each policy built with its
// detector calibration), and the swap. Results: bench/mlops.md.
func BenchmarkRetrainRound(b *testing.B) {
	const day = 1440
	for _, kind := range []string{"arima", "holt-winters"} {
		b.Run(kind, func(b *testing.B) {
			s, build, p := retrainFixture(b, kind)
			n := s.Len()
			rt := Retrainer{Schedule: retrain.Schedule{Every: 24 * time.Hour, TrainWindow: 14 * 24 * time.Hour, EvalWindow: 24 * time.Hour}, Build: build, Seed: 1}
			b.Run("round", func(b *testing.B) {
				for i := 0; i < b.N; i++ {
					ev, _, err := Evaluate(DefaultConfig(), p.(policy.Retrainable), rt.Schedule, s, rt.Build, rt.Seed+int64(n), false)
					if err != nil || ev.Skipped != "" {
						b.Fatalf("round: %v %s", err, ev.Skipped)
					}
				}
			})
			// The fit alone, to split the round's cost between fitting and replaying.
			b.Run("fit", func(b *testing.B) {
				train := s.Slice(0, n-day)
				for i := 0; i < b.N; i++ {
					if _, err := p.(policy.Retrainable).Refit(train, 1); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// retrainFixture is the retrain measurements' workload and policy: 15 days of a synthetic
// per-minute daily cycle with noise, the builder of a bascaler policy with forecaster kind,
// and a policy built on the first two days (the champion).
func retrainFixture(tb testing.TB, kind string) (series.Series, func(series.Series, forecast.Forecaster) (policy.Policy, error), policy.Policy) {
	const day = 1440
	rng := rand.New(rand.NewPCG(1, 2))
	vals := make([]float64, 15*day)
	for i := range vals {
		vals[i] = 500 + 250*math.Sin(2*math.Pi*float64(i)/day) + 40*rng.NormFloat64()
	}
	s := series.Series{Name: "bench", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Step: time.Minute, Values: vals}
	env := policy.Env{Interval: time.Minute, SLO: policy.SLO{Metric: perf.Mean, TargetMS: 16}, Min: 1, Max: 100,
		Startup: 30 * time.Second, Profile: perf.FFT(), Seed: 1, Params: map[string]string{"forecaster": kind}}
	build := func(h series.Series, f forecast.Forecaster) (policy.Policy, error) {
		e := env
		e.History, e.Forecaster = h, f
		return policy.New("bascaler", e)
	}
	p, err := build(s.Slice(0, 2*day), nil)
	if err != nil {
		tb.Fatal(err)
	}
	return s, build, p
}
