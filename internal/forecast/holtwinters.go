package forecast

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"gonum.org/v1/gonum/optimize"

	"github.com/bascaler/bascaler/internal/series"
)

// Holt-Winters window bounds. Fitting reads the most recent hwFitWindow points (at least
// eight seasons), so a 125k-point trace fits as fast as a 10k one; Predict warms the state up
// on the last hwWarmSeasons seasons (at least hwMinWarm points), which keeps one call well under
// a millisecond even for a 1440-step daily season.
const (
	hwFitWindow   = 6000
	hwWarmSeasons = 4
	hwMinWarm     = 300
	hwMaxPeriod   = 1500 // a weekly season of per-minute data (10080) would be too slow to warm up
	hwMaxOrigins  = 1500 // in-sample forecast origins for the error quantiles
)

func init() {
	Register("holt-winters", "exponential smoothing with additive or multiplicative season and optional damped trend, fitted by Nelder-Mead on one-step SSE, chosen by AIC; params: seasonal=auto|add|mul|none trend=auto|none|damped|linear period=auto|N",
		func(p map[string]string) (Forecaster, error) {
			if err := onlyParams(p, "seasonal", "trend", "period"); err != nil {
				return nil, err
			}
			m := &HoltWinters{Seasonal: "auto", Trend: "auto"}
			if s, ok := p["seasonal"]; ok {
				if s != "auto" && s != "add" && s != "mul" && s != "none" {
					return nil, fmt.Errorf("param seasonal=%q: want auto, add, mul or none", s)
				}
				m.Seasonal = s
			}
			if s, ok := p["trend"]; ok {
				if s != "auto" && s != "none" && s != "damped" && s != "linear" {
					return nil, fmt.Errorf("param trend=%q: want auto, none, damped or linear", s)
				}
				m.Trend = s
			}
			if s, ok := p["period"]; ok && s != "auto" {
				n, err := strconv.Atoi(s)
				if err != nil || n < 2 {
					return nil, fmt.Errorf("param period=%q: want an integer >= 2 or auto", s)
				}
				m.PeriodParam = n
			}
			return m, nil
		})
}

// HoltWinters is exponential smoothing with level, optional (damped) trend and optional
// additive or multiplicative season (Hyndman & Athanasopoulos, "Forecasting: Principles and
// Practice", ch. 8). The smoothing parameters are fitted by Nelder-Mead on the one-step SSE;
// with Seasonal or Trend "auto", every combination is fitted and the lowest AIC
// (n·ln(SSE/n) + 2k) wins. Quantiles add the empirical h-step errors of the fitted model over
// the training window to the point forecast, in units of the local volatility (as in
// SeasonalNaive).
type HoltWinters struct {
	Seasonal    string // auto, add, mul, none
	Trend       string // auto, none, damped, linear ("auto" tries none and damped)
	PeriodParam int    // 0: detect

	fit hwFit
}

// hwConfig is one fitted model structure with its parameters.
type hwConfig struct {
	Mode   string  `json:"mode"`  // add, mul, none
	Trend  string  `json:"trend"` // none, damped, linear
	Period int     `json:"period"`
	Alpha  float64 `json:"alpha"`
	Beta   float64 `json:"beta"`
	Gamma  float64 `json:"gamma"`
	Phi    float64 `json:"phi"`
}

type hwFit struct {
	Config hwConfig    `json:"config"`
	AIC    float64     `json:"aic"`
	Levels []float64   `json:"levels"`
	ErrQ   [][]float64 `json:"err_q"` // in units of the local scale
	Nonneg bool        `json:"nonneg"`
}

// Kind returns "holt-winters".
func (m *HoltWinters) Kind() string { return "holt-winters" }

// MinHistory is two seasons (the state is initialised from whole seasons), or 3 points
// without a season.
func (m *HoltWinters) MinHistory() int { return m.fit.Config.minHistory() }

func (c hwConfig) minHistory() int {
	if c.Mode != "add" && c.Mode != "mul" {
		return 3
	}
	return 2 * c.Period
}

// Fitted returns the chosen structure and parameters, for reports and tests.
func (m *HoltWinters) Fitted() (mode, trend string, period int, alpha, beta, gamma, phi float64) {
	c := m.fit.Config
	return c.Mode, c.Trend, c.Period, c.Alpha, c.Beta, c.Gamma, c.Phi
}

