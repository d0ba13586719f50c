package drift

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/series"
)

// Defaults of the monitor (Options' zero values). The thresholds were set on stationary
// synthetic workloads so that false alarms stay rare (bench/mlops.md, "Drift detection").
const (
	// DefaultWindow is the rolling window of the forecast scores, in intervals (an hour at
	// one-minute intervals).
	DefaultWindow = 60
	// DefaultPSIWindow is the recent input window compared with the training inputs: a day
	// at one-minute intervals, so the window sees every time of day the reference does (a
	// shorter window of a daily-seasonal workload differs from a day's distribution by
	// construction).
	DefaultPSIWindow = 1440
	// DefaultBins is the number of quantile bins of the PSI (deciles).
	DefaultBins = 10
	// DefaultBand is the central band whose coverage is scored (the 80% band: the 0.1 and
	// 0.9 quantiles).
	DefaultBand = 0.8
	// DefaultCoverageBelow: drifting when the band's rolling coverage falls below it (half
	// its nominal 0.8).
	DefaultCoverageBelow = 0.5
	// DefaultRelErrorAbove: drifting when the model's rolling absolute error of the median
	// exceeds this multiple of the naive (last value) forecast's.
	DefaultRelErrorAbove = 2.0
	// DefaultPSIAbove: drifting when the PSI exceeds it (a "significant" shift).
	DefaultPSIAbove = 0.25
	// DefaultResolution is the PSI's relative resolution: inputs within 2% of the
	// reference's median level of its range, or of a bin edge, are not a shift (NewReference).
	DefaultResolution = 0.02
	// DefaultSeason is the season of the seasonal score, in intervals: a day at one-minute
	// intervals (backends set Options.Season from their interval).
	DefaultSeason = 1440
	// DefaultSeasonalWindow is the window of the seasonal score's median, in intervals. Two
	// hours: with one hour, bursty stationary workloads (6 bursts a day) raised 2.4 false
	// alarms per 1,000 intervals, with two 0.4 (bench/mlops.md, chosen on that bench).
	DefaultSeasonalWindow = 120
	// DefaultSeasonalAbove: drifting when the recent seasonal error exceeds this multiple
	// of the training data's (Scores.Seasonal).
	DefaultSeasonalAbove = 3.0
)

// Options configure a Monitor; zero values mean the defaults above.
type Options struct {
	Window, PSIWindow, Bins int
	Band                    float64
	CoverageBelow           float64
	RelErrorAbove           float64
	PSIAbove                float64
	// Resolution is the PSI's relative resolution (NewReference); a negative value means
	// none (every distinct edge kept).
	Resolution float64
	// Season is the seasonal score's season in intervals (negative: no seasonal score),
	// SeasonalWindow the window of its median, SeasonalAbove its threshold.
	Season, SeasonalWindow int
	SeasonalAbove          float64
}

func (o Options) withDefaults() Options {
	if o.Window <= 0 {
		o.Window = DefaultWindow
	}
	if o.PSIWindow <= 0 {
		o.PSIWindow = DefaultPSIWindow
	}
	if o.Bins <= 0 {
		o.Bins = DefaultBins
	}
	if !(o.Band > 0 && o.Band < 1) {
		o.Band = DefaultBand
	}
	if o.CoverageBelow <= 0 {
		o.CoverageBelow = DefaultCoverageBelow
	}
	if o.RelErrorAbove <= 0 {
		o.RelErrorAbove = DefaultRelErrorAbove
	}
	if o.PSIAbove <= 0 {
		o.PSIAbove = DefaultPSIAbove
	}
	if o.Resolution == 0 {
		o.Resolution = DefaultResolution
	}
	if o.Season == 0 {
		o.Season = DefaultSeason
	}
	if o.SeasonalWindow <= 0 {
		o.SeasonalWindow = DefaultSeasonalWindow
	}
	if o.SeasonalAbove <= 0 {
		o.SeasonalAbove = DefaultSeasonalAbove
	}
	return o
}

// DailySeason is the seasonal score's season for a control interval: the intervals in a
// day (at least 1).
func DailySeason(interval time.Duration) int {
	if interval <= 0 {
		return DefaultSeason
	}
	return max(int(24*time.Hour/interval), 1)
}

// Reason is why the monitor finds the model drifting.
type Reason string

// The reasons, in the order they are checked.
const (
	ReasonCoverage Reason = "coverage"       // the band's rolling coverage below CoverageBelow
	ReasonError    Reason = "relative-error" // rolling error above RelErrorAbove x naive's
	ReasonPSI      Reason = "psi"            // input distribution shifted past PSIAbove
	ReasonSeasonal Reason = "seasonal"       // the day stopped repeating: Seasonal past SeasonalAbove
)

