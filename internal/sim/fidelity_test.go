package sim

import (
	"math"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
)

// spy asks for plan[i] in interval i (the last entry after the plan) and keeps the newest
// completed interval it was shown at each decision: what a policy reads from the metric
// source.
type spy struct {
	plan []int
	seen *[]policy.Interval
}

func (s spy) Name() string          { return "spy" }
func (s spy) Period() time.Duration { return 0 }
func (s spy) Decide(o *policy.Observation) policy.Decision {
	if n := len(o.History); n > 0 {
		*s.seen = append(*s.seen, o.History[n-1])
	}
	return policy.Decision{Replicas: s.plan[min(o.Index, len(s.plan)-1)]}
}

// steps records the driver's steps.
type steps struct{ got []driver.Step }

func (s *steps) Step(st driver.Step)                            { s.got = append(s.got, st) }
func (s *steps) Reported(time.Duration, driver.Point, int, int) {}
func near(got, want float64) bool                               { return math.Abs(got-want) <= 1e-6*math.Max(1, math.Abs(want)) }
func observe(t *testing.T, cfg Config, rates []float64, plan []int) ([]policy.Interval, Result) {
	t.Helper()
	var seen []policy.Interval
	res, err := Run(cfg, rates, t0, spy{plan: plan, seen: &seen})
	if err != nil {
		t.Fatal(err)
	}
	return seen, res
}