// Fit chooses the structure by AIC and fits the smoothing parameters.
func (m *HoltWinters) Fit(train, _ series.Series, opts FitOptions) error {
	levels, err := fitLevels(opts)
	if err != nil {
		return fmt.Errorf("holt-winters: %w", err)
	}
	if err := checkTrain("holt-winters", train, 10); err != nil {
		return err
	}
	period := m.PeriodParam
	if period == 0 {
		period = detectPeriod(train.Values, train.Step, hwMaxPeriod)
	}
	window := tail(train.Values, max(hwFitWindow, 8*period))
	modes := []string{m.Seasonal}
	switch {
	case period < 2 || len(window) < 3*period:
		if m.Seasonal == "add" || m.Seasonal == "mul" {
			return fmt.Errorf("holt-winters: seasonal=%s needs a period with at least 3 seasons of training data (period %d, %d points)", m.Seasonal, period, len(window))
		}
		modes, period = []string{"none"}, 0
	case m.Seasonal == "auto":
		modes = []string{"add", "mul"}
	}
	trends := []string{m.Trend}
	if m.Trend == "auto" {
		trends = []string{"none", "damped"}
	}
	positive := true
	for _, x := range window {
		positive = positive && x > 0
	}
	best := hwFit{AIC: math.Inf(1)}
	for _, mode := range modes {
		if mode == "mul" && !positive {
			if m.Seasonal == "mul" {
				return errors.New("holt-winters: seasonal=mul needs strictly positive training values")
			}
			continue
		}
		for _, tr := range trends {
			c, aic := fitHWConfig(window, hwConfig{Mode: mode, Trend: tr, Period: period})
			if aic < best.AIC {
				best = hwFit{Config: c, AIC: aic}
			}
		}
	}
	if math.IsInf(best.AIC, 1) {
		return errors.New("holt-winters: no structure could be fitted (the one-step errors diverged)")
	}
	best.Levels, best.Nonneg = levels, nonNegative(train.Values)
	best.ErrQ = best.Config.errorQuantiles(window, max(opts.Horizon, 1), levels)
	m.fit = best
	return nil
}

// fitHWConfig fits alpha, beta, gamma, phi of structure c on v and returns it with its AIC.
func fitHWConfig(v []float64, c hwConfig) (hwConfig, float64) {
	// Unconstrained coordinates map through a logistic onto the admissible region
	// 0 < beta < alpha, 0 < gamma < 1 - alpha, 0.8 <= phi <= 0.98 (the usual restrictions).
	nx := 1
	if c.Trend != "none" {
		nx++
	}
	if c.Mode != "none" {
		nx++
	}
	if c.Trend == "damped" {
		nx++
	}
	decode := func(x []float64) hwConfig {
		d := c
		i := 0
		d.Alpha = 0.001 + 0.998*sigmoid(x[i])
		i++
		d.Beta, d.Gamma, d.Phi = 0, 0, 1
		if c.Trend != "none" {
			d.Beta = d.Alpha * sigmoid(x[i])
			i++
		}
		if c.Mode != "none" {
			d.Gamma = (1 - d.Alpha) * sigmoid(x[i])
			i++
		}
		if c.Trend == "damped" {
			d.Phi = 0.8 + 0.18*sigmoid(x[i])
		}
		return d
	}
	st := newHWState(c)
	obj := func(x []float64) float64 {
		d := decode(x)
		sse, n := d.run(v, st, nil)
		if n == 0 || math.IsNaN(sse) {
			return math.Inf(1)
		}
		return sse
	}
	x0 := make([]float64, nx)
	x0[0] = -1 // alpha ~ 0.27
	for i := 1; i < nx; i++ {
		x0[i] = -2
	}
	res, err := optimize.Minimize(optimize.Problem{Func: obj}, x0,
		&optimize.Settings{FuncEvaluations: 120 * nx}, &optimize.NelderMead{})
	var best []float64
	switch {
	case res != nil && !math.IsInf(res.F, 0):
		best = res.X
	case err == nil:
		best = x0
	default:
		return c, math.Inf(1)
	}
	d := decode(best)
	sse, n := d.run(v, st, nil)
	if n == 0 || math.IsInf(sse, 0) || math.IsNaN(sse) {
		return d, math.Inf(1)
	}
	k := float64(nx + 1) // smoothing parameters plus the initial state, counted as one
	if c.Mode != "none" {
		k += float64(c.Period) // the initial seasonal indices are estimated too
	}
	return d, float64(n)*math.Log(max(sse, 1e-300)/float64(n)) + 2*k
}

