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
	// MinExcess is the threshold on the mean excess over the band, relative to the forecast
	// median, of the judged points [0.01].
	MinExcess float64
	// Sigmas sets the q-risk threshold at mean + Sigmas·sd of the training q-risk [3].
	Sigmas float64
	// Forecasts is how many of the newest forecasts may raise a burst [3].
	Forecasts int
	// Stored is how many forecasts are kept and judged for the exit rule [24, the paper's
	// horizon]; only those that still cover the newest point count.
	Stored int
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
	if o.Stored == 0 {
		o.Stored = 24
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
	case o.Forecasts < 1 || o.Stored < o.Forecasts:
		return fmt.Errorf("need 1 <= forecasts <= stored, got forecasts %d, stored %d", o.Forecasts, o.Stored)
	}
	return nil
}

// Paper is the BAScaler paper's prediction-based burst detector (its published
// burst_detection rule), made causal.
//
// After each observed interval t, every stored forecast that covers t is judged on the last
// min(Points, its observed steps) points it covers, up to t. It flags when at least
// MinOutside of them lie outside its [Lower, Upper] band and their mean excess over the band
// (zero for points inside, relative to the forecast median) is above MinExcess, or when its
// q-risk on them exceeds mean + Sigmas·sd of the training q-risk. The q-risk is the paper's:
// the mean over the two band levels of 2·mean(ρ_q(y - ŷ_q))/mean|y|; the training
// distribution is that of single points, every step of every training forecast.
//
// Entering: some of the Forecasts newest forecasts flags and t lies outside the newest band
// (of the forecast issued at t-1). Leaving: none of the Forecasts newest flags, t is back
// inside the newest band, and fewer than two of the stored forecasts that were issued
// outside burst mode flag (forecasts made before the burst still see it in their last
// points, so the burst is not left while they do). The state so decided governs interval
// t+1: unlike the published evaluation, the flag for an interval never uses that interval's
// load. Before Calibrate the q-risk rule is off and only the band rule applies. Both
// directions count, as in the paper: a sudden drop is flagged like a rise.
type Paper struct {
	o      PaperOptions
	n      int       // intervals observed
	recent []float64 // ring of the last Points actual values, by interval index
	bands  []band    // ring of the last Stored forecasts, newest at (head-1)
	calm   []bool    // per band: issued while not in burst mode
	head   int
	stored int
	qrMax  float64 // the q-risk threshold
	burst  bool
	state  State
}

// NewPaper builds the paper detector.
func NewPaper(o PaperOptions) *Paper {
	o = o.withDefaults()
	return &Paper{
		o: o, recent: make([]float64, o.Points), bands: make([]band, o.Stored), calm: make([]bool, o.Stored),
		qrMax: math.Inf(1), state: State{Threshold: 1, Reason: "no data yet"},
	}
}

// Name returns "paper".
func (d *Paper) Name() string { return "paper" }

// State is the verdict for the interval after the last observed one.
func (d *Paper) State() State { return d.state }

// Calibrate learns the q-risk threshold: mean + Sigmas·sd of the single-point q-risk of every
// step of every training forecast whose target is known.
func (d *Paper) Calibrate(train Trace) error {
	if err := train.check(); err != nil {
		return err
	}
	var b band
	var sum, sq float64
	cnt := 0
	for i, f := range train.Forecasts {
		if len(f.Q) == 0 {
			continue
		}
		b.fill(i, f, d.o.Lower, d.o.Upper)
		for s := 0; s < len(f.Q) && i+1+s < len(train.Values); s++ {
			q := d.qrisk(&b, train.Values[i+1+s:i+2+s], i+1+s)
			sum += q
			sq += q * q
			cnt++
		}
	}
	if cnt < 30 {
		return fmt.Errorf("paper detector: calibration needs at least 30 forecast steps with known values, got %d", cnt)
	}
	mu := sum / float64(cnt)
	d.qrMax = mu + d.o.Sigmas*math.Sqrt(math.Max(sq/float64(cnt)-mu*mu, 0))
	return nil
}

// qrisk is the paper's normalised quantile loss of b's band on the actual values ys of the
// intervals from..from+len(ys)-1: the mean over the two band levels of
// 2·mean(ρ_q)/mean|y|.
func (d *Paper) qrisk(b *band, ys []float64, from int) float64 {
	var lossLo, lossHi, den float64
	for p, y := range ys {
		lo, _, hi := b.at(from + p)
		lossLo += pinball(d.o.Lower, y-lo)
		lossHi += pinball(d.o.Upper, y-hi)
		den += math.Abs(y)
	}
	den = math.Max(den, 1e-9) // the means' 1/len cancels
	return (2*lossLo/den + 2*lossHi/den) / 2
}

// pinball is the quantile loss ρ_q(u) of an error u = actual - predicted.
func pinball(q, u float64) float64 {
	if u >= 0 {
		return q * u
	}
	return (q - 1) * u
}

// Observe feeds the next interval's actual value and the forecast issued after it.
func (d *Paper) Observe(actual float64, next forecast.Forecast) error {
	if err := checkObservation(actual, next); err != nil {
		return fmt.Errorf("paper detector: %w", err)
	}
	t := d.n
	d.n++
	d.recent[t%d.o.Points] = actual

	newestFlags, calmFlags, judged := 0, 0, 0
	newestOutside, haveNewest := false, false
	for age := 1; age <= d.stored; age++ {
		k := (d.head - age + len(d.bands)) % len(d.bands)
		b := &d.bands[k]
		if !b.covers(t) {
			continue
		}
		if !haveNewest {
			lo, _, hi := b.at(t)
			newestOutside, haveNewest = actual < lo || actual > hi, true
		}
		if d.flags(b, t) {
			if judged < d.o.Forecasts {
				newestFlags++
			}
			if d.calm[k] {
				calmFlags++
			}
		}
		judged++
	}

	reason := "normal"
	switch {
	case !haveNewest:
		reason = "no forecast covers the newest point"
		if d.burst {
			reason = "burst continues"
		}
	case !d.burst && newestFlags > 0 && newestOutside:
		d.burst = true
		reason = "a recent forecast flags and the newest point is outside the band"
	case d.burst && newestFlags == 0 && !newestOutside && calmFlags < 2:
		d.burst = false
		reason = "no recent forecast flags and the newest point is inside the band"
	case d.burst:
		reason = "burst continues"
	}
	d.state = State{Interval: t + 1, Burst: d.burst, Score: float64(newestFlags), Threshold: 1, Reason: reason}

	if len(next.Q) > 0 {
		d.bands[d.head].fill(t, next, d.o.Lower, d.o.Upper)
		d.calm[d.head] = !d.burst
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
		lo, med, hi := b.at(i)
		if y > hi || y < lo {
			outside++
			excess += (math.Max(y-hi, 0) + math.Max(lo-y, 0)) / math.Max(math.Abs(med), 1e-9)
		}
	}
	if outside >= d.o.MinOutside && excess/float64(len(pts)) > d.o.MinExcess {
		return true
	}
	return d.qrisk(b, pts, from) > d.qrMax
}
