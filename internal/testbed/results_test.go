package testbed

import (
	"math"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/testbed/lb"
	"github.com/bascaler/bascaler/internal/testbed/loadgen"
)

// TestFinishComputesSimulatorMetricsFromMeasuredLatencies pins the summary arithmetic on a
// hand-made two-interval run with a 10 ms mean SLO:
//
//	interval 0: 10 req/s scheduled; 2 requests at 5 ms and 30 ms (mean 17.5 -> violated),
//	            1 replica allocated and ready the whole time, need ceil(10/8) = 2;
//	interval 1: 4 req/s; 2 requests at 4 ms and one failed (failure -> violated),
//	            3 allocated, 2 ready, need 1; one request not sent.
func TestFinishComputesSimulatorMetricsFromMeasuredLatencies(t *testing.T) {
	iv := 10 * time.Second
	sched, err := loadgen.NewSchedule([]float64{0.4, 0.4}, iv) // 4 requests per interval
	if err != nil {
		t.Fatal(err)
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	run := &loadgen.Run{Schedule: sched, NotSent: []uint64{0, 1}, Records: []loadgen.Record{
		{Sent: 1 * time.Second, Latency: ms(5), Code: 200},
		{Sent: 2 * time.Second, Latency: ms(30), Code: 200},
		{Sent: 11 * time.Second, Latency: ms(4), Code: 200},
		{Sent: 12 * time.Second, Latency: ms(4), Code: 200},
		{Sent: 13 * time.Second, Latency: ms(10000), Err: true},
	}}
	s := newSampler(2, iv)
	s.alloc, s.ready, s.seconds = []float64{10, 30}, []float64{10, 20}, []float64{10, 10}
	pr := &PolicyRun{Policy: "p", Interval: iv, SLO: policy.SLO{Metric: perf.Mean, TargetMS: 10},
		rates: []float64{10, 4}, capAtSLO: 8,
		Decisions: []Decision{{Before: 1, After: 1, Decided: true}, {Before: 1, After: 3, Decided: true}, {Before: 3, After: 3}}}
	pr.finish(run, s, nil, nil)
	got := pr.Summary
	h := iv.Hours()
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"violation rate", got.SLOViolationRate, 1},
		{"requests", got.Requests, 5},
		{"failed", got.FailedRequests, 1},
		{"over SLO share (1 slow + 1 failed of 5)", got.RequestsOverSLO, 0.4},
		{"not sent", got.RequestsNotSent, 1},
		{"cost", got.CostPodHours, 4 * h},
		{"mean replicas", got.MeanReplicas, 2},
		{"scaling actions", float64(got.ScalingActions), 1},
		{"over-provision (3 allocated vs need 1)", got.OverProvisionPodHours, 2 * h},
		{"under-provision (1 ready vs need 2)", got.UnderProvisionPodHours, 1 * h},
		{"mean latency of served", got.MeanLatencyMS, (5 + 30 + 4 + 4) / 4.0},
	} {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %g, want %g", c.name, c.got, c.want)
		}
	}
	if r := pr.Records[0]; !r.Violated || r.Need != 2 || r.LatencyMS != 17.5 {
		t.Errorf("interval 0 record %+v", r)
	}
	if r := pr.Records[1]; !r.Violated || r.Need != 1 || r.Failed != 1 {
		t.Errorf("interval 1 record %+v", r)
	}
	// As a measure.Record (what the summary and the plots read): interval 0 served 2 requests
	// in 10 s (0.2 req/s), one of them (30 ms) over the 10 ms SLO.
	m := pr.Records[0].measured(iv)
	if m.Served != 0.2 || m.OverSLO != 0.5 || m.Requests != 2 || m.FailedCount != 0 || m.Need != 2 || !m.Violated {
		t.Errorf("interval 0 as a measure record %+v", m)
	}
	if m := pr.Records[1].measured(iv); m.Failed != 0.1 || m.FailedCount != 1 || m.Requests != 3 {
		t.Errorf("interval 1 as a measure record %+v", m)
	}
}

// TestFinishReadsTheSLOsStatistic: under a p95 SLO the verdict reads the measured p95 (nearest
// rank), not the mean. Interval 0 has latencies 5, 6 and 30 ms: mean 13.7 (under 20), p95 30.
func TestFinishReadsTheSLOsStatistic(t *testing.T) {
	iv := 10 * time.Second
	sched, err := loadgen.NewSchedule([]float64{0.3}, iv)
	if err != nil {
		t.Fatal(err)
	}
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	run := &loadgen.Run{Schedule: sched, Records: []loadgen.Record{
		{Sent: 1 * time.Second, Latency: ms(5), Code: 200},
		{Sent: 2 * time.Second, Latency: ms(6), Code: 200},
		{Sent: 3 * time.Second, Latency: ms(30), Code: 200},
	}}
	for _, c := range []struct {
		metric   perf.LatencyMetric
		latency  float64
		violated bool
	}{{perf.Mean, 41.0 / 3, false}, {perf.P95, 30, true}, {perf.P99, 30, true}} {
		s := newSampler(1, iv)
		s.alloc, s.ready, s.seconds = []float64{10}, []float64{10}, []float64{10}
		pr := &PolicyRun{Policy: "p", Interval: iv, SLO: policy.SLO{Metric: c.metric, TargetMS: 20}, rates: []float64{0.3}, capAtSLO: 8}
		pr.finish(run, s, nil, nil)
		r := pr.Records[0]
		if math.Abs(r.LatencyMS-c.latency) > 1e-9 || r.Violated != c.violated || pr.Summary.SLOViolationRate != map[bool]float64{false: 0, true: 1}[c.violated] {
			t.Errorf("%s SLO: latency %g violated %v (rate %g), want %g %v", c.metric, r.LatencyMS, r.Violated, pr.Summary.SLOViolationRate, c.latency, c.violated)
		}
	}
}

