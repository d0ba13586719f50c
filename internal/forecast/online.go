package forecast

import (
	"fmt"
	"math"
	"slices"

	"github.com/bascaler/bascaler/internal/series"
)

// OnlineMethod names an online calibration rule.
type OnlineMethod string

// The online calibration rules.
const (
	// OnlineNone serves the bands unchanged (split-conformal only).
	OnlineNone OnlineMethod = "none"
	// OnlineACI is adaptive conformal inference (Gibbs & Candès, "Adaptive Conformal
	// Inference Under Distribution Shift", NeurIPS 2021).
	OnlineACI OnlineMethod = "aci"
	// OnlinePID is conformal PID control without the scorecaster (Angelopoulos, Candès &
	// Tibshirani, "Conformal PID Control for Time Series Prediction", NeurIPS 2023):
	// quantile tracking (P) plus a saturated error integrator (I).
	OnlinePID OnlineMethod = "pid"
)

// OnlineMethods are the valid OnlineMethod values, for flags and error messages.
var OnlineMethods = []OnlineMethod{OnlineNone, OnlineACI, OnlinePID}

// DefaultOnlineMethod is the rule `forecast backtest` and the bascaler policy use unless told
// otherwise. ACI, with the paper's γ: on the 9 shared traces (bench/mlops.md) it put the 80 %
// band within 0.75–0.85 on 8 of 9 and the 98 % band within 0.96–0.99 on 8 of 9, against 7
// and 7 for PID, and with narrower bands where the split-conformal ones were too wide; its
// window of recent scores re-estimates the band as soon as the regime changes, which the
// short test splits (96 intervals of Azure Functions) need. PID is the better choice when
// scores are heavy-tailed and the window is short, since its offset moves by bounded steps.
const DefaultOnlineMethod = OnlineACI

// ParseOnlineMethod checks a method name.
func ParseOnlineMethod(s string) (OnlineMethod, error) {
	for _, m := range OnlineMethods {
		if string(m) == s {
			return m, nil
		}
	}
	return "", fmt.Errorf("online calibration %q: want one of none, aci, pid", s)
}

// OnlineOptions configure an OnlineCalibrator. Zero fields take the defaults documented on
// each; scores and offsets are in units of the local volatility (mean |Δy| over the last
// ScaleWindow points of the history a forecast was made from), as in Calibration, so one set
// of defaults fits traces of any level.
type OnlineOptions struct {
	Method OnlineMethod // "" means DefaultOnlineMethod
	// Horizon is the number of forecast steps tracked separately (0: 24). Steps beyond it
	// share the last step's state.
	Horizon int
	// Gamma is ACI's step on the miscoverage level, α_{t+1} = α_t + γ(α − err_t)
	// (0: 0.005, the value Gibbs & Candès use throughout their experiments; larger adapts
	// faster but makes α_t, and so the band, jumpier).
	Gamma float64
	// Window is the number of recent scores kept per band and step (0: 500): ACI's band is
	// their (1 − α_t) quantile, PID's step size and integrator gain scale with their
	// maximum. 500 intervals is a bit over 8 hours of per-minute data, three weeks of hourly
	// data: long enough for a 0.99 quantile, short enough to forget an old regime.
	Window int
	// LR is PID's learning rate relative to the scale of recent scores, η_t = LR·B_t (0:
	// 0.01). Angelopoulos et al. scale η by B_t, the largest recent score, so that one
	// setting suits any score magnitude; we take B_t = the band's own (1 − α) quantile of
	// the recent |scores|, at least 1 (see tracker.bound for why not the maximum). In units
	// of local volatility B_t is 1 for a band that fits and grows with the correction a band
	// needs, so a band that keeps missing widens faster the further off it is.
	LR float64
	// Csat is the integrator's saturation constant (0: 1): the integral term is
	// K·tan(S_t·log(t+1)/(Csat·(t+1))), S_t the running sum of (err − α) and K = B_t. It
	// stays small while the coverage error accumulated over t intervals is small and grows
	// fast once it is not (about Csat·(t+1)/log(t+1) excess misses reach tan(1)): on a long
	// stream it is a safety net for long-run coverage and the P term does the tracking; in
	// the first hundred intervals after a model starts serving it is what corrects a band
	// that misses persistently. The paper's default, 2/π·(⌈δ·log T⌉ − 1/log T), is 0.5–0.6
	// for our stream lengths; in the backtests of bench/mlops.md 0.5 over-corrected the
	// 149-interval hourly Wikipedia test split (80 % band: 0.75) and 2 corrected the
	// 96-interval Azure Functions test splits too late (0.69–0.72); 1 is between. The tan
	// argument is clipped to ±1.3 (tan 3.6) where the paper lets it reach ±π/2 (an infinite
	// band), which helps no autoscaler.
	Csat float64
	// ScaleWindow is the local-volatility window (0: DefaultScaleWindow).
	ScaleWindow int
}