// unlimited is a profile measured on a pod without a CPU limit: 20 ms of CPU per request,
// so 2.0 x the request at its 100 req/s saturation; latency 10 ms up to 50 req/s, 20 ms at
// 100.
func unlimited(t *testing.T) *perf.Profile {
	t.Helper()
	p, err := perf.NewProfile("unlimited", []perf.Point{
		{Load: 0, MeanMS: 10, P95MS: 10, P99MS: 10, CPU: 0},
		{Load: 50, MeanMS: 10, P95MS: 10, P99MS: 10, CPU: 1},
		{Load: 100, MeanMS: 20, P95MS: 20, P99MS: 20, CPU: 2},
	}, 0)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestCPUCappedAtLimit: with the profile above and limit = request (1.0), a pod uses at most
// one request of CPU, 1.0 / 0.02 CPU-s per request = 50 req/s. One pod offered 80 req/s
// serves 50, reports CPU 1.0 (not the profile's 1.6 at 80 req/s), and the rest queues. With
// limit 2 x the request the pod serves all 80 at CPU 1.6 (linear between 1.0 at 50 and 2.0
// at 100). The capacity at a loose SLO (25 ms, the profile meets it up to 100 req/s) is cut
// to the throttled 50 req/s.
func TestCPUCappedAtLimit(t *testing.T) {
	for _, tc := range []struct {
		limit            float64
		throughput, cpu  float64
		served, capacity float64
	}{
		{limit: 0, throughput: 50, cpu: 1.0, served: 50, capacity: 50}, // default: limit = request
		{limit: 1, throughput: 50, cpu: 1.0, served: 50, capacity: 50},
		{limit: 2, throughput: 100, cpu: 1.6, served: 80, capacity: 100},
		{limit: 5, throughput: 100, cpu: 1.6, served: 80, capacity: 100}, // beyond MaxLoad: the profile's saturation
	} {
		cfg := DefaultConfig()
		cfg.Profile, cfg.CPULimit, cfg.QueueLimit, cfg.Initial = unlimited(t), tc.limit, -1, 1
		cfg.SLO = policy.SLO{Metric: perf.Mean, TargetMS: 25}
		mu, err := cfg.Throughput()
		if err != nil || !near(mu, tc.throughput) {
			t.Errorf("limit %g: throughput %g (%v), want %g", tc.limit, mu, err, tc.throughput)
		}
		if c, err := cfg.Validate(); err != nil || !near(c, tc.capacity) {
			t.Errorf("limit %g: capacity %g (%v), want %g", tc.limit, c, err, tc.capacity)
		}
		seen, res := observe(t, cfg, []float64{80, 0}, []int{1})
		if got := seen[0].CPU; !near(got, tc.cpu) {
			t.Errorf("limit %g: observed CPU %g, want %g", tc.limit, got, tc.cpu)
		}
		if got := res.Records[0].Served; !near(got, tc.served) {
			t.Errorf("limit %g: served %g req/s, want %g", tc.limit, got, tc.served)
		}
	}
	cfg := DefaultConfig()
	cfg.CPULimit = -1
	if _, err := cfg.Validate(); err == nil {
		t.Error("a negative CPU limit was accepted")
	}
}

// TestCPUCapBoundsHPAStep: the HPA's first sync on one overloaded pod (400 req/s against a
// 50 req/s throttled pod). Capped at limit = request it reads CPU 1.0 and asks for
// ceil(1 x 1.0 / 0.7) = 2 pods: one sync multiplies replicas by at most 1/0.7. With limit 2
// x the request the pod serves 100 req/s at CPU 2.0 and the HPA asks ceil(2.0 / 0.7) = 3.
func TestCPUCapBoundsHPAStep(t *testing.T) {
	for _, tc := range []struct {
		limit float64
		want  int
	}{{1, 2}, {2, 3}} {
		cfg := DefaultConfig()
		cfg.Profile, cfg.CPULimit, cfg.Initial = unlimited(t), tc.limit, 1
		var tap steps
		cfg.Tap = &tap
		p, err := policy.New("hpa", policy.Env{Interval: cfg.Interval, SLO: cfg.SLO, Min: 1, Max: 100, Startup: cfg.Startup, Profile: cfg.Profile})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Run(cfg, []float64{400}, t0, p); err != nil {
			t.Fatal(err)
		}
		// Step 0 has no tick yet; step 1 is the first sync with a measured tick.
		if got := tap.got[1].Desired; got != tc.want {
			t.Errorf("limit %g: HPA's first sync asks for %d pods, want %d", tc.limit, got, tc.want)
		}
	}
}

// TestObservationCarriesServedRate: one fft pod (110 req/s saturation) offered 150 req/s for
// a minute, with no queue bound and a 30 s timeout (3300 requests may wait): the backlog
// grows by 40 req/s to 2400, nothing fails. The destination answered 110 req/s, and that is
// what the policy reads; the arrivals were 150. The next minute has no arrivals: the pod
// drains the 2400 waiting in 21.8 s, so the source reports 2400 / 60 = 40 req/s answered
// while 0 arrived. With ObserveArrivals (a gateway metric) the policy reads 150 and 0.
func TestObservationCarriesServedRate(t *testing.T) {
	for _, tc := range []struct {
		arrivals bool
		want     [2]float64
	}{{false, [2]float64{110, 40}}, {true, [2]float64{150, 0}}} {
		cfg := DefaultConfig()
		cfg.Initial, cfg.QueueLimit, cfg.Timeout, cfg.ObserveArrivals = 1, -1, 30*time.Second, tc.arrivals
		seen, res := observe(t, cfg, []float64{150, 0, 0}, []int{1})
		for i, want := range tc.want {
			if got := seen[i].Rate; !near(got, want) {
				t.Errorf("arrivals=%v interval %d: observed rate %g, want %g", tc.arrivals, i, got, want)
			}
			if seen[i].Failed != 0 {
				t.Errorf("arrivals=%v interval %d: observed failures %g, want 0", tc.arrivals, i, seen[i].Failed)
			}
		}
		// The judging keeps the true arrivals whatever the source reports.
		if r := res.Records[0]; r.Rate != 150 || !near(r.Served, 110) {
			t.Errorf("record 0: rate %g served %g, want 150 and 110", r.Rate, r.Served)
		}
	}
}

// TestQueueLimitRefuses: one fft pod offered 150 req/s for a minute with a 30 s timeout: the
// backlog grows by 40 req/s and reaches the 512-request queue bound after 12.8 s; from then
// on the 40 req/s beyond the pod's 110 are refused with 503 at once: 40 x 47.2 s = 1888
// failed, 6600 served, 512 left waiting. The source reports (6600 + 1888) / 60 = 141.47 req/s
// answered, 1888 / 60 = 31.47 req/s of them failed. Unbounded (-1), the backlog ends at 2400
// with nothing failed; a bound of 4096 is never reached either.
func TestQueueLimitRefuses(t *testing.T) {
	for _, tc := range []struct {
		queue                  int
		failed, served, answer float64
	}{
		{0, 1888, 6600, 141.466667}, // the default, 512
		{512, 1888, 6600, 141.466667},
		{-1, 0, 6600, 110},
		{4096, 0, 6600, 110},
	} {
		cfg := DefaultConfig()
		cfg.Initial, cfg.QueueLimit, cfg.Timeout = 1, tc.queue, 30*time.Second
		seen, res := observe(t, cfg, []float64{150, 0}, []int{1})
		r := res.Records[0]
		if !near(r.FailedCount, tc.failed) || !near(r.Served*60, tc.served) {
			t.Errorf("queue %d: failed %g served %g, want %g and %g", tc.queue, r.FailedCount, r.Served*60, tc.failed, tc.served)
		}
		if !near(seen[0].Rate, tc.answer) || !near(seen[0].Failed, tc.failed/60) {
			t.Errorf("queue %d: observed rate %g failed %g, want %g and %g", tc.queue, seen[0].Rate, seen[0].Failed, tc.answer, tc.failed/60)
		}
	}
}

// TestJustReadyPodDilutesCPU: 88 req/s on one fft pod (CPU 88/110 = 0.8), a second pod asked
// at the first decision and ready 30 s later. Over the minute: 30 s of one pod at 0.8, then
// 30 s of two at 0.4 each: 24 + 24 = 48 CPU-seconds. Counted over both pods for the whole
// minute (the new pod idle before its readiness), the mean is 48 / 120 = 0.4; averaged over
// ready time only (UndilutedCPU) it is (0.8 x 30 + 0.4 x 30) / 60 = 0.6.
func TestJustReadyPodDilutesCPU(t *testing.T) {
	for _, tc := range []struct {
		undiluted bool
		want      float64
	}{{false, 0.4}, {true, 0.6}} {
		cfg := DefaultConfig()
		cfg.Initial, cfg.UndilutedCPU = 1, tc.undiluted
		seen, _ := observe(t, cfg, []float64{88, 88}, []int{2})
		if got := seen[0].CPU; !near(got, tc.want) {
			t.Errorf("undiluted=%v: CPU %g, want %g", tc.undiluted, got, tc.want)
		}
	}
}

// TestStartupCPUBurst: 55 req/s on one fft pod (CPU 0.5), a second pod asked at the first
// decision, ready at 30 s, using 0.8 x the request extra for its first 20 s. Over the
// minute: 30 s of one pod at 0.5 (15 CPU-s), 30 s of two at 0.25 (15 CPU-s), and the burst,
// capped at the limit: min(0.25 + 0.8, 1) - 0.25 = 0.75 for 20 s (15 CPU-s). Diluted over
// 120 pod-seconds (the new pod counts from the minute's start) that is 45 / 120 = 0.375;
// without the burst 30 / 120 = 0.25; averaged over ready time (undiluted) with the burst,
// (15 + 7.5 + 15 / 2) / 60 = 0.5. A burst that has ended (interval 1) adds nothing.
func TestStartupCPUBurst(t *testing.T) {
	for _, tc := range []struct {
		burst     float64
		undiluted bool
		want      [2]float64
	}{{0, false, [2]float64{0.25, 0.25}}, {0.8, false, [2]float64{0.375, 0.25}}, {0.8, true, [2]float64{0.5, 0.25}}} {
		cfg := DefaultConfig()
		cfg.Initial, cfg.UndilutedCPU, cfg.StartupCPU, cfg.StartupCPUFor = 1, tc.undiluted, tc.burst, 20*time.Second
		seen, _ := observe(t, cfg, []float64{55, 55, 55}, []int{2})
		for i, want := range tc.want {
			if got := seen[i].CPU; !near(got, want) {
				t.Errorf("burst %g undiluted=%v interval %d: CPU %g, want %g", tc.burst, tc.undiluted, i, got, want)
			}
		}
	}
}

// TestCapacityFactorScalesThroughput: one fft pod (110 req/s saturation, 10 ms at 50 req/s,
// about 15.7 ms at 80 and 35.4 at 100) offered 100 req/s for a minute under a capacity factor f. f = 1.25: the pod
// is the profile's pod at 100 / 1.25 = 80 req/s: 15.7 ms mean, CPU 80 / 110 = 0.727, all
// 6000 served. f = 0.8: it serves at most 0.8 x 110 = 88 req/s, so the backlog grows by 12
// req/s to 720 (no queue bound, 30 s timeout: nothing fails), 5280 are served, waiting on
// average 360 / 88 s = 4090.9 ms on top of the saturated 60 ms, at CPU 1.0 (the limit).
func TestCapacityFactorScalesThroughput(t *testing.T) {
	for _, tc := range []struct {
		f, served, meanMS, cpu, backlog float64
	}{
		{1.25, 6000, 0, 80.0 / 110, 0}, // meanMS 0: the profile's at 100 / f
		{1, 6000, 0, 100.0 / 110, 0},
		{0.8, 5280, 60 + 360.0/88*1000, 1, 720},
	} {
		cfg := DefaultConfig()
		cfg.QueueLimit, cfg.Timeout = -1, 30*time.Second
		c := &cluster{cfg: &cfg, mu: 110, sat: cfg.Profile.At(110), cpuLim: 1, queue: math.Inf(1), ready: 1}
		c.buildOverTable()
		c.setFactor(tc.f)
		var a accum
		c.serve(0, 100, 60, &a)
		if !near(a.served, tc.served) || a.failed != 0 || !near(c.backlog, tc.backlog) {
			t.Errorf("f %g: served %g failed %g backlog %g, want %g, 0, %g", tc.f, a.served, a.failed, c.backlog, tc.served, tc.backlog)
		}
		want := tc.meanMS
		if want == 0 {
			want = cfg.Profile.At(100 / tc.f).MeanMS
		}
		if got := a.latMean / a.served; !near(got, want) || want < 15 {
			t.Errorf("f %g: mean latency %g ms, want %g", tc.f, got, want)
		}
		if got := a.cpuTime / a.seconds; !near(got, tc.cpu) {
			t.Errorf("f %g: CPU %g, want %g", tc.f, got, tc.cpu)
		}
	}
}

// TestCapacityFactorsAreLognormalWithMeanOne: the factors have mean 1 and the asked
// coefficient of variation (20000 draws: standard errors 0.0007 and 0.0006 for CV 0.1), are
// the same for the same seed and differ for another; no jitter draws nothing.
func TestCapacityFactorsAreLognormalWithMeanOne(t *testing.T) {
	fs := capacityFactors(0.1, 7, 20000)
	var sum, sq float64
	for _, f := range fs {
		if !(f > 0) {
			t.Fatalf("factor %g is not positive", f)
		}
		sum += f
	}
	mean := sum / float64(len(fs))
	for _, f := range fs {
		sq += (f - mean) * (f - mean)
	}
	cv := math.Sqrt(sq/float64(len(fs)-1)) / mean
	if math.Abs(mean-1) > 0.004 || math.Abs(cv-0.1) > 0.004 {
		t.Errorf("mean %g CV %g, want 1 and 0.1", mean, cv)
	}
	again, other := capacityFactors(0.1, 7, 3), capacityFactors(0.1, 8, 3)
	for i := range again {
		if again[i] != fs[i] {
			t.Fatalf("same seed, factor %d: %g then %g", i, fs[i], again[i])
		}
	}
	if other[0] == fs[0] && other[1] == fs[1] {
		t.Errorf("seeds 7 and 8 drew the same factors %v", other)
	}
	if capacityFactors(0, 7, 3) != nil {
		t.Error("no jitter drew factors")
	}
}

// TestCapacityJitterIsPairedAcrossPolicies: near the knee (6 fft pods at 95 req/s each, 23.5
// to 35.4 ms) a fixed capacity meets a loose 40 ms SLO in every interval; with a CV of 0.1
// some intervals lose capacity, queue and violate. Two policies asking for the same pods see
// the same capacities (identical records), and the start-up jitter's draws do not move: the
// scripted scale-up's ready counts are those of a run without capacity jitter.
func TestCapacityJitterIsPairedAcrossPolicies(t *testing.T) {
	rates := make([]float64, 60)
	for i := range rates {
		rates[i] = 6 * 95
	}
	cfg := DefaultConfig()
	cfg.Initial, cfg.SLO.TargetMS = 6, 40
	flat, err := Run(cfg, rates, t0, fixed{6})
	if err != nil {
		t.Fatal(err)
	}
	if flat.Summary.SLOViolationRate != 0 {
		t.Fatalf("fixed capacity: %g of intervals violated, want 0", flat.Summary.SLOViolationRate)
	}
	cfg.CapacityJitter, cfg.Seed = 0.1, 3
	a, err := Run(cfg, rates, t0, fixed{6})
	if err != nil {
		t.Fatal(err)
	}
	plan := make([]int, len(rates))
	for i := range plan {
		plan[i] = 6
	}
	b, err := Run(cfg, rates, t0, scripted{plan})
	if err != nil {
		t.Fatal(err)
	}
	if v := a.Summary.SLOViolationRate; v == 0 || v == 1 {
		t.Errorf("capacity jitter 0.1: %g of the intervals violated, want some but not all", v)
	}
	for i := range a.Records {
		if a.Records[i].LatencyMeanMS != b.Records[i].LatencyMeanMS || a.Records[i].Served != b.Records[i].Served {
			t.Fatalf("interval %d: fixed and scripted differ (%g vs %g ms) with the same pods", i, a.Records[i].LatencyMeanMS, b.Records[i].LatencyMeanMS)
		}
	}

	up := []int{1, 4, 4, 4}
	cfg = DefaultConfig()
	cfg.Initial, cfg.StartupJitter, cfg.Seed = 1, 40*time.Second, 5
	_, base := observe(t, cfg, []float64{50, 50, 50, 50}, up)
	cfg.CapacityJitter = 0.2
	_, jit := observe(t, cfg, []float64{50, 50, 50, 50}, up)
	for i := range base.Records {
		if base.Records[i].Ready != jit.Records[i].Ready {
			t.Errorf("interval %d: %g ready without capacity jitter, %g with", i, base.Records[i].Ready, jit.Records[i].Ready)
		}
	}
}
