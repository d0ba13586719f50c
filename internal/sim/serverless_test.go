package sim

import (
	"math"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/policy"
)

// script is a unit-test policy that asks for a fixed count per control interval and notes
// the activator signal it saw.
type script struct {
	want []int
	held []float64 // History's last Held at each decision
}

func (s *script) Name() string          { return "script" }
func (s *script) Period() time.Duration { return 0 }
func (s *script) Decide(obs *policy.Observation) policy.Decision {
	h := -1.0
	if n := len(obs.History); n > 0 {
		h = obs.History[n-1].Held
	}
	s.held = append(s.held, h)
	return policy.Decision{Replicas: s.want[min(obs.Index, len(s.want)-1)]}
}

func closeTo(got, want float64) bool { return math.Abs(got-want) <= 1e-6*math.Max(1, math.Abs(want)) }

// TestScaleFromZeroWorkedExample: 60 s intervals, 30 s start-up, min 0.
//
//	interval  rate   decision at its start  pods
//	0         10/s   1                      1 ready (initial)
//	1          0     0                      none: scaled to zero at 60 s
//	2          6/s   1                      a pod created at 120 s, ready at 150 s
//	3          0     1                      1 ready, no arrivals: idle
//
// In interval 2 the 6 req/s arriving over [120, 150) find no ready pod: 180 cold starts,
// held by the activator and released at 150 s with added latency spread evenly over
// 0..30 s: mean 15 s, p99 = 0.99 x 30 s = 29.7 s; interval 2 serves 180 + 180 = 360. With a
// 20 s hold timeout the ones that arrived in [120, 130) have waited 20 s before the pod is
// ready and fail (60); the 120 that arrived in [130, 150) are served with 0..20 s added:
// mean 10 s, p99 19.8 s; 180 + 120 = 300 served. With a queue of 100 the first 100 (arrived in
// [120, 136.67)) are held and the other 80 refused; the held ones waited 13.33..30 s: mean
// 21.67 s, p99 = 30 - 0.01 x 16.67 = 29.833 s; 180 + 100 = 280 served. Requests: 600 + 360 =
// 960, so 180 cold starts are 187.5 per 1,000. Idle pod-time: interval 3's pod, 60 s =
// 1/60 pod-hour (interval 1 has no pod, interval 0 and 2 have arrivals).
func TestScaleFromZeroWorkedExample(t *testing.T) {
	rates := []float64{10, 0, 6, 0}
	for _, c := range []struct {
		name                                  string
		timeout                               time.Duration
		queue                                 int
		cold, held, failed, mean, p99, served float64
	}{
		{"defaults: held until the pod is ready", 0, 0, 180, 180, 0, 15000, 29700, 360},
		{"hold timeout 20 s", 20 * time.Second, 0, 180, 180, 60, 10000, 19800, 300},
		{"queue of 100", 0, 100, 180, 100, 80, 65000.0 / 3, 30000 - 10*50.0/3, 280},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.Min, cfg.Initial = 0, 1
			cfg.HoldTimeout, cfg.HoldQueue = c.timeout, c.queue
			p := &script{want: []int{1, 0, 1, 1}}
			res, err := Run(cfg, rates, t0, p)
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summary
			r2 := res.Records[2]
			for _, v := range []struct {
				name      string
				got, want float64
			}{
				{"cold starts", s.ColdStarts, c.cold},
				{"cold starts in interval 2", r2.ColdStarts, c.cold},
				{"cold starts per 1000 requests", s.ColdStartsPer1000, 187.5},
				{"held requests", s.HeldRequests, c.held},
				{"held that failed", s.HeldFailed, c.failed},
				{"failed requests", s.FailedRequests, c.failed},
				{"held latency mean ms", s.HeldLatencyMeanMS, c.mean},
				{"held latency p99 ms", s.HeldLatencyP99MS, c.p99},
				{"interval 2's held p99 ms", r2.HeldLatencyP99MS, c.p99},
				{"idle pod-hours", s.IdlePodHours, 1.0 / 60},
				// 1 pod in 0, none in 1, 1 from 120 s (starting counts) in 2, 1 in 3.
				{"pod-hours", s.CostPodHours, 3.0 / 60},
				{"served in interval 2: 180 on arrival + released", r2.Served * 60, c.served},
			} {
				if !closeTo(v.got, v.want) {
					t.Errorf("%s = %g, want %g", v.name, v.got, v.want)
				}
			}
			// The policy saw the activator's signal of interval 2 (180 held / 60 s) at
			// interval 3's decision, and none before.
			if !closeTo(p.held[3], 3) || p.held[2] != 0 || p.held[1] != 0 {
				t.Errorf("held signal seen by the policy %v, want [-1 0 0 3]", p.held)
			}
		})
	}
}