func (o OnlineOptions) withDefaults() OnlineOptions {
	if o.Method == "" {
		o.Method = DefaultOnlineMethod
	}
	if o.Horizon <= 0 {
		o.Horizon = 24
	}
	if o.Gamma <= 0 {
		o.Gamma = 0.005
	}
	if o.Window <= 0 {
		o.Window = 500
	}
	if o.LR <= 0 {
		o.LR = 0.01
	}
	if o.Csat <= 0 {
		o.Csat = 1
	}
	if o.ScaleWindow <= 0 {
		o.ScaleWindow = DefaultScaleWindow
	}
	return o
}

// tracker is the online state of one band at one horizon step.
type tracker struct {
	alpha  float64   // nominal miscoverage of the band
	alphaT float64   // ACI: the running miscoverage level α_t
	q      float64   // PID: the quantile-tracking offset
	errSum float64   // PID: Σ (err_i − α)
	n      int       // updates so far
	scores []float64 // ring of the last Window scores
	next   int       // ring write position
	sorted []float64 // the window's scores, sorted (kept in step with scores)
	absSrt []float64 // the window's |scores|, sorted
	b      float64   // PID: B_t, recomputed at each update
	off    float64   // the offset to serve, recomputed at each update
}

// served is what the calibrator remembers of a forecast it served: per band, per step, the
// incoming bounds and the offset its state proposed, plus the local volatility scores are
// measured in.
type served struct {
	origin int // number of completed intervals when it was served; -1 = empty slot
	scale  float64
	lo, hi [][]float64 // [band][step], the bounds before the online offset
	off    [][]float64 // [band][step], the offset proposed (volatility units)
}

// OnlineCalibrator adapts the central bands of a stream of forecasts as outcomes arrive. Each
// band of CentralIntervals (80 %, 98 %, 90 %) at each horizon step s has its own state, fed
// with the conformity score max(lo − y, y − hi)/σ of the forecast served s intervals before
// the interval y completed (σ the local volatility of that forecast's history), and its
// miss err = 1 when y fell outside the band that state proposed. The served band is the
// incoming one (for instance split-conformal, see Calibrated) widened on both sides by
// σ·offset, never narrowed past the median (so the point forecast is the model's), and
// pushed out to contain the narrower bands served with it (so bands stay nested without a
// level taking another band's bounds):
//
//   - aci: α_t moves by γ(α − err_t) and offset is the (1 − α_t) quantile of the last
//     Window scores (α_t ≤ 0 takes their maximum, α_t ≥ 1 their minimum, where the paper
//     would serve an infinite or empty band);
//   - pid: offset = q_t + K·tan(...), q_{t+1} = q_t + η_t(err_t − α), see OnlineOptions.
//
// Causality: Serve records the forecast made after the intervals completed so far, Update
// is told the value of the next completed interval. An interval's value reaches a band only
// through Update, so a band served before Update(y_t) cannot depend on y_t.
//
// Online state is not saved with a model: a restarted backend starts from offsets of 0,
// i.e. from the model's split-conformal bands. Not safe for concurrent use.
type OnlineCalibrator struct {
	opts    OnlineOptions
	n       int // completed intervals fed so far
	track   [][]tracker
	pending []served // ring of the last Horizon served forecasts, by origin
}

