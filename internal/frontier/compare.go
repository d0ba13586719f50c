package frontier

import (
	"fmt"
	"math"
	"sort"
)

// Overlap says whether two frontiers can be compared on an axis.
type Overlap int

const (
	// Overlapping: the two ranges share at least one value; the means are defined.
	Overlapping Overlap = iota
	// Disjoint: the ranges do not overlap, so any comparison would extrapolate one frontier.
	Disjoint
)

// String returns "overlap" or "ranges do not overlap".
func (o Overlap) String() string {
	if o == Disjoint {
		return "ranges do not overlap"
	}
	return "overlap"
}

// MarshalText renders the overlap for JSON.
func (o Overlap) MarshalText() ([]byte, error) {
	if o == Disjoint {
		return []byte("disjoint"), nil
	}
	return []byte("overlap"), nil
}

// UnmarshalText reads what MarshalText writes.
func (o *Overlap) UnmarshalText(b []byte) error {
	switch string(b) {
	case "overlap":
		*o = Overlapping
	case "disjoint":
		*o = Disjoint
	default:
		return fmt.Errorf("overlap %q: want overlap or disjoint", b)
	}
	return nil
}

// Match is one comparison of frontiers A and B on one axis: over the shared range [From, To]
// of the matched quantity (cost, or violation rate), the mean of the other quantity on A and
// on B. The mean is exact for the piecewise-linear frontiers (trapezoids between the union of
// both frontiers' vertices); for a one-value overlap (From == To) it is the value there.
type Match struct {
	Overlap Overlap `json:"overlap"`
	From    float64 `json:"from"`
	To      float64 `json:"to"`
	A       float64 `json:"a"`
	B       float64 `json:"b"`
	// Ratio is A/B when defined: B > 0, or both zero (1). Nil otherwise, and when disjoint.
	Ratio *float64 `json:"ratio,omitempty"`
	// MaxExcess is the largest amount by which A lies above B anywhere in the shared range
	// (<= 0: A is at or below B everywhere there). Both are linear between the knots, so the
	// largest difference is at one of them.
	MaxExcess float64 `json:"max_excess"`
}

// withRatio fills in Ratio.
func (m Match) withRatio() Match {
	if m.Overlap != Overlapping {
		return m
	}
	var r float64
	switch {
	case m.B > 0:
		r = m.A / m.B
	case m.A == 0:
		r = 1
	default:
		return m
	}
	m.Ratio = &r
	return m
}

// Comparison holds the two summary numbers of frontier A against frontier B.
type Comparison struct {
	// AtCost compares violation rates at matched cost (A, B are mean violation rates; From,
	// To bound the shared cost range in pod-hours).
	AtCost Match `json:"violations_at_matched_cost"`
	// AtViolations compares costs at matched violations (A, B are mean pod-hours; From, To
	// bound the shared violation-rate range).
	AtViolations Match `json:"cost_at_matched_violations"`
}

// Compare compares frontier a against frontier b on both axes.
func Compare(a, b Frontier) Comparison {
	return Comparison{
		AtCost:       match(a.CostRange, b.CostRange, a.ViolationsAt, b.ViolationsAt, costs(a), costs(b)),
		AtViolations: match(a.ViolationRange, b.ViolationRange, a.CostAt, b.CostAt, violations(a), violations(b)),
	}
}

func costs(f Frontier) []float64 {
	out := make([]float64, len(f.Vertices))
	for i, v := range f.Vertices {
		out[i] = v.Cost
	}
	return out
}

func violations(f Frontier) []float64 {
	out := make([]float64, len(f.Vertices))
	for i, v := range f.Vertices {
		out[i] = v.Violations
	}
	return out
}

func match(ra, rb func() (float64, float64), fa, fb func(float64) (float64, error), ka, kb []float64) Match {
	aLo, aHi := ra()
	bLo, bHi := rb()
	lo, hi := math.Max(aLo, bLo), math.Min(aHi, bHi)
	if lo > hi {
		return Match{Overlap: Disjoint}
	}
	m := Match{Overlap: Overlapping, From: lo, To: hi}
	if lo == hi {
		m.A, _ = fa(lo)
		m.B, _ = fb(lo)
		m.MaxExcess = m.A - m.B
		return m.withRatio()
	}
	// Both functions are linear between consecutive knots of the union, so trapezoids are exact.
	knots := []float64{lo, hi}
	for _, k := range append(append([]float64(nil), ka...), kb...) {
		if k > lo && k < hi {
			knots = append(knots, k)
		}
	}
	sort.Float64s(knots)
	var ia, ib float64
	prevK := knots[0]
	prevA, _ := fa(prevK)
	prevB, _ := fb(prevK)
	m.MaxExcess = prevA - prevB
	for _, k := range knots[1:] {
		va, _ := fa(k)
		vb, _ := fb(k)
		m.MaxExcess = math.Max(m.MaxExcess, va-vb)
		ia += (k - prevK) * (va + prevA) / 2
		ib += (k - prevK) * (vb + prevB) / 2
		prevK, prevA, prevB = k, va, vb
	}
	m.A, m.B = ia/(hi-lo), ib/(hi-lo)
	return m.withRatio()
}
