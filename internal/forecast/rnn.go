package forecast

import (
	"math/rand/v2"

	"github.com/bascaler/bascaler/internal/nn"
)

func init() {
	Register("gru", "recurrent quantile forecaster: GRU encoder over the window (value + time features), dense head to all H steps x levels, linear highway; params: lookback epochs steps batch lr patience val_windows hidden head",
		newGRU)
}

// GRUArch is the gru network: a single-layer GRU (Cho et al., 2014) reads the standardised
// window one step at a time, each step's input being the value and its four time features.
// Its last hidden state and the time features of the H target steps go through a ReLU
// layer to all H×K raw quantile outputs at once (direct strategy). A linear
// "highway" from the window to the H medians runs beside the recurrent path, as in LSTNet
// (Lai et al., SIGIR 2018): it carries the level and the plain autoregressive part, so the
// GRU learns the nonlinear remainder. Quantiles pass through nn.MonotoneQuantiles.
type GRUArch struct {
	Hidden int `json:"hidden"`
	Head   int `json:"head"`
}

func newGRU(p map[string]string) (Forecaster, error) {
	m := &Neural{kind: "gru"}
	a := &GRUArch{}
	specs := append(trainSpecs(&m.cfg, 72, 20, 40, 32, 2e-3),
		paramSpec{name: "hidden", def: 32, lo: 2, hi: 1024, isInt: true, target: &a.Hidden},
		paramSpec{name: "head", def: 64, lo: 2, hi: 4096, isInt: true, target: &a.Head})
	if err := parseParams(p, specs); err != nil {
		return nil, err
	}
	m.arch = a
	return m, nil
}

type gruNet struct {
	d      netDims
	hidden int
	// wx maps a step's input to the three gates' pre-activations (update, reset, candidate);
	// uzr and uh are the recurrent weights.
	wx      *nn.Linear
	uzr, uh *nn.Tensor
	head    *nn.Linear
	out     *nn.Linear
	highway *nn.Linear
	expand  []float64
}

func (a *GRUArch) build(rng *rand.Rand, d netDims) network {
	hd := a.Hidden
	n := &gruNet{d: d, hidden: hd,
		wx:      nn.NewLinear(rng, "gru.wx", 1+numTimeFeatures, 3*hd),
		uzr:     nn.NewParam("gru.uzr", hd, 2*hd),
		uh:      nn.NewParam("gru.uh", hd, hd),
		head:    nn.NewLinear(rng, "gru.head", hd+d.H*numTimeFeatures, a.Head),
		out:     nn.NewLinear(rng, "gru.out", a.Head, d.H*d.K),
		highway: nn.NewLinear(rng, "gru.highway", d.L, d.H),
		expand:  midExpander(d)}
	nn.GlorotUniform(rng, n.uzr)
	nn.GlorotUniform(rng, n.uh)
	nn.HeNormal(rng, n.head.W)
	return n
}

func (n *gruNet) params() []*nn.Tensor {
	ps := append(n.wx.Params(), n.uzr, n.uh)
	for _, l := range []*nn.Linear{n.head, n.out, n.highway} {
		ps = append(ps, l.Params()...)
	}
	return ps
}

func (n *gruNet) forward(tp *nn.Tape, b *batch, _ *rand.Rand) *nn.Tensor {
	d, hd := n.d, n.hidden
	// All steps' input projections in one product: row i·L+t is window i at step t.
	in := make([]float64, b.n*d.L*(1+numTimeFeatures))
	for r := 0; r < b.n*d.L; r++ {
		row := in[r*(1+numTimeFeatures):]
		row[0] = b.x[r]
		copy(row[1:1+numTimeFeatures], b.tfPast[r*numTimeFeatures:])
	}
	gx := n.wx.Forward(tp, tp.Const(b.n*d.L, 1+numTimeFeatures, in))
	idx := make([]int, b.n)
	h := tp.Const(b.n, hd, make([]float64, b.n*hd))
	for t := 0; t < d.L; t++ {
		for i := range idx {
			idx[i] = i*d.L + t
		}
		g := tp.GatherRows(gx, idx)
		zr := tp.Sigmoid(tp.Add(tp.SliceCols(g, 0, 2*hd), tp.MatMul(h, n.uzr)))
		z, r := tp.SliceCols(zr, 0, hd), tp.SliceCols(zr, hd, 2*hd)
		cand := tp.Tanh(tp.Add(tp.SliceCols(g, 2*hd, 3*hd), tp.MatMul(tp.Mul(r, h), n.uh)))
		h = tp.Add(h, tp.Mul(z, tp.Sub(cand, h))) // (1−z)⊙h + z⊙ĥ
	}
	x := tp.ConcatCols(h, timeInputs(tp, b))
	raw := n.out.Forward(tp, tp.ReLU(n.head.Forward(tp, x)))
	hw := tp.MatMul(n.highway.Forward(tp, tp.Const(b.n, d.L, b.x)), tp.Const(d.H, d.H*d.K, n.expand))
	return tp.MonotoneQuantiles(tp.Add(raw, hw), d.K, d.Mid)
}

