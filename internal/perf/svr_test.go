package perf

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

func TestSVRWideTubePredictsTheMidrange(t *testing.T) {
	// With ε wider than half the spread of y, β = 0 is optimal: no point leaves the tube, and
	// the bias sits in the middle of the interval the KKT conditions allow, the midrange.
	r := rand.New(rand.NewPCG(1, 1))
	var x [][]float64
	var y []float64
	lo, hi := math.Inf(1), math.Inf(-1)
	for range 60 {
		x = append(x, []float64{r.Float64() * 10, r.NormFloat64()})
		v := 3 + r.Float64()
		y = append(y, v)
		lo, hi = math.Min(lo, v), math.Max(hi, v)
	}
	for _, k := range []Kernel{RBF, Linear} {
		m, err := FitSVR(x, y, SVRParams{Kernel: k, C: 10, Epsilon: 5})
		if err != nil {
			t.Fatal(err)
		}
		if m.SupportVectors() != 0 {
			t.Errorf("%v: %d support vectors, want 0", k, m.SupportVectors())
		}
		for _, q := range [][]float64{{0, 0}, {5, 2}, {-20, 9}} {
			got, err := m.Predict(q)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(got-(lo+hi)/2) > 1e-9 {
				t.Errorf("%v: predict(%v) = %g, want the midrange %g", k, q, got, (lo+hi)/2)
			}
		}
	}
}

func TestSVRLinearKernelRecoversALinearTarget(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	f := func(a, b float64) float64 { return 3*a - 2*b + 5 }
	var x [][]float64
	var y []float64
	for range 80 {
		a, b := r.Float64()*10, r.Float64()*4-2
		x = append(x, []float64{a, b})
		y = append(y, f(a, b))
	}
	m, err := FitSVR(x, y, SVRParams{Kernel: Linear, C: 100, Epsilon: 0.001})
	if err != nil {
		t.Fatal(err)
	}
	if !m.Converged() {
		t.Fatalf("SMO did not converge in %d iterations", m.Iterations())
	}
	// Off the training set, including a mild extrapolation: a linear model must stay exact
	// to about ε (0.001 target standard deviations, ~0.01 here).
	for _, q := range [][]float64{{0, 0}, {5, 1}, {12, -3}, {-1, 2}} {
		got, _ := m.Predict(q)
		if want := f(q[0], q[1]); math.Abs(got-want) > 0.05 {
			t.Errorf("predict(%v) = %.4f, want %.4f", q, got, want)
		}
	}
}

func TestSVRRBFFitsTheFFTLatencyCurve(t *testing.T) {
	p := FFT()
	var x [][]float64
	var y []float64
	for i := 0; i <= 110; i++ {
		l := float64(i)
		x = append(x, []float64{l})
		y = append(y, p.At(l).MeanMS)
	}
	m, cv, err := FitSVRCV(x, y, Grid{Epsilons: []float64{0.01, 0.05}, Cs: []float64{10, 100}, Gammas: []float64{0.5, 1, 2}, Folds: 4, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Score between the training loads: the curve, not the memorised points.
	se, worst := 0.0, 0.0
	n := 0
	for l := 0.5; l < 110; l += 1 {
		d := m.Predict1(l) - p.At(l).MeanMS
		se += d * d
		worst = math.Max(worst, math.Abs(d))
		n++
	}
	rmse := math.Sqrt(se / float64(n))
	t.Logf("picked %+v (cv rmse %.3f ms); rmse %.3f ms, worst %.3f ms", cv.Params, cv.RMSE, rmse, worst)
	if rmse > 0.5 || worst > 2 {
		t.Errorf("RBF fit of the fft mean latency: rmse %.3f ms, worst %.3f ms; want <= 0.5 and <= 2", rmse, worst)
	}
}

func TestSVRIsDeterministic(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 3))
	var x [][]float64
	var y []float64
	for range 40 {
		v := r.Float64() * 100
		x = append(x, []float64{v})
		y = append(y, math.Sqrt(v)+r.NormFloat64()*0.1)
	}
	g := Grid{Cs: []float64{1, 10}, Epsilons: []float64{0.1}, Gammas: []float64{0.5, 1}, Folds: 3, Seed: 7}
	a, ia, err := CrossValidate(x, y, g)
	if err != nil {
		t.Fatal(err)
	}
	b, ib, _ := CrossValidate(x, y, g)
	if ia != ib {
		t.Fatalf("best index %d vs %d", ia, ib)
	}
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("grid point %d: %+v vs %+v", i, a[i], b[i])
		}
	}
}

