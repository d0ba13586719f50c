package driver

import (
	"testing"
	"time"
)

// StartReplicas sizes the start for the intervals no decision can reach. Worked example:
// 15 s intervals and a 10 s start-up reach one interval, so only the first rate counts:
// 137 req/s at 40 req/s per pod is 4 pods (137/40 = 3.4). A 40 s start-up reaches three
// intervals (ceil(40/15)): the largest of 137, 180 and 90 req/s, 180/40 = 4.5, is 5 pods.
// The bounds apply, and at least one pod starts (even with min 0).
func TestStartReplicas(t *testing.T) {
	rates := []float64{137, 180, 90, 400}
	for _, tc := range []struct {
		startup time.Duration
		lo, hi  int
		rates   []float64
		want    int
	}{
		{10 * time.Second, 1, 10, rates, 4},
		{40 * time.Second, 1, 10, rates, 5},
		{40 * time.Second, 1, 4, rates, 4},
		{10 * time.Second, 6, 10, rates, 6},
		{0, 1, 10, rates, 4},
		{10 * time.Second, 0, 10, []float64{0, 0}, 1},
		{10 * time.Second, 1, 10, nil, 1},
	} {
		if got := StartReplicas(tc.rates, 40, 15*time.Second, tc.startup, tc.lo, tc.hi); got != tc.want {
			t.Errorf("StartReplicas(%v, 40 req/s, 15s, startup %s, [%d, %d]) = %d, want %d", tc.rates, tc.startup, tc.lo, tc.hi, got, tc.want)
		}
	}
}
