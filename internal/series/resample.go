package series

import (
	"fmt"
	"strings"
	"time"
)

// PerSecond converts counts per interval into rates in requests per second by dividing every
// value by the step in seconds (a trace's 600 requests per 60 s minute become 10 req/s). It
// returns a new series; s is not changed.
func (s Series) PerSecond() Series {
	out := s.Clone()
	sec := s.Step.Seconds()
	if sec <= 0 {
		return out // no step, no rate; Validate reports it
	}
	for i, v := range out.Values {
		out.Values[i] = v / sec
	}
	return out
}

// Agg says how Resample combines the points that fall into one coarser interval.
type Agg int

const (
	// Sum adds the points: right for counts per interval (requests per minute -> per hour).
	Sum Agg = iota
	// Mean averages the points: right for rates (req/s stays req/s).
	Mean
	// Max keeps the largest point: a conservative rate for capacity planning.
	Max
)

var aggNames = [...]string{Sum: "sum", Mean: "mean", Max: "max"}

func (a Agg) String() string {
	if a >= 0 && int(a) < len(aggNames) {
		return aggNames[a]
	}
	return fmt.Sprintf("Agg(%d)", int(a))
}

// ParseAgg reads "sum", "mean" or "max".
func ParseAgg(name string) (Agg, error) {
	for i, n := range aggNames {
		if strings.EqualFold(name, n) {
			return Agg(i), nil
		}
	}
	return 0, fmt.Errorf("unknown aggregation %q (valid: %s)", name, strings.Join(aggNames[:], ", "))
}

// Resample combines every step/s.Step consecutive points into one point of the coarser step.
// step must be a positive multiple of s.Step. An incomplete group at the end (fewer points
// than a full coarse interval) is dropped, because summing or averaging a partial interval
// would misreport it; the result therefore covers floor(len/k) coarse intervals. Burst
// labels are mapped to the coarse intervals they touch. The result must keep at least 2
// points.
func Resample(s Series, step time.Duration, agg Agg) (Series, error) {
	if s.Step <= 0 {
		return Series{}, fmt.Errorf("resample %s: source step %s is not positive", s.Name, s.Step)
	}
	if step <= 0 || step%s.Step != 0 {
		return Series{}, fmt.Errorf("resample %s: step %s is not a positive multiple of the series step %s", s.Name, step, s.Step)
	}
	if agg < Sum || agg > Max {
		return Series{}, fmt.Errorf("resample %s: unknown aggregation %v", s.Name, agg)
	}
	k := int(step / s.Step)
	n := len(s.Values) / k
	if n < 2 {
		return Series{}, fmt.Errorf("resample %s: %d points at %s give %d full intervals of %s, need at least 2", s.Name, len(s.Values), s.Step, n, step)
	}
	out := Series{Name: s.Name, Start: s.Start, Step: step, Values: make([]float64, n)}
	for i := range n {
		group := s.Values[i*k : (i+1)*k]
		var acc float64
		switch agg {
		case Sum, Mean:
			for _, v := range group {
				acc += v
			}
			if agg == Mean {
				acc /= float64(k)
			}
		case Max:
			acc = group[0]
			for _, v := range group[1:] {
				acc = max(acc, v)
			}
		}
		out.Values[i] = acc
	}
	for _, b := range s.Bursts {
		c := b
		c.Start = b.Start / k
		c.End = min((b.End+k-1)/k, n)
		if c.Start < c.End {
			out.Bursts = append(out.Bursts, c)
		}
	}
	return out, nil
}
