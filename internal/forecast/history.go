package forecast

import (
	"fmt"
	"math"
	"slices"

	"github.com/bascaler/bascaler/internal/series"
)

// checkValues rejects NaN and infinite values, naming the first bad index.
func checkValues(what string, v []float64) error {
	for i, x := range v {
		if math.IsNaN(x) || math.IsInf(x, 0) {
			return fmt.Errorf("%s: value at index %d is %v", what, i, x)
		}
	}
	return nil
}

// checkHistory is the common Predict precondition: enough points, h >= 1, only finite values
// in the last `reads` points. The classic models pass the whole length: a NaN anywhere means
// the caller's data is broken, and the scan costs ~50 µs on 100k points.
func checkHistory(kind string, history series.Series, need, reads, h int) error {
	if h < 1 {
		return fmt.Errorf("%s: horizon %d, want >= 1", kind, h)
	}
	if history.Len() < need {
		return fmt.Errorf("%s: history has %d points, needs at least %d", kind, history.Len(), need)
	}
	v := history.Values[max(len(history.Values)-reads, 0):]
	// x - x is 0 for every finite x and NaN for NaN and ±Inf, so the sum is NaN exactly when
	// a value is not finite: a branch-free pass (about 1 ns a point), then a search for the
	// index only on failure.
	acc := 0.0
	for _, x := range v {
		acc += x - x
	}
	if acc != 0 {
		off := len(history.Values) - len(v)
		for i, x := range v {
			if x-x != 0 {
				return fmt.Errorf("%s: history value at index %d is %v", kind, off+i, x)
			}
		}
	}
	return nil
}

// checkTrain is the common Fit precondition.
func checkTrain(kind string, train series.Series, need int) error {
	if train.Len() < need {
		return fmt.Errorf("%s: training series has %d points, needs at least %d", kind, train.Len(), need)
	}
	return checkValues(kind+": training series", train.Values)
}

// fitLevels returns the quantile levels of opts, validated.
func fitLevels(opts FitOptions) ([]float64, error) {
	lv := opts.Levels
	if lv == nil {
		lv = DefaultLevels
	}
	if err := checkLevels(lv); err != nil {
		return nil, err
	}
	return slices.Clone(lv), nil
}

// tail returns the last n values of v (all of them if n <= 0 or n >= len(v)).
func tail(v []float64, n int) []float64 {
	if n <= 0 || n >= len(v) {
		return v
	}
	return v[len(v)-n:]
}

// empiricalQuantiles returns the levels' quantiles of xs (type-7 linear interpolation).
// xs is sorted in place.
func empiricalQuantiles(xs []float64, levels []float64) []float64 {
	out := make([]float64, len(levels))
	if len(xs) == 0 {
		return out
	}
	slices.Sort(xs)
	for k, q := range levels {
		pos := q * float64(len(xs)-1)
		i := int(pos)
		if i >= len(xs)-1 {
			out[k] = xs[len(xs)-1]
			continue
		}
		w := pos - float64(i)
		out[k] = xs[i] + w*(xs[i+1]-xs[i])
	}
	return out
}

// finish makes a forecast well formed: non-decreasing quantiles in each row and, for series
// that cannot go negative (request rates), no negative quantiles.
func finish(fc Forecast, nonneg bool) Forecast {
	for s := range fc.Q {
		row := fc.Q[s]
		if nonneg {
			for k := range row {
				row[k] = max(row[k], 0)
			}
		}
		slices.Sort(row)
	}
	return fc
}

// nonNegative reports whether every value is >= 0.
func nonNegative(v []float64) bool {
	for _, x := range v {
		if x < 0 {
			return false
		}
	}
	return true
}

func newForecast(levels []float64, h int) Forecast {
	fc := Forecast{Levels: slices.Clone(levels), Q: make([][]float64, h)}
	buf := make([]float64, h*len(levels))
	for s := range fc.Q {
		fc.Q[s] = buf[s*len(levels) : (s+1)*len(levels) : (s+1)*len(levels)]
	}
	return fc
}
