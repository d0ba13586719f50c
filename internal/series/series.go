package series

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Series is an evenly spaced time series. Values[i] belongs to the interval that starts at
// Start + i*Step. For workloads, values are request rates in requests per second unless the
// producer says otherwise (a freshly loaded trace holds the file's counts per interval).
type Series struct {
	// Name identifies the series in reports (a file's base name, or "synthetic:<name>").
	Name string
	// Start is the start of the first interval.
	Start time.Time
	// Step is the length of one interval.
	Step time.Duration
	// Values are the observations, oldest first.
	Values []float64
	// Bursts lists the true bursts of a synthetic series, as index ranges into Values.
	// Real traces have none.
	Bursts []Burst
}

// Burst is a labelled burst: the half-open index range [Start, End) of a series.
type Burst struct {
	Start int     `json:"start"`
	End   int     `json:"end"`
	Kind  string  `json:"kind"` // "flash-crowd" (ramp, plateau, decay) or "spike" (short, sharp)
	Peak  float64 `json:"peak"` // multiplier over the underlying level at the burst's peak
}

// Len returns the number of points.
func (s Series) Len() int { return len(s.Values) }

// Time returns the start of interval i.
func (s Series) Time(i int) time.Time { return s.Start.Add(time.Duration(i) * s.Step) }

// Slice returns the points [from, to) as a new Series sharing the values' storage. Burst
// labels are clipped to the window and re-indexed.
func (s Series) Slice(from, to int) Series {
	out := Series{Name: s.Name, Start: s.Time(from), Step: s.Step, Values: s.Values[from:to:to]}
	for _, b := range s.Bursts {
		if b.End <= from || b.Start >= to {
			continue
		}
		c := b
		c.Start = max(b.Start, from) - from
		c.End = min(b.End, to) - from
		out.Bursts = append(out.Bursts, c)
	}
	return out
}

// Clone returns a deep copy.
func (s Series) Clone() Series {
	c := s
	c.Values = append([]float64(nil), s.Values...)
	c.Bursts = append([]Burst(nil), s.Bursts...)
	return c
}

// Validate reports whether s is a usable workload series: at least 2 points, a positive
// step, finite non-negative values and burst labels inside the series.
func (s Series) Validate() error {
	name := s.Name
	if name == "" {
		name = "series"
	}
	if len(s.Values) < 2 {
		return fmt.Errorf("%s: %d points, need at least 2", name, len(s.Values))
	}
	if s.Step <= 0 {
		return fmt.Errorf("%s: step %s is not positive", name, s.Step)
	}
	for i, v := range s.Values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("%s: point %d: value %v is not finite", name, i, v)
		}
		if v < 0 {
			return fmt.Errorf("%s: point %d: value %v is negative", name, i, v)
		}
	}
	for _, b := range s.Bursts {
		if b.Start < 0 || b.End > len(s.Values) || b.Start >= b.End {
			return fmt.Errorf("%s: burst [%d,%d) is not a non-empty range inside [0,%d)", name, b.Start, b.End, len(s.Values))
		}
	}
	return nil
}

// Median returns the median of v (the mean of the two middle values for an even count;
// NaN when v is empty). v is not modified.
func Median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
