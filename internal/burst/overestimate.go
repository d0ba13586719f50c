package burst

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"sync"
)

// Method selects how the overestimator turns the AR(2) fit into an upper estimate.
type Method int

// The overestimation methods.
const (
	// Bootstrap simulates paths forward through the AR recursion with resampled blocks of
	// residuals and takes the Confidence quantile of each step.
	Bootstrap Method = iota
	// PaperQuantile is the BAScaler paper's variant: the AR point prediction plus the
	// Confidence quantile of the in-sample residuals (default 0.995), the same margin at
	// every step.
	PaperQuantile
)

// String returns "bootstrap" or "paper".
func (m Method) String() string {
	if m == PaperQuantile {
		return "paper"
	}
	return "bootstrap"
}

// OverestimatorOptions configure an Overestimator. Zero fields take the defaults in brackets.
type OverestimatorOptions struct {
	Method Method
	// Window is how many of the newest points the AR(2) is fitted on [336]. The paper uses
	// 168-336 points, including the burst's points seen so far.
	Window int
	// MinPoints is the shortest window the AR(2) is fitted on [24]; shorter ones fall back.
	MinPoints int
	// Confidence is the quantile taken [0.99 for Bootstrap, 0.995 for PaperQuantile].
	Confidence float64
	// Paths is the number of bootstrap paths [500].
	Paths int
	// Block is the residual block length [⌈n^(1/3)⌉, the usual rate for a moving-block
	// bootstrap]; blocks keep the residuals' short-range dependence that AR(2) leaves.
	Block int
	// Cap bounds every estimate by Cap × the window's maximum [4]: a last guard against a
	// numerically wild path; it is reported when it binds.
	Cap float64
	// Seed seeds the resampling.
	Seed uint64
}

func (o OverestimatorOptions) withDefaults() OverestimatorOptions {
	if o.Window == 0 {
		o.Window = 336
	}
	if o.MinPoints == 0 {
		o.MinPoints = 24
	}
	if o.Confidence == 0 {
		o.Confidence = 0.99
		if o.Method == PaperQuantile {
			o.Confidence = 0.995
		}
	}
	if o.Paths == 0 {
		o.Paths = 500
	}
	if o.Cap == 0 {
		o.Cap = 4
	}
	return o
}

// Overestimate is the result of one call.
type Overestimate struct {
	// Upper[h-1] is the overestimate of the workload h steps after the window's last point.
	Upper []float64
	// Point[h-1] is the model's point forecast (the AR mean path, or the fallback's centre).
	Point []float64
	// Phi1, Phi2 and C are the AR(2) coefficients on the z-scored window
	// (z_t = C + Phi1 z_{t-1} + Phi2 z_{t-2} + e_t); zero under a fallback that has no fit.
	Phi1, Phi2, C float64
	// Fallback is "" when the AR(2) model produced the estimate, else why it did not.
	Fallback string
	// Capped reports that the Cap guard lowered some step.
	Capped bool
}

// Overestimator estimates an upper bound of the next steps of a bursting workload. It is a
// stateful value (seeded random stream and scratch buffers): not safe for concurrent use;
// the same seed and the same sequence of calls give the same numbers.
type Overestimator struct {
	o     OverestimatorOptions
	rng   *rand.Rand
	z     []float64
	resid []float64
}

// pathBufs holds the bootstrap paths' scratch (Paths x steps values, 24 kB by default)
// between estimates: shared by all overestimators, since an estimate needs it only while it
// runs, and a controller holds one overestimator per autoscaler.
var pathBufs = sync.Pool{New: func() any { return new([]float64) }}

func getPaths(n int) *[]float64 {
	b := pathBufs.Get().(*[]float64)
	*b = resize(*b, n)
	return b
}

// NewOverestimator validates options and builds an overestimator.
func NewOverestimator(o OverestimatorOptions) (*Overestimator, error) {
	o = o.withDefaults()
	switch {
	case o.Method != Bootstrap && o.Method != PaperQuantile:
		return nil, fmt.Errorf("overestimator: unknown method %d", o.Method)
	case o.Window < 3 || o.MinPoints < 8 || o.MinPoints > o.Window:
		return nil, fmt.Errorf("overestimator: need window >= min points >= 8, got window %d, min points %d", o.Window, o.MinPoints)
	case !(o.Confidence > 0 && o.Confidence < 1):
		return nil, fmt.Errorf("overestimator: confidence must be in (0, 1), got %g", o.Confidence)
	case o.Paths < 10:
		return nil, fmt.Errorf("overestimator: need at least 10 bootstrap paths, got %d", o.Paths)
	case o.Block < 0:
		return nil, fmt.Errorf("overestimator: block length must be non-negative, got %d", o.Block)
	case !(o.Cap >= 1) || math.IsInf(o.Cap, 0):
		return nil, fmt.Errorf("overestimator: cap must be finite and >= 1, got %g", o.Cap)
	}
	return &Overestimator{o: o, rng: rand.New(rand.NewPCG(o.Seed, 0xa2b007))}, nil
}

