package frontier

import (
	"errors"
	"math"
	"testing"
)

func pts(xy ...float64) []Point {
	out := make([]Point, 0, len(xy)/2)
	for i := 0; i+1 < len(xy); i += 2 {
		out = append(out, Point{Cost: xy[i], Violations: xy[i+1]})
	}
	return out
}

func TestEnvelopeIsTheLowerConvexNonIncreasingHull(t *testing.T) {
	cases := []struct {
		name string
		in   []Point
		want []Point
	}{
		{"one point", pts(10, 0.2), pts(10, 0.2)},
		{"already convex", pts(10, 0.3, 20, 0.1, 40, 0.02), pts(10, 0.3, 20, 0.1, 40, 0.02)},
		{"unsorted input", pts(40, 0.02, 10, 0.3, 20, 0.1), pts(10, 0.3, 20, 0.1, 40, 0.02)},
		// (20, 0.25) lies above the chord from (10, 0.3) to (30, 0.1): not on the envelope.
		{"point above the chord", pts(10, 0.3, 20, 0.25, 30, 0.1), pts(10, 0.3, 30, 0.1)},
		// A point on the chord adds nothing.
		{"collinear point dropped", pts(10, 0.3, 20, 0.2, 30, 0.1), pts(10, 0.3, 30, 0.1)},
		// Costs more and violates more than (20, 0.1): dominated.
		{"dominated costlier point", pts(10, 0.3, 20, 0.1, 25, 0.15), pts(10, 0.3, 20, 0.1)},
		{"equal violations, costlier dropped", pts(10, 0.3, 20, 0.1, 30, 0.1), pts(10, 0.3, 20, 0.1)},
		{"tie in cost keeps the lower", pts(10, 0.3, 10, 0.2, 20, 0.1), pts(10, 0.2, 20, 0.1)},
		{"duplicates", pts(10, 0.2, 10, 0.2), pts(10, 0.2)},
		{"all zero violations: the cheapest", pts(30, 0, 10, 0, 20, 0), pts(10, 0)},
		{"zero reached midway", pts(10, 0.2, 20, 0, 30, 0), pts(10, 0.2, 20, 0)},
		{"typical sweep", pts(1070, 0.0389, 1155, 0.013, 1251, 0.003, 1100, 0.035, 1400, 0.003),
			pts(1070, 0.0389, 1155, 0.013, 1251, 0.003)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f, err := Envelope(c.in)
			if err != nil {
				t.Fatal(err)
			}
			if len(f.Vertices) != len(c.want) {
				t.Fatalf("vertices %v, want %v", f.Vertices, c.want)
			}
			for i, v := range f.Vertices {
				if v.Cost != c.want[i].Cost || v.Violations != c.want[i].Violations {
					t.Fatalf("vertex %d = %v, want %v (all %v)", i, v, c.want[i], f.Vertices)
				}
			}
		})
	}
}

func TestEnvelopeRejectsBadPoints(t *testing.T) {
	for _, p := range []Point{
		{Cost: math.NaN()}, {Cost: math.Inf(1)}, {Cost: -1}, {Cost: 1, Violations: -0.1},
		{Cost: 1, Violations: 1.5}, {Cost: 1, Violations: math.NaN()},
	} {
		if _, err := Envelope([]Point{{Cost: 1, Violations: 0.1}, p}); !errors.Is(err, ErrBadPoint) {
			t.Errorf("point %+v: err %v, want ErrBadPoint", p, err)
		}
	}
	if _, err := Envelope(nil); err == nil {
		t.Error("no points: want an error")
	}
}

