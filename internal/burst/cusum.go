package burst

import (
	"fmt"
	"math"
	"slices"

	"github.com/bascaler/bascaler/internal/forecast"
)

// CUSUMOptions configure the cusum detector. Zero fields take the defaults in brackets.
type CUSUMOptions struct {
	// Upper is the quantile level whose distance from the median normalises a surprise
	// [0.99].
	Upper float64
	// K is the drift allowance subtracted from each standardised score [1]: rises smaller
	// than K robust standard deviations per interval never accumulate.
	K float64
	// Band scores surprises in units of the forecast's upper half-width instead of relative
	// to the forecast median (see the CUSUM doc comment for why relative is the default).
	Band bool
	// H is the alarm threshold on the statistic [4].
	H float64
	// Hold is how many consecutive intervals the statistic must sit at zero before a burst
	// ends [3].
	Hold int
	// Max caps the statistic [2·H], so that the evidence of a long burst drains within
	// about Max/K + Hold intervals once the surprise is gone.
	Max float64
	// Window is the number of recent raw scores whose median centres the next one [60];
	// -1 centres on the training median only.
	Window int
}

func (o CUSUMOptions) validate() error {
	switch {
	case !(o.Upper > 0.5 && o.Upper < 1):
		return fmt.Errorf("upper level %g must be in (0.5, 1)", o.Upper)
	case !(o.K >= 0) || !(o.H > 0) || !(o.Max >= o.H) || math.IsInf(o.Max, 0):
		return fmt.Errorf("need k >= 0, h > 0 and h <= max < inf (k %g, h %g, max %g)", o.K, o.H, o.Max)
	case o.Hold < 1:
		return fmt.Errorf("hold %d must be >= 1", o.Hold)
	case o.Window < -1 || (o.Window > 0 && o.Window < minCentre):
		return fmt.Errorf("window %d must be -1 or at least %d", o.Window, minCentre)
	}
	return nil
}

// minCentre is the number of recent scores the rolling median needs before it replaces the
// training median.
const minCentre = 10

func (o CUSUMOptions) withDefaults() CUSUMOptions {
	if o.Upper == 0 {
		o.Upper = 0.99
	}
	if o.K == 0 {
		o.K = 1
	}
	if o.H == 0 {
		o.H = 4
	}
	if o.Hold == 0 {
		o.Hold = 3
	}
	if o.Max == 0 {
		o.Max = 2 * o.H
	}
	if o.Window == 0 {
		o.Window = 60
	}
	return o
}

