package forecast

import (
	"github.com/bascaler/bascaler/internal/series"
)

// DefaultLevels are the quantile levels a forecaster predicts unless told otherwise.
var DefaultLevels = []float64{0.01, 0.05, 0.1, 0.5, 0.9, 0.95, 0.99}

// Forecaster predicts the next H steps of a workload as quantiles.
//
// Causality: Predict sees only the history it is given; the caller passes data up to the
// last completed interval. A Forecaster never keeps a reference to the caller's slices.
type Forecaster interface {
	// Kind is the model's registry name ("arima", "gru", ...).
	Kind() string
	// Fit trains the model on train and uses val (the chronologically following part) for
	// early stopping, model selection and interval calibration. Both are rates per step.
	Fit(train, val series.Series, opts FitOptions) error
	// Predict forecasts the h steps that follow history (history.Start/Step give the time of
	// each point, so models with time features can use them).
	Predict(history series.Series, h int) (Forecast, error)
	// MinHistory is the number of past points Predict needs.
	MinHistory() int
}

// FitOptions are the shared training options.
type FitOptions struct {
	Levels  []float64 // quantile levels, sorted ascending; nil means DefaultLevels
	Horizon int       // the largest h Predict will be asked for
	Seed    int64
	// Progress, when non-nil, is told about training progress (done, total) so a terminal can
	// show a bar. Models call it from the training goroutine.
	Progress func(done, total int)
}

// Forecast holds quantile predictions: Q[step][k] is the Levels[k] quantile of the value at
// step+1 after the history's last point. Quantiles are non-decreasing in k.
type Forecast struct {
	Levels []float64
	Q      [][]float64
}

// Quantile returns the q-level quantile at step (0-based), interpolating linearly between
// levels and clamping outside them.
func (f Forecast) Quantile(step int, q float64) float64 {
	row := f.Q[step]
	lv := f.Levels
	if q <= lv[0] {
		return row[0]
	}
	for k := 1; k < len(lv); k++ {
		if q <= lv[k] {
			w := (q - lv[k-1]) / (lv[k] - lv[k-1])
			return row[k-1] + w*(row[k]-row[k-1])
		}
	}
	return row[len(row)-1]
}
