package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestAdamConvergesOnLeastSquares minimises ‖X·w − y‖²/n, a convex problem whose minimiser
// is known exactly because y was generated from wTrue without noise.
func TestAdamConvergesOnLeastSquares(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const n, d = 64, 5
	wTrue := []float64{1.5, -2, 0.5, 3, -1}
	xs := make([]float64, n*d)
	ys := make([]float64, n)
	for i := 0; i < n; i++ {
		for j := 0; j < d; j++ {
			xs[i*d+j] = rng.NormFloat64()
			ys[i] += xs[i*d+j] * wTrue[j]
		}
	}
	w := NewParam("w", d, 1)
	opt := NewAdam([]*Tensor{w}, 0.05)
	tp := NewTape()
	var loss float64
	for range 2000 {
		tp.Reset()
		l := tp.MSE(tp.MatMul(tp.Const(n, d, xs), w), tp.Const(n, 1, ys))
		if err := tp.Backward(l); err != nil {
			t.Fatal(err)
		}
		loss = l.Data[0]
		opt.Step()
		ZeroGrad([]*Tensor{w})
	}
	for j, v := range w.Data {
		if math.Abs(v-wTrue[j]) > 1e-3 {
			t.Fatalf("w = %v, want %v (final loss %g)", w.Data, wTrue, loss)
		}
	}
}

func TestAdamWeightDecayShrinksUnusedWeights(t *testing.T) {
	w := NewParam("w", 1, 1)
	w.Data[0] = 1
	opt := NewAdam([]*Tensor{w}, 0.01)
	opt.WeightDecay = 0.1
	for range 100 {
		opt.Step() // zero gradient: only the decay acts
	}
	want := math.Pow(1-0.01*0.1, 100)
	if math.Abs(w.Data[0]-want) > 1e-12 {
		t.Fatalf("w = %v, want %v", w.Data[0], want)
	}
}

func TestClipGradNorm(t *testing.T) {
	cases := []struct {
		name     string
		grads    []float64
		maxNorm  float64
		wantNorm float64
		want     []float64
	}{
		{"above the limit is scaled to it", []float64{3, 4}, 1, 5, []float64{0.6, 0.8}},
		{"below the limit is untouched", []float64{0.3, 0.4}, 1, 0.5, []float64{0.3, 0.4}},
		{"non-finite gradient is dropped", []float64{math.NaN(), 1}, 1, math.NaN(), []float64{0, 0}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a, b := NewParam("a", 1, 1), NewParam("b", 1, 1)
			a.Grad[0], b.Grad[0] = c.grads[0], c.grads[1]
			n := ClipGradNorm([]*Tensor{a, b}, c.maxNorm)
			if !(n == c.wantNorm || math.IsNaN(n) && math.IsNaN(c.wantNorm)) {
				t.Errorf("norm %v, want %v", n, c.wantNorm)
			}
			got := []float64{a.Grad[0], b.Grad[0]}
			for i := range got {
				if math.Abs(got[i]-c.want[i]) > 1e-12 {
					t.Errorf("grads %v, want %v", got, c.want)
				}
			}
		})
	}
}

func TestInitIsSeededAndScaled(t *testing.T) {
	a := NewLinear(rand.New(rand.NewPCG(1, 1)), "l", 50, 40)
	b := NewLinear(rand.New(rand.NewPCG(1, 1)), "l", 50, 40)
	limit := math.Sqrt(6.0 / 90)
	for i, v := range a.W.Data {
		if v != b.W.Data[i] {
			t.Fatal("same seed gave different weights")
		}
		if math.Abs(v) > limit {
			t.Fatalf("Glorot weight %v outside ±%v", v, limit)
		}
	}
	h := NewParam("h", 200, 100)
	HeNormal(rand.New(rand.NewPCG(2, 2)), h)
	s := 0.0
	for _, v := range h.Data {
		s += v * v
	}
	if v := s / float64(h.Len()); math.Abs(v-2.0/200) > 0.1*2.0/200 {
		t.Fatalf("He variance %v, want about %v", v, 2.0/200)
	}
}