// Options returns the options in use (defaults filled in).
func (e *Overestimator) Options() OverestimatorOptions { return e.o }

// Estimate overestimates the k steps after recent (req/s, oldest first; only the newest
// Window points are used). Values must be finite and non-negative.
//
// The AR(2) is refitted on every call by least squares on the z-scored window. Fallbacks,
// all bounded and all reported in Fallback:
//   - a window with fewer than MinPoints points: the window's maximum at every step;
//   - a constant window: that constant (no variation was ever seen);
//   - a singular least-squares system, non-finite coefficients, or a non-stationary fit
//     (a characteristic root on or inside the unit circle, which would let paths grow
//     without bound): a random-walk block bootstrap of the one-step differences, i.e. the
//     model a unit root calls for.
//
// Every step is finally clipped to [0, Cap·max(window)].
func (e *Overestimator) Estimate(recent []float64, k int) (Overestimate, error) {
	if k < 1 {
		return Overestimate{}, fmt.Errorf("overestimator: need at least 1 step, got %d", k)
	}
	if len(recent) == 0 {
		return Overestimate{}, fmt.Errorf("overestimator: empty window")
	}
	w := recent[max(0, len(recent)-e.o.Window):]
	hi := 0.0
	for i, v := range w {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return Overestimate{}, fmt.Errorf("overestimator: window value %d (of the newest %d) is %g: must be finite and non-negative", i, len(w), v)
		}
		hi = math.Max(hi, v)
	}
	out := Overestimate{Upper: make([]float64, k), Point: make([]float64, k)}
	last := w[len(w)-1]
	if len(w) < e.o.MinPoints {
		out.Fallback = "window too short for AR(2)"
		fill(out.Upper, hi)
		fill(out.Point, last)
		return out, nil
	}
	mean, sd := meanSD(w)
	if sd <= 1e-9*math.Max(1, mean) {
		out.Fallback = "constant window"
		fill(out.Upper, last)
		fill(out.Point, last)
		return out, nil
	}
	e.z = resize(e.z, len(w))
	for i, v := range w {
		e.z[i] = (v - mean) / sd
	}
	c, p1, p2, ok := fitAR2(e.z)
	if ok {
		out.C, out.Phi1, out.Phi2 = c, p1, p2
		e.resid = resize(e.resid, len(w)-2)
		for t := 2; t < len(w); t++ {
			e.resid[t-2] = e.z[t] - (c + p1*e.z[t-1] + p2*e.z[t-2])
		}
		centre(e.resid)
		zUp, zPoint := e.arUpper(c, p1, p2, k)
		for h := range k {
			out.Upper[h] = mean + sd*zUp[h]
			out.Point[h] = mean + sd*zPoint[h]
		}
	} else {
		out.Fallback = "AR(2) fit singular or non-stationary: random-walk bootstrap"
		e.randomWalk(w, k, out.Upper, out.Point)
	}
	limit := e.o.Cap * hi
	for h := range k {
		u := out.Upper[h]
		if math.IsNaN(u) || math.IsInf(u, 0) {
			u = hi
			out.Fallback = "non-finite estimate: window maximum"
		}
		if u > limit {
			u = limit
			out.Capped = true
		}
		out.Upper[h] = math.Max(u, 0)
		out.Point[h] = math.Min(math.Max(out.Point[h], 0), limit)
	}
	return out, nil
}

