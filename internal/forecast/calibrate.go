package forecast

import (
	"errors"
	"fmt"
	"math"
	"slices"

	"github.com/bascaler/bascaler/internal/series"
)

// CentralIntervals are the central prediction intervals the conformal step calibrates, as
// (lower level, upper level): 80 %, 98 % and 90 %.
var CentralIntervals = [][2]float64{{0.1, 0.9}, {0.01, 0.99}, {0.05, 0.95}}

// DefaultCalibrationOrigins bounds the number of rolling forecast origins on the validation
// split, so calibrating on a long trace stays fast.
const DefaultCalibrationOrigins = 400

// ConformalBand is the calibration of one central interval: the band [q_Lo, q_Hi] at horizon
// step s becomes [q_Lo - σ·Q[s], q_Hi + σ·Q[s]], σ the local volatility of the history (1 when
// the calibration is unscaled). A negative Q narrows a band that was too wide.
type ConformalBand struct {
	Lo float64   `json:"lo"`
	Hi float64   `json:"hi"`
	Q  []float64 `json:"q"`
}

// Calibration is the result of split-conformal calibration of one model on one validation
// split (conformalised quantile regression, Romano, Patterson & Candès 2019).
//
// With ScaleWindow > 0 the conformity scores are divided by the local volatility of the
// history at each origin (mean |Δy| over the last ScaleWindow points; locally weighted
// conformal, Lei et al. 2018), and a band moves by Q[s] times the volatility at prediction
// time. Workload traces change level and noise between validation and test (a busier week,
// a tournament starting); absolute scores then give bands fitted to the wrong regime, while
// scaled ones follow the regime the forecast is made in.
type Calibration struct {
	Bands       []ConformalBand `json:"bands"`
	Origins     int             `json:"origins"` // validation forecasts the scores came from
	ScaleWindow int             `json:"scale_window,omitempty"`
}

// DefaultScaleWindow is the window, in points, of the local volatility that scales conformal
// scores and the classic models' error quantiles: an hour of per-minute data, 2.5 days of
// hourly data; long enough for a stable mean, short enough to follow a change of regime.
const DefaultScaleWindow = 60

func (c Calibration) validate() error {
	if c.ScaleWindow < 0 {
		return fmt.Errorf("scale window %d", c.ScaleWindow)
	}
	for i, b := range c.Bands {
		if !(b.Lo > 0 && b.Lo < b.Hi && b.Hi < 1) {
			return fmt.Errorf("band %d: levels (%v, %v) are not a central interval", i, b.Lo, b.Hi)
		}
		if len(b.Q) == 0 {
			return fmt.Errorf("band %d: no per-step adjustments", i)
		}
		for s, q := range b.Q {
			if math.IsNaN(q) || math.IsInf(q, 0) {
				return fmt.Errorf("band %d step %d: adjustment %v", i, s, q)
			}
		}
	}
	return nil
}

// Apply widens or narrows the calibrated bands of fc (made from history) in place and returns
// it. Steps beyond the calibrated horizon reuse the last step's adjustment. Bands whose levels
// fc does not carry are left alone. Each row is sorted afterwards, so quantiles stay non-decreasing even where
// an adjusted inner band would cross an outer one (monotone rearrangement).
func (c Calibration) Apply(fc Forecast, history []float64) Forecast {
	scale := localScale(history, c.ScaleWindow)
	for _, b := range c.Bands {
		lo, hi := levelIndex(fc.Levels, b.Lo), levelIndex(fc.Levels, b.Hi)
		if lo < 0 || hi < 0 {
			continue
		}
		for s := range fc.Q {
			q := scale * b.Q[min(s, len(b.Q)-1)]
			fc.Q[s][lo] -= q
			fc.Q[s][hi] += q
		}
	}
	for s := range fc.Q {
		slices.Sort(fc.Q[s])
	}
	return fc
}

func levelIndex(levels []float64, q float64) int {
	for i, l := range levels {
		if math.Abs(l-q) < 1e-9 {
			return i
		}
	}
	return -1
}

// Calibrated wraps any Forecaster with split-conformal interval calibration. Fit fits Base on
// train and then computes conformity scores max(lo - y, y - hi) of rolling-origin forecasts
// on val; Predict shifts each band by the finite-sample (1-alpha) quantile of its scores
// (scores and shift in units of the local volatility, see Calibration), so on exchangeable
// data the band covers with probability at least its nominal level.
type Calibrated struct {
	Base Forecaster
	Cal  Calibration
	// MaxOrigins bounds the validation forecasts used (0 means DefaultCalibrationOrigins).
	MaxOrigins int
}

// Kind returns the base model's kind: calibration is a layer, not a model.
func (c *Calibrated) Kind() string { return c.Base.Kind() }

// MinHistory is the base model's.
func (c *Calibrated) MinHistory() int { return c.Base.MinHistory() }

// Fit fits the base model, then calibrates it on val.
func (c *Calibrated) Fit(train, val series.Series, opts FitOptions) error {
	if err := c.Base.Fit(train, val, opts); err != nil {
		return err
	}
	cal, err := Calibrate(c.Base, train, val, max(opts.Horizon, 1), c.MaxOrigins)
	if err != nil {
		return err
	}
	c.Cal = cal
	return nil
}

