package measure

import (
	"encoding/json"
	"math"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
)

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }

func TestJudgeSetsNeedAndViolation(t *testing.T) {
	mean16 := policy.SLO{Metric: perf.Mean, TargetMS: 16}
	p95at20 := policy.SLO{Metric: perf.P95, TargetMS: 20}
	for _, c := range []struct {
		name         string
		slo          policy.SLO
		iv           policy.Interval
		failed       float64
		wantNeed     int
		wantViolated bool
	}{
		// 100 req/s at 80 req/s per pod: ceil(1.25) = 2 pods.
		{"mean under the target", mean16, policy.Interval{Rate: 100, LatencyMeanMS: 12, LatencyP95MS: 30}, 0, 2, false},
		{"the target itself is met", mean16, policy.Interval{Rate: 160, LatencyMeanMS: 16}, 0, 2, false},
		{"mean over the target", mean16, policy.Interval{Rate: 161, LatencyMeanMS: 16.5}, 0, 3, true},
		// The p95 SLO reads the p95, not the mean: 30 ms p95 violates although the mean is 12.
		{"p95 reads the p95", p95at20, policy.Interval{Rate: 100, LatencyMeanMS: 12, LatencyP95MS: 30}, 0, 2, true},
		{"p95 met with a high mean", p95at20, policy.Interval{Rate: 100, LatencyMeanMS: 19, LatencyP95MS: 19.9, LatencyP99MS: 90}, 0, 2, false},
		{"one failed request violates", mean16, policy.Interval{Rate: 10, LatencyMeanMS: 5}, 1, 1, true},
		// The fluid queue fails fractions; float noise below 1e-9 requests is no failure.
		{"float noise is no failure", mean16, policy.Interval{Rate: 10, LatencyMeanMS: 5}, 1e-12, 1, false},
		{"no load needs no pod", mean16, policy.Interval{LatencyMeanMS: 5}, 0, 0, false},
	} {
		r := Record{Interval: c.iv, FailedCount: c.failed}
		r.Judge(c.slo, 80)
		if r.Need != c.wantNeed || r.Violated != c.wantViolated {
			t.Errorf("%s: need %d violated %v, want %d %v", c.name, r.Need, r.Violated, c.wantNeed, c.wantViolated)
		}
	}
}

// threeIntervals is the worked example: 60 s intervals (1/60 h), a 16 ms mean SLO and 80 req/s
// per pod at the SLO.
//
//	i  rate  served/s  failed  over-SLO share  mean ms  allocated  ready  need        violated
//	0  100   100       0       0.1             12       3          2.5    ceil(1.25)=2  no
//	1  300   290       600     0.5             40       2          1.5    ceil(3.75)=4  yes (40 ms, failures)
//	2  0     0         0       0               5 (idle) 1          1      0             no
func threeIntervals() []Record {
	recs := []Record{
		{Interval: policy.Interval{Rate: 100, Served: 100, OverSLO: 0.1, LatencyMeanMS: 12, Replicas: 3, Ready: 2.5}, Requests: 6000},
		{Interval: policy.Interval{Rate: 300, Served: 290, Failed: 10, OverSLO: 0.5, LatencyMeanMS: 40, Replicas: 2, Ready: 1.5},
			Requests: 18000, FailedCount: 600},
		{Interval: policy.Interval{LatencyMeanMS: 5, Replicas: 1, Ready: 1}},
	}
	for i := range recs {
		recs[i].Judge(policy.SLO{Metric: perf.Mean, TargetMS: 16}, 80)
	}
	return recs
}

func TestSummariseWorkedExample(t *testing.T) {
	recs := threeIntervals()
	for i, want := range []struct {
		need     int
		violated bool
	}{{2, false}, {4, true}, {0, false}} {
		if recs[i].Need != want.need || recs[i].Violated != want.violated {
			t.Fatalf("interval %d judged need %d violated %v, want %d %v", i, recs[i].Need, recs[i].Violated, want.need, want.violated)
		}
	}
	s := Summarise(recs, time.Minute)
	h := 1.0 / 60
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"intervals", float64(s.Intervals), 3},
		{"violation rate: 1 of 3 intervals", s.SLOViolationRate, 1.0 / 3},
		{"requests: 6000 + 18000", s.Requests, 24000},
		{"failed", s.FailedRequests, 600},
		{"failed rate: 600 / 24000", s.FailedRate, 0.025},
		// served 6000 + 290·60 = 23400; slow 0.1·6000 + 0.5·17400 = 9300; (9300 + 600) / 24000.
		{"requests over the SLO", s.RequestsOverSLO, 0.4125},
		{"cost: (3 + 2 + 1) pods x 1/60 h", s.CostPodHours, 6 * h},
		{"mean replicas: 6 / 3", s.MeanReplicas, 2},
		// allocated (not ready) above need: 3-2 = 1, 2-4 < 0, 1-0 = 1 -> 2 pod-intervals.
		{"over-provisioning", s.OverProvisionPodHours, 2 * h},
		// ready (not allocated) below need: 2-2.5 < 0, 4-1.5 = 2.5, 0-1 < 0 -> 2.5 pod-intervals.
		{"under-provisioning", s.UnderProvisionPodHours, 2.5 * h},
		// (12·6000 + 40·17400) / 23400 = 768000 / 23400; the idle 5 ms of interval 2 weighs 0.
		{"mean latency of served requests", s.MeanLatencyMS, 768000.0 / 23400},
		{"decisions are the loop's", float64(s.Decisions), 0},
		{"scaling actions are the loop's", float64(s.ScalingActions), 0},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %g, want %g", c.name, c.got, c.want)
		}
	}
}

