package sim

import (
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/testenv"
)

// benchmarkPolicy replays the whole 125k-interval WorldCup98 trace (paper normalisation)
// per iteration and reports simulated intervals per second.
func benchmarkPolicy(b *testing.B, name string) {
	w, err := LoadWorkload(WorkloadOptions{Trace: testenv.Trace(b, "worldcup98_per_minute.csv"), Eval: "all"})
	if err != nil {
		b.Fatal(err)
	}
	cfg := DefaultConfig()
	env := policy.Env{Interval: cfg.Interval, SLO: cfg.SLO, Min: cfg.Min, Max: cfg.Max, Startup: cfg.Startup,
		Profile: cfg.Profile, Seed: 1}
	if policy.NeedsFuture(name) {
		env.Future = w.Eval.Values
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		p, err := policy.New(name, env)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Run(cfg, w.Eval.Values, w.Eval.Start, p); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N*w.Eval.Len())/time.Since(start).Seconds(), "intervals/s")
}

func BenchmarkSimulateWorldCupHPA(b *testing.B)    { benchmarkPolicy(b, "hpa") }
func BenchmarkSimulateWorldCupOracle(b *testing.B) { benchmarkPolicy(b, "oracle") }
