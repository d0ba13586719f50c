package loadgen

import (
	"fmt"
	"math"
	"time"
)

// Schedule is a piecewise-constant request rate: Rates[k] requests per second during the
// k-th Interval.
type Schedule struct {
	Rates    []float64
	Interval time.Duration
	// cum[k] is the expected number of requests before interval k (cum[len] is the total).
	cum []float64
}

// NewSchedule validates rates and precomputes the cumulative counts.
func NewSchedule(rates []float64, interval time.Duration) (*Schedule, error) {
	if interval <= 0 {
		return nil, fmt.Errorf("load schedule: interval must be positive, got %s", interval)
	}
	if len(rates) == 0 {
		return nil, fmt.Errorf("load schedule: no rates")
	}
	s := &Schedule{Rates: append([]float64(nil), rates...), Interval: interval, cum: make([]float64, len(rates)+1)}
	for k, r := range rates {
		if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
			return nil, fmt.Errorf("load schedule: interval %d: rate %g is not a finite non-negative number", k, r)
		}
		s.cum[k+1] = s.cum[k] + r*interval.Seconds()
	}
	return s, nil
}

// Duration is the schedule's length.
func (s *Schedule) Duration() time.Duration { return time.Duration(len(s.Rates)) * s.Interval }

// Total is the number of requests the schedule sends (the integer part of the expected
// count: request j is sent for j = 0, 1, ... while j < expected total).
func (s *Schedule) Total() uint64 { return uint64(math.Ceil(s.cum[len(s.Rates)])) }

// Expected returns the expected number of requests sent before t.
func (s *Schedule) Expected(t time.Duration) float64 {
	if t <= 0 {
		return 0
	}
	k := int(t / s.Interval)
	if k >= len(s.Rates) {
		return s.cum[len(s.Rates)]
	}
	return s.cum[k] + s.Rates[k]*(t-time.Duration(k)*s.Interval).Seconds()
}

// TimeOf returns when request j (0-based) is due: the first instant at which Expected
// reaches j. ok is false when the schedule ends before it.
func (s *Schedule) TimeOf(j uint64) (time.Duration, bool) {
	x := float64(j)
	if x >= s.cum[len(s.Rates)] {
		return s.Duration(), false
	}
	// Binary search for the interval k with cum[k] <= x < cum[k+1].
	lo, hi := 0, len(s.Rates)-1
	for lo < hi {
		mid := (lo + hi + 1) / 2
		if s.cum[mid] <= x {
			lo = mid
		} else {
			hi = mid - 1
		}
	}
	k := lo
	for s.Rates[k] == 0 || s.cum[k+1] <= x { // skip idle intervals
		k++
	}
	off := time.Duration((x - s.cum[k]) / s.Rates[k] * float64(time.Second))
	return time.Duration(k)*s.Interval + off, true
}

// IntervalOf returns the interval request j is due in.
func (s *Schedule) IntervalOf(j uint64) int {
	t, ok := s.TimeOf(j)
	if !ok {
		return len(s.Rates) - 1
	}
	return min(int(t/s.Interval), len(s.Rates)-1)
}

// Scheduled returns how many requests are due in each interval.
func (s *Schedule) Scheduled() []uint64 {
	out := make([]uint64, len(s.Rates))
	for k := range s.Rates {
		out[k] = uint64(math.Ceil(s.cum[k+1])) - uint64(math.Ceil(s.cum[k]))
	}
	return out
}
