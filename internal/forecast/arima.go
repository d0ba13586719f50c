package forecast

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"strconv"

	"gonum.org/v1/gonum/mat"
	"gonum.org/v1/gonum/optimize"
	"gonum.org/v1/gonum/stat/distuv"

	"github.com/bascaler/bascaler/internal/series"
)

// ARIMA window bounds: the order search and fit read the most recent arimaFitWindow points,
// and Predict rebuilds the innovations from the last arimaWarm points (enough for an
// invertible MA part to forget its zero start).
const (
	arimaFitWindow = 3000
	arimaWarm      = 200
	// arimaSeasons is K, the number of past seasons averaged into the seasonal baseline.
	arimaSeasons = 3
	// arimaMaxPeriod bounds the season the baseline may use (a day of per-minute data).
	arimaMaxPeriod = 1500
)

func init() {
	Register("arima", "ARIMA(p,d,q), d in {0,1}, fitted by conditional sum of squares, order by AIC over p<=3, q<=2, optionally on the deviation from a 3-season average; Gaussian intervals from the psi-weights; params: p=auto|N d=auto|0|1 q=auto|N season=auto|none|N",
		func(params map[string]string) (Forecaster, error) {
			if err := onlyParams(params, "p", "d", "q", "season"); err != nil {
				return nil, err
			}
			m := &ARIMA{P: -1, D: -1, Q: -1, Season: -1}
			if s, ok := params["season"]; ok && s != "auto" {
				if s == "none" {
					m.Season = 0
				} else if n, err := strconv.Atoi(s); err == nil && n >= 2 {
					m.Season = n
				} else {
					return nil, fmt.Errorf("param season=%q: want auto, none or an integer >= 2", s)
				}
			}
			for name, dst := range map[string]*int{"p": &m.P, "d": &m.D, "q": &m.Q} {
				s, ok := params[name]
				if !ok || s == "auto" {
					continue
				}
				n, err := strconv.Atoi(s)
				if err != nil || n < 0 || n > 6 || (name == "d" && n > 1) {
					return nil, fmt.Errorf("param %s=%q: want auto or a small non-negative integer (d: 0 or 1, p, q <= 6)", name, s)
				}
				*dst = n
			}
			return m, nil
		})
}

// ARIMA is the Box-Jenkins model on w = Δ^d y:
//
//	w_t = c + Σ_{i=1..p} φ_i w_{t-i} + e_t + Σ_{j=1..q} θ_j e_{t-j},
//
// with c = 0 when d = 1 (no drift: a workload does not grow without bound over a day).
// Orders left at -1 are chosen by AIC = n·ln(SSE/n) + 2k over p in 0..3, d in {0,1}, q in 0..2;
// pure AR models are fitted by least squares (the exact CSS minimiser), others by Nelder-Mead
// on the conditional sum of squares, rejecting non-stationary AR and non-invertible MA parts.
// Intervals have the h-step variance σ_t²·Σψ_j² of the MA(∞) representation, where the
// innovation sd σ_t is measured in units of the local volatility (mean |Δy| over the last
// DefaultScaleWindow points) and rescaled at Predict time, so bands follow a calmer or busier
// regime. Their shape is that of the standardised in-sample innovations (empirical
// quantiles), which keeps the skew of bursty workloads that a Gaussian would smooth away.
// With fewer than 50 innovations they are Gaussian with the in-sample σ.
//
// Seasonal series (period m from the autocorrelation, or Season) get a second candidate
// structure: the ARIMA models x_t = y_t - A_t, the deviation from the seasonal baseline
// A_t = (1/K)·Σ_{j=1..K} y_{t-j·m} (K = 3 past seasons), and the forecast adds A back.
// This is a cheap stand-in for seasonal ARIMA: the baseline carries the daily shape, the
// ARMA part the current deviation from it (a busy day stays busy). Both structures are
// scored by AIC on the same one-step errors of y.
type ARIMA struct {
	P, D, Q int // -1: choose by AIC
	Season  int // -1: detect; 0: none; m: use period m

	fit arimaFit
}