// fitAR2 solves the least-squares normal equations of z_t on (1, z_{t-1}, z_{t-2}) by
// Gaussian elimination with partial pivoting. ok is false when the system is singular, a
// coefficient is not finite, or the fit is not stationary: the stationarity triangle
// |φ2| < 1, φ1 + φ2 < 1, φ2 - φ1 < 1 (both roots of 1 - φ1 B - φ2 B² outside the unit circle).
func fitAR2(z []float64) (c, p1, p2 float64, ok bool) {
	var a [3][4]float64
	for t := 2; t < len(z); t++ {
		x := [3]float64{1, z[t-1], z[t-2]}
		for i := range 3 {
			for j := range 3 {
				a[i][j] += x[i] * x[j]
			}
			a[i][3] += x[i] * z[t]
		}
	}
	scale := a[0][0] // = n-2, the size of the problem
	for col := range 3 {
		piv := col
		for r := col + 1; r < 3; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		if math.Abs(a[piv][col]) < 1e-10*scale {
			return 0, 0, 0, false
		}
		a[col], a[piv] = a[piv], a[col]
		for r := range 3 {
			if r == col {
				continue
			}
			f := a[r][col] / a[col][col]
			for j := col; j < 4; j++ {
				a[r][j] -= f * a[col][j]
			}
		}
	}
	c, p1, p2 = a[0][3]/a[0][0], a[1][3]/a[1][1], a[2][3]/a[2][2]
	for _, v := range []float64{c, p1, p2} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return 0, 0, 0, false
		}
	}
	const margin = 1e-6
	if math.Abs(p2) >= 1-margin || p1+p2 >= 1-margin || p2-p1 >= 1-margin {
		return c, p1, p2, false
	}
	return c, p1, p2, true
}

// arUpper returns the Confidence quantile and the mean path of the next k z-values.
func (e *Overestimator) arUpper(c, p1, p2 float64, k int) (upper, point []float64) {
	n := len(e.z)
	z1, z2 := e.z[n-1], e.z[n-2]
	point = make([]float64, k)
	a, b := z1, z2
	for h := range k {
		v := c + p1*a + p2*b
		point[h] = v
		a, b = v, a
	}
	upper = make([]float64, k)
	if e.o.Method == PaperQuantile {
		q := quantileOf(sortedCopy(e.resid), e.o.Confidence)
		for h := range k {
			upper[h] = point[h] + q
		}
		return upper, point
	}
	// Paths: z_{n+h} = c + φ1 z_{n+h-1} + φ2 z_{n+h-2} + e*_h, where e*_1..e*_k are read off
	// blocks of consecutive residuals that start at uniformly drawn positions.
	paths := e.o.Paths
	buf := getPaths(paths * k)
	defer pathBufs.Put(buf)
	all := *buf // step-major: paths of step h at [h*paths, (h+1)*paths)
	blk := e.blockLen(len(e.resid))
	for p := range paths {
		a, b := z1, z2
		pos, left := 0, 0
		for h := range k {
			if left == 0 {
				pos, left = e.rng.IntN(len(e.resid)-blk+1), blk
			}
			v := c + p1*a + p2*b + e.resid[pos]
			pos++
			left--
			all[h*paths+p] = v
			a, b = v, a
		}
	}
	for h := range k {
		step := all[h*paths : (h+1)*paths]
		slices.Sort(step)
		upper[h] = quantileOf(step, e.o.Confidence)
	}
	return upper, point
}

func (e *Overestimator) blockLen(n int) int {
	b := e.o.Block
	if b == 0 {
		b = int(math.Ceil(math.Cbrt(float64(n))))
	}
	return max(1, min(b, n))
}

// randomWalk is the fallback for a non-stationary window: x_{n+h} = x_{n+h-1} + d*_h with
// blocks of the window's one-step differences, the Confidence quantile per step.
func (e *Overestimator) randomWalk(w []float64, k int, upper, point []float64) {
	d := resize(e.resid, len(w)-1)
	for i := 1; i < len(w); i++ {
		d[i-1] = w[i] - w[i-1]
	}
	e.resid = d
	last := w[len(w)-1]
	paths := e.o.Paths
	buf := getPaths(paths * k)
	defer pathBufs.Put(buf)
	all := *buf
	blk := e.blockLen(len(d))
	for p := range paths {
		x := last
		pos, left := 0, 0
		for h := range k {
			if left == 0 {
				pos, left = e.rng.IntN(len(d)-blk+1), blk
			}
			x += d[pos]
			pos++
			left--
			all[h*paths+p] = x
		}
	}
	for h := range k {
		step := all[h*paths : (h+1)*paths]
		slices.Sort(step)
		upper[h] = quantileOf(step, e.o.Confidence)
		point[h] = last
	}
}

func fill(s []float64, v float64) {
	for i := range s {
		s[i] = v
	}
}

func centre(v []float64) {
	m := 0.0
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for i := range v {
		v[i] -= m
	}
}

func meanSD(v []float64) (mean, sd float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		sd += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(sd / float64(len(v)))
}
