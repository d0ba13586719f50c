package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
)

func TestThreshold(t *testing.T) {
	cases := []struct {
		name          string
		params        []string
		slo           SLO
		min, max      int
		replicas      int
		iv            Interval
		want          int
		reason, limit string
	}{
		{"latency above SLO -> +1", nil, SLO{perf.Mean, 16}, 1, 100, 4, Interval{LatencyMeanMS: 18, CPU: 0.9}, 5, thresholdReasonSlow, ""},
		{"latency above SLO wins over low cpu", nil, SLO{perf.Mean, 16}, 1, 100, 4, Interval{LatencyMeanMS: 18, CPU: 0.3}, 5, thresholdReasonSlow, ""},
		{"latency exactly at SLO is not above", nil, SLO{perf.Mean, 16}, 1, 100, 4, Interval{LatencyMeanMS: 16, CPU: 0.6}, 4, thresholdReasonHold, ""},
		{"cpu below 50% -> -1", nil, SLO{perf.Mean, 16}, 1, 100, 4, Interval{LatencyMeanMS: 12, CPU: 0.4}, 3, thresholdReasonIdle, ""},
		{"cpu at 50% holds", nil, SLO{perf.Mean, 16}, 1, 100, 4, Interval{LatencyMeanMS: 12, CPU: 0.5}, 4, thresholdReasonHold, ""},
		{"p95 SLO reads p95 latency", nil, SLO{perf.P95, 30}, 1, 100, 4, Interval{LatencyMeanMS: 12, LatencyP95MS: 31, CPU: 0.6}, 5, thresholdReasonSlow, ""},
		{"p99 SLO ignores a slow mean", nil, SLO{perf.P99, 40}, 1, 100, 4, Interval{LatencyMeanMS: 45, LatencyP99MS: 39, CPU: 0.6}, 4, thresholdReasonHold, ""},
		{"step-up=3", []string{"step-up=3"}, SLO{perf.Mean, 16}, 1, 100, 4, Interval{LatencyMeanMS: 20, CPU: 0.9}, 7, thresholdReasonSlow, ""},
		{"step-down=2 and cpu-low=0.3", []string{"step-down=2", "cpu-low=0.3"}, SLO{perf.Mean, 16}, 1, 100, 4, Interval{LatencyMeanMS: 12, CPU: 0.25}, 2, thresholdReasonIdle, ""},
		{"max replicas", nil, SLO{perf.Mean, 16}, 1, 4, 4, Interval{LatencyMeanMS: 20, CPU: 0.9}, 4, thresholdReasonSlow, limitMax},
		{"min replicas", nil, SLO{perf.Mean, 16}, 2, 100, 2, Interval{LatencyMeanMS: 10, CPU: 0.1}, 2, thresholdReasonIdle, limitMin},
		{"not-a-number latency holds", nil, SLO{perf.Mean, 16}, 1, 100, 4, Interval{LatencyMeanMS: math.NaN(), CPU: 0.1}, 4, thresholdReasonBad, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := testEnv(c.params...)
			env.SLO, env.Min, env.Max = c.slo, c.min, c.max
			p := mustNew(t, "threshold", env)
			f := newFeed(time.Minute, c.min, c.max)
			// An older interval that would say the opposite: only the last one may count.
			f.history = []Interval{{LatencyMeanMS: 100, LatencyP95MS: 100, LatencyP99MS: 100, CPU: 0}, c.iv}
			d := p.Decide(f.obs(c.replicas, c.replicas))
			if d.Replicas != c.want || d.Explanation.Reason != c.reason || d.Explanation.Limit != c.limit {
				t.Errorf("got %d (%s), want %d with reason %q limit %q", d.Replicas, d.Explanation, c.want, c.reason, c.limit)
			}
		})
	}
}

func TestThresholdNoHistoryHolds(t *testing.T) {
	p := mustNew(t, "threshold", testEnv())
	d := p.Decide(newFeed(time.Minute, 1, 100).obs(3, 3))
	if d.Replicas != 3 || d.Explanation.Reason != thresholdReasonNoData {
		t.Errorf("got %d (%s), want hold at 3: no data yet", d.Replicas, d.Explanation)
	}
}

func TestThresholdParams(t *testing.T) {
	cases := []struct {
		params  []string
		slo     float64
		wantErr string
	}{
		{[]string{"step-up=0"}, 16, "policy threshold: parameter step-up=0"},
		{[]string{"step-down=x"}, 16, `policy threshold: parameter step-down="x" is not an integer`},
		{[]string{"cpu-low=-1"}, 16, "policy threshold: parameter cpu-low=-1"},
		{[]string{"cpu-hi=0.9"}, 16, `policy threshold: unknown parameter "cpu-hi"`},
		{nil, 0, "policy threshold: SLO must be a positive latency"},
	}
	for _, c := range cases {
		env := testEnv(c.params...)
		env.SLO.TargetMS = c.slo
		_, err := New("threshold", env)
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("params %v slo %g: error = %v, want one containing %q", c.params, c.slo, err, c.wantErr)
		}
	}
}
