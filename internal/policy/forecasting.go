package policy

import (
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

// sync appends the observation's intervals that the memory does not hold yet and returns
// how many. It goes by time, not by position: History is a bounded window (it slides once
// full) and may start with intervals the memory was built with (a controller's warm start
// is both its training history and its first Observation). An interval is new when it
// starts at or after the end of what the memory covers.
func (m *workloadMemory) sync(obs *Observation) int {
	if len(m.values) == 0 && len(obs.History) > 0 && m.start.IsZero() {
		m.start = obs.History[0].Start
	}
	if m.start.IsZero() && len(obs.History) == 0 {
		m.start = obs.Now
	}
	end := m.start.Add(time.Duration(len(m.values)) * m.step)
	added := 0
	for i := range obs.History {
		iv := &obs.History[i]
		if iv.Start.Before(end) {
			continue
		}
		if len(m.values) == 0 {
			m.start = iv.Start
		}
		m.values = append(m.values, iv.Rate)
		end = iv.Start.Add(m.step)
		added++
	}
	return added
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

// fitForecaster builds and trains a forecaster on env.History (the last quarter, at most
// valMax points, serves as validation), or loads a trained one from a model directory or a
// registry reference (DIR@champion, DIR@<digest prefix>; see registry.Resolve).
// Long histories are cut to their last fitMax points so that training stays bounded.
func fitForecaster(kind, modelDir string, params map[string]string, h series.Series, horizon int, levels []float64, seed int64) (forecast.Forecaster, error) {
	if modelDir != "" {
		dir, _, err := modelreg.Resolve(modelDir)
		if err != nil {
			return nil, fmt.Errorf("load forecaster: %w", err)
		}
		f, _, err := forecast.LoadModel(dir)
		if err != nil {
			return nil, fmt.Errorf("load forecaster: %w", err)
		}
		return f, nil
	}
	f, err := forecast.New(kind, params)
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
