package drift

import "math"

// Summary is a run's drift scores in brief.
type Summary struct {
	// Scored counts intervals with a forecast to score; Drifting those found drifting;
	// FirstDrifting is the first one's index (-1: none).
	Scored        int `json:"scored"`
	Drifting      int `json:"drifting"`
	FirstDrifting int `json:"first_drifting"`
	// Coverage is the share of scored intervals in the central band; Pinball their mean
	// pinball loss; RelError the model's summed absolute error of the median over the naive
	// forecast's (the previous interval's value), over the scored intervals.
	Coverage float64 `json:"coverage"`
	Pinball  float64 `json:"pinball"`
	RelError float64 `json:"relative_error"`
	// MaxPSI is the largest input PSI.
	MaxPSI float64 `json:"max_psi"`
}

// Summarise sums up the scores of consecutive intervals whose values were actual.
func Summarise(actual []float64, scores []Scores) Summary {
	r := Summary{FirstDrifting: -1}
	cov, ae, ne := 0, 0.0, 0.0
	for i, d := range scores {
		if d.Scored {
			r.Scored++
			if d.Covered {
				cov++
			}
			r.Pinball += d.Pinball
			if i > 0 {
				ae += math.Abs(actual[i] - d.P50)
				ne += math.Abs(actual[i] - actual[i-1])
			}
		}
		if d.Drifting {
			r.Drifting++
			if r.FirstDrifting < 0 {
				r.FirstDrifting = i
			}
		}
		if !math.IsNaN(d.PSI) {
			r.MaxPSI = max(r.MaxPSI, d.PSI)
		}
	}
	if r.Scored > 0 {
		r.Coverage, r.Pinball = float64(cov)/float64(r.Scored), r.Pinball/float64(r.Scored)
	}
	if ne > 0 {
		r.RelError = ae / ne
	}
	return r
}