// CUSUM is a burst detector of our design: a one-sided CUSUM over conformally standardised
// one-step-ahead forecast errors, with an exit hysteresis.
//
// Score. After interval t is observed, its surprise is judged against the forecast issued at
// t-1, the newest one that covers it (older forecasts know less; the paper's rule spends
// its evidence on them). The raw score is the relative error z = (y - q50)/q50 (the
// denominator floored at 5% of the typical training level, for near-zero nights). Calibrate
// standardises it by the median and interquartile range of the training scores
// (split-conformal: x = (z - med)/(IQR/1.349)), so an over- or under-confident forecaster
// gives the same false-alarm rate; the IQR ignores the bursts that training data contain
// (up to a quarter of the points), which a mean/sd or a 99% quantile would not.
// Why relative: request-rate noise grows with the level (more users, more variance), while
// classic forecasters (ARIMA, seasonal naive) give bands of constant width. Scored in band
// units, the afternoon peak of a daily cycle or the plateau of a 5x flash crowd looked like a
// burst after calibration on a calmer training part; with relative errors (multiplicative
// noise) the scale is the same at every level. Band=true scores in units of the forecast's
// own upper half-width instead, for forecasters whose bands do follow the level.
// Uncalibrated, the band is trusted: x = (y - q50)/(q_Upper - q50)·Φ⁻¹(Upper).
//
// Centring. A forecaster can be biased for long stretches (an ARIMA that mean-reverts
// under-predicts the whole upswing of a daily cycle by 20%); the CUSUM would add that bias
// up and sit in burst mode for hours. The score is therefore centred on the median of the
// last Window raw scores (before the training median until minCentre are known): slow bias
// is removed, while a burst, sudden and shorter than half the window, barely moves the
// median. The scale stays the training one, measured on scores centred the same way.
//
// Accumulation. S_t = max(0, S_{t-1} + x_t - K); a burst starts when S_t > H. A single huge
// surprise (a spike, x > H+K) alarms at once, a ramp of moderate surprises within a few
// intervals, while noise rarely builds up: for Gaussian scores, K=1 and H=4 give an
// in-control run length of about 15,000 intervals (Siegmund's approximation). The CUSUM is
// one-sided: only rises cost an SLO, so a drop in load is not a burst (the paper's rule
// flags both directions, which spends false alarms on dips).
//
// Exit. A forecaster that adapts (ARIMA, naive) soon follows a plateau, and the
// statistic drains by K per interval. The burst ends only after S has been zero for Hold
// consecutive intervals, so a noisy plateau does not flip the mode from one interval to
// the next. S is capped at Max: uncapped, the evidence of a 5x flash crowd (S in the
// hundreds, and still growing on the plateau, where the noise is 5x larger than the
// forecaster's band) kept the detector in burst mode long after the load had returned, so
// it missed the next burst.
type CUSUM struct {
	o          CUSUMOptions
	n          int
	prevMed    float64 // forecast for interval n issued after interval n-1
	prevHi     float64
	havePrev   bool
	loc, scale float64
	floor      float64 // smallest denominator of a relative score: 5% of the typical level
	calibrated bool
	recent     []float64 // ring of the last Window raw scores
	nRecent    int
	sorted     []float64 // the same scores, sorted: the median is read off in O(1)
	s          float64
	quiet      int
	burst      bool
	state      State
}

// NewCUSUM builds the cusum detector.
func NewCUSUM(o CUSUMOptions) *CUSUM {
	o = o.withDefaults()
	d := &CUSUM{o: o, scale: 1, floor: 1e-9, state: State{Threshold: o.H, Reason: "no data yet"}}
	if o.Window > 0 {
		d.recent, d.sorted = make([]float64, o.Window), make([]float64, 0, o.Window)
	}
	return d
}

// Name returns "cusum".
func (d *CUSUM) Name() string { return "cusum" }

// State is the verdict for the interval after the last observed one.
func (d *CUSUM) State() State { return d.state }

// rawScore is the one-step error of y: relative to the forecast median once calibrated (or
// with Band in units of the upper half-width); uncalibrated, in units of the half-width
// times Φ⁻¹(Upper), i.e. standard deviations if the band is a true Gaussian interval.
func (d *CUSUM) rawScore(y, med, hi float64, calibrated bool) float64 {
	switch {
	case !calibrated:
		return bandScore(y, med, hi) * normalQuantile(d.o.Upper)
	case d.o.Band:
		return bandScore(y, med, hi)
	}
	return (y - med) / math.Max(math.Abs(med), d.floor)
}

// bandScore is the one-step error in units of the upper half-width, floored at 0.1% of the
// median (and 1e-9) so a degenerate band cannot divide by zero.
func bandScore(y, med, hi float64) float64 {
	w := math.Max(hi-med, math.Max(1e-3*math.Abs(med), 1e-9))
	return (y - med) / w
}

// centre is the location the next raw score is measured from: the rolling median of the
// recent scores, or the training median while too few are known.
func (d *CUSUM) centre() float64 {
	if len(d.sorted) < minCentre {
		return d.loc
	}
	return quantileOf(d.sorted, 0.5)
}

// remember adds a raw score to the window, dropping the oldest once it is full; the sorted
// copy is kept by binary search and one shift, O(Window) instead of a sort per interval.
func (d *CUSUM) remember(raw float64) {
	if len(d.recent) == 0 {
		return
	}
	slot := d.nRecent % len(d.recent)
	if d.nRecent >= len(d.recent) {
		old := d.recent[slot]
		i, _ := slices.BinarySearch(d.sorted, old)
		d.sorted = slices.Delete(d.sorted, i, i+1)
	}
	d.recent[slot] = raw
	d.nRecent++
	i, _ := slices.BinarySearch(d.sorted, raw)
	d.sorted = slices.Insert(d.sorted, i, raw)
}

