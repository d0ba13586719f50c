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
