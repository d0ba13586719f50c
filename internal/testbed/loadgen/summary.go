package loadgen

import (
	"math"
	"sort"
	"time"
)

// IntervalStats summarises the requests sent in one schedule interval, from the client's
// measurements (latency includes the load balancer and the network stack).
type IntervalStats struct {
	Index     int
	Scheduled uint64 // requests the schedule asked for
	Sent      uint64 // requests actually sent (by send time)
	NotSent   uint64 // requests dropped because the generator fell behind
	OK        uint64 // 2xx answers
	Failed    uint64 // errors, timeouts and non-2xx answers
	// Latency of the OK requests, milliseconds (0 when none).
	MeanMS, P95MS, P99MS float64
	// OverSLO counts OK requests slower than the SLO.
	OverSLO uint64
}

// Summarize groups the records by the interval they were sent in. sloMS sets OverSLO.
func (r *Run) Summarize(sloMS float64) []IntervalStats {
	s := r.Schedule
	out := make([]IntervalStats, len(s.Rates))
	sched := s.Scheduled()
	lat := make([][]float64, len(out))
	for k := range out {
		out[k].Index = k
		out[k].Scheduled = sched[k]
		if k < len(r.NotSent) {
			out[k].NotSent = r.NotSent[k]
		}
	}
	for _, rec := range r.Records {
		k := min(max(int(rec.Sent/s.Interval), 0), len(out)-1)
		st := &out[k]
		st.Sent++
		if rec.Failed() {
			st.Failed++
			continue
		}
		st.OK++
		ms := float64(rec.Latency) / float64(time.Millisecond)
		lat[k] = append(lat[k], ms)
		if ms > sloMS {
			st.OverSLO++
		}
	}
	for k := range out {
		out[k].MeanMS, out[k].P95MS, out[k].P99MS = LatencyStats(lat[k])
	}
	return out
}

// LatencyStats returns the mean, p95 and p99 (nearest rank) of latencies; it sorts them in
// place. All three are 0 for no latencies.
func LatencyStats(l []float64) (mean, p95, p99 float64) {
	if len(l) == 0 {
		return 0, 0, 0
	}
	sort.Float64s(l)
	sum := 0.0
	for _, v := range l {
		sum += v
	}
	return sum / float64(len(l)), quantile(l, 0.95), quantile(l, 0.99)
}

// quantile returns the q-quantile of sorted values by the nearest-rank method (the
// smallest value with at least q of the sample at or below it).
func quantile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}
