package forecast

import (
	"errors"
	"fmt"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

// Units of the values a saved model was trained on (Manifest.RateUnit).
const (
	// UnitPerStep: counts per training step, the trace files' own unit. Manifests without a
	// rate_unit were written by `forecast train`, which trains on the file's counts.
	UnitPerStep = "per-step"
	// UnitPerSecond: requests per second, the unit every backend observes.
	UnitPerSecond = "req/s"
)

// ErrModelMismatch means a saved model cannot serve where it is loaded: its training step
// is not the control interval, or its kind is not the one the configuration names. A model
// used at another step would be fed rates of another resolution and forecast nonsense.
var ErrModelMismatch = errors.New("model mismatch")

// Use says where a saved model is loaded.
type Use struct {
	// Interval is the backend's control interval; the model's training.step must equal it.
	Interval time.Duration
	// Kind is the forecaster kind the configuration asks for; "" or "auto" accept any kind.
	Kind string
	// Rates is the normaliser the backend applied to the trace's req/s to get the rates it
	// shows the policy: the simulator's workload normaliser, the zero value (identity) for
	// backends that observe live req/s (testbed, controller).
	Rates series.Normalizer
}

// LoadForRates loads the model in dir (LoadModel), checks it against use and returns a
// forecaster that takes and returns the backend's rates: history values are mapped into
// the units the model was trained in (the backend's normalisation undone, req/s turned into
// the model's rate unit, the manifest's normaliser applied) and every forecast quantile is
// mapped back. This is the one place where a saved model meets a backend; a mismatch of
// step or kind is an error wrapping ErrModelMismatch that names both values.
func LoadForRates(dir string, use Use) (Forecaster, Manifest, error) {
	f, m, err := LoadModel(dir)
	if err != nil {
		return nil, m, err
	}
	rf, err := ForRates(f, m, use)
	if err != nil {
		return nil, m, fmt.Errorf("load model %s: %w", dir, err)
	}
	return rf, m, nil
}

// ForRates wraps a model loaded with manifest m for use (see LoadForRates).
func ForRates(f Forecaster, m Manifest, use Use) (Forecaster, error) {
	if use.Kind != "" && use.Kind != "auto" && use.Kind != m.Kind {
		return nil, fmt.Errorf("%w: the manifest's kind is %s, the configuration asks for forecaster %s", ErrModelMismatch, m.Kind, use.Kind)
	}
	if use.Interval <= 0 {
		return nil, fmt.Errorf("control interval %s: want > 0", use.Interval)
	}
	step, err := time.ParseDuration(m.Training.Step)
	if err != nil {
		return nil, fmt.Errorf("manifest training.step %q is not a duration (the model's data resolution must be known)", m.Training.Step)
	}
	if step != use.Interval {
		return nil, fmt.Errorf("%w: the manifest's training.step is %s, the control interval is %s", ErrModelMismatch, step, use.Interval)
	}
	r := &rateModel{base: f, world: use.Rates, model: series.Identity(), perStep: 1}
	if m.Normalizer != nil {
		r.model = *m.Normalizer
	}
	switch m.RateUnit {
	case "", UnitPerStep:
		r.perStep = step.Seconds()
	case UnitPerSecond:
	default:
		return nil, fmt.Errorf("manifest rate_unit %q: want %s or %s", m.RateUnit, UnitPerStep, UnitPerSecond)
	}
	return r, nil
}

// rateModel is a loaded model seen through the backend's rates. Every map is non-decreasing,
// so the quantiles of a forecast stay ordered.
type rateModel struct {
	base    Forecaster
	world   series.Normalizer // backend rates = world.Value(req/s)
	model   series.Normalizer // model units = model.Value(training values)
	perStep float64           // training values = req/s x perStep
}

func (r *rateModel) Kind() string    { return r.base.Kind() }
func (r *rateModel) MinHistory() int { return r.base.MinHistory() }

// Fit refuses: a loaded model is trained already, and refitting it on backend rates would
// silently change what the manifest describes.
func (r *rateModel) Fit(series.Series, series.Series, FitOptions) error {
	return fmt.Errorf("model %s was loaded trained; it is not refitted", r.base.Kind())
}

func (r *rateModel) toModel(x float64) float64 {
	return r.model.Value(r.world.Invert(x) * r.perStep)
}

func (r *rateModel) toRates(q float64) float64 {
	return r.world.Value(r.model.Invert(q) / r.perStep)
}

// Predict maps history into model units, forecasts, and maps the quantiles back.
func (r *rateModel) Predict(history series.Series, h int) (Forecast, error) {
	in := history
	in.Values = make([]float64, len(history.Values))
	for i, v := range history.Values {
		in.Values[i] = r.toModel(v)
	}
	fc, err := r.base.Predict(in, h)
	if err != nil {
		return fc, err
	}
	out := Forecast{Levels: fc.Levels, Q: make([][]float64, len(fc.Q))}
	for s, row := range fc.Q {
		out.Q[s] = make([]float64, len(row))
		for k, q := range row {
			out.Q[s][k] = r.toRates(q)
		}
	}
	return out, nil
}