func TestServerlessColdStartsBinnedByArrival(t *testing.T) {
	start := time.Unix(1000, 0)
	iv := 10 * time.Second
	at := func(s float64) time.Time { return start.Add(time.Duration(s * float64(time.Second))) }
	held := []lb.Held{
		{Arrived: at(1), Wait: 2 * time.Second, Outcome: lb.Served},
		{Arrived: at(2), Wait: time.Second, Outcome: lb.Served},
		{Arrived: at(3), Outcome: lb.Refused},
		{Arrived: at(12), Wait: 300 * time.Second, Outcome: lb.TimedOut},
		{Arrived: at(-1), Outcome: lb.Served}, // before the run: not counted
		{Arrived: at(25), Outcome: lb.Served}, // after it
	}
	got := coldStarts(held, start, iv, 2)
	if c := got[0]; c.coldStarts != 3 || c.held != 2 || c.heldFailed != 1 || len(c.waits) != 2 || c.waits[0].LoMS != 2000 {
		t.Errorf("interval 0: %+v, want 3 cold starts, 2 held and served (2000 and 1000 ms), 1 refused", c)
	}
	if c := got[1]; c.coldStarts != 1 || c.held != 1 || c.heldFailed != 1 || len(c.waits) != 0 {
		t.Errorf("interval 1: %+v, want 1 cold start held and timed out", c)
	}
}

// TestMeasuredStartupIsTheMedianOverRuns: start-ups of 10.2 s and 11.56 s in one run and
// 11.5 s in another have the median 11.5 s; 11.56 alone rounds to 11.6 s; with no replica
// started the configured delay stands.
func TestMeasuredStartupIsTheMedianOverRuns(t *testing.T) {
	s := func(xs ...float64) *PolicyRun {
		pr := &PolicyRun{}
		for _, x := range xs {
			pr.startups = append(pr.startups, time.Duration(x*float64(time.Second)))
		}
		return pr
	}
	for _, tc := range []struct {
		runs []*PolicyRun
		want time.Duration
	}{
		{[]*PolicyRun{s(10.2, 11.56), s(11.5)}, 11500 * time.Millisecond},
		{[]*PolicyRun{s(11.56)}, 11600 * time.Millisecond},
		{[]*PolicyRun{s(), s()}, 10 * time.Second},
	} {
		if got := measuredStartup(tc.runs, 10*time.Second); got != tc.want {
			t.Errorf("runs %v: %s, want %s", tc.runs, got, tc.want)
		}
	}
}

// TestCPUPerRequestUnderLoad: two 15 s intervals with Prometheus CPU 0.5 of a 0.1-core share
// on 2 ready replicas and 0.25 on 4 (1.5 CPU-s each) over 300 and 200 answered requests are 3
// CPU-s over 500 = 6 ms a request; an interval Prometheus did not report is left out. The
// profile's points at half the 20 req/s estimate or more: 12 req/s at 75% (0.075 / 12 = 6.25
// ms) and 16 at 90% (5.625 ms), median 5.94 ms; the 4 req/s point is not under load.
func TestCPUPerRequestUnderLoad(t *testing.T) {
	rec := func(cpu, ready float64, ok uint64) IntervalRecord {
		r := IntervalRecord{PromCPU: cpu, Ready: ready}
		r.OK = ok
		return r
	}
	got := runCPUPerRequest([]IntervalRecord{rec(0.5, 2, 300), rec(0.25, 4, 200), rec(math.NaN(), 3, 900)}, 0.1, 15*time.Second)
	if math.Abs(got-0.006) > 1e-12 {
		t.Errorf("run CPU per request %g s, want 0.006", got)
	}
	if got := runCPUPerRequest([]IntervalRecord{rec(math.NaN(), 3, 900)}, 0.1, 15*time.Second); got != 0 {
		t.Errorf("no Prometheus CPU: %g, want 0", got)
	}
	pts := []perf.ProfilingSample{{LoadPerPod: 4, CPUPct: 30}, {LoadPerPod: 12, CPUPct: 75}, {LoadPerPod: 16, CPUPct: 90}}
	if got, want := loadedCPUPerRequest(pts, 0.1, 20), (0.075/12+0.09/16)/2; math.Abs(got-want) > 1e-12 {
		t.Errorf("profiled CPU per request under load %g s, want %g", got, want)
	}
	if got := loadedCPUPerRequest(pts[:1], 0.1, 20); got != 0 {
		t.Errorf("no point under load: %g, want 0", got)
	}
}
