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
//
// The memory is bounded: once it holds more than 2 x keepPoints(window) values the oldest
// are dropped down to keepPoints (start moves on, dropped counts them), so a controller
// that runs for months holds the same few thousand values per workload instead of growing
// by one per interval (at a 15 s interval and 1,000 autoscalers that was 46 MB a day).
// Every reader looks back at most window points (Predict), 336 (the burst overestimate) or
// 64 (the RL corrector); the idle-gap statistics learn each value before it is dropped.
type workloadMemory struct {
	values  []float64
	start   time.Time
	step    time.Duration
	seen    int // how many of the observation's History entries have been appended
	window  int // points handed to Predict (bounded so a long run stays O(1) per decision)
	dropped int // values dropped from the front since the start
}

// keepPoints is how many values a memory keeps when it trims (see workloadMemory).
func keepPoints(window int) int { return max(window, 1024) }

// trim drops the oldest values once there are more than twice keepPoints.
func (m *workloadMemory) trim() {
	keep := keepPoints(m.window)
	if len(m.values) <= 2*keep {
		return
	}
	n := len(m.values) - keep
	m.values = append(m.values[:0], m.values[n:]...)
	m.start = m.start.Add(time.Duration(n) * m.step)
	m.dropped += n
}

func newWorkloadMemory(h series.Series, step time.Duration, window int) *workloadMemory {
	return newMemory(h, step, window, false)
}

// newPointMemory is newWorkloadMemory for a policy whose forecaster was fitted on h itself:
// a history at another resolution than the interval is kept, one point per interval, right
// before the first observed interval. The model counts its seasons and lags in h's points,
// and the simulator replays a trace the same way (each point is one interval), so dropping
// it would leave the model nothing to predict from for MinHistory intervals (on the hourly
// Wikipedia traces, 76 of 149). bascaler uses it; the baselines keep newWorkloadMemory.
func newPointMemory(h series.Series, step time.Duration, window int) *workloadMemory {
	return newMemory(h, step, window, true)
}

func newMemory(h series.Series, step time.Duration, window int, perPoint bool) *workloadMemory {
	vals := make([]float64, len(h.Values), len(h.Values)+1024)
	copy(vals, h.Values)
	start := h.Start
	if h.Step != 0 && h.Step != step {
		// A history at another resolution cannot be continued by interval rates by time:
		// drop it, or (perPoint) re-anchor it at the first observation (see sync).
		if !perPoint {
			vals = vals[:0]
		}
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
	// Without a start (no history, or one re-anchored by newPointMemory) the held values
	// end right before the first observed interval.
	held := time.Duration(len(m.values)) * m.step
	if len(m.values) == 0 && len(h) > 0 && !h[0].Start.IsZero() {
		// An empty memory has nothing to align: it starts with the History. (Anchored
		// earlier, at a decision that had no data yet, it would drop the intervals a later
		// read returns from before that decision: a controller's first read of its warm
		// history after a "no data yet" step.)
		m.start = h[0].Start
	}
	if m.start.IsZero() && len(h) > 0 && !h[0].Start.IsZero() {
		m.start = h[0].Start.Add(-held)
	}
	if m.start.IsZero() && len(h) == 0 && held > 0 {
		m.start = obs.Now.Add(-held)
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
	m.trim()
	return len(h) - from
}

// backfill puts the points of h just before the memory's oldest one in front of it, up to
// keepPoints of the memory's window, so that a model swapped in with a longer window than
// the memory kept (a retrained challenger, Retrainable.Swap) predicts at its next decision
// from the same history it was judged on, instead of warming up again. h must be at the
// memory's step, aligned with it, and reach the memory's start without a gap; otherwise
// the memory is left as it is.
func (m *workloadMemory) backfill(h series.Series) {
	need := keepPoints(m.window) - len(m.values)
	if need <= 0 || m.start.IsZero() || h.Step != m.step || h.Len() == 0 {
		return
	}
	gap := m.start.Sub(h.Start)
	end := h.Start.Add(time.Duration(h.Len()) * h.Step)
	if gap <= 0 || gap%m.step != 0 || end.Before(m.start) {
		return
	}
	k := int(gap / m.step) // h's points before the memory's start
	from := max(k-need, 0)
	vals := make([]float64, 0, k-from+len(m.values)+1024)
	vals = append(append(vals, h.Values[from:k]...), m.values...)
	m.values, m.start, m.dropped = vals, m.start.Add(-time.Duration(k-from)*m.step), m.dropped-(k-from)
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