// Calibrate learns the location (the median score) and the scale (IQR/1.349 of the scores
// centred as Observe centres them) from the one-step errors of the training trace. It needs
// at least 30 of them. The running state is left alone.
func (d *CUSUM) Calibrate(train Trace) error {
	if err := train.check(); err != nil {
		return err
	}
	// A relative error is unstable where the forecast is near zero (a quiet night of a real
	// trace): the denominator is floored at 5% of the typical (median) forecast level.
	var meds []float64
	for _, f := range train.Forecasts {
		if len(f.Q) > 0 {
			meds = append(meds, math.Abs(f.Quantile(0, 0.5)))
		}
	}
	floor := 1e-9
	if len(meds) > 0 {
		floor = math.Max(0.05*quantileOf(sortedCopy(meds), 0.5), 1e-9)
	}
	d.floor = floor
	var z []float64
	for i := 1; i < len(train.Values); i++ {
		f := train.Forecasts[i-1]
		if len(f.Q) == 0 {
			continue
		}
		z = append(z, d.rawScore(train.Values[i], f.Quantile(0, 0.5), f.Quantile(0, d.o.Upper), true))
	}
	if len(z) < 30 {
		return fmt.Errorf("cusum detector: calibration needs at least 30 one-step forecasts, got %d", len(z))
	}
	loc := quantileOf(sortedCopy(z), 0.5)
	// Replay the centring on a scratch detector so the scale is measured as it will be used.
	replay := NewCUSUM(d.o)
	replay.loc, replay.floor = loc, floor
	dev := make([]float64, len(z))
	for i, v := range z {
		dev[i] = v - replay.centre()
		replay.remember(v)
	}
	s := sortedCopy(dev)
	iqr := quantileOf(s, 0.75) - quantileOf(s, 0.25)
	if !(iqr > 0) {
		return fmt.Errorf("cusum detector: the %d training scores have no spread (interquartile range %g)", len(z), iqr)
	}
	d.loc, d.scale, d.calibrated = loc, iqr/1.349, true
	return nil
}

// Observe feeds the next interval's actual value and the forecast issued after it.
func (d *CUSUM) Observe(actual float64, next forecast.Forecast) error {
	if err := checkObservation(actual, next); err != nil {
		return fmt.Errorf("cusum detector: %w", err)
	}
	t := d.n
	d.n++
	x := 0.0 // no forecast, no evidence: the statistic only drains
	if d.havePrev {
		raw := d.rawScore(actual, d.prevMed, d.prevHi, d.calibrated)
		x = (raw - d.centre()) / d.scale
		d.remember(raw)
	}
	d.s = math.Min(math.Max(0, d.s+x-d.o.K), d.o.Max)
	reason := "normal"
	switch {
	case !d.burst && d.s > d.o.H:
		d.burst, d.quiet = true, 0
		reason = "accumulated forecast surprise above threshold"
	case d.burst:
		if d.s == 0 {
			d.quiet++
		} else {
			d.quiet = 0
		}
		reason = "burst continues"
		if d.quiet >= d.o.Hold {
			d.burst = false
			reason = "surprise gone for the hold period"
		}
	}
	d.state = State{Interval: t + 1, Burst: d.burst, Score: d.s, Threshold: d.o.H, Reason: reason}
	d.havePrev = len(next.Q) > 0
	if d.havePrev {
		d.prevMed, d.prevHi = next.Quantile(0, 0.5), next.Quantile(0, d.o.Upper)
	}
	return nil
}

// normalQuantile is Φ⁻¹(p) for the standard normal, by the inverse error function.
func normalQuantile(p float64) float64 { return math.Sqrt2 * math.Erfinv(2*p-1) }
