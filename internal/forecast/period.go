package forecast

import (
	"math"
	"time"
)

// minSeasonalACF is the autocorrelation a candidate period must reach to count as seasonal.
// Workload traces with a daily cycle score 0.5-0.9 at one day; white noise scores ~0.
const minSeasonalACF = 0.3

// maxACFPoints bounds the window the period detector reads, so detection on a 125k-point
// trace costs the same as on a 20k one (it uses the most recent points).
const maxACFPoints = 20000

// CandidatePeriods returns the seasonal periods, in steps, worth testing for a series with
// the given step: one day and one week, when they are whole numbers of steps (24 and 168 for
// hourly data, 1440 and 10080 per minute).
func CandidatePeriods(step time.Duration) []int {
	var out []int
	if step <= 0 {
		return out
	}
	for _, span := range []time.Duration{24 * time.Hour, 7 * 24 * time.Hour} {
		if span%step == 0 && span/step >= 2 {
			out = append(out, int(span/step))
		}
	}
	return out
}

// DetectPeriod picks, among CandidatePeriods(step), the period with the highest sample
// autocorrelation in v, if it reaches minSeasonalACF and v holds at least three periods.
// It returns 0 (no seasonality) otherwise. A longer period wins only if its autocorrelation
// is clearly higher: a weekly pattern also shows the daily one.
func DetectPeriod(v []float64, step time.Duration) int {
	return detectPeriod(v, step, math.MaxInt)
}

// detectPeriod is DetectPeriod among the candidates up to maxPeriod.
func detectPeriod(v []float64, step time.Duration, maxPeriod int) int {
	v = tail(v, maxACFPoints)
	best, bestACF := 0, minSeasonalACF
	for _, m := range CandidatePeriods(step) {
		if len(v) < 3*m || m > maxPeriod {
			continue
		}
		r := ACF(v, m)
		if best != 0 {
			r -= 0.05 // prefer the shorter period unless the longer one explains clearly more
		}
		if r > bestACF {
			best, bestACF = m, r
		}
	}
	return best
}

// ACF returns the sample autocorrelation of v at lag (the usual biased estimator, which
// divides every lag's covariance by n). It is 0 for a constant series or lag >= len(v).
func ACF(v []float64, lag int) float64 {
	n := len(v)
	if lag >= n || lag < 0 {
		return 0
	}
	mean := 0.0
	for _, x := range v {
		mean += x
	}
	mean /= float64(n)
	var num, den float64
	for i, x := range v {
		d := x - mean
		den += d * d
		if i >= lag {
			num += d * (v[i-lag] - mean)
		}
	}
	if den == 0 {
		return 0
	}
	return num / den
}
