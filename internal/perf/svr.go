package perf

import (
	"fmt"
	"math"
)

// Kernel names the kernel function of an SVR.
type Kernel int

// The kernels an SVR can use.
const (
	// RBF is the Gaussian kernel K(a,b) = exp(-gamma*|a-b|^2) on standardised features.
	RBF Kernel = iota
	// Linear is the inner product K(a,b) = a.b on standardised features.
	Linear
)

// String returns "rbf" or "linear".
func (k Kernel) String() string {
	if k == Linear {
		return "linear"
	}
	return "rbf"
}

// ParseKernel parses "rbf" or "linear".
func ParseKernel(s string) (Kernel, error) {
	switch s {
	case "rbf", "":
		return RBF, nil
	case "linear":
		return Linear, nil
	}
	return RBF, fmt.Errorf("unknown SVR kernel %q (valid: rbf, linear)", s)
}

// SVRParams are the hyper-parameters of an ε-SVR. Features and target are standardised
// (z-scored) before training, so Epsilon and Gamma are in standard-deviation units and one
// set of defaults suits latency in ms, CPU in % and load in req/s alike.
type SVRParams struct {
	Kernel Kernel
	// C bounds each dual variable: how much a point outside the tube may pull the fit.
	// Default 100 (the BAScaler paper's value).
	C float64
	// Epsilon is the half-width of the insensitive tube, in units of the target's standard
	// deviation. It is used as given (zero is a valid tube); DefaultSVRParams sets 0.1, the
	// paper's value.
	Epsilon float64
	// Gamma is the RBF width; 0 means 1/number-of-features. Ignored by Linear.
	Gamma float64
	// Tol is the stopping tolerance on the maximal KKT violation (m(α)-M(α) of Fan, Chen and
	// Lin 2005). Default 1e-3.
	Tol float64
	// MaxIter caps the SMO iterations; 0 means max(100000, 100*2n). A capped run still
	// returns a usable model with Converged false.
	MaxIter int
}

func (p SVRParams) withDefaults(features int) SVRParams {
	if p.C == 0 {
		p.C = 100
	}
	if p.Gamma == 0 {
		p.Gamma = 1 / float64(features)
	}
	if p.Tol == 0 {
		p.Tol = 1e-3
	}
	return p
}

// DefaultSVRParams returns the BAScaler paper's setting: RBF kernel, C=100, ε=0.1, γ=1/features.
func DefaultSVRParams() SVRParams { return SVRParams{Kernel: RBF, C: 100, Epsilon: 0.1} }

func (p SVRParams) validate() error {
	if !(p.C > 0) || math.IsInf(p.C, 0) {
		return fmt.Errorf("SVR: C must be positive and finite, got %g", p.C)
	}
	if !(p.Epsilon >= 0) || math.IsInf(p.Epsilon, 0) {
		return fmt.Errorf("SVR: epsilon must be non-negative and finite, got %g", p.Epsilon)
	}
	if p.Kernel == RBF && (!(p.Gamma > 0) || math.IsInf(p.Gamma, 0)) {
		return fmt.Errorf("SVR: gamma must be positive and finite, got %g", p.Gamma)
	}
	if !(p.Tol > 0) {
		return fmt.Errorf("SVR: tolerance must be positive, got %g", p.Tol)
	}
	if p.Kernel != RBF && p.Kernel != Linear {
		return fmt.Errorf("SVR: unknown kernel %d", p.Kernel)
	}
	return nil
}

// SVR is a trained ε-support-vector regression model. It is immutable after training and
// safe for concurrent Predict calls.
type SVR struct {
	params       SVRParams
	xMean, xStd  []float64
	yMean, yStd  float64
	sv           [][]float64 // standardised support vectors
	coef         []float64   // α_i - α*_i of each support vector
	rho          float64     // f(x) = Σ coef_i K(sv_i, x) - rho, in standardised target units
	iterations   int
	converged    bool
	trainingSize int
}

// Params returns the hyper-parameters the model was trained with (defaults filled in).
func (m *SVR) Params() SVRParams { return m.params }

// NumFeatures is the length of the feature vectors Predict takes.
func (m *SVR) NumFeatures() int { return len(m.xMean) }

// SupportVectors is the number of training points with a non-zero dual coefficient.
func (m *SVR) SupportVectors() int { return len(m.sv) }

// Iterations is the number of SMO iterations the training took.
func (m *SVR) Iterations() int { return m.iterations }

// Converged reports whether SMO met the tolerance before MaxIter.
func (m *SVR) Converged() bool { return m.converged }

// Predict returns the model's prediction for one feature vector, in the target's units.
func (m *SVR) Predict(x []float64) (float64, error) {
	if len(x) != len(m.xMean) {
		return 0, fmt.Errorf("SVR predict: got %d features, the model has %d", len(x), len(m.xMean))
	}
	var buf [8]float64
	z := buf[:0]
	for j, v := range x {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, fmt.Errorf("SVR predict: feature %d is %g", j, v)
		}
		z = append(z, (v-m.xMean[j])/m.xStd[j])
	}
	s := -m.rho
	for i, sv := range m.sv {
		s += m.coef[i] * kernel(m.params, sv, z)
	}
	return m.yMean + m.yStd*s, nil
}

