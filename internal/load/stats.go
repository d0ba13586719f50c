package load

import (
	"math"
	"slices"
	"sort"
	"time"
)

// Latency summarises latencies in milliseconds; percentiles are nearest-rank (the smallest
// value with at least that share of the sample at or below it). All are 0 for no sample.
type Latency struct {
	MeanMS float64 `json:"mean"`
	P50MS  float64 `json:"p50"`
	P95MS  float64 `json:"p95"`
	P99MS  float64 `json:"p99"`
	MaxMS  float64 `json:"max"`
}

// Percentiles summarises ms; it sorts ms in place.
func Percentiles(ms []float64) Latency {
	if len(ms) == 0 {
		return Latency{}
	}
	sort.Float64s(ms)
	sum := 0.0
	for _, v := range ms {
		sum += v
	}
	return Latency{MeanMS: sum / float64(len(ms)), P50MS: quantile(ms, 0.5), P95MS: quantile(ms, 0.95),
		P99MS: quantile(ms, 0.99), MaxMS: ms[len(ms)-1]}
}

// quantile returns the q-quantile of sorted values by the nearest-rank method.
func quantile(sorted []float64, q float64) float64 {
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// IntervalStats summarises the requests of one time bucket, from the client's measurements.
type IntervalStats struct {
	Index     int
	Scheduled uint64 // requests due in the bucket (sent or not)
	Sent      uint64 // requests sent in the bucket (by send time)
	NotSent   uint64 // requests due in the bucket that could not be sent on schedule
	OK        uint64 // 2xx answers
	Failed    uint64 // errors, timeouts and non-2xx answers
	// Latency of the OK requests, milliseconds (0 when none).
	MeanMS, P50MS, P95MS, P99MS float64
	// OverSLO counts OK requests slower than the SLO.
	OverSLO uint64
}

// Bucket groups a run's requests into n buckets of width: sent, OK and failed requests by
// the time they were sent, scheduled and not-sent ones by the time they were due. Requests
// beyond the last bucket fall into it. sloMS sets OverSLO.
func Bucket(records []Record, dropped []time.Duration, width time.Duration, n int, sloMS float64) []IntervalStats {
	if n <= 0 {
		return nil
	}
	out := make([]IntervalStats, n)
	idx := func(t time.Duration) int { return min(max(int(t/width), 0), n-1) }
	lat := make([][]float64, n)
	for k := range out {
		out[k].Index = k
	}
	for _, d := range dropped {
		k := idx(d)
		out[k].NotSent++
		out[k].Scheduled++
	}
	for _, rec := range records {
		out[idx(rec.Due)].Scheduled++
		k := idx(rec.Sent)
		st := &out[k]
		st.Sent++
		if rec.Failed() {
			st.Failed++
			continue
		}
		st.OK++
		l := ms(rec.Latency)
		lat[k] = append(lat[k], l)
		if l > sloMS {
			st.OverSLO++
		}
	}
	for k := range out {
		p := Percentiles(lat[k])
		out[k].MeanMS, out[k].P50MS, out[k].P95MS, out[k].P99MS = p.MeanMS, p.P50MS, p.P95MS, p.P99MS
	}
	return out
}

// PerSecond buckets the run into whole seconds up to its end.
func (r *Run) PerSecond() []IntervalStats {
	n := max(1, int(math.Ceil(r.End.Seconds())))
	return Bucket(r.Records, r.Dropped, time.Second, n, math.Inf(1))
}

// Summary is a run's headline numbers (the JSON of `bascaler load --format json`).
type Summary struct {
	Mode     string  `json:"mode"` // "open" or "closed"
	Arrivals string  `json:"arrivals,omitempty"`
	Users    int     `json:"users,omitempty"`
	ThinkS   float64 `json:"think_s,omitempty"`
	Stopped  Stop    `json:"stopped_by"`
	// Workers is how many requests could be in flight at once (the open-loop pool's size).
	Workers int `json:"workers"`
	// DurationS is how long requests were being sent.
	DurationS float64 `json:"duration_s"`
	// Scheduled is what the open-loop schedule asked for until the run stopped (sent +
	// shortfall); TargetRate is that per second.
	Scheduled  uint64  `json:"scheduled,omitempty"`
	TargetRate float64 `json:"target_rps,omitempty"`
	Sent       uint64  `json:"sent"`
	OK         uint64  `json:"ok"`
	Failed     uint64  `json:"failed"`
	// Shortfall counts requests the generator could not send within the lag allowed
	// (target too slow, every connection busy, or the machine too loaded to send).
	Shortfall    uint64  `json:"shortfall"`
	AchievedRate float64 `json:"achieved_rps"` // sent per second
	OKRate       float64 `json:"ok_rps"`
	// Latency of the OK requests.
	Latency Latency `json:"latency_ms"`
	// SendLag is how late requests left against their due time (open loop): the
	// generator's own timing error; nil for a closed loop.
	SendLag *Latency `json:"send_lag_ms,omitempty"`
	// TransportErrors are failures without an HTTP answer (refused, reset, timeout);
	// Codes counts every HTTP status received.
	TransportErrors uint64          `json:"transport_errors"`
	Codes           map[int]uint64  `json:"codes"`
	Targets         []TargetSummary `json:"targets"`
}

// TargetSummary is one URL's part of a run.
type TargetSummary struct {
	URL     string  `json:"url"`
	Weight  float64 `json:"weight"`
	Sent    uint64  `json:"sent"`
	OK      uint64  `json:"ok"`
	Failed  uint64  `json:"failed"`
	Share   float64 `json:"share"` // of all requests sent
	Latency Latency `json:"latency_ms"`
}

// Summarize computes the run's summary.
func (r *Run) Summarize() Summary {
	s := Summary{Mode: "open", Stopped: r.Stopped, Workers: r.Workers, DurationS: r.End.Seconds(), Codes: map[int]uint64{},
		Shortfall: uint64(len(r.Dropped)), Sent: uint64(len(r.Records))}
	if r.Closed() {
		s.Mode, s.Users, s.ThinkS = "closed", r.Users, r.Think.Seconds()
	} else {
		s.Arrivals = r.Arrivals.String()
		s.Scheduled = s.Sent + s.Shortfall
		if s.DurationS > 0 {
			s.TargetRate = float64(s.Scheduled) / s.DurationS
		}
	}
	lat := make([]float64, 0, len(r.Records))
	lag := make([]float64, 0, len(r.Records))
	perT := make([][]float64, len(r.Targets))
	s.Targets = make([]TargetSummary, len(r.Targets))
	for i, t := range r.Targets {
		s.Targets[i] = TargetSummary{URL: t.URL, Weight: t.Weight}
	}
	for _, rec := range r.Records {
		ts := &s.Targets[rec.Target]
		ts.Sent++
		if rec.Code != 0 {
			s.Codes[int(rec.Code)]++
		}
		if rec.Err && rec.Code == 0 {
			s.TransportErrors++
		}
		if !r.Closed() {
			lag = append(lag, ms(rec.Sent-rec.Due))
		}
		if rec.Failed() {
			s.Failed++
			ts.Failed++
			continue
		}
		s.OK++
		ts.OK++
		l := ms(rec.Latency)
		lat = append(lat, l)
		perT[rec.Target] = append(perT[rec.Target], l)
	}
	for i := range s.Targets {
		s.Targets[i].Latency = Percentiles(perT[i])
		if s.Sent > 0 {
			s.Targets[i].Share = float64(s.Targets[i].Sent) / float64(s.Sent)
		}
	}
	s.Latency = Percentiles(lat)
	if !r.Closed() {
		lagStats := Percentiles(lag)
		s.SendLag = &lagStats
	}
	if s.DurationS > 0 {
		s.AchievedRate = float64(s.Sent) / s.DurationS
		s.OKRate = float64(s.OK) / s.DurationS
	}
	return s
}

// sortedCodes lists the HTTP codes of a summary in order.
func (s Summary) sortedCodes() []int {
	codes := make([]int, 0, len(s.Codes))
	for c := range s.Codes {
		codes = append(codes, c)
	}
	slices.Sort(codes)
	return codes
}
