package testbed

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/bascaler/bascaler/internal/series"
)

// Burst is a candidate testbed window around a real burst of a trace.
type Burst struct {
	// Start is the index of the window's first point; Peak the index of the burst's
	// point, a third of the way into the window.
	Start, Peak int
	// Ratio is the mean of the burstSpan points from the peak on over the median of the
	// burstBaseline points before it.
	Ratio float64
}

// burstBaseline is the points before a candidate against whose median it is measured (an
// hour of a per-minute trace); burstSpan the points a burst must last (a single-point spike
// is noise at the testbed's scale); a baseline under minBaseline of the trace's median
// (a near-idle night) does not count, or the quietest hours would rank first.
const (
	burstBaseline = 60
	burstSpan     = 5
	minBaseline   = 0.25
)

// Bursts ranks a trace's bursts for testbed windows of n points: every point t with at least
// history points before the window (the training data of forecasting policies) and the whole
// window inside the trace is scored by the mean of the burstSpan points from t over the
// median of the burstBaseline points before it; the best-scoring points are taken greedily so that windows do not overlap, each
// window starting n/3 before its peak. At most k are returned, best first.
func Bursts(values []float64, n, history, k int) []Burst {
	lead := n / 3
	if len(values) == 0 {
		return nil
	}
	floor := minBaseline * series.Median(values)
	var cands []Burst
	for t := max(history+lead, burstBaseline); t-lead+n <= len(values) && t+burstSpan <= len(values); t++ {
		base := series.Median(values[t-burstBaseline : t])
		if !(base > 0) || base < floor {
			continue
		}
		sum := 0.0
		for _, v := range values[t : t+burstSpan] {
			sum += v
		}
		if r := sum / burstSpan / base; !math.IsNaN(r) {
			cands = append(cands, Burst{Start: t - lead, Peak: t, Ratio: r})
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].Ratio > cands[j].Ratio })
	var out []Burst
	for _, c := range cands {
		if len(out) == k {
			break
		}
		overlaps := false
		for _, o := range out {
			if c.Start < o.Start+n && o.Start < c.Start+n {
				overlaps = true
				break
			}
		}
		if !overlaps {
			out = append(out, c)
		}
	}
	return out
}

// ParseStart reads --start: a point index, or "burst:K" for the window around the trace's
// K-th largest burst (Bursts, K from 1).
func ParseStart(s string, values []float64, n, history int) (int, error) {
	rank, ok := strings.CutPrefix(s, "burst:")
	if !ok {
		i, err := strconv.Atoi(s)
		if err != nil {
			return 0, fmt.Errorf("--start %q: want a point index or burst:K", s)
		}
		return i, nil
	}
	k, err := strconv.Atoi(rank)
	if err != nil || k < 1 {
		return 0, fmt.Errorf("--start %q: K must be a positive integer", s)
	}
	bs := Bursts(values, n, history, k)
	if len(bs) < k {
		return 0, fmt.Errorf("--start %s: the trace has only %d non-overlapping windows of %d points with %d points of history before them", s, len(bs), n, history)
	}
	return bs[k-1].Start, nil
}