func TestSVRIterationCapStillGivesAFiniteModel(t *testing.T) {
	x := [][]float64{{0}, {1}, {2}, {3}, {4}, {5}}
	y := []float64{0, 1, 4, 9, 16, 25}
	m, err := FitSVR(x, y, SVRParams{C: 100, Epsilon: 0.01, MaxIter: 2})
	if err != nil {
		t.Fatal(err)
	}
	if m.Converged() {
		t.Errorf("converged after %d iterations, expected the cap to stop it", m.Iterations())
	}
	if v := m.Predict1(2.5); math.IsNaN(v) || math.IsInf(v, 0) {
		t.Errorf("prediction %g", v)
	}
}

func TestSVRRejectsBadInput(t *testing.T) {
	good := [][]float64{{1}, {2}, {3}, {4}}
	cases := []struct {
		name string
		x    [][]float64
		y    []float64
		p    SVRParams
		grid *Grid
		want string
	}{
		{"no points", nil, nil, DefaultSVRParams(), nil, "no training points"},
		{"length mismatch", good, []float64{1, 2}, DefaultSVRParams(), nil, "4 feature rows but 2 targets"},
		{"NaN feature", [][]float64{{1}, {math.NaN()}, {3}}, []float64{1, 2, 3}, DefaultSVRParams(), nil, "point 2 feature 1 is NaN"},
		{"Inf target", good, []float64{1, math.Inf(1), 3, 4}, DefaultSVRParams(), nil, "point 2 target is +Inf"},
		{"ragged rows", [][]float64{{1, 2}, {3}}, []float64{1, 2}, DefaultSVRParams(), nil, "point 2 has 1 features"},
		{"constant feature", [][]float64{{1, 5}, {2, 5}, {3, 5}}, []float64{1, 2, 3}, DefaultSVRParams(), nil, "feature 2 is constant"},
		{"non-positive C", good, []float64{1, 2, 3, 4}, SVRParams{C: -1}, nil, "C must be positive"},
		{"negative epsilon", good, []float64{1, 2, 3, 4}, SVRParams{C: 1, Epsilon: -0.1}, nil, "epsilon must be non-negative"},
		{"fewer points than folds", good, []float64{1, 2, 3, 4}, SVRParams{}, &Grid{Folds: 5}, "4 points are fewer than the 5 folds"},
		{"one fold", good, []float64{1, 2, 3, 4}, SVRParams{}, &Grid{Folds: 1}, "at least 2 folds"},
		{"bad grid gamma", good, []float64{1, 2, 3, 4}, SVRParams{}, &Grid{Folds: 2, Gammas: []float64{-1}}, "gamma must be positive"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var err error
			if c.grid != nil {
				_, _, err = FitSVRCV(c.x, c.y, *c.grid)
			} else {
				_, err = FitSVR(c.x, c.y, c.p)
			}
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestSVRPredictChecksItsInput(t *testing.T) {
	m, err := FitSVR([][]float64{{1}, {2}, {3}}, []float64{1, 2, 3}, DefaultSVRParams())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Predict([]float64{1, 2}); err == nil {
		t.Error("two features accepted by a one-feature model")
	}
	if _, err := m.Predict([]float64{math.NaN()}); err == nil {
		t.Error("NaN feature accepted")
	}
	if v := m.Predict1(math.Inf(1)); !math.IsNaN(v) {
		t.Errorf("Predict1(+Inf) = %g, want NaN", v)
	}
}