type arimaFit struct {
	Period int       `json:"period,omitempty"` // seasonal baseline period (0: none)
	K      int       `json:"k,omitempty"`      // seasons averaged into the baseline
	P      int       `json:"p"`
	D      int       `json:"d"`
	Q      int       `json:"q"`
	C      float64   `json:"c"`
	Phi    []float64 `json:"phi"`
	Theta  []float64 `json:"theta"`
	Sigma2 float64   `json:"sigma2"`
	AIC    float64   `json:"aic"`
	Levels []float64 `json:"levels"`
	// ScaledSD is the standard deviation of the innovations in units of the local
	// volatility, and Z the levels' quantiles of innovation/(ScaledSD·volatility): the
	// interval shape (skew, heavy tails) a Gaussian would miss. Empty: Gaussian with Sigma2.
	ScaledSD float64   `json:"scaled_sd,omitempty"`
	Z        []float64 `json:"z,omitempty"`
	Nonneg   bool      `json:"nonneg"`
}

// innovationQuantiles standardises f's one-step innovations on data (the series the model
// was fitted to, data[i] belonging to y[i+skip]) by the local volatility of y at each
// innovation's origin, and returns their standard deviation and the levels' quantiles of
// innovation/(sd·scale). With fewer than 50 innovations it returns 0, nil: Gaussian, unscaled.
func innovationQuantiles(f arimaFit, y []float64, skip int, data []float64, maxLag int, levels []float64) (float64, []float64) {
	w := data
	if f.D == 1 {
		w = diff(data)
	}
	t0 := maxLag - f.D
	if len(w)-t0 < 50 {
		return 0, nil
	}
	resid := make([]float64, len(w))
	f.css(w, t0, resid)
	scales := rollingScales(y, DefaultScaleWindow)
	e := resid[t0:]
	ss := 0.0
	for i := range e {
		e[i] /= scales[t0+i+f.D+skip] // w[t] is y[t+d+skip]
		ss += e[i] * e[i]
	}
	sd := math.Sqrt(ss / float64(len(e)))
	if sd == 0 {
		return 0, nil
	}
	for i := range e {
		e[i] /= sd
	}
	return sd, empiricalQuantiles(e, levels)
}

// Kind returns "arima".
func (m *ARIMA) Kind() string { return "arima" }

// MinHistory is p + d + 1 points, plus K seasons with a seasonal baseline.
func (m *ARIMA) MinHistory() int { return m.fit.K*m.fit.Period + m.fit.P + m.fit.D + 1 }

// baseline returns x_t = y_t - A_t for t >= K·m (the first K·m points have no baseline).
func baseline(y []float64, m, k int) []float64 {
	x := make([]float64, len(y)-k*m)
	for t := k * m; t < len(y); t++ {
		a := 0.0
		for j := 1; j <= k; j++ {
			a += y[t-j*m]
		}
		x[t-k*m] = y[t] - a/float64(k)
	}
	return x
}

// Period returns the seasonal baseline's period (0 without one).
func (m *ARIMA) Period() int { return m.fit.Period }

// Order returns the fitted (p, d, q) and coefficients, for reports and tests.
func (m *ARIMA) Order() (p, d, q int, c float64, phi, theta []float64) {
	f := m.fit
	return f.P, f.D, f.Q, f.C, f.Phi, f.Theta
}

func orders(fixed, lo, hi int) []int {
	if fixed >= 0 {
		return []int{fixed}
	}
	var out []int
	for i := lo; i <= hi; i++ {
		out = append(out, i)
	}
	return out
}

