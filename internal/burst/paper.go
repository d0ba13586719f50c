package burst

import (
	"fmt"
	"math"

	"github.com/bascaler/bascaler/internal/forecast"
)

// PaperOptions configure the paper detector. Zero fields take the defaults in brackets.
type PaperOptions struct {
	// Lower and Upper are the quantile levels of the band a point must leave [0.01, 0.99].
	Lower, Upper float64
	// Points is how many of the newest observed points a forecast is judged on [3].
	Points int
	// MinOutside is how many of those must lie outside the band [2].
	MinOutside int
	// MinExcess is the mean relative excess over the band edge those points need [0.01].
	MinExcess float64
	// Sigmas sets the q-risk threshold at mean + Sigmas·sd of the training q-risk [3].
	Sigmas float64
	// Forecasts is how many of the newest stored forecasts may raise a burst [3].
	Forecasts int
}

func (o PaperOptions) withDefaults() PaperOptions {
	if o.Lower == 0 {
		o.Lower = 0.01
	}
	if o.Upper == 0 {
		o.Upper = 0.99
	}
	if o.Points == 0 {
		o.Points = 3
	}
	if o.MinOutside == 0 {
		o.MinOutside = 2
	}
	if o.MinExcess == 0 {
		o.MinExcess = 0.01
	}
	if o.Sigmas == 0 {
		o.Sigmas = 3
	}
	if o.Forecasts == 0 {
		o.Forecasts = 3
	}
	return o
}

func (o PaperOptions) validate() error {
	switch {
	case !(o.Lower > 0 && o.Lower < 0.5 && o.Upper > 0.5 && o.Upper < 1):
		return fmt.Errorf("band levels (%g, %g) must satisfy 0 < lower < 0.5 < upper < 1", o.Lower, o.Upper)
	case o.Points < 1 || o.Points > 64:
		return fmt.Errorf("points %d must be in 1..64", o.Points)
	case o.MinOutside < 1 || o.MinOutside > o.Points:
		return fmt.Errorf("min-outside %d must be in 1..points (%d)", o.MinOutside, o.Points)
	case !(o.MinExcess >= 0) || !(o.Sigmas > 0):
		return fmt.Errorf("min-excess %g must be >= 0 and sigmas %g > 0", o.MinExcess, o.Sigmas)
	case o.Forecasts < 1:
		return fmt.Errorf("forecasts %d must be >= 1", o.Forecasts)
	}
	return nil
}

// Paper is the BAScaler paper's prediction-based burst detector, made causal.
//
// After each observed interval t, each of the Forecasts newest stored forecasts that cover t
// (issued at t-1, t-2, ...) is judged on the last min(Points, its observed steps) points it
// covers, up to t. It flags when at least MinOutside of them lie outside its
// [Lower, Upper] band with a mean relative excess over the band edge above MinExcess, or when
// its q-risk on them (the mean over the levels Lower, 0.5 and Upper of 2·Σρ_q(y-ŷ_q)/Σ|y|)
// exceeds mean + Sigmas·sd of the q-risk seen on the training trace. The detector enters a
// burst when some forecast flags and t lies outside the newest band (of the forecast issued
// at t-1), and leaves it when none flags and t is back inside. The state so decided governs
// interval t+1: unlike the published evaluation, the flag for an interval never uses that
// interval's load.
//
// The newest forecasts have observed only 1 or 2 of their steps; the training q-risk
// statistics are therefore kept per number of judged points (1..Points, always the first
// steps of a forecast), so a one-point q-risk is compared with one-point q-risks. Before
// Calibrate the q-risk rule is off and only the band rule applies. Both directions count as
// in the paper: a sudden drop is flagged like a rise.
type Paper struct {
	o      PaperOptions
	n      int       // intervals observed
	recent []float64 // ring of the last Points actual values, by interval index
	bands  []band    // ring of the last Forecasts forecasts, newest at (head-1)
	head   int
	stored int
	qrMax  []float64 // per number of judged points (index 1..Points): the q-risk threshold
	burst  bool
	state  State
}

// NewPaper builds the paper detector.
func NewPaper(o PaperOptions) *Paper {
	o = o.withDefaults()
	d := &Paper{o: o, recent: make([]float64, o.Points), bands: make([]band, o.Forecasts), qrMax: make([]float64, o.Points+1)}
	for i := range d.qrMax {
		d.qrMax[i] = math.Inf(1)
	}
	d.state = State{Threshold: 1, Reason: "no data yet"}
	return d
}

// Name returns "paper".
func (d *Paper) Name() string { return "paper" }

