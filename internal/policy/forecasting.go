package policy

import (
	"errors"
	"fmt"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	modelreg "github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/series"
)

// workloadMemory is a model-driven policy's view of the workload: the history it was built
// with, extended by each completed interval as observations arrive. It only ever appends
// intervals that the Observation reports as completed, so a forecast made from it at the
// start of interval t uses data up to t-1.
type workloadMemory struct {
	values []float64
	start  time.Time
	step   time.Duration
	seen   int // how many of the observation's History entries have been appended
	window int // points handed to Predict (bounded so a long run stays O(1) per decision)
}

func newWorkloadMemory(h series.Series, step time.Duration, window int) *workloadMemory {
	vals := make([]float64, len(h.Values), len(h.Values)+1024)
	copy(vals, h.Values)
	start := h.Start
	if h.Step != 0 && h.Step != step {
		// A history at another resolution cannot be continued by interval rates; drop it.
		vals = vals[:0]
		start = time.Time{}
	}
	return &workloadMemory{values: vals, start: start, step: step, window: window}
}

// sync appends the observation's completed intervals that the memory does not hold yet and
// returns how many. Intervals are told apart by their start: a backend may show intervals
// again that the memory already has (the controller's warm history is both Env.History and
// the first Observation's History) and may keep a bounded History whose length stops
// growing, so neither the count seen so far nor the length says what is new. Observations
// without start times (hand-built in unit tests) fall back to counting.
func (m *workloadMemory) sync(obs *Observation) int {
	h := obs.History
	if len(m.values) == 0 && len(h) > 0 {
		m.start = h[0].Start
	}
	if m.start.IsZero() && len(h) == 0 {
		m.start = obs.Now
	}
	from := len(h)
	if n := len(h); n > 0 && h[n-1].Start.IsZero() {
		if m.seen > n { // a backend restarted its history: start over
			m.seen = 0
		}
		from = m.seen
	} else {
		end := m.start.Add(time.Duration(len(m.values)) * m.step)
		for from > 0 && !h[from-1].Start.Before(end) {
			from--
		}
	}
	for _, iv := range h[from:] {
		m.values = append(m.values, iv.Rate)
	}
	m.seen = len(h)
	return len(h) - from
}

// recent returns the last n points as a series (all of them if fewer).
func (m *workloadMemory) recent(n int) series.Series {
	from := max(len(m.values)-n, 0)
	return series.Series{Name: "history", Start: m.start.Add(time.Duration(from) * m.step), Step: m.step,
		Values: m.values[from:len(m.values):len(m.values)]}
}

func (m *workloadMemory) len() int { return len(m.values) }

// last returns the most recent rate (0 when empty).
func (m *workloadMemory) last() float64 {
	if len(m.values) == 0 {
		return 0
	}
	return m.values[len(m.values)-1]
}

// fitForecaster builds and trains a forecaster of the given kind on env.History (the last
// quarter, at most valMax points, serves as validation), or loads a trained one from
// modelDir: a model directory or a registry reference (DIR@champion, DIR@<digest prefix>;
// see registry.Resolve). A loaded model takes and returns the backend's rates (forecast.LoadForRates) and
// must have been trained at env.Interval and, when the forecaster parameter names a kind,
// be of that kind. Long histories are cut to their last fitMax points so that training
// stays bounded.
func fitForecaster(env Env, kind, modelDir string, horizon int, levels []float64) (forecast.Forecaster, error) {
	if modelDir != "" {
		use := forecast.Use{Interval: env.Interval, Rates: env.Normalizer}
		if _, given := env.Params["forecaster"]; given {
			use.Kind = kind
		}
		dir, _, err := modelreg.ResolveKind(modelDir, "forecaster", forecast.Kinds()...)
		switch {
		case errors.Is(err, modelreg.ErrWrongKind):
			return nil, fmt.Errorf("%w: %w", ErrModelMismatch, err)
		case err != nil:
			return nil, fmt.Errorf("%w: forecaster %w", ErrModel, err)
		}
		f, _, err := forecast.LoadForRates(dir, use)
		switch {
		case errors.Is(err, forecast.ErrModelMismatch):
			return nil, fmt.Errorf("%w: %w", ErrModelMismatch, err)
		case err != nil:
			return nil, fmt.Errorf("%w: forecaster %w", ErrModel, err)
		}
		return f, nil
	}
	h, seed := env.History, env.Seed
	f, err := forecast.New(kind, nil)
	if err != nil {
		return nil, err
	}
	const fitMax = 20000
	if h.Len() > fitMax {
		h = h.Slice(h.Len()-fitMax, h.Len())
	}
	nval := min(h.Len()/4, 5000)
	train, val := h.Slice(0, h.Len()-nval), h.Slice(h.Len()-nval, h.Len())
	if train.Len() < f.MinHistory()+horizon {
		return nil, fmt.Errorf("forecaster %s needs at least %d points of history to train, got %d", kind, f.MinHistory()+horizon, train.Len())
	}
	if err := f.Fit(train, val, forecast.FitOptions{Levels: levels, Horizon: horizon, Seed: seed}); err != nil {
		return nil, fmt.Errorf("fit forecaster %s: %w", kind, err)
	}
	return f, nil
}
