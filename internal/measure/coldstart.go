package measure

import "math"

// HeldWait is a batch of requests the activator held and then served, whose added
// latencies (time from arrival to release to a ready pod) are spread evenly over
// [LoMS, HiMS]: the simulator's fluid activator holds requests that arrived evenly over a
// stretch of time and releases them together, so each batch is a uniform range.
type HeldWait struct {
	LoMS, HiMS float64
	Count      float64
}

// HeldStats are the held requests' added latency: request-weighted mean and a quantile.
type HeldStats struct {
	Count, MeanMS, P99MS float64
}

// HeldLatency computes the count, the mean and the 99th percentile of the added latency of
// the requests in waits (each batch uniform over its range). The quantile is exact for that
// mixture: the CDF is piecewise linear, and it is inverted by bisection.
func HeldLatency(waits []HeldWait) HeldStats {
	var s HeldStats
	var sum float64
	for _, w := range waits {
		if w.Count <= 0 {
			continue
		}
		s.Count += w.Count
		sum += w.Count * (w.LoMS + w.HiMS) / 2
	}
	if s.Count <= 0 {
		return HeldStats{}
	}
	s.MeanMS = sum / s.Count
	s.P99MS = WaitQuantile(waits, 0.99)
	return s
}

// WaitQuantile returns the q-quantile (0 < q < 1) of the added latency over the batches,
// 0 without any held request.
func WaitQuantile(waits []HeldWait, q float64) float64 {
	var total, lo, hi float64
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, w := range waits {
		if w.Count <= 0 {
			continue
		}
		total += w.Count
		lo, hi = math.Min(lo, w.LoMS), math.Max(hi, w.HiMS)
	}
	if total <= 0 {
		return 0
	}
	below := func(x float64) float64 { // requests with added latency <= x
		n := 0.0
		for _, w := range waits {
			switch {
			case w.Count <= 0 || x < w.LoMS:
			case x >= w.HiMS:
				n += w.Count
			default:
				n += w.Count * (x - w.LoMS) / (w.HiMS - w.LoMS)
			}
		}
		return n
	}
	target := q * total
	for range 100 {
		mid := (lo + hi) / 2
		if below(mid) >= target {
			hi = mid
		} else {
			lo = mid
		}
		if hi-lo <= 1e-9*math.Max(1, hi) {
			break
		}
	}
	return hi
}