// Scores are the drift scores of one completed interval. A rolling score is NaN until its
// window is full (Window scored intervals, PSIWindow inputs); Drifting is decided only on
// full windows.
type Scores struct {
	// Start is the interval's start.
	Start time.Time `json:"start"`
	// Scored says a forecast had been issued for this interval (by the model serving when
	// it began); Covered that the value fell in the central band; Pinball is the interval's
	// pinball loss averaged over the forecast's quantile levels, in the series' units.
	Scored  bool    `json:"scored"`
	Covered bool    `json:"covered"`
	Pinball float64 `json:"pinball"`
	// Lower, P50 and Upper are the issued forecast: the central band and the median (zero
	// when unscored).
	Lower float64 `json:"lower"`
	P50   float64 `json:"p50"`
	Upper float64 `json:"upper"`
	// Coverage is the band's share of covered intervals over the last Window scored ones;
	// PinballMean the mean pinball loss over them; RelError the sum of the median's
	// absolute errors over the sum of the naive forecast's (the previous interval's value).
	Coverage    float64 `json:"coverage"`
	PinballMean float64 `json:"pinball_mean"`
	RelError    float64 `json:"relative_error"`
	// PSI compares the last PSIWindow inputs with the model's training inputs.
	PSI float64 `json:"psi"`
	// Seasonal is the median, over the last SeasonalWindow inputs, of |y_t − y_{t−Season}| (the
	// seasonal-naive forecast's error) divided by the same median over the training inputs.
	// About 1 while the workload repeats its season as it did in training; a new daily shape
	// (the same levels at other times of day), which neither the one-step forecast nor the
	// PSI sees, raises it for a season. The median keeps bursts shorter than half the window
	// from moving it.
	Seasonal float64 `json:"seasonal"`
	// Drifting is true when a full window crosses a threshold; Reasons say which.
	Drifting bool     `json:"drifting"`
	Reasons  []Reason `json:"reasons,omitempty"`
}

// Why renders the reasons with their numbers, e.g. "coverage 0.42 < 0.5".
func (s Scores) Why(o Options) string {
	o = o.withDefaults()
	var parts []string
	for _, r := range s.Reasons {
		switch r {
		case ReasonCoverage:
			parts = append(parts, fmt.Sprintf("%.0f%% band coverage %.2f < %.2f", 100*o.Band, s.Coverage, o.CoverageBelow))
		case ReasonError:
			parts = append(parts, fmt.Sprintf("error %.2fx the naive forecast's > %.2fx", s.RelError, o.RelErrorAbove))
		case ReasonPSI:
			parts = append(parts, fmt.Sprintf("input PSI %.3f > %.3f", s.PSI, o.PSIAbove))
		case ReasonSeasonal:
			parts = append(parts, fmt.Sprintf("seasonal error %.2fx the training data's > %.2fx", s.Seasonal, o.SeasonalAbove))
		}
	}
	return strings.Join(parts, "; ")
}

// issued is a one-step forecast waiting for its interval to complete.
type issued struct {
	start         time.Time
	lo, med, hi   float64
	levels, quant []float64
	naive         float64
}

type scored struct {
	covered                 bool
	pinball, absErr, naiveE float64
}

// Monitor scores a model's one-step forecasts as intervals complete.
//
// Causal by construction: Observe is handed the completed intervals only (the newest one
// last); it first scores the forecast it issued before that interval began, from the
// intervals completed then, and only afterwards issues the forecast for the next interval.
// No score of an interval depends on its own value before it completed, and no score of an
// earlier interval changes when a later value does.
type Monitor struct {
	opts    Options
	ref     Reference
	pending *issued
	win     []scored // ring of the last Window scored intervals
	winN    int
	inputs  []float64 // ring of the last PSIWindow inputs
	inN     int
	last    time.Time
	season  seasonal
}

// New returns a monitor whose training inputs are reference (the model's training data),
// which ends right before the first interval the monitor observes: the seasonal score
// compares the first intervals with the reference's last season.
func New(opts Options, reference []float64) *Monitor {
	o := opts.withDefaults()
	return &Monitor{opts: o, ref: NewReference(reference, o.Bins, o.Resolution), win: make([]scored, o.Window), inputs: make([]float64, o.PSIWindow),
		season: newSeasonal(o.Season, o.SeasonalWindow, reference)}
}

// Options returns the monitor's options with defaults applied.
func (m *Monitor) Options() Options { return m.opts }

