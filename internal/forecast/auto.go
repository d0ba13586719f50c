package forecast

import (
	"errors"
	"fmt"
	"strings"

	"github.com/bascaler/bascaler/internal/series"
)

// DefaultAutoCandidates are the kinds auto chooses among unless told otherwise.
var DefaultAutoCandidates = []string{"naive", "seasonal-naive", "holt-winters", "arima"}

func init() {
	Register("auto", "fits every candidate on train and keeps the one with the lowest validation pinball loss (see FitCalibrated); params: candidates=k1+k2+...",
		func(p map[string]string) (Forecaster, error) {
			if err := onlyParams(p, "candidates"); err != nil {
				return nil, err
			}
			a := &Auto{Candidates: DefaultAutoCandidates}
			if s, ok := p["candidates"]; ok {
				a.Candidates = strings.FieldsFunc(s, func(r rune) bool { return r == '+' || r == ',' })
				for _, k := range a.Candidates {
					if k == "auto" {
						return nil, errors.New("param candidates: auto cannot choose itself")
					}
				}
			}
			return a, nil
		})
}

// Auto is per-trace model selection: Fit fits and calibrates every candidate (FitCandidate)
// and keeps the one SelectCandidate picks, the lowest validation score. It does not refit
// the winner on train+val: the conformal calibration needs validation data the model was
// not fitted on, and the classic models read the whole recent history at Predict time
// anyway.
type Auto struct {
	Candidates []string
	// MaxOrigins bounds the validation origins of calibration and selection (0:
	// DefaultCalibrationOrigins).
	MaxOrigins int
	// Selected is the winning kind after Fit; Scores holds every candidate's validation
	// score (NaN for candidates that failed to fit, with the reason in Errors).
	Selected string
	Scores   map[string]float64
	Errors   map[string]error
	Model    *Calibrated
}

// Kind returns "auto".
func (a *Auto) Kind() string { return "auto" }

// MinHistory is the selected model's.
func (a *Auto) MinHistory() int {
	if a.Model == nil {
		return 1
	}
	return a.Model.MinHistory()
}

// Fit selects and fits the best candidate.
func (a *Auto) Fit(train, val series.Series, opts FitOptions) error {
	a.Scores, a.Errors = map[string]float64{}, map[string]error{}
	a.Model, a.Selected = nil, ""
	cands := make([]Candidate, 0, len(a.Candidates))
	for _, kind := range a.Candidates {
		c, err := FitCandidate(kind, train, val, opts, a.MaxOrigins)
		if err != nil {
			return fmt.Errorf("auto: %w", err)
		}
		a.Scores[kind] = c.Score
		if c.Err != nil {
			a.Errors[kind] = c.Err
		}
		cands = append(cands, c)
	}
	best := SelectCandidate(cands)
	if best < 0 {
		return fmt.Errorf("auto: no candidate could be fitted: %v", errors.Join(mapValues(a.Errors)...))
	}
	a.Model, a.Selected = cands[best].Model, cands[best].Kind
	return nil
}

func mapValues(m map[string]error) []error {
	var out []error
	for _, e := range m {
		out = append(out, e)
	}
	return out
}

// Predict uses the selected model.
func (a *Auto) Predict(history series.Series, h int) (Forecast, error) {
	if a.Model == nil {
		return Forecast{}, errors.New("auto: Predict before Fit")
	}
	return a.Model.Predict(history, h)
}
