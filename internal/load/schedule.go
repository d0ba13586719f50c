package load

import (
	"fmt"
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/series"
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

// Constant is rate req/s for d (rounded up to whole milliseconds).
func Constant(rate float64, d time.Duration) (*Schedule, error) {
	if d <= 0 {
		return nil, fmt.Errorf("load schedule: a constant rate needs a positive duration, got %s", d)
	}
	return NewSchedule([]float64{rate}, d)
}

// Ramp goes linearly from from to to req/s over d, in steps of one second (or of d/1000
// for runs longer than 1000 s), each step at the ramp's value at its midpoint.
func Ramp(from, to float64, d time.Duration) (*Schedule, error) {
	if d <= 0 {
		return nil, fmt.Errorf("load schedule: a ramp needs a positive duration, got %s", d)
	}
	n := max(1, int(math.Ceil(d.Seconds())))
	n = min(n, 1000)
	iv := d / time.Duration(n)
	rates := make([]float64, n)
	for k := range rates {
		rates[k] = from + (to-from)*(float64(k)+0.5)/float64(n)
	}
	return NewSchedule(rates, iv)
}

// FromSeries turns a trace of counts per trace step (as series.Load returns it) into a
// schedule: point i is sent at the trace's rate (count / step in seconds) and lasts
// interval of wall time, so --interval compresses or stretches time, never the rate.
func FromSeries(s series.Series, interval time.Duration) (*Schedule, error) {
	if err := s.Validate(); err != nil {
		return nil, fmt.Errorf("load trace: %w", err)
	}
	sched, err := NewSchedule(s.PerSecond().Values, interval)
	if err != nil {
		return nil, fmt.Errorf("load trace %s: %w", s.Name, err)
	}
	return sched, nil
}

// Scaled returns the schedule with every rate multiplied by f (f >= 0, finite).
func (s *Schedule) Scaled(f float64) (*Schedule, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return nil, fmt.Errorf("load schedule: scale %g is not a finite non-negative number", f)
	}
	rates := make([]float64, len(s.Rates))
	for k, r := range s.Rates {
		rates[k] = r * f
	}
	return NewSchedule(rates, s.Interval)
}

// WithPeak returns the schedule scaled so that its highest rate is peak req/s.
func (s *Schedule) WithPeak(peak float64) (*Schedule, error) {
	if math.IsNaN(peak) || math.IsInf(peak, 0) || peak <= 0 {
		return nil, fmt.Errorf("load schedule: peak %g is not a finite positive rate", peak)
	}
	hi := s.Peak()
	if hi == 0 {
		return nil, fmt.Errorf("load schedule: every rate is 0, so it cannot be scaled to a peak of %g req/s", peak)
	}
	return s.Scaled(peak / hi)
}

// Peak is the highest rate.
func (s *Schedule) Peak() float64 {
	hi := 0.0
	for _, r := range s.Rates {
		hi = max(hi, r)
	}
	return hi
}

// Duration is the schedule's length.
func (s *Schedule) Duration() time.Duration { return time.Duration(len(s.Rates)) * s.Interval }

// Total is the number of requests the schedule sends with evenly spaced arrivals (request
// j is sent for j = 0, 1, ... while j < the expected total).
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

// TimeOf returns when request j (0-based) of evenly spaced arrivals is due: the first
// instant at which Expected reaches j. ok is false when the schedule ends before it.
func (s *Schedule) TimeOf(j uint64) (time.Duration, bool) { return s.TimeAt(float64(j)) }

// TimeAt inverts Expected: the first instant at which x requests are expected. ok is false
// when the schedule ends before. Mapping a unit-rate Poisson process through TimeAt gives a
// Poisson process whose rate follows the schedule (the time-change theorem).
func (s *Schedule) TimeAt(x float64) (time.Duration, bool) {
	if x < 0 {
		x = 0
	}
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

// IntervalOf returns the interval request j of evenly spaced arrivals is due in.
func (s *Schedule) IntervalOf(j uint64) int {
	t, ok := s.TimeOf(j)
	if !ok {
		return len(s.Rates) - 1
	}
	return min(int(t/s.Interval), len(s.Rates)-1)
}

// Scheduled returns how many evenly spaced requests are due in each interval.
func (s *Schedule) Scheduled() []uint64 {
	out := make([]uint64, len(s.Rates))
	for k := range s.Rates {
		out[k] = uint64(math.Ceil(s.cum[k+1])) - uint64(math.Ceil(s.cum[k]))
	}
	return out
}