// State is the verdict for the interval after the last observed one.
func (d *Paper) State() State { return d.state }

// Calibrate learns the q-risk thresholds: for each number of points k in 1..Points, the mean
// and standard deviation of the q-risk of every training forecast on its first k steps.
func (d *Paper) Calibrate(train Trace) error {
	if err := train.check(); err != nil {
		return err
	}
	var b band
	for k := 1; k <= d.o.Points; k++ {
		var sum, sq float64
		cnt := 0
		for i, f := range train.Forecasts {
			if len(f.Q) < k || i+k >= len(train.Values) {
				continue
			}
			b.fill(i, f, d.o.Lower, d.o.Upper)
			q := d.qrisk(&b, train.Values[i+1:i+1+k], i+1)
			sum += q
			sq += q * q
			cnt++
		}
		if cnt < 10 {
			return fmt.Errorf("paper detector: calibration needs at least 10 training forecasts with %d steps, got %d", k, cnt)
		}
		mu := sum / float64(cnt)
		sd := math.Sqrt(math.Max(sq/float64(cnt)-mu*mu, 0))
		d.qrMax[k] = mu + d.o.Sigmas*sd
	}
	return nil
}

// qrisk is the mean normalised quantile loss of b on the actual values ys of the intervals
// from..from+len(ys)-1.
func (d *Paper) qrisk(b *band, ys []float64, from int) float64 {
	var loss [3]float64
	levels := [3]float64{d.o.Lower, 0.5, d.o.Upper}
	den := 0.0
	for p, y := range ys {
		lo, med, hi := b.at(from + p)
		for k, yhat := range [3]float64{lo, med, hi} {
			u := y - yhat
			if u >= 0 {
				loss[k] += levels[k] * u
			} else {
				loss[k] += (levels[k] - 1) * u
			}
		}
		den += math.Abs(y)
	}
	den = math.Max(den, 1e-9)
	return 2 * (loss[0] + loss[1] + loss[2]) / (3 * den)
}

// Observe feeds the next interval's actual value and the forecast issued after it.
func (d *Paper) Observe(actual float64, next forecast.Forecast) error {
	if err := checkObservation(actual, next); err != nil {
		return fmt.Errorf("paper detector: %w", err)
	}
	t := d.n
	d.n++
	d.recent[t%d.o.Points] = actual

	flags, judged := 0, 0
	newestOutside, haveNewest := false, false
	for age := 1; age <= d.stored; age++ {
		b := &d.bands[(d.head-age+len(d.bands))%len(d.bands)]
		if !b.covers(t) {
			continue
		}
		if !haveNewest {
			lo, _, hi := b.at(t)
			newestOutside, haveNewest = actual < lo || actual > hi, true
		}
		if d.flags(b, t) {
			flags++
		}
		judged++
	}

	switch {
	case !haveNewest:
		d.state.Reason = "no forecast covers the newest point"
	case !d.burst && flags > 0 && newestOutside:
		d.burst = true
		d.state.Reason = "a forecast flags and the newest point is outside the band"
	case d.burst && flags == 0 && !newestOutside:
		d.burst = false
		d.state.Reason = "no forecast flags and the newest point is inside the band"
	case d.burst:
		d.state.Reason = "burst continues"
	default:
		d.state.Reason = "normal"
	}
	d.state = State{Interval: t + 1, Burst: d.burst, Score: float64(flags), Threshold: 1, Reason: d.state.Reason}

	if len(next.Q) > 0 {
		d.bands[d.head].fill(t, next, d.o.Lower, d.o.Upper)
		d.head = (d.head + 1) % len(d.bands)
		d.stored = min(d.stored+1, len(d.bands))
	}
	return nil
}

// flags judges band b on the last points it covers up to interval t.
func (d *Paper) flags(b *band, t int) bool {
	from := max(b.issued+1, t-d.o.Points+1)
	var ys [8]float64
	pts := ys[:0]
	outside, excess := 0, 0.0
	for i := from; i <= t; i++ {
		y := d.recent[i%d.o.Points]
		pts = append(pts, y)
		lo, _, hi := b.at(i)
		switch {
		case y > hi:
			outside++
			excess += (y - hi) / math.Max(math.Abs(hi), 1e-9)
		case y < lo:
			outside++
			excess += (lo - y) / math.Max(math.Abs(lo), 1e-9)
		}
	}
	if outside >= d.o.MinOutside && excess/float64(outside) > d.o.MinExcess {
		return true
	}
	return d.qrisk(b, pts, from) > d.qrMax[len(pts)]
}
