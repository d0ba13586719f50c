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
