package burst

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/bascaler/bascaler/internal/forecast"
)

// State is a detector's verdict for one control interval.
type State struct {
	// Interval is the index of the interval the state governs: the one right after the last
	// observed interval (0 before any observation).
	Interval int
	// Burst reports burst mode for that interval.
	Burst bool
	// Score is the detector's evidence, comparable to Threshold (paper: how many of the
	// newest forecasts flag; cusum: the CUSUM statistic).
	Score, Threshold float64
	// Reason is a constant phrase saying why the state is what it is.
	Reason string
}

// Detector is a burst detector: a deterministic state machine advanced once per completed
// interval.
//
// Causality by construction: Observe takes the actual value of the next interval in order
// (the detector counts them; it is never told an index it could look ahead with), and State
// answers for the interval after the last observed one. So the state that governs interval t
// is fixed before the value of t exists for the detector, and nothing else enters it.
type Detector interface {
	// Name is the registry name ("paper", "cusum").
	Name() string
	// Calibrate learns the detector's thresholds from a training trace. It does not change
	// the running state. Detectors work uncalibrated too, with documented defaults.
	Calibrate(train Trace) error
	// Observe feeds the actual value (req/s) of the next interval and the forecast issued
	// once that value is known: next.Q[0] is the forecast of the interval after it. A
	// forecast with no rows means "no forecast this time". The detector copies what it keeps
	// from next; band levels the forecast lacks are read at its outermost levels
	// (Forecast.Quantile clamps). A non-finite or negative actual, or a malformed forecast,
	// is an error and leaves the state unchanged.
	Observe(actual float64, next forecast.Forecast) error
	// State is the verdict for the interval after the last observed one.
	State() State
}

// Trace is a stretch of workload with the forecasts issued along it: Forecasts[i] was issued
// once Values[i] was known (it saw Values[:i+1] and nothing later) and covers i+1, i+2, ...
// An entry with no rows means no forecast was issued then (e.g. before the model's minimum
// history).
type Trace struct {
	Values    []float64
	Forecasts []forecast.Forecast
}

func (tr Trace) check() error {
	if len(tr.Values) != len(tr.Forecasts) {
		return fmt.Errorf("trace: %d values but %d forecasts", len(tr.Values), len(tr.Forecasts))
	}
	return nil
}

// Run feeds a trace through d and returns the state that governed each interval:
// states[t] was taken from d before Values[t] was observed.
func Run(d Detector, tr Trace) ([]State, error) {
	if err := tr.check(); err != nil {
		return nil, err
	}
	states := make([]State, len(tr.Values))
	for t, v := range tr.Values {
		states[t] = d.State()
		if err := d.Observe(v, tr.Forecasts[t]); err != nil {
			return nil, fmt.Errorf("%s at interval %d: %w", d.Name(), t, err)
		}
	}
	return states, nil
}

// Names lists the detectors New knows.
func Names() []string { return []string{"paper", "cusum"} }

// New builds a detector by name. A name may carry options after colons, as
// "cusum:h=3:k=0.5" or "paper:sigmas=2"; the keys are the lower-cased option field names
// (paper: lower, upper, points, min-outside, min-excess, sigmas, forecasts, stored; cusum: upper, k,
// h, hold, max, window, band). Unknown keys and malformed values are errors.
func New(name string) (Detector, error) {
	base, spec, _ := strings.Cut(name, ":")
	params := map[string]string{}
	if spec != "" {
		for _, kv := range strings.Split(spec, ":") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				return nil, fmt.Errorf("burst detector %q: option %q is not key=value", name, kv)
			}
			params[k] = v
		}
	}
	var err error
	switch base {
	case "paper":
		var o PaperOptions
		err = setOptions(params, map[string]any{"lower": &o.Lower, "upper": &o.Upper, "points": &o.Points,
			"min-outside": &o.MinOutside, "min-excess": &o.MinExcess, "sigmas": &o.Sigmas, "forecasts": &o.Forecasts, "stored": &o.Stored})
		if err == nil {
			err = o.withDefaults().validate()
		}
		if err == nil {
			return NewPaper(o), nil
		}
	case "cusum":
		var o CUSUMOptions
		err = setOptions(params, map[string]any{"upper": &o.Upper, "k": &o.K, "h": &o.H, "hold": &o.Hold,
			"max": &o.Max, "window": &o.Window, "band": &o.Band})
		if err == nil {
			err = o.withDefaults().validate()
		}
		if err == nil {
			return NewCUSUM(o), nil
		}
	default:
		return nil, fmt.Errorf("unknown burst detector %q (valid: %s)", base, strings.Join(Names(), ", "))
	}
	return nil, fmt.Errorf("burst detector %q: %w", name, err)
}

