package forecast

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/bascaler/bascaler/internal/nn"
)

func randConst(rng *rand.Rand, r, c int) *nn.Tensor {
	d := make([]float64, r*c)
	for i := range d {
		d[i] = rng.NormFloat64()
	}
	return nn.NewConst(r, c, d)
}

func TestProbSparseWithEveryQueryActiveIsFullAttention(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	q, k, v := randConst(rng, 8, 4), randConst(rng, 8, 4), randConst(rng, 8, 4)
	a := &attention{factor: 10} // u = min(8, 10·⌈ln 8⌉) = 8
	got := a.probSparse(nil, q, k, v, 0.5, rng)
	var tp *nn.Tape
	want := tp.MatMul(tp.SoftmaxRows(tp.Scale(tp.MatMulBT(q, k), 0.5)), v)
	for i := range want.Data {
		if math.Abs(got.Data[i]-want.Data[i]) > 1e-12 {
			t.Fatalf("element %d: %v, full attention gives %v", i, got.Data[i], want.Data[i])
		}
	}
}

func TestProbSparseLazyQueriesOutputMeanOfV(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	const l = 30
	q, k, v := randConst(rng, l, 4), randConst(rng, l, 4), randConst(rng, l, 4)
	a := &attention{factor: 1} // u = ⌈ln 30⌉ = 4 active queries
	out := a.probSparse(nil, q, k, v, 0.5, rng)
	mean := (*nn.Tape)(nil).MeanRows(v)
	lazy := 0
	for i := 0; i < l; i++ {
		same := true
		for j := 0; j < 4; j++ {
			same = same && out.At(i, j) == mean.Data[j]
		}
		if same {
			lazy++
		}
	}
	if lazy != l-4 {
		t.Fatalf("%d rows are mean(V), want %d", lazy, l-4)
	}
}

// TestInformerGradientMatchesFiniteDifferences checks the backward pass of the whole
// composed network (embeddings, ProbSparse and masked attention, distilling, decoder) on a
// tiny batch, for a sample of weights of every tensor. Key sampling is re-seeded identically
// for every evaluation so the objective is a fixed function of the weights.
func TestInformerGradientMatchesFiniteDifferences(t *testing.T) {
	arch := &InformerArch{DModel: 4, Heads: 2, DFF: 6, LabelLen: 3, FactorC: 1}
	d := netDims{L: 12, H: 3, K: 3, Mid: 1}
	net := arch.build(rand.New(rand.NewPCG(3, 3)), d)
	rng := rand.New(rand.NewPCG(4, 4))
	b := newBatch(2, d.L, d.H, false)
	for i := range b.x {
		b.x[i] = rng.NormFloat64()
	}
	for i := range b.tfPast {
		b.tfPast[i] = rng.NormFloat64()
	}
	for i := range b.tfFut {
		b.tfFut[i] = rng.NormFloat64()
	}
	weights := make([]float64, 2*d.H*d.K)
	for i := range weights {
		weights[i] = rng.NormFloat64()
	}
	objective := func(tp *nn.Tape) (*nn.Tensor, float64) {
		out := net.forward(tp, b, rand.New(rand.NewPCG(9, 9)))
		s := 0.0
		for i, v := range out.Data {
			s += v * weights[i]
		}
		return out, s
	}
	tp := nn.NewTape()
	out, _ := objective(tp)
	loss := tp.Sum(tp.Mul(out, tp.Const(out.Rows, out.Cols, weights)))
	if err := tp.Backward(loss); err != nil {
		t.Fatal(err)
	}
	const h = 1e-6
	for _, p := range net.params() {
		for _, j := range []int{0, p.Len() / 2, p.Len() - 1} {
			orig := p.Data[j]
			p.Data[j] = orig + h
			_, up := objective(nil)
			p.Data[j] = orig - h
			_, down := objective(nil)
			p.Data[j] = orig
			num := (up - down) / (2 * h)
			if math.Abs(num-p.Grad[j]) > 1e-5*max(1, math.Abs(num)) {
				t.Errorf("%s[%d]: analytic %.9g, numeric %.9g", p.Name, j, p.Grad[j], num)
			}
		}
	}
}
