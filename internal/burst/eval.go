package burst

import (
	"fmt"
	"math"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/series"
)

// IssueForecasts runs a fitted forecaster along s: entry i-from of the result is the h-step
// forecast issued once interval i was observed (from the history s[:i+1]), for i in
// [from, to). Where the history is shorter than the model's MinHistory, or than minHistory,
// the entry is empty.
func IssueForecasts(f forecast.Forecaster, s series.Series, from, to, h, minHistory int) ([]forecast.Forecast, error) {
	if from < 0 || to > s.Len() || from > to {
		return nil, fmt.Errorf("issue forecasts: range [%d, %d) outside a series of %d points", from, to, s.Len())
	}
	out := make([]forecast.Forecast, to-from)
	for i := from; i < to; i++ {
		if i+1 < f.MinHistory() || i+1 < minHistory {
			continue
		}
		fc, err := f.Predict(s.Slice(0, i+1), h)
		if err != nil {
			return nil, fmt.Errorf("forecast after interval %d: %w", i, err)
		}
		out[i-from] = fc
	}
	return out, nil
}

// EvalOptions configure Evaluate. Zero fields take the defaults in brackets.
type EvalOptions struct {
	// Workloads are synthetic presets with labelled bursts
	// [bursty-day, flash-crowd, spikes, weekly].
	Workloads []string
	// Seeds generate one series per workload and seed [1..5].
	Seeds []int64
	// Forecaster is the forecast model kind [arima].
	Forecaster string
	// Horizon is the number of steps each forecast covers [24, the paper's].
	Horizon int
	// TrainShare is the leading share of each series the forecaster and the detectors are
	// fitted on [0.4]; detection is scored on the rest.
	TrainShare float64
	// Detectors to compare [all of Names()].
	Detectors []string
	// Peak, when set, replaces the peak multiplier range of every preset's flash crowds and
	// spikes (e.g. {1.3, 1.8} for bursts much gentler than the presets' 2-5x).
	Peak [2]float64
	// Warmup is the history a forecast needs at least [24 points]: a model's first
	// forecasts from a handful of points are noise, not evidence.
	Warmup int
}

// DefaultEvalWorkloads are the synthetic presets that carry labelled bursts.
var DefaultEvalWorkloads = []string{"bursty-day", "flash-crowd", "spikes", "weekly"}

func (o EvalOptions) withDefaults() EvalOptions {
	if len(o.Workloads) == 0 {
		o.Workloads = DefaultEvalWorkloads
	}
	if len(o.Seeds) == 0 {
		o.Seeds = []int64{1, 2, 3, 4, 5}
	}
	if o.Forecaster == "" {
		o.Forecaster = "arima"
	}
	if o.Horizon == 0 {
		o.Horizon = 24
	}
	if o.TrainShare == 0 {
		o.TrainShare = 0.4
	}
	if len(o.Detectors) == 0 {
		o.Detectors = Names()
	}
	if o.Warmup == 0 {
		o.Warmup = 24
	}
	return o
}

// EvalResult holds one Score per detector, in the order of EvalOptions.Detectors.
type EvalResult struct {
	Options EvalOptions
	Scores  []Score
	Series  int // series evaluated
}

// Evaluate measures the detectors on synthetic workloads with labelled bursts. For each
// workload and seed: the series is split chronologically; the forecaster is fitted on the
// first TrainShare (its last quarter as validation); forecasts are issued after every
// interval from the history so far; each detector is calibrated on the training part, then
// run causally over the whole series (so it is warm when scoring starts) and scored on the
// rest. progress, when non-nil, is called after each series.
func Evaluate(o EvalOptions, progress func(done, total int)) (EvalResult, error) {
	o = o.withDefaults()
	if !(o.TrainShare > 0 && o.TrainShare < 1) {
		return EvalResult{}, fmt.Errorf("burst eval: train share must be in (0, 1), got %g", o.TrainShare)
	}
	if o.Horizon < 1 {
		return EvalResult{}, fmt.Errorf("burst eval: horizon must be >= 1, got %d", o.Horizon)
	}
	for _, name := range o.Detectors {
		if _, err := New(name); err != nil {
			return EvalResult{}, err
		}
	}
	res := EvalResult{Options: o, Scores: make([]Score, len(o.Detectors))}
	total := len(o.Workloads) * len(o.Seeds)
	for _, w := range o.Workloads {
		for _, seed := range o.Seeds {
			so, err := series.PresetOptions(w)
			if err != nil {
				return EvalResult{}, err
			}
			so.Seed = seed
			if o.Peak != [2]float64{} {
				so.FlashPeak, so.SpikePeak = o.Peak, o.Peak
			}
			s, err := series.Synthetic(so)
			if err != nil {
				return EvalResult{}, fmt.Errorf("burst eval on %s seed %d: %w", w, seed, err)
			}
			scores, err := evalSeries(s, o, seed)
			if err != nil {
				return EvalResult{}, fmt.Errorf("burst eval on %s seed %d: %w", w, seed, err)
			}
			for i := range scores {
				res.Scores[i].Merge(scores[i])
			}
			res.Series++
			if progress != nil {
				progress(res.Series, total)
			}
		}
	}
	return res, nil
}

func evalSeries(s series.Series, o EvalOptions, seed int64) ([]Score, error) {
	n := s.Len()
	n0 := int(math.Round(o.TrainShare * float64(n)))
	nFit := n0 * 3 / 4
	f, err := forecast.New(o.Forecaster, nil)
	if err != nil {
		return nil, err
	}
	if err := f.Fit(s.Slice(0, nFit), s.Slice(nFit, n0), forecast.FitOptions{Horizon: o.Horizon, Seed: seed}); err != nil {
		return nil, fmt.Errorf("fit %s: %w", o.Forecaster, err)
	}
	fcs, err := IssueForecasts(f, s, 0, n, o.Horizon, o.Warmup)
	if err != nil {
		return nil, err
	}
	whole := Trace{Values: s.Values, Forecasts: fcs}
	train := Trace{Values: s.Values[:n0], Forecasts: fcs[:n0]}
	out := make([]Score, len(o.Detectors))
	for i, name := range o.Detectors {
		d, _ := New(name)
		if err := d.Calibrate(train); err != nil {
			return nil, err
		}
		states, err := Run(d, whole)
		if err != nil {
			return nil, err
		}
		out[i].Add(Episodes(states), s.Bursts, n0, n-n0)
	}
	return out, nil
}
