package nn

import (
	"math/rand/v2"
	"testing"
)

// BenchmarkMatMul64 is one 64×64·64×64 product forward and backward (both gradients).
func BenchmarkMatMul64(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	x, w := NewParam("x", 64, 64), NewParam("w", 64, 64)
	GlorotUniform(rng, x)
	GlorotUniform(rng, w)
	tp := NewTape()
	for b.Loop() {
		tp.Reset()
		y := tp.MatMul(x, w)
		copy(y.Grad, y.Data)
		for i := len(tp.backs) - 1; i >= 0; i-- {
			tp.backs[i]()
		}
	}
}

// BenchmarkMLPTrainStep is one PPO-sized step: batch 64, 32 inputs, two tanh layers of 64,
// softmax over 63 actions, log-probability of taken actions, backward, clipping and Adam.
func BenchmarkMLPTrainStep(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	l1, l2, l3 := NewLinear(rng, "l1", 32, 64), NewLinear(rng, "l2", 64, 64), NewLinear(rng, "l3", 64, 63)
	params := append(append(l1.Params(), l2.Params()...), l3.Params()...)
	opt := NewAdam(params, 1e-3)
	obs := make([]float64, 64*32)
	for i := range obs {
		obs[i] = rng.NormFloat64()
	}
	acts := make([]int, 64)
	for i := range acts {
		acts[i] = rng.IntN(63)
	}
	tp := NewTape()
	for b.Loop() {
		tp.Reset()
		x := tp.Const(64, 32, obs)
		h := tp.Tanh(l2.Forward(tp, tp.Tanh(l1.Forward(tp, x))))
		lp := tp.PickCols(tp.LogSoftmaxRows(l3.Forward(tp, h)), acts)
		if err := tp.Backward(tp.Scale(tp.Mean(lp), -1)); err != nil {
			b.Fatal(err)
		}
		ClipGradNorm(params, 0.5)
		opt.Step()
		ZeroGrad(params)
	}
}