// NewOnlineCalibrator returns a calibrator with the given options (zero values: defaults).
func NewOnlineCalibrator(opts OnlineOptions) (*OnlineCalibrator, error) {
	opts = opts.withDefaults()
	if _, err := ParseOnlineMethod(string(opts.Method)); err != nil {
		return nil, err
	}
	for _, v := range []float64{opts.Gamma, opts.LR, opts.Csat} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return nil, fmt.Errorf("online calibration: option %v is not finite", v)
		}
	}
	c := &OnlineCalibrator{opts: opts}
	c.Reset()
	return c, nil
}

// Method is the rule in use.
func (c *OnlineCalibrator) Method() OnlineMethod { return c.opts.Method }

// Reset forgets every outcome and served forecast.
func (c *OnlineCalibrator) Reset() {
	h := c.opts.Horizon
	c.n = 0
	c.track = make([][]tracker, len(CentralIntervals))
	for b, iv := range CentralIntervals {
		c.track[b] = make([]tracker, h)
		a := iv[0] + (1 - iv[1])
		for s := range c.track[b] {
			c.track[b][s] = tracker{alpha: a, alphaT: a, b: 1}
		}
	}
	c.pending = make([]served, h)
	for i := range c.pending {
		c.pending[i].origin = -1
	}
}

// Observed is the number of completed intervals fed to Update.
func (c *OnlineCalibrator) Observed() int { return c.n }

// Offset is the current online widening of band b (an index into CentralIntervals) at step
// s, in units of local volatility.
func (c *OnlineCalibrator) Offset(b, s int) float64 {
	return c.track[b][min(s, c.opts.Horizon-1)].offset(c.opts)
}

// Serve returns fc (made from history, which ends with the last interval fed to Update) with
// its central bands widened or narrowed by the online offsets, and remembers it as the
// forecast served for the next intervals; a second Serve before the next Update replaces
// it. fc is not modified. With method none the bands are returned unchanged.
func (c *OnlineCalibrator) Serve(fc Forecast, history []float64) Forecast {
	out := cloneForecast(fc)
	if c.opts.Method == OnlineNone || len(fc.Q) == 0 {
		return out
	}
	h := c.opts.Horizon
	scale := localScale(history, c.opts.ScaleWindow)
	nb := len(CentralIntervals)
	p := served{origin: c.n, scale: scale, lo: make([][]float64, nb), hi: make([][]float64, nb), off: make([][]float64, nb)}
	mid := levelIndex(fc.Levels, 0.5)
	steps := min(len(fc.Q), h)
	for _, b := range nestedBands {
		iv := CentralIntervals[b]
		lo, hi := levelIndex(fc.Levels, iv[0]), levelIndex(fc.Levels, iv[1])
		if lo < 0 || hi < 0 {
			continue
		}
		p.lo[b], p.hi[b], p.off[b] = make([]float64, steps), make([]float64, steps), make([]float64, steps)
		for s := range fc.Q {
			off := c.track[b][min(s, h-1)].offset(c.opts)
			if s < steps {
				p.lo[b][s], p.hi[b][s], p.off[b][s] = fc.Q[s][lo], fc.Q[s][hi], off
			}
			l, u := fc.Q[s][lo]-scale*off, fc.Q[s][hi]+scale*off
			if mid >= 0 {
				// A band narrowed past the median would move the median itself once the
				// row is sorted: keep the point forecast as the model made it.
				l, u = min(l, fc.Q[s][mid]), max(u, fc.Q[s][mid])
			}
			// Keep the bands nested without swapping them: an outer band is at least as
			// wide as the inner ones served before it. (Sorting the row instead would hand
			// an inner band's level the outer band's bounds; a band whose state wants it
			// wider would then keep missing and the two states would drive each other.)
			if inner := innerBand[b]; inner >= 0 && p.lo[inner] != nil {
				il, iu := levelIndex(fc.Levels, CentralIntervals[inner][0]), levelIndex(fc.Levels, CentralIntervals[inner][1])
				l, u = min(l, out.Q[s][il]), max(u, out.Q[s][iu])
			}
			out.Q[s][lo], out.Q[s][hi] = l, u
		}
	}
	for s := range out.Q {
		slices.Sort(out.Q[s]) // a no-op for the bands; orders any other level
	}
	c.pending[c.n%h] = p
	return out
}

