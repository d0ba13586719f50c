package forecast

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

// DefaultBacktestOrigins bounds the rolling origins of a backtest: a 25k-point test split of a
// per-minute trace is scored at 300 origins spread evenly over it (7,200 forecast points at
// H = 24) instead of 25k, which keeps a full table over all traces to minutes.
const DefaultBacktestOrigins = 300

// BacktestOptions control a rolling-origin evaluation.
type BacktestOptions struct {
	Horizon    int // steps per forecast (>= 1)
	Stride     int // steps between origins before the MaxOrigins bound (0: 1)
	MaxOrigins int // at most this many origins, spread over the split (0: DefaultBacktestOrigins)
	// Scale is the MASE denominator; 0 means MASEScale(train, DetectPeriod(train)).
	Scale float64
	// Online, when non-nil and not method none, calibrates the bands online over the test
	// split as a backend would serve them: the model forecasts at every test interval, each
	// forecast passes through an OnlineCalibrator that is then told the interval's value,
	// and the forecasts at the scored origins are the ones served. Its Horizon defaults to
	// the backtest's.
	Online *OnlineOptions
}

// Result is a backtest's scores plus timing.
type Result struct {
	Scores
	Origins   int     `json:"origins"`
	PredictMs float64 `json:"predict_ms"` // mean wall time of one Predict call
}

// Backtest scores a fitted model on test by rolling origins: at each origin o the model sees
// train, val and test up to (not including) o and forecasts o..o+H-1.
func Backtest(f Forecaster, train, val, test series.Series, opts BacktestOptions) (Result, error) {
	if opts.Horizon < 1 {
		return Result{}, fmt.Errorf("backtest: horizon %d, want >= 1", opts.Horizon)
	}
	if opts.MaxOrigins <= 0 {
		opts.MaxOrigins = DefaultBacktestOrigins
	}
	if opts.Scale == 0 {
		opts.Scale = MASEScale(train.Values, DetectPeriod(train.Values, train.Step))
	}
	all := Concat(Concat(train, val), test)
	from := train.Len() + val.Len()
	origins := Origins(max(from, f.MinHistory()), all.Len(), opts.Horizon, opts.Stride, opts.MaxOrigins)
	if len(origins) == 0 {
		return Result{}, fmt.Errorf("backtest %s: test split of %d points is shorter than the horizon %d", f.Kind(), test.Len(), opts.Horizon)
	}
	if opts.Online != nil && opts.Online.Method != OnlineNone {
		return backtestOnline(f, all, from, origins, opts)
	}
	acc := Accumulator{Scale: opts.Scale}
	var spent time.Duration
	for _, o := range origins {
		hist := all.Slice(0, o)
		start := time.Now()
		fc, err := f.Predict(hist, opts.Horizon)
		spent += time.Since(start)
		if err != nil {
			return Result{}, fmt.Errorf("backtest %s at test origin %d: %w", f.Kind(), o-from, err)
		}
		acc.Add(fc, all.Values[o:o+opts.Horizon])
	}
	return Result{
		Scores:    acc.Scores(),
		Origins:   len(origins),
		PredictMs: spent.Seconds() * 1000 / float64(len(origins)),
	}, nil
}

// backtestOnline is Backtest with online calibration: a forecast is served at every test
// interval up to the last scored origin (so the calibrator learns from every completed
// interval, as in a backend), and the served forecasts at origins are scored. An interval's
// value is fed to the calibrator only after the forecast made before it was served.
func backtestOnline(f Forecaster, all series.Series, from int, origins []int, opts BacktestOptions) (Result, error) {
	oo := *opts.Online
	if oo.Horizon <= 0 {
		oo.Horizon = opts.Horizon
	}
	cal, err := NewOnlineCalibrator(oo)
	if err != nil {
		return Result{}, err
	}
	acc := Accumulator{Scale: opts.Scale}
	var spent time.Duration
	calls, next := 0, 0
	last := origins[len(origins)-1]
	for t := from; t <= last; t++ {
		if t >= f.MinHistory() {
			hist := all.Slice(0, t)
			start := time.Now()
			fc, err := f.Predict(hist, opts.Horizon)
			if err != nil {
				return Result{}, fmt.Errorf("backtest %s at test origin %d: %w", f.Kind(), t-from, err)
			}
			fc = cal.Serve(fc, hist.Values)
			spent += time.Since(start)
			calls++
			if next < len(origins) && origins[next] == t {
				acc.Add(fc, all.Values[t:t+opts.Horizon])
				next++
			}
		}
		if err := cal.Update(all.Values[t]); err != nil {
			return Result{}, fmt.Errorf("backtest %s: %w", f.Kind(), err)
		}
	}
	return Result{
		Scores:    acc.Scores(),
		Origins:   len(origins),
		PredictMs: spent.Seconds() * 1000 / float64(max(calls, 1)),
	}, nil
}

// FitCalibrated fits base on train, calibrates it on val and returns the calibrated model
// with its validation score: the mean pinball loss of calibrated rolling-origin forecasts over
// val, each scored with a calibration fitted on the other half of the origins (two-fold
// cross-fitting, so the score is honest about the calibrated intervals too). The returned
// model's calibration uses all validation origins.
func FitCalibrated(base Forecaster, train, val series.Series, opts FitOptions, maxOrigins int) (*Calibrated, float64, error) {
	if err := base.Fit(train, val, opts); err != nil {
		return nil, math.NaN(), err
	}
	h := max(opts.Horizon, 1)
	fcs, origins, all, err := validationForecasts(base, train, val, h, maxOrigins, 4)
	if err != nil {
		return nil, math.NaN(), err
	}
	// Two-fold cross-fitting: calibrate on one half of the origins, score the other half,
	// and the other way round, so every validation forecast is scored once and never with a
	// calibration that saw it.
	scaleWindow := DefaultScaleWindow
	half := len(origins) / 2
	folds := [2][2]int{{0, half}, {half, len(origins)}}
	var acc Accumulator
	for f, fold := range folds {
		other := folds[1-f]
		calX, err := conformal(fcs[other[0]:other[1]], origins[other[0]:other[1]], all.Values, h, scaleWindow)
		if err != nil {
			return nil, math.NaN(), err
		}
		for i := fold[0]; i < fold[1]; i++ {
			acc.Add(calX.Apply(cloneForecast(fcs[i]), all.Values[:origins[i]]), all.Values[origins[i]:origins[i]+h])
		}
	}
	cal, err := conformal(fcs, origins, all.Values, h, scaleWindow)
	if err != nil {
		return nil, math.NaN(), err
	}
	return &Calibrated{Base: base, Cal: cal, MaxOrigins: maxOrigins}, acc.Scores().PinballMean, nil
}

func cloneForecast(fc Forecast) Forecast {
	out := Forecast{Levels: fc.Levels, Q: make([][]float64, len(fc.Q))}
	for s, row := range fc.Q {
		out.Q[s] = slices.Clone(row)
	}
	return out
}