// Reset starts the forecast scores afresh against a new model trained on reference (a
// swap): its errors are not the old model's. The recent inputs are data and are kept.
func (m *Monitor) Reset(reference []float64) {
	m.ref = NewReference(reference, m.opts.Bins, m.opts.Resolution)
	m.season.rescale(reference)
	m.pending = nil
	m.winN = 0
}

// Observe takes the completed intervals h (h's last point is the interval that just
// completed; earlier points the ones before it, at least model.MinHistory of them for a
// forecast to be issued), scores the forecast issued for that interval and issues model's
// forecast for the next one. A nil model, too short a history or a failed forecast issue
// nothing: the next interval is then unscored. An interval seen again (same or an earlier
// start than the last observed) changes nothing and returns zero Scores with Start set.
func (m *Monitor) Observe(model forecast.Forecaster, h series.Series) Scores {
	n := h.Len()
	if n == 0 {
		return Scores{}
	}
	start, y := h.Time(n-1), h.Values[n-1]
	sc := Scores{Start: start}
	if !m.last.IsZero() && !start.After(m.last) {
		return sc
	}
	m.last = start
	if p := m.pending; p != nil && p.start.Equal(start) && !math.IsNaN(y) {
		s := scored{covered: y >= p.lo && y <= p.hi, absErr: math.Abs(y - p.med), naiveE: math.Abs(y - p.naive)}
		for k, q := range p.levels {
			s.pinball += forecast.Pinball(q, y, p.quant[k])
		}
		s.pinball /= float64(len(p.levels))
		m.win[m.winN%len(m.win)] = s
		m.winN++
		sc.Scored, sc.Covered, sc.Pinball = true, s.covered, s.pinball
		sc.Lower, sc.P50, sc.Upper = p.lo, p.med, p.hi
	}
	m.pending = nil
	if !math.IsNaN(y) {
		m.inputs[m.inN%len(m.inputs)] = y
		m.inN++
	}
	m.season.add(y)
	m.rolling(&sc)
	m.decide(&sc)

	if model != nil && n >= max(model.MinHistory(), 1) && !math.IsNaN(y) {
		tail := h.Slice(max(n-max(2*model.MinHistory(), 512), 0), n)
		if fc, err := model.Predict(tail, 1); err == nil && len(fc.Q) > 0 {
			lo, hi := (1-m.opts.Band)/2, 1-(1-m.opts.Band)/2
			m.pending = &issued{start: start.Add(h.Step), lo: fc.Quantile(0, lo), med: fc.Quantile(0, 0.5), hi: fc.Quantile(0, hi),
				levels: fc.Levels, quant: append([]float64(nil), fc.Q[0]...), naive: y}
		}
	}
	return sc
}

// rolling fills the window scores (NaN until the windows are full).
func (m *Monitor) rolling(sc *Scores) {
	sc.Coverage, sc.PinballMean, sc.RelError, sc.PSI = math.NaN(), math.NaN(), math.NaN(), math.NaN()
	if m.winN >= len(m.win) {
		cov, pin, ae, ne := 0.0, 0.0, 0.0, 0.0
		for _, s := range m.win {
			if s.covered {
				cov++
			}
			pin += s.pinball
			ae += s.absErr
			ne += s.naiveE
		}
		w := float64(len(m.win))
		sc.Coverage, sc.PinballMean = cov/w, pin/w
		switch {
		case ne > 0:
			sc.RelError = ae / ne
		case ae == 0:
			sc.RelError = 1 // both perfect
		default:
			sc.RelError = math.Inf(1)
		}
	}
	if m.inN >= len(m.inputs) {
		sc.PSI = m.ref.PSI(m.inputs)
	}
	sc.Seasonal = m.season.score()
}

func (m *Monitor) decide(sc *Scores) {
	o := m.opts
	if !math.IsNaN(sc.Coverage) && sc.Coverage < o.CoverageBelow {
		sc.Reasons = append(sc.Reasons, ReasonCoverage)
	}
	if !math.IsNaN(sc.RelError) && sc.RelError > o.RelErrorAbove {
		sc.Reasons = append(sc.Reasons, ReasonError)
	}
	if !math.IsNaN(sc.PSI) && sc.PSI > o.PSIAbove {
		sc.Reasons = append(sc.Reasons, ReasonPSI)
	}
	if !math.IsNaN(sc.Seasonal) && sc.Seasonal > o.SeasonalAbove {
		sc.Reasons = append(sc.Reasons, ReasonSeasonal)
	}
	sc.Drifting = len(sc.Reasons) > 0
}