func init() {
	Register("lstm", "recurrent quantile forecaster: LSTM encoder over the window (value + time features), dense head to all H steps x levels, linear highway; params: lookback epochs steps batch lr patience val_windows hidden head",
		newLSTM)
}

// LSTMArch is the lstm network: the gru network with its recurrent cell replaced by a
// single-layer LSTM (Hochreiter & Schmidhuber, 1997, with the forget gate of Gers et al.,
// 2000). The BAScaler design names both recurrent cells; the LSTM keeps a separate cell
// state c beside the hidden state h, which lets it carry a level over the window that the
// GRU has to hold in h itself. Gates per step, σ the logistic function:
//
//	i, f, o = σ(W_x x + U h + b)   (input, forget, output)
//	g       = tanh(W_x x + U h + b) (candidate)
//	c'      = f⊙c + i⊙g,  h' = o⊙tanh(c')
//
// The forget gate's bias starts at 1 (Jozefowicz et al., ICML 2015) so the cell state is kept
// by default early in training. The head, the highway and the monotone quantile output are
// the gru network's.
type LSTMArch struct {
	Hidden int `json:"hidden"`
	Head   int `json:"head"`
}

func newLSTM(p map[string]string) (Forecaster, error) {
	m := &Neural{kind: "lstm"}
	a := &LSTMArch{}
	specs := append(trainSpecs(&m.cfg, 72, 20, 40, 32, 2e-3),
		paramSpec{name: "hidden", def: 32, lo: 2, hi: 1024, isInt: true, target: &a.Hidden},
		paramSpec{name: "head", def: 64, lo: 2, hi: 4096, isInt: true, target: &a.Head})
	if err := parseParams(p, specs); err != nil {
		return nil, err
	}
	m.arch = a
	return m, nil
}

type lstmNet struct {
	d      netDims
	hidden int
	// wx maps a step's input to the four gates' pre-activations (input, forget, output,
	// candidate); u holds the recurrent weights of all four.
	wx      *nn.Linear
	u       *nn.Tensor
	head    *nn.Linear
	out     *nn.Linear
	highway *nn.Linear
	expand  []float64
}

func (a *LSTMArch) build(rng *rand.Rand, d netDims) network {
	hd := a.Hidden
	n := &lstmNet{d: d, hidden: hd,
		wx:      nn.NewLinear(rng, "lstm.wx", 1+numTimeFeatures, 4*hd),
		u:       nn.NewParam("lstm.u", hd, 4*hd),
		head:    nn.NewLinear(rng, "lstm.head", hd+d.H*numTimeFeatures, a.Head),
		out:     nn.NewLinear(rng, "lstm.out", a.Head, d.H*d.K),
		highway: nn.NewLinear(rng, "lstm.highway", d.L, d.H),
		expand:  midExpander(d)}
	nn.GlorotUniform(rng, n.u)
	for j := hd; j < 2*hd; j++ {
		n.wx.B.Data[j] = 1 // forget-gate bias
	}
	nn.HeNormal(rng, n.head.W)
	return n
}

func (n *lstmNet) params() []*nn.Tensor {
	ps := append(n.wx.Params(), n.u)
	for _, l := range []*nn.Linear{n.head, n.out, n.highway} {
		ps = append(ps, l.Params()...)
	}
	return ps
}

func (n *lstmNet) forward(tp *nn.Tape, b *batch, _ *rand.Rand) *nn.Tensor {
	d, hd := n.d, n.hidden
	in := make([]float64, b.n*d.L*(1+numTimeFeatures))
	for r := 0; r < b.n*d.L; r++ {
		row := in[r*(1+numTimeFeatures):]
		row[0] = b.x[r]
		copy(row[1:1+numTimeFeatures], b.tfPast[r*numTimeFeatures:])
	}
	gx := n.wx.Forward(tp, tp.Const(b.n*d.L, 1+numTimeFeatures, in))
	idx := make([]int, b.n)
	h := tp.Const(b.n, hd, make([]float64, b.n*hd))
	c := tp.Const(b.n, hd, make([]float64, b.n*hd))
	for t := 0; t < d.L; t++ {
		for i := range idx {
			idx[i] = i*d.L + t
		}
		pre := tp.Add(tp.GatherRows(gx, idx), tp.MatMul(h, n.u))
		ifo := tp.Sigmoid(tp.SliceCols(pre, 0, 3*hd))
		g := tp.Tanh(tp.SliceCols(pre, 3*hd, 4*hd))
		i, f, o := tp.SliceCols(ifo, 0, hd), tp.SliceCols(ifo, hd, 2*hd), tp.SliceCols(ifo, 2*hd, 3*hd)
		c = tp.Add(tp.Mul(f, c), tp.Mul(i, g))
		h = tp.Mul(o, tp.Tanh(c))
	}
	x := tp.ConcatCols(h, timeInputs(tp, b))
	raw := n.out.Forward(tp, tp.ReLU(n.head.Forward(tp, x)))
	hw := tp.MatMul(n.highway.Forward(tp, tp.Const(b.n, d.L, b.x)), tp.Const(d.H, d.H*d.K, n.expand))
	return tp.MonotoneQuantiles(tp.Add(raw, hw), d.K, d.Mid)
}