// Fit selects the order and estimates the coefficients on the recent training window.
func (m *ARIMA) Fit(train, _ series.Series, opts FitOptions) error {
	levels, err := fitLevels(opts)
	if err != nil {
		return fmt.Errorf("arima: %w", err)
	}
	if err := checkTrain("arima", train, 20); err != nil {
		return err
	}
	period := m.Season
	if period < 0 {
		period = detectPeriod(train.Values, train.Step, arimaMaxPeriod)
	}
	ps, ds, qs := orders(m.P, 0, 3), orders(m.D, 0, 1), orders(m.Q, 0, 2)
	maxLag := 0
	for _, p := range ps {
		for _, d := range ds {
			maxLag = max(maxLag, p+d)
		}
	}
	// Both structures are scored on the same points: the last len(y) - K·m of the window.
	skip := 0
	if period > 0 {
		skip = arimaSeasons * period
		if train.Len() < skip+maxLag+20 {
			if m.Season > 0 {
				return fmt.Errorf("arima: season=%d needs %d training points, have %d", period, skip+maxLag+20, train.Len())
			}
			period, skip = 0, 0
		}
	}
	y := tail(train.Values, arimaFitWindow+skip)
	if len(y)-skip < maxLag+20 {
		return fmt.Errorf("arima: training series has %d points, needs at least %d", len(y), skip+maxLag+20)
	}
	variants := []int{0}
	switch {
	case period > 0 && m.Season > 0:
		variants = []int{period}
	case period > 0:
		variants = []int{0, period}
	}
	best := arimaFit{AIC: math.Inf(1)}
	var bestData []float64
	for _, per := range variants {
		data := y[skip:]
		if per > 0 {
			data = baseline(y, per, arimaSeasons)
		}
		f, ok := fitARIMAGrid(data, ps, ds, qs, maxLag)
		if !ok || f.AIC >= best.AIC {
			continue
		}
		if per > 0 {
			f.Period, f.K = per, arimaSeasons
		}
		best, bestData = f, data
	}
	if math.IsInf(best.AIC, 1) {
		return errors.New("arima: no order in the grid gave a stationary, invertible fit")
	}
	best.Levels, best.Nonneg = levels, nonNegative(train.Values)
	best.ScaledSD, best.Z = innovationQuantiles(best, y, skip, bestData, maxLag, levels)
	m.fit = best
	return nil
}

// fitARIMAGrid fits every order of the grid to y and returns the lowest-AIC fit, on y's scale.
func fitARIMAGrid(y []float64, ps, ds, qs []int, maxLag int) (arimaFit, bool) {
	// Standardise so the optimiser's step sizes mean the same on any trace's scale.
	mean, sd := meanStd(y)
	if sd == 0 {
		sd = 1
	}
	z := make([]float64, len(y))
	for i, x := range y {
		z[i] = (x - mean) / sd
	}
	best := arimaFit{AIC: math.Inf(1)}
	for _, d := range ds {
		w := z
		if d == 1 {
			w = diff(z)
		}
		// Every order is scored on the same one-step errors of y: indices >= maxLag.
		t0 := maxLag - d
		for _, p := range ps {
			for _, q := range qs {
				f, ok := fitARMA(w, p, q, d == 0, t0)
				if !ok {
					continue
				}
				f.D = d
				if f.AIC < best.AIC {
					best = f
				}
			}
		}
	}
	if math.IsInf(best.AIC, 1) {
		return best, false
	}
	// Back to the data's scale: w scales by sd; for d = 0 the mean enters the intercept.
	// AIC shifts by 2n·ln(sd), so fits of differently scaled series stay comparable.
	best.Sigma2 *= sd * sd
	best.C *= sd
	best.AIC += float64(len(y)-maxLag) * math.Log(sd*sd)
	if best.D == 0 {
		sumPhi := 0.0
		for _, p := range best.Phi {
			sumPhi += p
		}
		best.C += mean * (1 - sumPhi)
	}
	return best, true
}

