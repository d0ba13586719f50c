package policy

import (
	"slices"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

// ivs returns intervals of one minute starting at t0+from minutes with the given rates.
func ivs(from int, rates ...float64) []Interval {
	out := make([]Interval, len(rates))
	for i, r := range rates {
		out[i] = Interval{Start: t0.Add(time.Duration(from+i) * time.Minute), Rate: r}
	}
	return out
}

func TestWorkloadMemoryAppendsEachCompletedIntervalOnce(t *testing.T) {
	warm := series.Series{Start: t0, Step: time.Minute, Values: []float64{1, 2, 3}}
	for _, tc := range []struct {
		name    string
		history series.Series
		obs     [][]Interval // History of successive observations
		added   []int
		want    []float64
	}{
		{"simulator: history before the run, then the run's intervals", warm,
			[][]Interval{nil, ivs(3, 4), ivs(3, 4), ivs(3, 4, 5)}, []int{0, 1, 0, 1}, []float64{1, 2, 3, 4, 5}},
		{"controller: the warm history shown again, then a window capped at 3", warm,
			[][]Interval{ivs(0, 1, 2, 3), ivs(1, 2, 3, 4), ivs(1, 2, 3, 4), ivs(2, 3, 4, 5)}, []int{0, 1, 0, 1}, []float64{1, 2, 3, 4, 5}},
		{"no warm history: everything observed", series.Series{Step: time.Minute},
			[][]Interval{ivs(0, 7, 8), ivs(1, 8, 9)}, []int{2, 1}, []float64{7, 8, 9}},
		{"no start times: counted", series.Series{Step: time.Minute},
			[][]Interval{{{Rate: 7}}, {{Rate: 7}, {Rate: 8}}}, []int{1, 1}, []float64{7, 8}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newWorkloadMemory(tc.history, time.Minute, 512)
			for i, h := range tc.obs {
				now := t0.Add(time.Duration(len(tc.history.Values)+i) * time.Minute)
				if got := m.sync(&Observation{Now: now, History: h}); got != tc.added[i] {
					t.Errorf("observation %d: %d intervals added, want %d", i, got, tc.added[i])
				}
			}
			if !slices.Equal(m.values, tc.want) {
				t.Errorf("memory %v, want %v", m.values, tc.want)
			}
		})
	}
}

// A memory that runs for a long time stays bounded, keeps its newest values in order, and
// the idle-gap statistics learned as values arrive match those learned from the whole run.
func TestWorkloadMemoryStaysBoundedOverALongRun(t *testing.T) {
	const n = 5000
	rate := func(i int) float64 { return float64((i / 7) % 3) } // idle runs of 7, busy runs of 14
	m := newWorkloadMemory(series.Series{Start: t0, Step: time.Minute}, time.Minute, 512)
	var learned, all idleGaps
	for i := 0; i < n; i++ {
		h := ivs(max(i-2, 0), func() []float64 {
			var v []float64
			for k := max(i-2, 0); k <= i; k++ {
				v = append(v, rate(k))
			}
			return v
		}()...)
		if got := m.sync(&Observation{Now: t0.Add(time.Duration(i+1) * time.Minute), History: h}); got != 1 && i > 0 {
			t.Fatalf("step %d: %d added, want 1", i, got)
		}
		learned.syncValues(m.values, m.dropped)
		if len(m.values) > 2*keepPoints(512) {
			t.Fatalf("step %d: memory holds %d values, want at most %d", i, len(m.values), 2*keepPoints(512))
		}
	}
	if m.dropped+m.len() != n {
		t.Errorf("dropped %d + kept %d, want %d", m.dropped, m.len(), n)
	}
	r := m.recent(5)
	for k, v := range r.Values {
		if want := rate(n - 5 + k); v != want {
			t.Errorf("recent value %d: %v, want %v", k, v, want)
		}
	}
	if want := t0.Add(time.Duration(n-5) * time.Minute); !r.Start.Equal(want) {
		t.Errorf("recent window starts %v, want %v", r.Start, want)
	}
	vals := make([]float64, n)
	for i := range vals {
		vals[i] = rate(i)
	}
	all.syncValues(vals, 0)
	if !slices.Equal(learned.counts, all.counts) || learned.run != all.run {
		t.Errorf("idle gaps learned across trims %v (run %d), from the whole run %v (run %d)", learned.counts, learned.run, all.counts, all.run)
	}
}
