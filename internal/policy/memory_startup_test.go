package policy

import (
	"slices"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

// The memory holds exactly the History's rates, whatever the order in which a backend's
// reads arrive. The controller's case: its first decision had no data yet (an empty
// History), and its next read returned warm intervals that start before that decision.
// The memory was anchored at the first decision's instant and dropped them, so the
// controller forecast from fewer intervals than its History (and than the simulator given
// the same intervals).
func TestMemoryHoldsTheHistoryAfterAStepWithoutData(t *testing.T) {
	step := 2 * time.Second
	t0 := time.Date(2026, 1, 1, 0, 0, 10, 0, time.UTC)
	iv := func(k int) Interval { return Interval{Start: t0.Add(time.Duration(k) * step), Rate: float64(100 + k)} }
	rates := func(h []Interval) []float64 {
		var out []float64
		for _, x := range h {
			out = append(out, x.Rate)
		}
		return out
	}
	for _, tc := range []struct {
		name  string
		built series.Series // Env.History at build
		steps [][]Interval  // the History of each decision
	}{
		{"no data at build nor at the first decision", series.Series{Step: step},
			[][]Interval{nil, {iv(2), iv(3), iv(4)}, {iv(2), iv(3), iv(4), iv(5)}}},
		{"no data for two decisions", series.Series{Step: step},
			[][]Interval{nil, nil, {iv(0), iv(1), iv(2), iv(3), iv(4), iv(5)}}},
		{"warm history at build", series.Series{Step: step, Start: t0, Values: []float64{100, 101}},
			[][]Interval{{iv(0), iv(1)}, {iv(0), iv(1), iv(2)}}},
		{"an empty history with a start (the simulator's)", series.Series{Step: step, Start: t0},
			[][]Interval{nil, {iv(0)}, {iv(0), iv(1)}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newPointMemory(tc.built, step, 512)
			for k, h := range tc.steps {
				m.sync(&Observation{Now: t0.Add(time.Duration(4+k) * step), History: h})
				if want := rates(h); len(h) > 0 && !slices.Equal(m.values, want) {
					t.Fatalf("decision %d: memory %v, History %v", k, m.values, want)
				}
			}
			last := tc.steps[len(tc.steps)-1]
			if !m.start.Equal(last[0].Start) {
				t.Fatalf("memory starts at %v, History at %v", m.start, last[0].Start)
			}
		})
	}
}