func meanStd(v []float64) (float64, float64) {
	mean := 0.0
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	ss := 0.0
	for _, x := range v {
		ss += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(ss / float64(len(v)))
}

func diff(v []float64) []float64 {
	out := make([]float64, len(v)-1)
	for i := range out {
		out[i] = v[i+1] - v[i]
	}
	return out
}

// fitARMA fits ARMA(p, q) (with intercept if withC) to w, scoring residuals from index t0.
func fitARMA(w []float64, p, q int, withC bool, t0 int) (arimaFit, bool) {
	n := len(w) - t0
	if n < p+q+10 {
		return arimaFit{}, false
	}
	f := arimaFit{P: p, Q: q, Phi: make([]float64, p), Theta: make([]float64, q)}
	// Least squares for the AR part: the exact CSS minimiser when q = 0, the start otherwise.
	cols := p
	if withC {
		cols++
	}
	if cols > 0 {
		x := mat.NewDense(n, cols, nil)
		yv := mat.NewVecDense(n, nil)
		for r := 0; r < n; r++ {
			t := t0 + r
			yv.SetVec(r, w[t])
			for i := 0; i < p; i++ {
				x.Set(r, i, w[t-1-i])
			}
			if withC {
				x.Set(r, p, 1)
			}
		}
		var beta mat.VecDense
		if err := beta.SolveVec(x, yv); err != nil {
			return arimaFit{}, false
		}
		for i := 0; i < p; i++ {
			f.Phi[i] = beta.AtVec(i)
		}
		if withC {
			f.C = beta.AtVec(p)
		}
	}
	resid := make([]float64, len(w))
	if q > 0 {
		np := p + q
		if withC {
			np++
		}
		x0 := make([]float64, np)
		copy(x0, f.Phi)
		if withC {
			x0[p+q] = f.C
		}
		unpack := func(x []float64) arimaFit {
			g := f
			g.Phi, g.Theta = x[:p], x[p:p+q]
			if withC {
				g.C = x[p+q]
			}
			return g
		}
		obj := func(x []float64) float64 {
			g := unpack(x)
			if !rootsInside(g.Phi, 1) || !rootsInside(g.Theta, -1) {
				return math.Inf(1)
			}
			return g.css(w, t0, resid)
		}
		res, err := optimize.Minimize(optimize.Problem{Func: obj}, x0,
			&optimize.Settings{FuncEvaluations: 150 * np}, &optimize.NelderMead{})
		if res == nil || (err != nil && math.IsInf(res.F, 0)) {
			return arimaFit{}, false
		}
		g := unpack(res.X)
		g.Phi, g.Theta = append([]float64(nil), g.Phi...), append([]float64(nil), g.Theta...)
		f = g
	}
	if !rootsInside(f.Phi, 1) || !rootsInside(f.Theta, -1) {
		return arimaFit{}, false
	}
	sse := f.css(w, t0, resid)
	if math.IsInf(sse, 0) || math.IsNaN(sse) {
		return arimaFit{}, false
	}
	k := p + q + 1
	if withC {
		k++
	}
	f.Sigma2 = sse / float64(n)
	f.AIC = float64(n)*math.Log(max(f.Sigma2, 1e-300)) + 2*float64(k)
	return f, true
}

// css returns the conditional sum of squared innovations of w from t0 (innovations before t0
// are taken as zero), storing them in resid.
func (f arimaFit) css(w []float64, t0 int, resid []float64) float64 {
	sse := 0.0
	for t := range resid[:t0] {
		resid[t] = 0
	}
	for t := t0; t < len(w); t++ {
		e := w[t] - f.C
		for i, phi := range f.Phi {
			e -= phi * w[t-1-i]
		}
		for j, th := range f.Theta {
			if t-1-j >= 0 {
				e -= th * resid[t-1-j]
			}
		}
		resid[t] = e
		sse += e * e
	}
	return sse
}

// rootsInside reports whether all roots of x^k - sign·(c_1 x^{k-1} + ... + c_k) lie strictly
// inside the unit circle: with sign = +1 and c = φ that is AR stationarity, with sign = -1 and
// c = θ MA invertibility. It uses the companion matrix's eigenvalues.
func rootsInside(c []float64, sign float64) bool {
	k := len(c)
	if k == 0 {
		return true
	}
	if k == 1 {
		return math.Abs(c[0]) < 0.999
	}
	a := mat.NewDense(k, k, nil)
	for i := 0; i < k; i++ {
		a.Set(0, i, sign*c[i])
		if i > 0 {
			a.Set(i, i-1, 1)
		}
	}
	var eig mat.Eigen
	if !eig.Factorize(a, mat.EigenNone) {
		return false
	}
	for _, v := range eig.Values(nil) {
		if cmplx.Abs(v) >= 0.999 {
			return false
		}
	}
	return true
}

// psi returns the first h weights of the MA(∞) form of the ARIMA, ψ_0 = 1.
func (f arimaFit) psi(h int) []float64 {
	// AR polynomial of y: (1 - Σφ_i B^i)(1 - B)^d, as coefficients a_i of y_{t-i}.
	ar := append([]float64(nil), f.Phi...)
	if f.D == 1 {
		a := make([]float64, len(ar)+1)
		a[0] = 1
		for i, phi := range ar {
			a[i] += phi
			a[i+1] -= phi
		}
		ar = a
	}
	psi := make([]float64, h)
	psi[0] = 1
	for j := 1; j < h; j++ {
		v := 0.0
		if j <= len(f.Theta) {
			v = f.Theta[j-1]
		}
		for i := 1; i <= min(j, len(ar)); i++ {
			v += ar[i-1] * psi[j-i]
		}
		psi[j] = v
	}
	return psi
}

// Predict forecasts recursively (future innovations zero) and adds Gaussian quantiles.
func (m *ARIMA) Predict(history series.Series, h int) (Forecast, error) {
	f := m.fit
	if f.Levels == nil {
		return Forecast{}, errors.New("arima: Predict before Fit")
	}
	warm := arimaWarm + f.P + f.D + f.Q + f.K*f.Period
	if err := checkHistory("arima", history, m.MinHistory(), history.Len(), h); err != nil {
		return Forecast{}, err
	}
	yAll := tail(history.Values, warm)
	y := yAll
	if f.Period > 0 {
		y = baseline(yAll, f.Period, f.K)
	}
	w := y
	if f.D == 1 {
		w = diff(y)
	}
	resid := make([]float64, len(w), len(w)+h)
	f.css(w, f.P, resid)
	wf := append(make([]float64, 0, len(w)+h), w...)
	for s := 0; s < h; s++ {
		t := len(wf)
		v := f.C
		for i, phi := range f.Phi {
			v += phi * wf[t-1-i]
		}
		for j, th := range f.Theta {
			// Innovations before the history's start, and all future ones, are taken as 0
			// (their expectation); a history as short as MinHistory has fewer than Q.
			if i := t - 1 - j; i >= 0 && i < len(resid) {
				v += th * resid[i]
			}
		}
		wf = append(wf, v)
	}
	psi := f.psi(h)
	fc := newForecast(f.Levels, h)
	z := make([]float64, len(f.Levels))
	for k, q := range f.Levels {
		z[k] = distuv.UnitNormal.Quantile(q)
		if len(f.Z) == len(f.Levels) && f.ScaledSD > 0 {
			z[k] = f.Z[k]
		}
	}
	innovSD := math.Sqrt(f.Sigma2)
	if len(f.Z) == len(f.Levels) && f.ScaledSD > 0 {
		innovSD = f.ScaledSD * localScale(yAll, DefaultScaleWindow)
	}
	level, acc := y[len(y)-1], 0.0
	n := len(yAll)
	for s := 0; s < h; s++ {
		point := wf[len(w)+s]
		if f.D == 1 {
			level += point
			point = level
		}
		if f.Period > 0 {
			// Add the baseline back; beyond one season ahead, the K seasons before the
			// latest observed one stand in for it.
			shift := s / f.Period
			a := 0.0
			for j := 1; j <= f.K; j++ {
				a += yAll[n+s-(j+shift)*f.Period]
			}
			point += a / float64(f.K)
		}
		acc += psi[s] * psi[s]
		sd := innovSD * math.Sqrt(acc)
		for k := range z {
			fc.Q[s][k] = point + z[k]*sd
		}
	}
	return finish(fc, f.Nonneg), nil
}

// MarshalState implements Persistable.
func (m *ARIMA) MarshalState() ([]byte, error) {
	if m.fit.Levels == nil {
		return nil, errors.New("arima: not fitted")
	}
	return json.Marshal(m.fit)
}

// UnmarshalState implements Persistable.
func (m *ARIMA) UnmarshalState(b []byte) error {
	var f arimaFit
	if err := json.Unmarshal(b, &f); err != nil {
		return err
	}
	switch {
	case f.P != len(f.Phi) || f.Q != len(f.Theta) || f.D < 0 || f.D > 1:
		return fmt.Errorf("arima state: order (%d,%d,%d) with %d AR and %d MA coefficients", f.P, f.D, f.Q, len(f.Phi), len(f.Theta))
	case f.Period < 0 || f.K < 0 || (f.Period > 0) != (f.K > 0):
		return fmt.Errorf("arima state: seasonal baseline period %d over %d seasons", f.Period, f.K)
	case !(f.Sigma2 >= 0) || checkLevels(f.Levels) != nil:
		return fmt.Errorf("arima state: sigma2 %v, levels %v", f.Sigma2, f.Levels)
	}
	m.fit = f
	return nil
}
