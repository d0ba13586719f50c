package metrics

import (
	"math"
	"testing"
)

func TestHistogramQuantileInterpolatesInsideBucket(t *testing.T) {
	// 100 observations: 50 in (0,10], 40 in (10,20], 10 in (20,+Inf).
	h := histogram{{10, 50}, {20, 90}, {math.Inf(1), 100}}
	h, err := h.normalize()
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		q    float64
		want float64
	}{
		{"median at first bound", 0.5, 10},
		{"quarter inside first bucket", 0.25, 5},
		{"p70 halfway through second bucket", 0.7, 15},
		{"p95 in +Inf bucket reports last finite bound", 0.95, 20},
	}
	for _, c := range cases {
		if got := h.quantile(c.q); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("%s: quantile(%g) = %g, want %g", c.name, c.q, got, c.want)
		}
	}
}

func TestHistogramFractionAbove(t *testing.T) {
	h, _ := histogram{{10, 50}, {20, 90}, {math.Inf(1), 100}}.normalize()
	cases := []struct {
		x, want float64
	}{
		{5, 0.75}, // 25 of 100 at or below 5
		{10, 0.5}, // bound
		{15, 0.3}, // 50+20 below
		{25, 0.1}, // beyond last finite bound: the +Inf bucket counts as above
		{0, 1},
	}
	for _, c := range cases {
		if got := h.fractionAbove(c.x); math.Abs(got-c.want) > 1e-9 {
			t.Errorf("fractionAbove(%g) = %g, want %g", c.x, got, c.want)
		}
	}
}

func TestHistogramEmptyAndBroken(t *testing.T) {
	idle, err := histogram{{10, 0}, {math.Inf(1), 0}}.normalize()
	if err != nil {
		t.Fatal(err)
	}
	if q := idle.quantile(0.99); q != 0 {
		t.Errorf("idle period p99 = %g, want 0", q)
	}
	if f := idle.fractionAbove(5); f != 0 {
		t.Errorf("idle period over-SLO = %g, want 0", f)
	}
	if _, err := (histogram{{10, 1}}).normalize(); err == nil {
		t.Error("histogram without +Inf bucket accepted")
	}
	if _, err := (histogram{{10, math.NaN()}, {math.Inf(1), 3}}).normalize(); err == nil {
		t.Error("NaN bucket count accepted")
	}
	// Non-monotonic counts (separately extrapolated rates) are repaired, not rejected.
	h, err := histogram{{10, 5}, {20, 4}, {math.Inf(1), 10}}.normalize()
	if err != nil || h[1].Count != 5 {
		t.Errorf("non-monotonic buckets: got %v, %v", h, err)
	}
}