// Predict1 is Predict for a model with one feature (load -> latency). It returns NaN when
// the model has more than one feature or x is not finite.
func (m *SVR) Predict1(x float64) float64 {
	v, err := m.Predict([]float64{x})
	if err != nil {
		return math.NaN()
	}
	return v
}

func kernel(p SVRParams, a, b []float64) float64 {
	if p.Kernel == Linear {
		s := 0.0
		for k := range a {
			s += a[k] * b[k]
		}
		return s
	}
	d := 0.0
	for k := range a {
		t := a[k] - b[k]
		d += t * t
	}
	return math.Exp(-p.Gamma * d)
}

// scaled is a training set after standardisation.
type scaled struct {
	x           [][]float64
	z           []float64
	xMean, xStd []float64
	yMean, yStd float64
}

// checkData validates a training set: equal lengths, finite values, rectangular, and no
// constant feature (it cannot be standardised and carries no information).
func checkData(x [][]float64, y []float64) error {
	if len(x) == 0 {
		return fmt.Errorf("SVR: no training points")
	}
	if len(x) != len(y) {
		return fmt.Errorf("SVR: %d feature rows but %d targets", len(x), len(y))
	}
	nf := len(x[0])
	if nf == 0 {
		return fmt.Errorf("SVR: training points have no features")
	}
	for i, row := range x {
		if len(row) != nf {
			return fmt.Errorf("SVR: training point %d has %d features, point 1 has %d", i+1, len(row), nf)
		}
		for j, v := range row {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return fmt.Errorf("SVR: training point %d feature %d is %g", i+1, j+1, v)
			}
		}
		if math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return fmt.Errorf("SVR: training point %d target is %g", i+1, y[i])
		}
	}
	return nil
}

func standardise(x [][]float64, y []float64) (*scaled, error) {
	if err := checkData(x, y); err != nil {
		return nil, err
	}
	n, nf := len(x), len(x[0])
	s := &scaled{xMean: make([]float64, nf), xStd: make([]float64, nf)}
	for j := 0; j < nf; j++ {
		mean, sd := meanStd(n, func(i int) float64 { return x[i][j] })
		if sd == 0 {
			return nil, fmt.Errorf("SVR: feature %d is constant (%g at every point): it cannot be standardised", j+1, x[0][j])
		}
		s.xMean[j], s.xStd[j] = mean, sd
	}
	s.yMean, s.yStd = meanStd(n, func(i int) float64 { return y[i] })
	if s.yStd == 0 {
		s.yStd = 1 // a constant target is fine: the fit is that constant
	}
	s.x = make([][]float64, n)
	s.z = make([]float64, n)
	for i := range x {
		row := make([]float64, nf)
		for j := range row {
			row[j] = (x[i][j] - s.xMean[j]) / s.xStd[j]
		}
		s.x[i] = row
		s.z[i] = (y[i] - s.yMean) / s.yStd
	}
	return s, nil
}

func meanStd(n int, at func(int) float64) (mean, sd float64) {
	for i := 0; i < n; i++ {
		mean += at(i)
	}
	mean /= float64(n)
	for i := 0; i < n; i++ {
		d := at(i) - mean
		sd += d * d
	}
	sd = math.Sqrt(sd / float64(n))
	// Treat a spread at rounding level as none, so that 1e-17 jitter is not blown up.
	if sd <= 1e-12*math.Max(1, math.Abs(mean)) {
		sd = 0
	}
	return mean, sd
}

// gram returns the kernel matrix of the standardised points, row-major.
func gram(p SVRParams, x [][]float64) []float64 {
	n := len(x)
	k := make([]float64, n*n)
	for i := 0; i < n; i++ {
		k[i*n+i] = kernel(p, x[i], x[i])
		for j := 0; j < i; j++ {
			v := kernel(p, x[i], x[j])
			k[i*n+j] = v
			k[j*n+i] = v
		}
	}
	return k
}

// FitSVR trains an ε-SVR on x (one row per point) and y. Zero C, Gamma, Tol and MaxIter take
// the documented defaults; Epsilon is used as given. It fails on empty, ragged or non-finite data and on a constant
// feature.
func FitSVR(x [][]float64, y []float64, p SVRParams) (*SVR, error) {
	s, err := standardise(x, y)
	if err != nil {
		return nil, err
	}
	p = p.withDefaults(len(x[0]))
	if err := p.validate(); err != nil {
		return nil, err
	}
	return fitScaled(s, gram(p, s.x), p), nil
}

func fitScaled(s *scaled, k []float64, p SVRParams) *SVR {
	sol := solveSMO(k, s.z, p)
	m := &SVR{
		params: p, xMean: s.xMean, xStd: s.xStd, yMean: s.yMean, yStd: s.yStd,
		rho: sol.rho, iterations: sol.iterations, converged: sol.converged, trainingSize: len(s.z),
	}
	for i, c := range sol.coef {
		if c != 0 {
			m.sv = append(m.sv, s.x[i])
			m.coef = append(m.coef, c)
		}
	}
	return m
}
