package nn_test

import (
	"fmt"
	"math/rand/v2"

	"github.com/bascaler/bascaler/internal/nn"
)

// A policy-gradient style step: a softmax policy over 3 actions learns to prefer action 2.
func Example() {
	rng := rand.New(rand.NewPCG(1, 2))
	layer := nn.NewLinear(rng, "policy", 2, 3)
	params := layer.Params()
	opt := nn.NewAdam(params, 0.05)
	tp := nn.NewTape()
	obs := []float64{1, 0, 0, 1} // two observations, one per row
	actions := []int{2, 2}
	var p float64
	for range 100 {
		tp.Reset()
		logp := tp.PickCols(tp.LogSoftmaxRows(layer.Forward(tp, tp.Const(2, 2, obs))), actions)
		loss := tp.Scale(tp.Mean(logp), -1) // maximise the log-probability of the actions
		if err := tp.Backward(loss); err != nil {
			panic(err)
		}
		nn.ClipGradNorm(params, 1)
		opt.Step()
		nn.ZeroGrad(params)
		p = tp.Exp(logp).Data[0]
	}
	fmt.Printf("P(action 2) > 0.9: %v\n", p > 0.9)
	// Output: P(action 2) > 0.9: true
}
