package forecast

import "math"

// localScale is the mean absolute one-step change over the last window points of v, floored
// at 1e-3 of their mean level so that a flat stretch does not divide by zero.
func localScale(v []float64, window int) float64 {
	if window <= 0 {
		return 1
	}
	v = tail(v, window+1)
	var sum, level float64
	for i := 1; i < len(v); i++ {
		sum += math.Abs(v[i] - v[i-1])
		level += math.Abs(v[i])
	}
	if len(v) < 2 {
		return 1
	}
	n := float64(len(v) - 1)
	return max(sum/n, 1e-3*level/n, 1e-9)
}

// rollingScales returns out[o] = localScale(v[:o], window) for every origin o in 0..len(v),
// in one pass.
func rollingScales(v []float64, window int) []float64 {
	out := make([]float64, len(v)+1)
	var sum, level float64
	for o := range out {
		lo := max(1, o-window)
		if o-1 >= 1 {
			sum += math.Abs(v[o-1] - v[o-2])
			level += math.Abs(v[o-1])
		}
		if drop := lo - 1; drop >= 1 && o-window >= 2 {
			sum -= math.Abs(v[drop] - v[drop-1])
			level -= math.Abs(v[drop])
		}
		n := o - lo
		if n < 1 {
			out[o] = 1
			continue
		}
		out[o] = max(sum/float64(n), 1e-3*level/float64(n), 1e-9)
	}
	return out
}
