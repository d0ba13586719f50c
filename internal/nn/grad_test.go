package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// gradCase describes one op for the finite-difference check: shapes of its inputs, how to
// fill them (away from kinks where the op is not differentiable), and the op itself.
type gradCase struct {
	name   string
	shapes [][2]int
	fill   func(rng *rand.Rand, in []*Tensor) // nil: uniform in [-1.5, 1.5]
	op     func(tp *Tape, in []*Tensor) *Tensor
}

// awayFromZero draws uniform values in [-2, 2] with |x| ≥ 0.1 (ReLU, pinball kinks).
func awayFromZero(rng *rand.Rand, in []*Tensor) {
	for _, t := range in {
		for i := range t.Data {
			v := 0.0
			for math.Abs(v) < 0.1 {
				v = 4*rng.Float64() - 2
			}
			t.Data[i] = v
		}
	}
}

// apart makes b differ from a by at least 0.1 everywhere (Max/Min/pinball ties).
func apart(rng *rand.Rand, in []*Tensor) {
	awayFromZero(rng, in[1:2])
	for i := range in[0].Data {
		in[0].Data[i] = 2*rng.Float64() - 1
		in[1].Data[i] += in[0].Data[i]
	}
}

func gradCases() []gradCase {
	levels := []float64{0.1, 0.5, 0.9}
	return []gradCase{
		{"MatMul", [][2]int{{3, 4}, {4, 5}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.MatMul(in[0], in[1]) }},
		{"MatMulBT", [][2]int{{3, 4}, {5, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.MatMulBT(in[0], in[1]) }},
		{"MatMul same input twice", [][2]int{{4, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.MatMul(in[0], in[0]) }},
		{"Add", [][2]int{{3, 4}, {3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Add(in[0], in[1]) }},
		{"Sub", [][2]int{{3, 4}, {3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Sub(in[0], in[1]) }},
		{"Mul", [][2]int{{3, 4}, {3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Mul(in[0], in[1]) }},
		{"Mul square", [][2]int{{2, 3}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Mul(in[0], in[0]) }},
		{"Scale", [][2]int{{3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Scale(in[0], -2.5) }},
		{"AddRow", [][2]int{{3, 4}, {1, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.AddRow(in[0], in[1]) }},
		{"Max", [][2]int{{3, 4}, {3, 4}}, apart, func(tp *Tape, in []*Tensor) *Tensor { return tp.Max(in[0], in[1]) }},
		{"Min", [][2]int{{3, 4}, {3, 4}}, apart, func(tp *Tape, in []*Tensor) *Tensor { return tp.Min(in[0], in[1]) }},
		{"Clamp", [][2]int{{4, 5}}, func(rng *rand.Rand, in []*Tensor) {
			for i := range in[0].Data { // values in [-2,-0.6] ∪ [-0.4,0.4] ∪ [0.6,2]: off the clip edges ±0.5
				v := 0.5
				for math.Abs(math.Abs(v)-0.5) < 0.1 {
					v = 4*rng.Float64() - 2
				}
				in[0].Data[i] = v
			}
		}, func(tp *Tape, in []*Tensor) *Tensor { return tp.Clamp(in[0], -0.5, 0.5) }},
		{"Tanh", [][2]int{{3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Tanh(in[0]) }},
		{"Sigmoid", [][2]int{{3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Sigmoid(in[0]) }},
		{"ReLU", [][2]int{{3, 4}}, awayFromZero, func(tp *Tape, in []*Tensor) *Tensor { return tp.ReLU(in[0]) }},
		{"ELU", [][2]int{{3, 4}}, awayFromZero, func(tp *Tape, in []*Tensor) *Tensor { return tp.ELU(in[0]) }},
		{"GELU", [][2]int{{3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.GELU(in[0]) }},
		{"Exp", [][2]int{{3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Exp(in[0]) }},
		{"Softplus", [][2]int{{3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Softplus(in[0]) }},
		{"SoftmaxRows", [][2]int{{3, 5}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.SoftmaxRows(in[0]) }},
		{"LogSoftmaxRows", [][2]int{{3, 5}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.LogSoftmaxRows(in[0]) }},
		{"LayerNorm", [][2]int{{3, 5}, {1, 5}, {1, 5}}, nil, func(tp *Tape, in []*Tensor) *Tensor {
			return tp.LayerNorm(in[0], in[1], in[2], 1e-5)
		}},
		{"ConcatCols", [][2]int{{3, 2}, {3, 4}, {3, 1}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.ConcatCols(in...) }},
		{"SliceCols", [][2]int{{3, 5}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.SliceCols(in[0], 1, 4) }},
		{"ConcatRows", [][2]int{{2, 3}, {1, 3}, {4, 3}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.ConcatRows(in...) }},
		{"SliceRows", [][2]int{{5, 3}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.SliceRows(in[0], 2, 4) }},
		{"GatherRows with repeats", [][2]int{{4, 3}}, nil, func(tp *Tape, in []*Tensor) *Tensor {
			return tp.GatherRows(in[0], []int{3, 0, 3, 1, 3})
		}},
		{"Reshape", [][2]int{{4, 3}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Reshape(in[0], 2, 6) }},
		{"Transpose", [][2]int{{3, 5}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Transpose(in[0]) }},
		{"Sum", [][2]int{{3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Sum(in[0]) }},
		{"Mean", [][2]int{{3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.Mean(in[0]) }},
		{"MeanRows", [][2]int{{3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.MeanRows(in[0]) }},
		{"SumCols", [][2]int{{3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.SumCols(in[0]) }},
		{"PickCols", [][2]int{{3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.PickCols(in[0], []int{2, 0, 3}) }},
		{"Pinball", [][2]int{{2, 6}, {2, 2}}, func(rng *rand.Rand, in []*Tensor) {
			awayFromZero(rng, in)
			for r := 0; r < 2; r++ { // pred = y + offset with |offset| ≥ 0.1
				for j := 0; j < 2; j++ {
					for k := 0; k < 3; k++ {
						in[0].Data[r*6+j*3+k] += in[1].Data[r*2+j]
					}
				}
			}
		}, func(tp *Tape, in []*Tensor) *Tensor { return tp.Pinball(in[0], in[1], levels) }},
		{"MSE", [][2]int{{3, 4}, {3, 4}}, nil, func(tp *Tape, in []*Tensor) *Tensor { return tp.MSE(in[0], in[1]) }},
		{"MonotoneQuantiles mid 2 of 5", [][2]int{{2, 10}}, nil, func(tp *Tape, in []*Tensor) *Tensor {
			return tp.MonotoneQuantiles(in[0], 5, 2)
		}},
		{"MonotoneQuantiles mid 0", [][2]int{{2, 6}}, nil, func(tp *Tape, in []*Tensor) *Tensor {
			return tp.MonotoneQuantiles(in[0], 3, 0)
		}},
		{"attention block", [][2]int{{4, 3}, {3, 3}, {3, 3}, {3, 3}}, nil, func(tp *Tape, in []*Tensor) *Tensor {
			q, k, v := tp.MatMul(in[0], in[1]), tp.MatMul(in[0], in[2]), tp.MatMul(in[0], in[3])
			p := tp.SoftmaxRows(tp.Scale(tp.MatMulBT(q, k), 1/math.Sqrt(3)))
			return tp.GELU(tp.MatMul(p, v))
		}},
	}
}

// TestGradientsMatchFiniteDifferences compares every op's backward pass with central
// differences of Σ out⊙R for a fixed random R, input by input and element by element.
func TestGradientsMatchFiniteDifferences(t *testing.T) {
	for _, c := range gradCases() {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(1, 2))
			in := make([]*Tensor, len(c.shapes))
			for i, s := range c.shapes {
				in[i] = NewParam("x", s[0], s[1])
				for j := range in[i].Data {
					in[i].Data[j] = 3*rng.Float64() - 1.5
				}
			}
			if c.fill != nil {
				c.fill(rng, in)
			}
			// A first pass on other values leaves the arena dirty, as in training, so an
			// op that relies on zeroed memory it does not own fails here.
			tp := NewTape()
			for _, x := range in {
				for j := range x.Data {
					x.Data[j] += 7
				}
			}
			c.op(tp, in)
			tp.Reset()
			for _, x := range in {
				for j := range x.Data {
					x.Data[j] -= 7
				}
				clear(x.Grad)
			}
			out := c.op(tp, in)
			weights := make([]float64, out.Len())
			for i := range weights {
				weights[i] = 2*rng.Float64() - 1
			}
			copy(out.Grad, weights) // seed d(Σ out⊙R)/d out = R
			for i := len(tp.backs) - 1; i >= 0; i-- {
				tp.backs[i]()
			}
			objective := func() float64 {
				o := c.op(nil, in)
				s := 0.0
				for i, v := range o.Data {
					s += v * weights[i]
				}
				return s
			}
			const h = 1e-6
			for ti, x := range in {
				for j := range x.Data {
					orig := x.Data[j]
					x.Data[j] = orig + h
					up := objective()
					x.Data[j] = orig - h
					down := objective()
					x.Data[j] = orig
					num := (up - down) / (2 * h)
					if diff := math.Abs(num - x.Grad[j]); diff > 1e-6*max(1, math.Abs(num)) {
						t.Errorf("input %d element %d: analytic %.9g, numeric %.9g", ti, j, x.Grad[j], num)
					}
				}
			}
		})
	}
}

func TestNonRecordingTapesComputeSameValuesAsRecordingTape(t *testing.T) {
	for _, c := range gradCases() {
		rng := rand.New(rand.NewPCG(3, 4))
		in := make([]*Tensor, len(c.shapes))
		for i, s := range c.shapes {
			in[i] = NewParam("x", s[0], s[1])
			for j := range in[i].Data {
				in[i].Data[j] = 3*rng.Float64() - 1.5
			}
		}
		a, b, inf := c.op(NewTape(), in), c.op(nil, in), NewInferenceTape()
		for range 2 { // the second pass reuses a dirty arena
			inf.Reset()
			d := c.op(inf, in)
			for i := range a.Data {
				if a.Data[i] != b.Data[i] || a.Data[i] != d.Data[i] {
					t.Errorf("%s: element %d differs: %v vs %v vs %v", c.name, i, a.Data[i], b.Data[i], d.Data[i])
					break
				}
			}
			if b.Grad != nil || d.Grad != nil || len(inf.backs) != 0 {
				t.Errorf("%s: a non-recording tape allocated a gradient or recorded an op", c.name)
			}
		}
	}
}

func TestConstantsReceiveNoGradient(t *testing.T) {
	tp := NewTape()
	w := NewParam("w", 2, 2)
	w.Data = []float64{1, 2, 3, 4}
	x := tp.Const(1, 2, []float64{5, 6})
	loss := tp.Sum(tp.MatMul(x, w))
	if err := tp.Backward(loss); err != nil {
		t.Fatal(err)
	}
	if x.Grad != nil {
		t.Fatalf("constant got a gradient %v", x.Grad)
	}
	// d Σ(x·W) / dW[i][j] = x[i]
	want := []float64{5, 5, 6, 6}
	for i, g := range w.Grad {
		if g != want[i] {
			t.Fatalf("dW = %v, want %v", w.Grad, want)
		}
	}
}

func TestBackwardRejectsNonScalarAndConstantLoss(t *testing.T) {
	tp := NewTape()
	w := NewParam("w", 2, 2)
	if err := tp.Backward(tp.Tanh(w)); err == nil {
		t.Error("Backward accepted a 2x2 loss")
	}
	if err := tp.Backward(tp.Sum(tp.Const(1, 2, []float64{1, 2}))); err == nil {
		t.Error("Backward accepted a loss that depends on no parameter")
	}
	var nilTape *Tape
	if err := nilTape.Backward(tp.Sum(w)); err == nil {
		t.Error("Backward on a nil tape did not fail")
	}
	if err := NewInferenceTape().Backward(tp.Sum(w)); err == nil {
		t.Error("Backward on an inference tape did not fail")
	}
}

func TestSoftmaxIsStableForHugeLogits(t *testing.T) {
	x := NewConst(1, 3, []float64{1000, 1001, 999})
	p := (*Tape)(nil).SoftmaxRows(x)
	lp := (*Tape)(nil).LogSoftmaxRows(x)
	s := 0.0
	for j, v := range p.Data {
		if math.IsNaN(v) || math.Abs(math.Log(v)-lp.Data[j]) > 1e-12 {
			t.Fatalf("softmax %v, log-softmax %v", p.Data, lp.Data)
		}
		s += v
	}
	if math.Abs(s-1) > 1e-12 {
		t.Fatalf("probabilities sum to %v", s)
	}
}

func TestMonotoneQuantilesNeverCross(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	a := NewConst(50, 7*3, make([]float64, 50*21))
	for i := range a.Data {
		a.Data[i] = 20*rng.Float64() - 10
	}
	q := (*Tape)(nil).MonotoneQuantiles(a, 7, 3)
	for b := 0; b < 50*3; b++ {
		for k := 1; k < 7; k++ {
			if q.Data[b*7+k] < q.Data[b*7+k-1] {
				t.Fatalf("block %d crosses: %v", b, q.Data[b*7:b*7+7])
			}
		}
		if q.Data[b*7+3] != a.Data[b*7+3] {
			t.Fatalf("block %d: central quantile changed", b)
		}
	}
}

func TestTapeResetRecyclesArena(t *testing.T) {
	tp := NewTape()
	w := NewParam("w", 8, 8)
	x := tp.Const(4, 8, make([]float64, 32))
	_ = tp.Tanh(tp.MatMul(x, w))
	chunks := len(tp.chunks)
	for range 100 {
		tp.Reset()
		x := tp.Const(4, 8, make([]float64, 32))
		_ = tp.Tanh(tp.MatMul(x, w))
	}
	if len(tp.chunks) != chunks || len(tp.backs) != 2 {
		t.Fatalf("arena grew from %d to %d chunks; %d recorded ops", chunks, len(tp.chunks), len(tp.backs))
	}
}

// TestConcatKeepsItsInputsWhenTheCallerReusesTheSlice pins down a bug found through the
// informer's whole-network gradient check: a caller that reuses its slice of heads for the
// next sample must not redirect an earlier concatenation's backward step.
func TestConcatKeepsItsInputsWhenTheCallerReusesTheSlice(t *testing.T) {
	for _, op := range []struct {
		name   string
		concat func(tp *Tape, ts ...*Tensor) *Tensor
	}{{"ConcatCols", (*Tape).ConcatCols}, {"ConcatRows", (*Tape).ConcatRows}} {
		t.Run(op.name, func(t *testing.T) {
			a, b, c := NewParam("a", 1, 1), NewParam("b", 1, 1), NewParam("c", 1, 1)
			tp := NewTape()
			parts := []*Tensor{a, b}
			first := op.concat(tp, parts...)
			parts[0] = c // reuse the slice
			_ = op.concat(tp, parts...)
			if err := tp.Backward(tp.Sum(first)); err != nil {
				t.Fatal(err)
			}
			if a.Grad[0] != 1 || c.Grad[0] != 0 {
				t.Fatalf("gradient went to a=%v c=%v, want a=1 c=0", a.Grad[0], c.Grad[0])
			}
		})
	}
}
