package rltrain

import (
	"testing"

	"github.com/bascaler/bascaler/internal/sim"
	"github.com/bascaler/bascaler/internal/testenv"
)

// BenchmarkTrainNASA measures a whole training run at the default budget on the NASA trace
// (forecaster fits, PPO, validation replays): what "bascaler train rl" spends.
func BenchmarkTrainNASA(b *testing.B) {
	w, err := sim.LoadWorkload(sim.WorkloadOptions{Trace: testenv.Trace(b, "nasa_http_1995-07_per_minute.csv")})
	if err != nil {
		b.Fatal(err)
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
