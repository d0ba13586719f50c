package burst

import (
	"math"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/series"
)

// rolling is a small causal forecaster for tests: the last value plus the empirical
// quantiles of the h-step changes over the last 64 points of the history it is given.
type rolling struct{}

var testLevels = []float64{0.01, 0.5, 0.99}

func (rolling) Kind() string                                        { return "test-rolling" }
func (rolling) MinHistory() int                                     { return 10 }
func (rolling) Fit(_, _ series.Series, _ forecast.FitOptions) error { return nil }
func (rolling) Predict(history series.Series, h int) (forecast.Forecast, error) {
	v := history.Values[max(0, history.Len()-64):]
	last := v[len(v)-1]
	fc := forecast.Forecast{Levels: testLevels, Q: make([][]float64, h)}
	for s := 1; s <= h; s++ {
		var d []float64
		for i := s; i < len(v); i++ {
			d = append(d, v[i]-v[i-s])
		}
		slices.Sort(d)
		row := make([]float64, len(testLevels))
		for k, q := range testLevels {
			row[k] = math.Max(0, last+quantileOf(d, q))
		}
		fc.Q[s-1] = row
	}
	return fc, nil
}

// noisySeries is a level-500 series with 5% multiplicative noise and the given bursts
// (multipliers applied to [Start, End)).
func noisySeries(n int, seed uint64, bursts ...series.Burst) series.Series {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float64, n)
	for i := range v {
		v[i] = 500 * (1 + 0.05*r.NormFloat64())
	}
	for _, b := range bursts {
		for i := b.Start; i < b.End; i++ {
			v[i] *= b.Peak
		}
	}
	return series.Series{Name: "test", Step: time.Minute, Values: v, Bursts: bursts}
}

// traceOf issues the test forecaster's forecasts along s.
func traceOf(s series.Series, h int) Trace {
	fcs, err := IssueForecasts(rolling{}, s, 0, s.Len(), h, 0)
	if err != nil {
		panic(err)
	}
	return Trace{Values: s.Values, Forecasts: fcs}
}

// flat returns a forecast of h steps with the band (lo, med, hi) at levels 0.01, 0.5, 0.99.
func flat(h int, lo, med, hi float64) forecast.Forecast {
	fc := forecast.Forecast{Levels: testLevels, Q: make([][]float64, h)}
	for s := range fc.Q {
		fc.Q[s] = []float64{lo, med, hi}
	}
	return fc
}
