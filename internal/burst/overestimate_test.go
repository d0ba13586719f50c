package burst

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
)

// ar2 simulates x_t = mu + φ1 (x_{t-1}-mu) + φ2 (x_{t-2}-mu) + sd·e_t after a burn-in.
func ar2(r *rand.Rand, n int, mu, p1, p2, sd float64) []float64 {
	x := make([]float64, n+100)
	for t := 2; t < len(x); t++ {
		x[t] = p1*x[t-1] + p2*x[t-2] + sd*r.NormFloat64()
	}
	out := x[100:]
	for i := range out {
		out[i] += mu
	}
	return out
}

func TestOverestimatorRecoversAR2Coefficients(t *testing.T) {
	e, _ := NewOverestimator(OverestimatorOptions{Seed: 1})
	x := ar2(rand.New(rand.NewPCG(1, 2)), 336, 500, 0.5, 0.3, 20)
	got, err := e.Estimate(x, 3)
	if err != nil {
		t.Fatal(err)
	}
	if got.Fallback != "" || math.Abs(got.Phi1-0.5) > 0.12 || math.Abs(got.Phi2-0.3) > 0.12 {
		t.Errorf("fit φ1=%.3f φ2=%.3f (fallback %q), want about 0.5 and 0.3", got.Phi1, got.Phi2, got.Fallback)
	}
}

func TestOverestimatorBootstrapCoversAtItsConfidence(t *testing.T) {
	// On AR(2) data the one-step 90% bootstrap bound must be exceeded by the true next value
	// about 10% of the time; and the bound at 99% must be higher than at 90%.
	r := rand.New(rand.NewPCG(5, 5))
	e90, _ := NewOverestimator(OverestimatorOptions{Confidence: 0.9, Seed: 2})
	e99, _ := NewOverestimator(OverestimatorOptions{Confidence: 0.99, Seed: 2})
	const trials = 400
	miss := 0
	for range trials {
		x := ar2(r, 337, 300, 0.6, 0.2, 15)
		u90, err := e90.Estimate(x[:336], 1)
		if err != nil {
			t.Fatal(err)
		}
		u99, _ := e99.Estimate(x[:336], 1)
		if x[336] > u90.Upper[0] {
			miss++
		}
		if !(u99.Upper[0] > u90.Upper[0]) || !(u90.Upper[0] > u90.Point[0]) {
			t.Fatalf("bounds not ordered: point %g, 90%% %g, 99%% %g", u90.Point[0], u90.Upper[0], u99.Upper[0])
		}
	}
	// Binomial(400, 0.1): sd 6; allow the estimation error of a 336-point fit on top.
	if rate := float64(miss) / trials; rate < 0.05 || rate > 0.16 {
		t.Errorf("the 90%% bound was exceeded %.1f%% of the time", 100*rate)
	}
}

func TestOverestimatorBootstrapWidensWithTheHorizon(t *testing.T) {
	// For AR(2) the h-step error variance grows with h (σ², σ²(1+φ1²), ...). Many paths and
	// the 90% level keep the quantiles' Monte Carlo error well below the growth.
	e, _ := NewOverestimator(OverestimatorOptions{Seed: 3, Paths: 20000, Confidence: 0.9})
	x := ar2(rand.New(rand.NewPCG(3, 3)), 336, 400, 0.7, 0.2, 10)
	got, _ := e.Estimate(x, 5)
	for _, h := range []int{2, 4} {
		if got.Upper[h]-got.Point[h] <= got.Upper[0]-got.Point[0] {
			t.Errorf("margin at step %d (%.2f) not above the one-step margin (%.2f)", h+1, got.Upper[h]-got.Point[h], got.Upper[0]-got.Point[0])
		}
	}
}

func TestOverestimatorPaperVariantAddsOneResidualQuantile(t *testing.T) {
	e, _ := NewOverestimator(OverestimatorOptions{Method: PaperQuantile})
	if e.Options().Confidence != 0.995 {
		t.Errorf("paper confidence %g, want 0.995", e.Options().Confidence)
	}
	x := ar2(rand.New(rand.NewPCG(4, 4)), 200, 400, 0.5, 0.1, 10)
	got, _ := e.Estimate(x, 4)
	m := got.Upper[0] - got.Point[0]
	if !(m > 0) {
		t.Fatalf("margin %g", m)
	}
	for h := 1; h < 4; h++ {
		if d := got.Upper[h] - got.Point[h]; math.Abs(d-m) > 1e-9 {
			t.Errorf("step %d margin %g, want the same %g at every step", h+1, d, m)
		}
	}
}

