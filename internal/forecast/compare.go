package forecast

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

// Candidate is one model kind fitted on train, calibrated on val and scored there: what
// model selection ("auto") compares.
type Candidate struct {
	Kind string
	// Model is the calibrated model; nil when Err is set.
	Model *Calibrated
	// Score is the validation mean pinball loss of FitCalibrated; NaN when Err is set.
	Score float64
	// FitSeconds is the wall time of fitting and calibrating.
	FitSeconds float64
	Err        error
}

// FitCandidate builds kind (with no parameters), fits it and calibrates it with
// FitCalibrated over at most maxOrigins validation origins (0: DefaultCalibrationOrigins).
// A kind that is not registered is an error; a model that fails to fit is a Candidate with
// Err set, so that selection can go on with the others.
func FitCandidate(kind string, train, val series.Series, opts FitOptions, maxOrigins int) (Candidate, error) {
	base, err := New(kind, nil)
	if err != nil {
		return Candidate{}, err
	}
	start := time.Now()
	m, score, err := FitCalibrated(base, train, val, opts, maxOrigins)
	c := Candidate{Kind: kind, Model: m, Score: score, FitSeconds: time.Since(start).Seconds(), Err: err}
	if err != nil {
		c.Model, c.Score = nil, math.NaN()
	}
	return c, nil
}

// SelectCandidate is auto's rule: the candidate with the lowest validation score, the first
// one on ties, never one that failed. It returns -1 when every candidate failed.
func SelectCandidate(cands []Candidate) int {
	best, bestScore := -1, math.Inf(1)
	for i, c := range cands {
		if c.Err == nil && c.Score < bestScore {
			best, bestScore = i, c.Score
		}
	}
	return best
}

// Train fits f on train and calibrates it on val, the way every trained model is made:
// an *Auto selects among its candidates (its own calibration included), any other model is
// wrapped by FitCalibrated. It returns the model to save or use and its validation score.
func Train(f Forecaster, train, val series.Series, opts FitOptions) (Forecaster, float64, error) {
	if a, ok := f.(*Auto); ok {
		if err := a.Fit(train, val, opts); err != nil {
			return nil, math.NaN(), err
		}
		return a, a.Scores[a.Selected], nil
	}
	m, score, err := FitCalibrated(f, train, val, opts, 0)
	if err != nil {
		return nil, math.NaN(), err
	}
	return m, score, nil
}

// CompareOptions control Compare.
type CompareOptions struct {
	Fit      FitOptions
	Backtest BacktestOptions
	// CalOrigins bounds the validation origins of calibration and selection (0:
	// DefaultCalibrationOrigins).
	CalOrigins int
	// Each, when set, is called before each kind is fitted (progress displays).
	Each func(kind string)
}

// Scored is one row of a comparison: a model's validation score, fit time and test scores.
type Scored struct {
	Kind string
	// Selected names the kind auto chose, in the auto row only.
	Selected   string
	ValScore   float64
	FitSeconds float64
	Test       Result
	// Err is why the model has no scores (it failed to fit, calibrate or backtest).
	Err error
}

// Comparison is the result of Compare.
type Comparison struct {
	// Models has one row per kind, in the order given.
	Models []Scored
	// Auto is the row of the kind SelectCandidate picks among them, as Kind "auto" with
	// Selected set; its FitSeconds is the time to fit every candidate (failed ones
	// included), what auto spends.
	Auto Scored
	// Origins is the number of rolling origins over the test split at the backtest's horizon.
	Origins int
}

// Compare fits and calibrates every kind on train and val, backtests each on test (rolling
// origins), and adds the row auto would give with these kinds as candidates: selection
// looks at validation only, so a selected model that then fails its backtest makes the auto
// row fail too. It fails only for an unknown kind or when no model could be fitted.
func Compare(kinds []string, train, val, test series.Series, o CompareOptions) (Comparison, error) {
	var cmp Comparison
	cands := make([]Candidate, 0, len(kinds))
	total := 0.0
	for _, kind := range kinds {
		if o.Each != nil {
			o.Each(kind)
		}
		c, err := FitCandidate(kind, train, val, o.Fit, o.CalOrigins)
		if err != nil {
			return cmp, err
		}
		cands = append(cands, c)
		row := Scored{Kind: kind, ValScore: c.Score, FitSeconds: c.FitSeconds, Err: c.Err}
		total += c.FitSeconds // auto spends the time of failed fits too
		if c.Err == nil {
			row.Test, row.Err = Backtest(c.Model, train, val, test, o.Backtest)
		}
		cmp.Models = append(cmp.Models, row)
	}
	best := SelectCandidate(cands)
	if best < 0 {
		errs := make([]error, len(cands))
		for i, c := range cands {
			errs[i] = fmt.Errorf("%s: %w", c.Kind, c.Err)
		}
		return cmp, fmt.Errorf("no model could be fitted: %w", errors.Join(errs...))
	}
	cmp.Auto = cmp.Models[best]
	cmp.Auto.Kind, cmp.Auto.Selected, cmp.Auto.FitSeconds = "auto", cands[best].Kind, total
	bt := o.Backtest
	if bt.MaxOrigins <= 0 {
		bt.MaxOrigins = DefaultBacktestOrigins
	}
	from := train.Len() + val.Len()
	cmp.Origins = len(Origins(from, from+test.Len(), bt.Horizon, max(bt.Stride, 1), bt.MaxOrigins))
	return cmp, nil
}