func TestInterpolationRefusesToExtrapolate(t *testing.T) {
	f, _ := Envelope(pts(10, 0.3, 20, 0.1, 40, 0.02))
	cases := []struct {
		at, want float64
		ok       bool
	}{
		{10, 0.3, true}, {15, 0.2, true}, {20, 0.1, true}, {30, 0.06, true}, {40, 0.02, true},
		{9.99, 0, false}, {40.01, 0, false}, {math.NaN(), 0, false},
	}
	for _, c := range cases {
		got, err := f.ViolationsAt(c.at)
		if c.ok != (err == nil) || (c.ok && math.Abs(got-c.want) > 1e-12) {
			t.Errorf("ViolationsAt(%g) = %g, %v; want %g, ok %v", c.at, got, err, c.want, c.ok)
		}
		if !c.ok && !errors.Is(err, ErrOutOfRange) {
			t.Errorf("ViolationsAt(%g): err %v, want ErrOutOfRange", c.at, err)
		}
	}
	inv := []struct {
		at, want float64
		ok       bool
	}{
		{0.3, 10, true}, {0.2, 15, true}, {0.06, 30, true}, {0.02, 40, true},
		{0.31, 0, false}, {0.01, 0, false},
	}
	for _, c := range inv {
		got, err := f.CostAt(c.at)
		if c.ok != (err == nil) || (c.ok && math.Abs(got-c.want) > 1e-9) {
			t.Errorf("CostAt(%g) = %g, %v; want %g, ok %v", c.at, got, err, c.want, c.ok)
		}
		if !c.ok && !errors.Is(err, ErrOutOfRange) {
			t.Errorf("CostAt(%g): err %v, want ErrOutOfRange", c.at, err)
		}
	}
	one, _ := Envelope(pts(5, 0))
	if v, err := one.ViolationsAt(5); err != nil || v != 0 {
		t.Errorf("one point at its cost: %g, %v", v, err)
	}
	if _, err := one.ViolationsAt(6); !errors.Is(err, ErrOutOfRange) {
		t.Errorf("one point elsewhere: err %v, want ErrOutOfRange", err)
	}
}

func TestCompareAtMatchedCostAndViolations(t *testing.T) {
	// B is A shifted right by 10 pod-hours: at matched cost A violates less; at matched
	// violations A costs 10 less.
	a, _ := Envelope(pts(10, 0.3, 20, 0.1, 30, 0.0))
	b, _ := Envelope(pts(20, 0.3, 30, 0.1, 40, 0.0))
	c := Compare(a, b)
	if c.AtCost.Overlap != Overlapping || c.AtCost.From != 20 || c.AtCost.To != 30 {
		t.Fatalf("cost overlap %+v, want [20, 30]", c.AtCost)
	}
	// On [20, 30]: A goes 0.1 -> 0 (mean 0.05), B goes 0.3 -> 0.1 (mean 0.2).
	if math.Abs(c.AtCost.A-0.05) > 1e-12 || math.Abs(c.AtCost.B-0.2) > 1e-12 {
		t.Errorf("means at matched cost A %g B %g, want 0.05 and 0.2", c.AtCost.A, c.AtCost.B)
	}
	if r := c.AtCost.Ratio; r == nil || math.Abs(*r-0.25) > 1e-12 {
		t.Errorf("ratio %v, want 0.25", r)
	}
	// Same violation range [0, 0.3]: the cost difference is 10 everywhere.
	if c.AtViolations.Overlap != Overlapping || math.Abs(c.AtViolations.B-c.AtViolations.A-10) > 1e-9 {
		t.Errorf("cost at matched violations %+v, want B - A = 10", c.AtViolations)
	}
	if c.AtCost.MaxExcess > 0 || c.AtViolations.MaxExcess != -10 {
		t.Errorf("max excess %g (cost axis) and %g (violation axis), want <= 0 and -10", c.AtCost.MaxExcess, c.AtViolations.MaxExcess)
	}
	// Crossing frontiers: A is below B at low cost, above at high cost.
	x, _ := Envelope(pts(0, 0.5, 10, 0.2, 20, 0.15))
	y, _ := Envelope(pts(0, 0.6, 10, 0.3, 20, 0.05))
	if e := Compare(x, y).AtCost.MaxExcess; math.Abs(e-0.1) > 1e-12 {
		t.Errorf("crossing frontiers: max excess %g, want 0.1 (at cost 20)", e)
	}
	// A mean over kinks: A has a vertex inside B's range, so trapezoids must include it.
	k, _ := Envelope(pts(0, 1, 5, 0.2, 10, 0))
	l, _ := Envelope(pts(0, 1, 10, 0))
	m := Compare(k, l).AtCost
	// k: area = 5*(1+0.2)/2 + 5*0.2/2 = 3.5, mean 0.35; l: mean 0.5.
	if math.Abs(m.A-0.35) > 1e-12 || math.Abs(m.B-0.5) > 1e-12 {
		t.Errorf("kinked means A %g B %g, want 0.35 and 0.5", m.A, m.B)
	}
}