// setOptions parses params into the option fields named by dst.
func setOptions(params map[string]string, dst map[string]any) error {
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := params[k]
		var err error
		switch p := dst[k].(type) {
		case *float64:
			*p, err = strconv.ParseFloat(v, 64)
		case *int:
			*p, err = strconv.Atoi(v)
		case *bool:
			*p, err = strconv.ParseBool(v)
		default:
			valid := make([]string, 0, len(dst))
			for name := range dst {
				valid = append(valid, name)
			}
			sort.Strings(valid)
			return fmt.Errorf("unknown option %q (valid: %s)", k, strings.Join(valid, ", "))
		}
		if err != nil {
			return fmt.Errorf("option %s: %q is not a valid value", k, v)
		}
	}
	return nil
}

// band is the part of one forecast a detector keeps: per step, the lower, median and upper
// quantiles.
type band struct {
	issued int // index of the observed interval after which the forecast was issued
	lo     []float64
	med    []float64
	hi     []float64
}

// covers reports whether the band has a step for interval t.
func (b *band) covers(t int) bool { return t > b.issued && t-b.issued <= len(b.lo) }

// at returns the step of the band for interval t (covers(t) must hold).
func (b *band) at(t int) (lo, med, hi float64) {
	s := t - b.issued - 1
	return b.lo[s], b.med[s], b.hi[s]
}

// fill copies the lower, median and upper quantiles of f into b, reusing b's storage.
func (b *band) fill(issued int, f forecast.Forecast, lower, upper float64) {
	b.issued = issued
	h := len(f.Q)
	b.lo, b.med, b.hi = resize(b.lo, h), resize(b.med, h), resize(b.hi, h)
	for s := 0; s < h; s++ {
		b.lo[s] = f.Quantile(s, lower)
		b.med[s] = f.Quantile(s, 0.5)
		b.hi[s] = f.Quantile(s, upper)
	}
}

func resize(s []float64, n int) []float64 {
	if cap(s) < n {
		return make([]float64, n)
	}
	return s[:n]
}

// checkObservation validates the inputs of Observe.
func checkObservation(actual float64, f forecast.Forecast) error {
	if math.IsNaN(actual) || math.IsInf(actual, 0) || actual < 0 {
		return fmt.Errorf("observed workload %g: must be finite and non-negative", actual)
	}
	if len(f.Q) == 0 {
		return nil
	}
	if len(f.Levels) == 0 {
		return fmt.Errorf("forecast has %d steps but no quantile levels", len(f.Q))
	}
	for s, row := range f.Q {
		if len(row) != len(f.Levels) {
			return fmt.Errorf("forecast step %d has %d quantiles for %d levels", s, len(row), len(f.Levels))
		}
		for _, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("forecast step %d holds %g", s, v)
			}
		}
	}
	return nil
}

// quantileOf returns the q-quantile of sorted v by linear interpolation between order
// statistics (type 7).
func quantileOf(sorted []float64, q float64) float64 {
	n := len(sorted)
	if n == 0 {
		return math.NaN()
	}
	pos := q * float64(n-1)
	i := int(math.Floor(pos))
	if i >= n-1 {
		return sorted[n-1]
	}
	if i < 0 {
		return sorted[0]
	}
	w := pos - float64(i)
	return sorted[i] + w*(sorted[i+1]-sorted[i])
}

func sortedCopy(v []float64) []float64 {
	c := append([]float64(nil), v...)
	sort.Float64s(c)
	return c
}
