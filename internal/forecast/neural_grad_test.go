package forecast

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bascaler/bascaler/internal/nn"
)

// TestNetworkGradientsMatchFiniteDifferences checks the backward pass of each whole composed
// network on a tiny batch, for three weights of every tensor, against central differences
// of Σ out⊙R. The per-op checks in nn cannot catch composition mistakes (such as a reused
// slice redirecting a gradient), this can. ProbSparse key sampling is re-seeded identically
// for every evaluation, so the objective is a fixed function of the weights.
func TestNetworkGradientsMatchFiniteDifferences(t *testing.T) {
	d := netDims{L: 12, H: 3, K: 3, Mid: 1}
	cases := []struct {
		name string
		arch architecture
	}{
		{"mlp", &MLPArch{Hidden: 5, MA: 5}},
		{"gru", &GRUArch{Hidden: 4, Head: 5}},
		{"lstm", &LSTMArch{Hidden: 4, Head: 5}},
		{"informer, ProbSparse, 2 heads", &InformerArch{DModel: 4, Heads: 2, DFF: 6, LabelLen: 3, FactorC: 1}},
		{"informer, all queries active, 1 head", &InformerArch{DModel: 4, Heads: 1, DFF: 6, LabelLen: 5, FactorC: 10}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			net := c.arch.build(rand.New(rand.NewPCG(3, 3)), d)
			rng := rand.New(rand.NewPCG(4, 4))
			b := newBatch(2, d.L, d.H, false)
			for _, xs := range [][]float64{b.x, b.tfPast, b.tfFut} {
				for i := range xs {
					xs[i] = rng.NormFloat64()
				}
			}
			weights := make([]float64, 2*d.H*d.K)
			for i := range weights {
				weights[i] = rng.NormFloat64()
			}
			objective := func() float64 {
				out := net.forward(nil, b, rand.New(rand.NewPCG(9, 9)))
				s := 0.0
				for i, v := range out.Data {
					s += v * weights[i]
				}
				return s
			}
			tp := nn.NewTape()
			out := net.forward(tp, b, rand.New(rand.NewPCG(9, 9)))
			if err := tp.Backward(tp.Sum(tp.Mul(out, tp.Const(out.Rows, out.Cols, weights)))); err != nil {
				t.Fatal(err)
			}
			const h = 1e-6
			for _, p := range net.params() {
				for _, j := range []int{0, p.Len() / 2, p.Len() - 1} {
					orig := p.Data[j]
					p.Data[j] = orig + h
					up := objective()
					p.Data[j] = orig - h
					down := objective()
					p.Data[j] = orig
					num := (up - down) / (2 * h)
					if math.Abs(num-p.Grad[j]) > 1e-5*max(1, math.Abs(num)) {
						t.Errorf("%s[%d]: analytic %.9g, numeric %.9g", p.Name, j, p.Grad[j], num)
					}
				}
			}
		})
	}
}