func TestCompareSaysWhenRangesDoNotOverlap(t *testing.T) {
	a, _ := Envelope(pts(10, 0.3, 20, 0.2))
	b, _ := Envelope(pts(30, 0.1, 40, 0.05))
	c := Compare(a, b)
	if c.AtCost.Overlap != Disjoint || c.AtViolations.Overlap != Disjoint {
		t.Fatalf("want disjoint on both axes, got %+v", c)
	}
	if c.AtCost.Ratio != nil {
		t.Error("a disjoint match must not have a ratio")
	}
	if c.AtCost.Overlap.String() != "ranges do not overlap" {
		t.Errorf("String() = %q", c.AtCost.Overlap.String())
	}
}

func TestCompareDegenerateCases(t *testing.T) {
	zero, _ := Envelope(pts(10, 0, 20, 0))
	other, _ := Envelope(pts(5, 0.2, 15, 0))
	c := Compare(zero, other)
	// Cost range of zero is the single point 10; other at 10 is 0.1.
	if c.AtCost.Overlap != Overlapping || c.AtCost.From != 10 || c.AtCost.To != 10 || c.AtCost.A != 0 || math.Abs(c.AtCost.B-0.1) > 1e-12 {
		t.Errorf("one-point cost overlap: %+v", c.AtCost)
	}
	// Both reach zero violations: at 0, zero costs 10 and other 15.
	if c.AtViolations.Overlap != Overlapping || c.AtViolations.A != 10 || c.AtViolations.B != 15 {
		t.Errorf("one-point violation overlap: %+v", c.AtViolations)
	}
	if r := (Match{Overlap: Overlapping}).withRatio().Ratio; r == nil || *r != 1 {
		t.Errorf("0/0 ratio = %v, want 1", r)
	}
	if r := (Match{Overlap: Overlapping, A: 0.1}).withRatio().Ratio; r != nil {
		t.Errorf("x/0 ratio %v, want undefined", *r)
	}
}

func TestBestIsTheEnvelopeOfTheUnion(t *testing.T) {
	a, _ := Envelope([]Point{{"a1", 10, 0.3}, {"a2", 30, 0.0}})
	b, _ := Envelope([]Point{{"b1", 12, 0.1}, {"b2", 40, 0.0}})
	best, err := Best(a, b)
	if err != nil {
		t.Fatal(err)
	}
	var labels []string
	for _, v := range best.Vertices {
		labels = append(labels, v.Label)
	}
	if len(labels) != 3 || labels[0] != "a1" || labels[1] != "b1" || labels[2] != "a2" {
		t.Errorf("best vertices %v, want a1 b1 a2", labels)
	}
}

func TestOverlapRoundTripsThroughText(t *testing.T) {
	for _, o := range []Overlap{Overlapping, Disjoint} {
		b, _ := o.MarshalText()
		var back Overlap
		if err := back.UnmarshalText(b); err != nil || back != o {
			t.Errorf("%v -> %s -> %v, %v", o, b, back, err)
		}
	}
	var o Overlap
	if err := o.UnmarshalText([]byte("sometimes")); err == nil {
		t.Error("want an error for an unknown overlap")
	}
}