func TestOverestimatorFallbacksAreBoundedAndReported(t *testing.T) {
	ramp := make([]float64, 100)
	expo := make([]float64, 100)
	for i := range ramp {
		ramp[i] = 100 + 5*float64(i)
		expo[i] = 10 * math.Pow(1.08, float64(i))
	}
	cases := []struct {
		name     string
		window   []float64
		fallback string
		upper    float64 // -1: only check bounds
	}{
		{"short window", []float64{5, 9, 7}, "too short", 9},
		{"constant window", constant(50, 42), "constant window", 42},
		{"linear ramp (collinear lags)", ramp, "random-walk", 595 + 5},
		{"exponential growth (explosive fit)", expo, "random-walk", -1},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e, _ := NewOverestimator(OverestimatorOptions{Seed: 1})
			got, err := e.Estimate(c.window, 3)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(got.Fallback, c.fallback) {
				t.Errorf("fallback %q, want %q", got.Fallback, c.fallback)
			}
			if c.upper >= 0 && math.Abs(got.Upper[0]-c.upper) > 1e-6 {
				t.Errorf("upper %v, want %g at step 1", got.Upper, c.upper)
			}
			checkBounded(t, got, c.window, 4)
		})
	}
}

func TestOverestimatorNeverReturnsNaNOrInf(t *testing.T) {
	huge := constant(200, 1)
	huge[150] = 1e12
	alt := make([]float64, 200)
	for i := range alt {
		alt[i] = float64(i%2) * 1e6
	}
	tiny := make([]float64, 200)
	for i := range tiny {
		tiny[i] = 1e-300 * float64(i%3)
	}
	for name, w := range map[string][]float64{"zeros": constant(100, 0), "one huge outlier": huge, "alternating": alt, "denormal-scale": tiny} {
		for _, m := range []Method{Bootstrap, PaperQuantile} {
			e, _ := NewOverestimator(OverestimatorOptions{Method: m, Seed: 9})
			got, err := e.Estimate(w, 6)
			if err != nil {
				t.Fatalf("%s/%v: %v", name, m, err)
			}
			checkBounded(t, got, w, 4)
		}
	}
}

func checkBounded(t *testing.T, got Overestimate, w []float64, capMul float64) {
	t.Helper()
	hi := 0.0
	for _, v := range w {
		hi = math.Max(hi, v)
	}
	for h, u := range got.Upper {
		if math.IsNaN(u) || math.IsInf(u, 0) || u < 0 || u > capMul*hi*(1+1e-12) || math.IsNaN(got.Point[h]) {
			t.Errorf("step %d: upper %g, point %g outside [0, %g]", h+1, u, got.Point[h], capMul*hi)
		}
	}
}

func constant(n int, v float64) []float64 {
	out := make([]float64, n)
	for i := range out {
		out[i] = v
	}
	return out
}

func TestOverestimatorIsDeterministicPerSeed(t *testing.T) {
	x := ar2(rand.New(rand.NewPCG(6, 6)), 336, 500, 0.5, 0.2, 30)
	run := func(seed uint64) []float64 {
		e, _ := NewOverestimator(OverestimatorOptions{Seed: seed})
		a, _ := e.Estimate(x, 3)
		b, _ := e.Estimate(x, 3)
		return append(a.Upper, b.Upper...)
	}
	a, b, c := run(1), run(1), run(2)
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("same seed, different value at %d", i)
		}
	}
	if a[0] == c[0] && a[1] == c[1] && a[2] == c[2] {
		t.Error("seeds 1 and 2 gave identical bootstrap bounds")
	}
}

func TestOverestimatorRejectsBadInput(t *testing.T) {
	e, _ := NewOverestimator(OverestimatorOptions{})
	for _, c := range []struct {
		name string
		w    []float64
		k    int
		want string
	}{
		{"no steps", []float64{1, 2}, 0, "at least 1 step"},
		{"empty", nil, 1, "empty window"},
		{"NaN", []float64{1, math.NaN(), 3}, 1, "is NaN"},
		{"negative", []float64{1, -2, 3}, 1, "is -2"},
	} {
		if _, err := e.Estimate(c.w, c.k); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
	for _, o := range []OverestimatorOptions{{Confidence: 1.5}, {Paths: 3}, {Window: 10, MinPoints: 20}, {Cap: 0.5}, {Method: 7}, {Block: -1}} {
		if _, err := NewOverestimator(o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}
