package forecast

import (
	"encoding/json"
	"fmt"
	"strconv"

	"github.com/bascaler/bascaler/internal/series"
)

// maxNaiveTrain bounds the training window of the naive models: their error quantiles come
// from the most recent maxNaiveTrain points, so fitting stays O(window) on huge traces.
const maxNaiveTrain = 20000

func init() {
	Register("naive", "last value; quantiles from the training distribution of h-step changes",
		func(p map[string]string) (Forecaster, error) {
			if err := onlyParams(p); err != nil {
				return nil, err
			}
			return &SeasonalNaive{kind: "naive", Period: 1, fixed: true}, nil
		})
	Register("seasonal-naive", "value one season ago (period from the autocorrelation: day or week; naive without seasonality); params: period=N",
		func(p map[string]string) (Forecaster, error) {
			if err := onlyParams(p, "period"); err != nil {
				return nil, err
			}
			m := &SeasonalNaive{kind: "seasonal-naive"}
			if s, ok := p["period"]; ok && s != "auto" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 1 {
					return nil, fmt.Errorf("param period=%q: want a positive integer or auto", s)
				}
				m.Period, m.fixed = n, true
			}
			return m, nil
		})
}

// onlyParams rejects parameters outside allowed, naming the first unknown one.
func onlyParams(p map[string]string, allowed ...string) error {
	for k := range p {
		ok := false
		for _, a := range allowed {
			ok = ok || k == a
		}
		if !ok {
			return fmt.Errorf("unknown param %q (valid: %v)", k, allowed)
		}
	}
	return nil
}

// SeasonalNaive forecasts the value one season earlier: step s (0-based) ahead of the last
// point t is y[t+s+1-m*k] with k the smallest whole number of seasons that lands in the
// history. With Period 1 it is the naive forecast (last value). Its quantiles add to that
// point the empirical quantiles of the same forecast's errors over the training window, one
// distribution per horizon step. The errors are measured in units of the local volatility at
// their forecast origin (mean |Δy| over the last DefaultScaleWindow points) and rescaled by
// the volatility of the history at Predict time, so the band widens in a busy, noisy regime
// and narrows in a calm one instead of keeping the training period's average width.
type SeasonalNaive struct {
	kind string
	// Period is the season in steps (1 = no seasonality). Detected by Fit unless fixed.
	Period int
	fixed  bool

	levels []float64
	errQ   [][]float64 // errQ[s][k]: Levels[k] quantile of the step-s error, in units of the local scale
	nonneg bool
}

type seasonalNaiveState struct {
	Period int         `json:"period"`
	Levels []float64   `json:"levels"`
	ErrQ   [][]float64 `json:"err_q"` // in units of the local scale
	Nonneg bool        `json:"nonneg"`
}

// Kind returns "naive" or "seasonal-naive".
func (m *SeasonalNaive) Kind() string { return m.kind }

// MinHistory is one season, and at least two points (one change, for the local scale).
func (m *SeasonalNaive) MinHistory() int { return max(m.Period, 2) }

// Fit detects the period (seasonal-naive) and the error quantiles.
func (m *SeasonalNaive) Fit(train, _ series.Series, opts FitOptions) error {
	levels, err := fitLevels(opts)
	if err != nil {
		return fmt.Errorf("%s: %w", m.kind, err)
	}
	if err := checkTrain(m.kind, train, 2); err != nil {
		return err
	}
	if !m.fixed {
		m.Period = max(DetectPeriod(train.Values, train.Step), 1)
	}
	h := max(opts.Horizon, 1)
	v := tail(train.Values, maxNaiveTrain)
	if len(v) <= m.Period {
		return fmt.Errorf("%s: training series has %d points, needs more than the period %d", m.kind, len(v), m.Period)
	}
	m.levels, m.nonneg = levels, nonNegative(train.Values)
	m.errQ = make([][]float64, h)
	errs := make([]float64, 0, len(v))
	scales := rollingScales(v, DefaultScaleWindow)
	for s := 0; s < h; s++ {
		back := m.Period * (s/m.Period + 1) // distance from target to the value it copies
		errs = errs[:0]
		for t := max(back, s+2); t < len(v); t++ {
			errs = append(errs, (v[t]-v[t-back])/scales[t-s]) // scaled at the forecast origin
		}
		if len(errs) == 0 && s > 0 {
			m.errQ[s] = m.errQ[s-1]
			continue
		}
		m.errQ[s] = empiricalQuantiles(errs, levels)
	}
	return nil
}

// Predict copies the last season and adds the error quantiles.
func (m *SeasonalNaive) Predict(history series.Series, h int) (Forecast, error) {
	if m.errQ == nil {
		return Forecast{}, fmt.Errorf("%s: Predict before Fit", m.kind)
	}
	p := max(m.Period, 1)
	if err := checkHistory(m.kind, history, m.MinHistory(), history.Len(), h); err != nil {
		return Forecast{}, err
	}
	v := history.Values
	n := len(v)
	fc := newForecast(m.levels, h)
	scale := localScale(v, DefaultScaleWindow)
	for s := 0; s < h; s++ {
		back := p * (s/p + 1)
		point := v[n+s-back]
		eq := m.errQ[min(s, len(m.errQ)-1)]
		for k := range m.levels {
			fc.Q[s][k] = point + scale*eq[k]
		}
	}
	return finish(fc, m.nonneg), nil
}

// MarshalState implements Persistable.
func (m *SeasonalNaive) MarshalState() ([]byte, error) {
	if m.errQ == nil {
		return nil, fmt.Errorf("%s: not fitted", m.kind)
	}
	return json.Marshal(seasonalNaiveState{Period: m.Period, Levels: m.levels, ErrQ: m.errQ, Nonneg: m.nonneg})
}

// UnmarshalState implements Persistable.
func (m *SeasonalNaive) UnmarshalState(b []byte) error {
	var st seasonalNaiveState
	if err := json.Unmarshal(b, &st); err != nil {
		return err
	}
	if st.Period < 1 || len(st.ErrQ) == 0 || checkLevels(st.Levels) != nil {
		return fmt.Errorf("%s state: period %d, %d error rows, levels %v", m.kind, st.Period, len(st.ErrQ), st.Levels)
	}
	for s, row := range st.ErrQ {
		if len(row) != len(st.Levels) {
			return fmt.Errorf("%s state: error row %d has %d values for %d levels", m.kind, s, len(row), len(st.Levels))
		}
	}
	m.Period, m.levels, m.errQ, m.nonneg = st.Period, st.Levels, st.ErrQ, st.Nonneg
	return nil
}