// nestedBands lists the indexes of CentralIntervals from the narrowest band to the widest,
// and innerBand[b] is the band served just inside b (-1: none).
var nestedBands, innerBand = func() ([]int, []int) {
	idx := make([]int, len(CentralIntervals))
	for i := range idx {
		idx[i] = i
	}
	slices.SortFunc(idx, func(a, b int) int {
		wa, wb := CentralIntervals[a][1]-CentralIntervals[a][0], CentralIntervals[b][1]-CentralIntervals[b][0]
		if wa < wb {
			return -1
		}
		if wa > wb {
			return 1
		}
		return 0
	})
	inner := make([]int, len(CentralIntervals))
	for i, b := range idx {
		inner[b] = -1
		if i > 0 {
			inner[b] = idx[i-1]
		}
	}
	return idx, inner
}()

// Update feeds the value of the interval that just completed: every served forecast that
// covered it scores it at its step, and the bands' states move. A NaN, infinite or negative
// value is an error naming it; the interval still counts (so later outcomes stay aligned with
// the forecasts made for them) but nothing is learnt from it.
func (c *OnlineCalibrator) Update(actual float64) error {
	t := c.n
	c.n++
	if math.IsNaN(actual) || math.IsInf(actual, 0) || actual < 0 {
		return fmt.Errorf("online calibration: interval %d: rate %v is not a finite non-negative number; not learnt from", t, actual)
	}
	if c.opts.Method == OnlineNone {
		return nil
	}
	h := c.opts.Horizon
	for s := 0; s < h && s <= t; s++ {
		p := &c.pending[(t-s)%h]
		if p.origin != t-s {
			continue // no forecast was served at that origin
		}
		for b := range p.lo {
			if s >= len(p.lo[b]) {
				continue
			}
			score := max(p.lo[b][s]-actual, actual-p.hi[b][s]) / p.scale
			if math.IsNaN(score) || math.IsInf(score, 0) {
				continue // a model that served a non-finite bound teaches nothing
			}
			// A miss is judged against the band the state proposed, before the median clamp
			// and the nesting: each band learns about its own offset only.
			miss := 0.0
			if score > p.off[b][s] {
				miss = 1
			}
			c.track[b][s].update(score, miss, c.opts)
		}
	}
	return nil
}

func (tr *tracker) update(score, miss float64, o OnlineOptions) {
	if len(tr.scores) < o.Window {
		tr.scores = append(tr.scores, score)
	} else {
		old := tr.scores[tr.next]
		tr.sorted = sortedRemove(tr.sorted, old)
		tr.absSrt = sortedRemove(tr.absSrt, math.Abs(old))
		tr.scores[tr.next] = score
		tr.next = (tr.next + 1) % o.Window
	}
	tr.sorted = sortedInsert(tr.sorted, score)
	tr.absSrt = sortedInsert(tr.absSrt, math.Abs(score))
	tr.n++
	g := miss - tr.alpha
	switch o.Method {
	case OnlineACI:
		tr.alphaT -= o.Gamma * g
	case OnlinePID:
		tr.q += o.LR * tr.b * g // η_t uses B_t from the scores before this one
		tr.errSum += g
		tr.b = tr.bound()
	}
	tr.off = tr.compute(o)
}