func sigmoid(x float64) float64 { return 1 / (1 + math.Exp(-x)) }

// hwState is the filter's state: level, trend and the circular buffer of seasonal indices.
type hwState struct {
	l, b float64
	s    []float64
}

func newHWState(c hwConfig) *hwState {
	return &hwState{s: make([]float64, max(c.Period, 1))}
}

// init sets the state from the first whole seasons of v (at most three) and returns the index
// where filtering starts. Without a season: level v[0], trend the mean early slope.
func (c hwConfig) init(v []float64, st *hwState) int {
	if c.Mode == "none" {
		k := min(10, len(v)-1)
		st.l, st.b = v[0], 0
		if c.Trend != "none" && k > 0 {
			st.b = (v[k] - v[0]) / float64(k)
		}
		return 1
	}
	m := c.Period
	k := min(len(v)/m, 3)
	means := make([]float64, k)
	for j := range means {
		sum := 0.0
		for _, x := range v[j*m : (j+1)*m] {
			sum += x
		}
		means[j] = sum / float64(m)
	}
	st.b = 0
	if c.Trend != "none" && k > 1 {
		st.b = (means[k-1] - means[0]) / float64((k-1)*m)
	}
	// The first season's mean belongs to its middle; the state is needed at its end.
	st.l = means[0] + st.b*float64(m-1)/2
	for i := 0; i < m; i++ {
		acc := 0.0
		for j := 0; j < k; j++ {
			if c.Mode == "mul" {
				acc += v[j*m+i] / means[j]
			} else {
				acc += v[j*m+i] - means[j]
			}
		}
		st.s[i] = acc / float64(k)
	}
	return m
}

// run initialises st from v and filters through v, returning the one-step SSE and how many
// errors it sums. visit, if non-nil, is called before each update with the index about to be
// filtered (so the state is the forecast origin for index t). A diverging filter returns +Inf.
func (c hwConfig) run(v []float64, st *hwState, visit func(t int)) (float64, int) {
	t0 := c.init(v, st)
	m := max(c.Period, 1)
	sse, n := 0.0, 0
	scale := 0.0
	for _, x := range v[:t0] {
		scale = max(scale, math.Abs(x))
	}
	limit := 1e6 * (scale + 1)
	for t := t0; t < len(v); t++ {
		if visit != nil {
			visit(t)
		}
		y := v[t]
		i := t % m
		lb := st.l + c.Phi*st.b
		var yhat float64
		switch c.Mode {
		case "add":
			yhat = lb + st.s[i]
		case "mul":
			yhat = lb * st.s[i]
		default:
			yhat = lb
		}
		e := y - yhat
		sse += e * e
		n++
		if math.Abs(e) > limit || math.IsNaN(e) {
			return math.Inf(1), n
		}
		prevL := st.l
		switch c.Mode {
		case "add":
			st.l = c.Alpha*(y-st.s[i]) + (1-c.Alpha)*lb
			st.s[i] = c.Gamma*(y-st.l) + (1-c.Gamma)*st.s[i]
		case "mul":
			if st.s[i] <= 0 {
				return math.Inf(1), n
			}
			st.l = c.Alpha*(y/st.s[i]) + (1-c.Alpha)*lb
			if st.l <= 0 {
				return math.Inf(1), n
			}
			st.s[i] = c.Gamma*(y/st.l) + (1-c.Gamma)*st.s[i]
		default:
			st.l = c.Alpha*y + (1-c.Alpha)*lb
		}
		st.b = c.Beta*(st.l-prevL) + (1-c.Beta)*c.Phi*st.b
	}
	return sse, n
}

