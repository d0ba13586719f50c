package rltrain

import (
	"path/filepath"
	"testing"

	"github.com/bascaler/bascaler/internal/sim"
)

// BenchmarkTrainNASA measures a whole training run at the default budget on the NASA trace
// (forecaster fits, PPO, validation replays): what "bascaler train rl" spends.
func BenchmarkTrainNASA(b *testing.B) {
	trace := filepath.Join("..", "..", "..", "..", "shared", "traces", "nasa_http_1995-07_per_minute.csv")
	w, err := sim.LoadWorkload(sim.WorkloadOptions{Trace: trace})
	if err != nil {
		b.Skipf("NASA trace not available: %v", err)
	}
	for range b.N {
		e, err := New(Options{Workload: w, Config: sim.DefaultConfig(), Reward: "slo-cost", Seed: 1})
		if err != nil {
			b.Fatal(err)
		}
		res, err := e.Train(TrainOptions{Steps: DefaultSteps, Seed: 1})
		e.Close()
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(res.Curve[len(res.Curve)-1].Steps), "steps/op")
	}
}
