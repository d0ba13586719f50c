package metrics

import (
	"fmt"
	"math"
	"sort"
)

// bucket is one cumulative histogram bucket: Count observations at or below UpperBound.
type bucket struct {
	UpperBound float64
	Count      float64
}

// histogram is the cumulative buckets of one period, sorted by upper bound, the last one +Inf.
type histogram []bucket

// normalize sorts the buckets, checks the +Inf bucket is present and makes the counts
// non-decreasing. Counts can decrease across buckets because each bucket's rate() is
// extrapolated separately; Prometheus's histogram_quantile repairs this the same way.
func (h histogram) normalize() (histogram, error) {
	if len(h) == 0 {
		return nil, fmt.Errorf("no buckets")
	}
	sort.Slice(h, func(i, j int) bool { return h[i].UpperBound < h[j].UpperBound })
	if !math.IsInf(h[len(h)-1].UpperBound, 1) {
		return nil, fmt.Errorf("no +Inf bucket")
	}
	for i := range h {
		if math.IsNaN(h[i].Count) || math.IsInf(h[i].Count, 0) {
			return nil, fmt.Errorf("bucket le=%g has count %g", h[i].UpperBound, h[i].Count)
		}
		if i > 0 && h[i].Count < h[i-1].Count {
			h[i].Count = h[i-1].Count
		}
	}
	return h, nil
}

// quantile returns the q-quantile assuming observations spread uniformly inside each
// bucket (the estimate histogram_quantile makes). A quantile that falls into the +Inf
// bucket is reported as the largest finite bound: the histogram knows nothing beyond it.
// With no observations it returns 0: an idle period has no slow requests.
func (h histogram) quantile(q float64) float64 {
	total := h[len(h)-1].Count
	if total <= 0 {
		return 0
	}
	rank := q * total
	i := sort.Search(len(h), func(i int) bool { return h[i].Count >= rank })
	if i == len(h)-1 {
		if len(h) == 1 {
			return 0
		}
		return h[len(h)-2].UpperBound
	}
	lower, below := 0.0, 0.0
	if i > 0 {
		lower, below = h[i-1].UpperBound, h[i-1].Count
	}
	in := h[i].Count - below
	if in <= 0 {
		return h[i].UpperBound
	}
	return lower + (h[i].UpperBound-lower)*(rank-below)/in
}

// fractionAbove returns the share of observations above x, interpolating inside the bucket
// that contains x. Observations in the +Inf bucket count as above any x beyond the last
// finite bound (the conservative reading).
func (h histogram) fractionAbove(x float64) float64 {
	total := h[len(h)-1].Count
	if total <= 0 {
		return 0
	}
	lower, below := 0.0, 0.0
	for _, b := range h {
		if math.IsInf(b.UpperBound, 1) {
			break
		}
		if x <= b.UpperBound {
			at := below + (b.Count-below)*(x-lower)/(b.UpperBound-lower)
			if x <= lower {
				at = below
			}
			return 1 - at/total
		}
		lower, below = b.UpperBound, b.Count
	}
	return 1 - below/total
}
