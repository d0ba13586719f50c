package loadgen

import (
	"github.com/bascaler/bascaler/internal/load"
)

// IntervalStats summarises the requests sent in one schedule interval, from the client's
// measurements (latency includes the load balancer and the network stack).
type IntervalStats = load.IntervalStats

// Summarize groups the records by the schedule interval they were sent in; Scheduled is
// the schedule's count and NotSent the requests dropped for lateness. sloMS sets OverSLO.
func (r *Run) Summarize(sloMS float64) []IntervalStats {
	s := r.Schedule
	out := load.Bucket(r.Records, nil, s.Interval, len(s.Rates), sloMS)
	sched := s.Scheduled()
	for k := range out {
		out[k].Scheduled = sched[k]
		if k < len(r.NotSent) {
			out[k].NotSent = r.NotSent[k]
		}
	}
	return out
}

// LatencyStats returns the mean, p95 and p99 (nearest rank) of latencies; it sorts them in
// place. All three are 0 for no latencies.
func LatencyStats(l []float64) (mean, p95, p99 float64) {
	p := load.Percentiles(l)
	return p.MeanMS, p.P95MS, p.P99MS
}