// Predict returns the base forecast with calibrated bands.
func (c *Calibrated) Predict(history series.Series, h int) (Forecast, error) {
	fc, err := c.Base.Predict(history, h)
	if err != nil {
		return fc, err
	}
	return c.Cal.Apply(fc, history.Values), nil
}

// Calibrate computes the conformal adjustments of a fitted model from rolling-origin forecasts
// over val (each forecast sees train and val up to its origin only). maxOrigins <= 0 means
// DefaultCalibrationOrigins.
func Calibrate(f Forecaster, train, val series.Series, h, maxOrigins int) (Calibration, error) {
	fcs, origins, all, err := validationForecasts(f, train, val, h, maxOrigins, 2)
	if err != nil {
		return Calibration{}, err
	}
	return conformal(fcs, origins, all.Values, h, DefaultScaleWindow)
}

// validationForecasts runs a fitted model at up to maxOrigins (<= 0: the default) rolling
// origins over val, each seeing train and val before the origin only. Fewer than minOrigins
// origins is an error.
func validationForecasts(f Forecaster, train, val series.Series, h, maxOrigins, minOrigins int) ([]Forecast, []int, series.Series, error) {
	if maxOrigins <= 0 {
		maxOrigins = DefaultCalibrationOrigins
	}
	all := Concat(train, val)
	origins := Origins(max(train.Len(), f.MinHistory()), all.Len(), h, 1, maxOrigins)
	if len(origins) < minOrigins {
		return nil, nil, all, fmt.Errorf("calibrate %s: validation split of %d points leaves %d forecast origins for horizon %d; need at least %d", f.Kind(), val.Len(), len(origins), h, minOrigins)
	}
	fcs := make([]Forecast, len(origins))
	for i, o := range origins {
		fc, err := f.Predict(all.Slice(0, o), h)
		if err != nil {
			return nil, nil, all, fmt.Errorf("calibrate %s at validation origin %d: %w", f.Kind(), o-train.Len(), err)
		}
		fcs[i] = fc
	}
	return fcs, origins, all, nil
}

// conformal turns forecasts made at origins over values into per-step band adjustments,
// with scores scaled by the local volatility over scaleWindow points (0: unscaled).
func conformal(fcs []Forecast, origins []int, values []float64, h, scaleWindow int) (Calibration, error) {
	if len(fcs) == 0 {
		return Calibration{}, errors.New("no forecasts to calibrate on")
	}
	cal := Calibration{Origins: len(fcs), ScaleWindow: scaleWindow}
	scales := make([]float64, len(origins))
	for i, o := range origins {
		scales[i] = localScale(values[:o], scaleWindow)
	}
	levels := fcs[0].Levels
	scores := make([]float64, len(fcs))
	for _, iv := range CentralIntervals {
		lo, hi := levelIndex(levels, iv[0]), levelIndex(levels, iv[1])
		if lo < 0 || hi < 0 {
			continue
		}
		band := ConformalBand{Lo: iv[0], Hi: iv[1], Q: make([]float64, h)}
		alpha := iv[0] + (1 - iv[1])
		for s := 0; s < h; s++ {
			for i, fc := range fcs {
				y := values[origins[i]+s]
				scores[i] = max(fc.Q[s][lo]-y, y-fc.Q[s][hi]) / scales[i]
			}
			band.Q[s] = conformalQuantile(scores, alpha)
		}
		cal.Bands = append(cal.Bands, band)
	}
	return cal, nil
}

// conformalQuantile returns the ceil((n+1)(1-alpha))-th smallest score, the finite-sample
// split-conformal quantile. When that rank exceeds n the exact answer is +Inf; we return the
// largest score instead, because an infinite band helps no autoscaler (coverage is then
// slightly below nominal for very small n, which the manifest's origin count reveals).
// scores is reordered.
func conformalQuantile(scores []float64, alpha float64) float64 {
	n := len(scores)
	slices.Sort(scores)
	k := int(math.Ceil(float64(n+1) * (1 - alpha)))
	k = min(max(k, 1), n)
	return scores[k-1]
}

// Concat joins a and the series that follows it chronologically into one new series.
func Concat(a, b series.Series) series.Series {
	out := series.Series{Name: a.Name, Start: a.Start, Step: a.Step}
	out.Values = make([]float64, 0, a.Len()+b.Len())
	out.Values = append(append(out.Values, a.Values...), b.Values...)
	if a.Len() == 0 {
		out.Start, out.Step = b.Start, b.Step
	}
	return out
}

// Origins returns forecast origins o (the forecast covers o..o+h-1 and sees points before o)
// in [from, to-h], every stride steps; when that gives more than maxCount origins, maxCount
// origins spread evenly over the whole range instead.
func Origins(from, to, h, stride, maxCount int) []int {
	last := to - h
	if last < from || maxCount <= 0 {
		return nil
	}
	stride = max(stride, 1)
	var out []int
	if n := (last-from)/stride + 1; n > maxCount {
		if maxCount == 1 {
			return []int{last}
		}
		// Spread maxCount origins evenly from the first to the last possible one.
		for i := 0; i < maxCount; i++ {
			out = append(out, from+i*(last-from)/(maxCount-1))
		}
		return out
	}
	for o := from; o <= last; o += stride {
		out = append(out, o)
	}
	return out
}
