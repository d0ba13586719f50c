package sim

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/policy"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// fixed always asks for n replicas.
type fixed struct{ n int }

func (f fixed) Name() string                               { return "fixed" }
func (f fixed) Period() time.Duration                      { return 0 }
func (f fixed) Decide(*policy.Observation) policy.Decision { return policy.Decision{Replicas: f.n} }

// scripted asks for plan[i] in interval i.
type scripted struct{ plan []int }

func (s scripted) Name() string          { return "scripted" }
func (s scripted) Period() time.Duration { return 0 }
func (s scripted) Decide(o *policy.Observation) policy.Decision {
	return policy.Decision{Replicas: s.plan[o.Index]}
}

func randomRates(seed uint64, n int, mean float64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	out := make([]float64, n)
	level := mean
	for i := range out {
		level = math.Max(10, level*(1+0.2*(r.Float64()-0.5)))
		if r.Float64() < 0.05 {
			level *= 1 + 3*r.Float64() // a burst
		}
		if r.Float64() < 0.05 || level > 5*mean {
			level = mean
		}
		out[i] = level * (0.8 + 0.4*r.Float64())
	}
	return out
}

func TestSteadyLoadWithEnoughPodsMeetsSLO(t *testing.T) {
	cfg := DefaultConfig()
	rates := []float64{400, 400, 400, 400}
	// 400 req/s over 6 pods is 66.7 req/s per pod: about 12.5 ms with the fft profile.
	res, err := Run(cfg, rates, t0, fixed{6})
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res.Records {
		if r.Violated || r.LatencyMeanMS > 16 || r.LatencyMeanMS < 10 {
			t.Errorf("interval %d: latency %.2f ms violated=%v, want 10..16 ms without violation", i, r.LatencyMeanMS, r.Violated)
		}
		if math.Abs(r.Served-400) > 1e-6 || r.FailedCount != 0 {
			t.Errorf("interval %d: served %.3f failed %.3f, want 400 and 0", i, r.Served, r.FailedCount)
		}
	}
}

func TestOverloadQueuesThenFailsAfterTimeout(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Initial, cfg.QueueLimit = 1, -1
	// One pod saturates at 110 req/s; 300 req/s for a minute overflows the 10 s queue (no
	// queue bound, so the timeout is what fails requests; TestQueueLimitRefuses pins the bound).
	res, err := Run(cfg, []float64{300, 50}, t0, fixed{1})
	if err != nil {
		t.Fatal(err)
	}
	r := res.Records[0]
	if !r.Violated || r.FailedCount <= 0 {
		t.Fatalf("overloaded interval: violated=%v failed=%.1f, want a violation with failures", r.Violated, r.FailedCount)
	}
	// Conservation: every request is served, failed or still queued.
	queued := 0.0
	total := res.Records[0].Requests + res.Records[1].Requests
	done := 0.0
	for _, r := range res.Records {
		done += r.Served*60 + r.FailedCount
	}
	queued = total - done
	if queued < -1e-6 {
		t.Fatalf("more requests served or failed (%.3f) than arrived (%.3f)", done, total)
	}
	if r.LatencyMeanMS < 1000 {
		t.Errorf("latency under a long overload %.1f ms, want seconds of queueing", r.LatencyMeanMS)
	}
}

func TestNewPodsServeOnlyAfterStartup(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Initial = 1
	cfg.Startup = 45 * time.Second
	res, err := Run(cfg, []float64{50, 50}, t0, scripted{[]int{3, 3}})
	if err != nil {
		t.Fatal(err)
	}
	// Two pods start at t=0 and are ready at 45 s: ready pods average (1*45 + 3*15)/60 = 1.5.
	if got := res.Records[0].Ready; math.Abs(got-1.5) > 1e-9 {
		t.Errorf("mean ready pods in interval 0 = %v, want 1.5", got)
	}
	if got := res.Records[0].Replicas; got != 3 {
		t.Errorf("allocated pods in interval 0 = %v, want 3 (starting pods cost too)", got)
	}
	if got := res.Records[1].Ready; got != 3 {
		t.Errorf("ready pods in interval 1 = %v, want 3", got)
	}
}

func TestCostAddsUpOverIntervals(t *testing.T) {
	cfg := DefaultConfig()
	rates := randomRates(7, 500, 500)
	plan := make([]int, len(rates))
	r := rand.New(rand.NewPCG(3, 3))
	for i := range plan {
		plan[i] = 1 + r.IntN(20)
	}
	res, err := Run(cfg, rates, t0, scripted{plan})
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for i, rec := range res.Records {
		sum += rec.Replicas * cfg.Interval.Hours()
		if rec.Replicas != float64(plan[i]) {
			t.Fatalf("interval %d: allocated %.3f, want the plan's %d (decided at the interval's start)", i, rec.Replicas, plan[i])
		}
	}
	if math.Abs(sum-res.Summary.CostPodHours) > 1e-9 {
		t.Fatalf("cost %.6f pod-hours, sum over intervals %.6f", res.Summary.CostPodHours, sum)
	}
}