// bound is B_t, the scale of the quantile-tracking step: the (1 − α) quantile of the recent
// |scores|, at least 1 (one unit of local volatility). Angelopoulos et al. use the largest
// recent score; on a trace of rare spikes over a flat floor (azure_llm per second: σ of a
// flat stretch is 0.4, a spike scores 300) one spike then sets the step for Window intervals
// and the band swings by hundreds of σ. The band's own quantile of |scores| is what the
// offset has to reach, so it sets the step without being driven by the spikes the band is
// meant to leave out.
func (tr *tracker) bound() float64 {
	n := len(tr.absSrt)
	if n == 0 {
		return 1
	}
	k := int(math.Ceil(float64(n) * (1 - tr.alpha)))
	return max(1, tr.absSrt[min(max(k, 1), n)-1])
}

// sortedInsert and sortedRemove keep a window sorted in O(Window) per score (a binary search
// and a copy), instead of sorting it at every update.
func sortedInsert(s []float64, v float64) []float64 {
	i, _ := slices.BinarySearch(s, v)
	return slices.Insert(s, i, v)
}

func sortedRemove(s []float64, v float64) []float64 {
	i, ok := slices.BinarySearch(s, v)
	if !ok {
		return s // cannot happen: v was inserted before
	}
	return slices.Delete(s, i, i+1)
}

// offset is the widening to serve now (0 before the first outcome).
func (tr *tracker) offset(OnlineOptions) float64 { return tr.off }

func (tr *tracker) compute(o OnlineOptions) float64 {
	switch o.Method {
	case OnlineACI:
		n := len(tr.sorted)
		if tr.alphaT <= 0 {
			return tr.sorted[n-1]
		}
		if tr.alphaT >= 1 {
			return tr.sorted[0]
		}
		k := int(math.Ceil(float64(n+1) * (1 - tr.alphaT)))
		return tr.sorted[min(max(k, 1), n)-1]
	case OnlinePID:
		x := tr.errSum * math.Log(float64(tr.n+1)) / (o.Csat * float64(tr.n+1))
		return tr.q + tr.b*math.Tan(min(max(x, -1.3), 1.3))
	}
	return 0
}

// Online is a Forecaster whose bands are calibrated online: Base's forecasts (typically a
// *Calibrated, so online offsets start from the split-conformal bands) pass through Cal.
// The caller feeds each completed interval to Update before asking for the next forecast.
type Online struct {
	Base Forecaster
	Cal  *OnlineCalibrator
}

// NewOnline wraps base with a fresh calibrator.
func NewOnline(base Forecaster, opts OnlineOptions) (*Online, error) {
	c, err := NewOnlineCalibrator(opts)
	if err != nil {
		return nil, err
	}
	return &Online{Base: base, Cal: c}, nil
}

// Kind is the base model's: online calibration is a layer, not a model.
func (o *Online) Kind() string { return o.Base.Kind() }

// MinHistory is the base model's.
func (o *Online) MinHistory() int { return o.Base.MinHistory() }

// Fit fits the base model and forgets all online state.
func (o *Online) Fit(train, val series.Series, opts FitOptions) error {
	if err := o.Base.Fit(train, val, opts); err != nil {
		return err
	}
	o.Cal.Reset()
	return nil
}

// Predict forecasts with the base model and serves the online-calibrated bands (history
// must end with the last interval fed to Update).
func (o *Online) Predict(history series.Series, h int) (Forecast, error) {
	fc, err := o.Base.Predict(history, h)
	if err != nil {
		return fc, err
	}
	return o.Cal.Serve(fc, history.Values), nil
}

// Update feeds the value of the interval that just completed.
func (o *Online) Update(actual float64) error { return o.Cal.Update(actual) }