// point returns the h-step forecast (h >= 1) from state st at origin t (the index of the
// first forecast step).
func (c hwConfig) point(st *hwState, t, h int) float64 {
	damp, p := 0.0, 1.0
	for j := 0; j < h; j++ {
		p *= c.Phi
		damp += p
	}
	lb := st.l + damp*st.b
	m := max(c.Period, 1)
	i := (t + h - 1) % m
	switch c.Mode {
	case "add":
		return lb + st.s[i]
	case "mul":
		return lb * st.s[i]
	}
	return lb
}

// errorQuantiles filters through v and collects the h-step errors at up to hwMaxOrigins
// origins after a burn-in of two seasons, one quantile row per step.
func (c hwConfig) errorQuantiles(v []float64, h int, levels []float64) [][]float64 {
	burn := max(2*max(c.Period, 1), 20)
	last := len(v) - h
	stride := max(1, (last-burn)/hwMaxOrigins)
	errs := make([][]float64, h)
	st := newHWState(c)
	scales := rollingScales(v, DefaultScaleWindow)
	c.run(v, st, func(t int) {
		if t < burn || t > last || (t-burn)%stride != 0 {
			return
		}
		for s := 0; s < h; s++ {
			errs[s] = append(errs[s], (v[t+s]-c.point(st, t, s+1))/scales[t])
		}
	})
	out := make([][]float64, h)
	for s := range out {
		if len(errs[s]) == 0 {
			out[s] = make([]float64, len(levels))
			continue
		}
		out[s] = empiricalQuantiles(errs[s], levels)
	}
	return out
}

// Predict warms the filter up on the recent history and adds the error quantiles to the point
// forecasts.
func (m *HoltWinters) Predict(history series.Series, h int) (Forecast, error) {
	c := m.fit.Config
	if m.fit.ErrQ == nil {
		return Forecast{}, errors.New("holt-winters: Predict before Fit")
	}
	warm := max(hwWarmSeasons*max(c.Period, 1), hwMinWarm)
	if err := checkHistory("holt-winters", history, c.minHistory(), history.Len(), h); err != nil {
		return Forecast{}, err
	}
	n := history.Len()
	from := max(0, n-warm)
	if c.Period > 0 {
		// Keep the window aligned to the season, so index t of the window has phase t % m
		// relative to a multiple of m before the window start.
		from = n - ((n-from)/c.Period)*c.Period
	}
	v := history.Values[from:]
	st := newHWState(c)
	if sse, _ := c.run(v, st, nil); math.IsInf(sse, 1) {
		return Forecast{}, fmt.Errorf("holt-winters: the filter diverged on the history ending at index %d", n-1)
	}
	fc := newForecast(m.fit.Levels, h)
	scale := localScale(v, DefaultScaleWindow)
	for s := 0; s < h; s++ {
		point := c.point(st, len(v), s+1)
		eq := m.fit.ErrQ[min(s, len(m.fit.ErrQ)-1)]
		for k := range eq {
			fc.Q[s][k] = point + scale*eq[k]
		}
	}
	return finish(fc, m.fit.Nonneg), nil
}

// MarshalState implements Persistable.
func (m *HoltWinters) MarshalState() ([]byte, error) {
	if m.fit.ErrQ == nil {
		return nil, errors.New("holt-winters: not fitted")
	}
	return json.Marshal(m.fit)
}

// UnmarshalState implements Persistable.
func (m *HoltWinters) UnmarshalState(b []byte) error {
	var f hwFit
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	c := f.Config
	switch {
	case c.Mode != "add" && c.Mode != "mul" && c.Mode != "none":
		return fmt.Errorf("holt-winters state: mode %q", c.Mode)
	case c.Mode != "none" && c.Period < 2:
		return fmt.Errorf("holt-winters state: period %d", c.Period)
	case len(f.ErrQ) == 0 || checkLevels(f.Levels) != nil:
		return fmt.Errorf("holt-winters state: %d error rows, levels %v", len(f.ErrQ), f.Levels)
	}
	for s, row := range f.ErrQ {
		if len(row) != len(f.Levels) {
			return fmt.Errorf("holt-winters state: error row %d has %d values for %d levels", s, len(row), len(f.Levels))
		}
	}
	m.fit = f
	return nil
}