func TestSummariseWithoutRecordsOrRequests(t *testing.T) {
	for _, c := range []struct {
		name string
		recs []Record
	}{
		{"no records", nil},
		{"idle intervals", []Record{{Interval: policy.Interval{Replicas: 1, Ready: 1}}, {Interval: policy.Interval{Replicas: 1, Ready: 1}}}},
	} {
		s := Summarise(c.recs, 15*time.Second)
		b, err := json.Marshal(s) // NaN would fail to marshal
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		if s.Intervals != len(c.recs) || s.RequestsOverSLO != 0 || s.FailedRate != 0 || s.MeanLatencyMS != 0 || s.SLOViolationRate != 0 {
			t.Errorf("%s: %s", c.name, b)
		}
	}
	// Two idle 15 s intervals with one pod each cost 2 x 15 s = 1/120 pod-hour.
	if s := Summarise([]Record{{Interval: policy.Interval{Replicas: 1}}, {Interval: policy.Interval{Replicas: 1}}}, 15*time.Second); !near(s.CostPodHours, 1.0/120) {
		t.Errorf("idle cost %g, want 1/120", s.CostPodHours)
	}
}

func TestCombineAveragesSeeds(t *testing.T) {
	a := Combine("hpa", []Summary{
		{Intervals: 10, SLOViolationRate: 0.1, CostPodHours: 10, MeanReplicas: 4, ScalingActions: 3, Decisions: 10, Requests: 100},
		{Intervals: 10, SLOViolationRate: 0.3, CostPodHours: 14, MeanReplicas: 6, ScalingActions: 4, Decisions: 11, Requests: 300},
	})
	for _, c := range []struct {
		name      string
		got, want float64
	}{
		{"seeds", float64(a.Seeds), 2},
		{"intervals", float64(a.Intervals), 10},
		{"violation rate mean", a.SLOViolationRate, 0.2},
		// sample std: sqrt((0.1² + 0.1²) / (2 − 1)) = 0.1·√2.
		{"violation rate std", a.SLOViolationRateStd, 0.1 * math.Sqrt2},
		{"cost mean", a.CostPodHours, 12},
		{"cost std: sqrt((2² + 2²) / 1)", a.CostPodHoursStd, 2 * math.Sqrt2},
		{"mean replicas", a.MeanReplicas, 5},
		{"requests", a.Requests, 200},
		{"scaling actions: round(3.5)", float64(a.ScalingActions), 4},
		{"decisions: round(10.5)", float64(a.Decisions), 11},
	} {
		if !near(c.got, c.want) {
			t.Errorf("%s = %g, want %g", c.name, c.got, c.want)
		}
	}
	if a.Policy != "hpa" {
		t.Errorf("policy %q", a.Policy)
	}
	one := Combine("static:3", []Summary{{SLOViolationRate: 0.5, CostPodHours: 3}})
	if one.SLOViolationRateStd != 0 || one.CostPodHoursStd != 0 || one.SLOViolationRate != 0.5 {
		t.Errorf("one seed: %+v", one)
	}
	if none := Combine("x", nil); none.Seeds != 0 || none.CostPodHours != 0 {
		t.Errorf("no seeds: %+v", none)
	}
}

// TestJSONFieldNamesAreStable pins the names scripts read (bench/, the testbed's JSON, the
// simulator's --format json).
func TestJSONFieldNamesAreStable(t *testing.T) {
	keys := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		var ks []string
		for k := range m {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		return strings.Join(ks, " ")
	}
	summary := "cold_starts cold_starts_per_1000 cost_pod_hours decisions failed_rate failed_requests held_failed held_latency_mean_ms held_latency_p99_ms held_requests idle_pod_hours intervals mean_latency_ms mean_replicas " +
		"over_provision_pod_hours requests requests_over_slo scaling_actions slo_violation_rate under_provision_pod_hours"
	if got := keys(Summary{}); got != summary {
		t.Errorf("summary keys\n got %s\nwant %s", got, summary)
	}
	agg := "cold_starts cold_starts_per_1000 cost_pod_hours cost_pod_hours_std decisions failed_rate failed_requests held_failed held_latency_mean_ms held_latency_p99_ms held_requests idle_pod_hours intervals mean_latency_ms mean_replicas " +
		"over_provision_pod_hours policy requests requests_over_slo scaling_actions seeds slo_violation_rate slo_violation_rate_std under_provision_pod_hours"
	if got := keys(Aggregate{}); got != agg {
		t.Errorf("aggregate keys\n got %s\nwant %s", got, agg)
	}
}

// TestHeldLatencyOfUniformBatches: batches of held requests, each spread evenly over its
// range of added latency.
func TestServerlessHeldLatencyOfUniformBatches(t *testing.T) {
	for _, c := range []struct {
		name             string
		waits            []HeldWait
		count, mean, p99 float64
	}{
		{"none", nil, 0, 0, 0},
		// 100 requests over 0..10 s: mean 5 s, p99 9.9 s.
		{"one batch", []HeldWait{{0, 10000, 100}}, 100, 5000, 9900},
		// 90 over 0..1 s and 10 over 20..30 s: mean (90·0.5 + 10·25)/100 = 2.95 s; the top 1%
		// is the top tenth of the second batch: p99 = 29 s.
		{"two batches", []HeldWait{{0, 1000, 90}, {20000, 30000, 10}}, 100, 2950, 29000},
		// A point mass: every request waited exactly 2 s.
		{"released at once", []HeldWait{{2000, 2000, 5}}, 5, 2000, 2000},
	} {
		s := HeldLatency(c.waits)
		if !near(s.Count, c.count) || !near(s.MeanMS, c.mean) || math.Abs(s.P99MS-c.p99) > 1e-3 { // bisection to 1e-9 relative
			t.Errorf("%s: %+v, want count %g mean %g p99 %g", c.name, s, c.count, c.mean, c.p99)
		}
	}
}
