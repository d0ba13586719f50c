package policy

import "math"

// idleGaps forecasts when traffic returns from the workload's own idle gaps, for bascaler's
// scale to zero. It counts the idle gaps seen (k idle intervals between two busy ones, 0
// for consecutive busy intervals) and, given that the workload has now been idle for e
// intervals, gives a quantile of the remaining gap R = k - e over the gaps with k >= e: the
// conditional (survival) forecast of the next arrival. Unlike a histogram's fixed windows,
// it is re-read every interval as the idle time grows, and bascaler plans start-up delays
// on it.
type idleGaps struct {
	counts []float64 // counts[k]: gaps of k idle intervals
	run    int       // idle intervals since the last busy one
	busy   bool      // a busy interval was seen
	upTo   int       // values learned (of the workload memory)
}

// learn adds a completed interval.
func (g *idleGaps) learn(busy bool) {
	if !busy {
		g.run++
		return
	}
	if g.busy {
		for len(g.counts) <= g.run {
			g.counts = append(g.counts, 0)
		}
		g.counts[g.run]++
	}
	g.busy, g.run = true, 0
}

// syncValues learns the values not learned yet (rates per interval, oldest first).
// values[0] is value number offset of the whole sequence (a bounded memory dropped the
// ones before it; values dropped before they were learned are skipped).
func (g *idleGaps) syncValues(values []float64, offset int) {
	g.upTo = max(g.upTo, offset)
	for ; g.upTo < offset+len(values); g.upTo++ {
		if v := values[g.upTo-offset]; !math.IsNaN(v) {
			g.learn(v > 0)
		}
	}
}

// remaining returns the p-quantile of the remaining idle intervals given e elapsed, and the
// number of gaps it rests on (gaps at least e long). With none, it returns -1.
func (g *idleGaps) remaining(e int, p float64) (r int, n float64) {
	for k := e; k < len(g.counts); k++ {
		n += g.counts[k]
	}
	if n == 0 {
		return -1, 0
	}
	sum := 0.0
	for k := e; k < len(g.counts); k++ {
		sum += g.counts[k]
		if sum >= p*n {
			return k - e, n
		}
	}
	return len(g.counts) - 1 - e, n
}