// More ready pods lower the load per pod, so latency can only fall. Per interval this holds
// while no queue is involved; once requests queue, more pods also means fewer of them time
// out, and the extra survivors are served late (a selection effect), so with queues the
// property is checked on the whole run: fewer requests over the SLO, fewer failures, fewer
// violating intervals.
func TestMoreReadyReplicasNeverRaiseLatency(t *testing.T) {
	cfg := DefaultConfig()
	rates := randomRates(11, 300, 400)
	noQueue := func(r *Result, i int) bool {
		return math.Abs(r.Records[i].Served-r.Records[i].Rate) < 1e-9 &&
			(i == 0 || math.Abs(r.Records[i-1].Served-r.Records[i-1].Rate) < 1e-9)
	}
	var prev *Result
	compared := 0
	for n := 1; n <= 30; n++ {
		cfg.Initial = n
		res, err := Run(cfg, rates, t0, fixed{n})
		if err != nil {
			t.Fatal(err)
		}
		if prev != nil {
			for i := range rates {
				a, b := prev.Records[i], res.Records[i]
				if !noQueue(prev, i) || !noQueue(&res, i) {
					continue
				}
				compared++
				if b.LatencyMeanMS > a.LatencyMeanMS+1e-9 || b.LatencyP99MS > a.LatencyP99MS+1e-9 {
					t.Fatalf("interval %d: %d pods give mean %.3f/p99 %.3f ms, %d pods gave %.3f/%.3f",
						i, n, b.LatencyMeanMS, b.LatencyP99MS, n-1, a.LatencyMeanMS, a.LatencyP99MS)
				}
			}
			as, bs := prev.Summary, res.Summary
			if bs.RequestsOverSLO > as.RequestsOverSLO+1e-12 || bs.FailedRequests > as.FailedRequests+1e-6 || bs.SLOViolationRate > as.SLOViolationRate {
				t.Fatalf("%d pods: over-SLO %.5f failed %.1f violations %.4f; %d pods: %.5f %.1f %.4f",
					n, bs.RequestsOverSLO, bs.FailedRequests, bs.SLOViolationRate, n-1, as.RequestsOverSLO, as.FailedRequests, as.SLOViolationRate)
			}
		}
		prev = &res
	}
	if compared < 1000 {
		t.Fatalf("only %d queue-free interval pairs compared; the workload does not exercise the property", compared)
	}
}

func runOracle(t *testing.T, cfg Config, rates []float64) Result {
	t.Helper()
	p, err := policy.New("oracle", policy.Env{Interval: cfg.Interval, SLO: cfg.SLO, Min: cfg.Min, Max: cfg.Max,
		Startup: cfg.Startup + cfg.StartupJitter, Profile: cfg.Profile, Future: rates})
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(cfg, rates, t0, p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestOracleNeverViolatesWhenStartupIsHonoured(t *testing.T) {
	for seed := uint64(1); seed <= 20; seed++ {
		cfg := DefaultConfig()
		cfg.Startup = time.Duration(seed%4) * 25 * time.Second // 0, 25, 50, 75 s: lead 0..2 intervals
		cfg.StartupJitter = time.Duration(seed%3) * 5 * time.Second
		cfg.Seed = int64(seed)
		cfg.Max = 1000 // the oracle cannot meet a need above max replicas
		rates := randomRates(seed, 400, 300+50*float64(seed))
		res := runOracle(t, cfg, rates)
		if res.Summary.SLOViolationRate != 0 || res.Summary.FailedRequests != 0 {
			t.Fatalf("seed %d (startup %s): oracle violated %.4f of intervals, failed %.1f requests",
				seed, cfg.Startup, res.Summary.SLOViolationRate, res.Summary.FailedRequests)
		}
	}
}

func TestNoPolicyWithoutViolationsIsCheaperThanTheOracle(t *testing.T) {
	cfg := DefaultConfig()
	rates := randomRates(5, 300, 500)
	oracle := runOracle(t, cfg, rates)
	for n := 1; n <= 40; n++ {
		cfg.Initial = n
		res, err := Run(cfg, rates, t0, fixed{n})
		if err != nil {
			t.Fatal(err)
		}
		if res.Summary.SLOViolationRate == 0 && res.Summary.CostPodHours < oracle.Summary.CostPodHours {
			t.Fatalf("static %d meets the SLO at %.2f pod-hours, below the oracle's %.2f", n, res.Summary.CostPodHours, oracle.Summary.CostPodHours)
		}
	}
}

func TestBadInputIsRejected(t *testing.T) {
	good := DefaultConfig()
	cases := map[string]func(c *Config) []float64{
		"nan rate":      func(c *Config) []float64 { return []float64{1, math.NaN()} },
		"negative rate": func(c *Config) []float64 { return []float64{-1} },
		"slo zero":      func(c *Config) []float64 { c.SLO.TargetMS = 0; return []float64{1} },
		"min over max":  func(c *Config) []float64 { c.Min, c.Max = 5, 2; return []float64{1} },
		"slo below idle latency": func(c *Config) []float64 {
			c.SLO.TargetMS = 5
			return []float64{1}
		},
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := good
			rates := mutate(&cfg)
			if _, err := Run(cfg, rates, t0, fixed{1}); err == nil {
				t.Fatal("want an error")
			}
		})
	}
}
