package forecast

import (
	"math/rand/v2"

	"github.com/bascaler/bascaler/internal/nn"
)

func init() {
	Register("mlp", "direct multi-horizon quantile MLP: DLinear-style trend/seasonal linear branch plus an MLP on the window and target time features; params: lookback epochs steps batch lr patience val_windows hidden ma",
		newMLP)
}

// MLPArch is the mlp network, a direct multi-horizon quantile model in the spirit of
// DLinear (Zeng et al., AAAI 2023) and N-HiTS (Challu et al., AAAI 2023):
//
//   - a linear branch: the standardised window is split into a moving-average trend and the
//     seasonal remainder, each mapped linearly to the H point forecasts, which feed the
//     median column of every step;
//   - a residual MLP (two ReLU layers) over the window and the time features of the H
//     target steps, emitting all H×K raw quantile outputs;
//   - their sum goes through the cumulative-softplus map (nn.MonotoneQuantiles), so the
//     quantiles never cross.
//
// All H steps come out of one pass (direct strategy, no recursion).
type MLPArch struct {
	Hidden int `json:"hidden"`
	MA     int `json:"ma"` // moving-average length of the trend split
}

func newMLP(p map[string]string) (Forecaster, error) {
	m := &Neural{kind: "mlp"}
	a := &MLPArch{}
	specs := append(trainSpecs(&m.cfg, 168, 30, 60, 64, 2e-3),
		paramSpec{name: "hidden", def: 128, lo: 4, hi: 4096, isInt: true, target: &a.Hidden},
		paramSpec{name: "ma", def: 25, lo: 1, hi: 1001, isInt: true, target: &a.MA})
	if err := parseParams(p, specs); err != nil {
		return nil, err
	}
	m.arch = a
	return m, nil
}

type mlpNet struct {
	d                 netDims
	ma                int
	trend, seas       *nn.Linear
	l1, l2, out       *nn.Linear
	expand            []float64
	trendBuf, seasBuf []float64
}

func (a *MLPArch) build(rng *rand.Rand, d netDims) network {
	in := d.L + d.H*numTimeFeatures
	n := &mlpNet{d: d, ma: min(a.MA, d.L),
		trend:  nn.NewLinear(rng, "mlp.trend", d.L, d.H),
		seas:   nn.NewLinear(rng, "mlp.seasonal", d.L, d.H),
		l1:     nn.NewLinear(rng, "mlp.l1", in, a.Hidden),
		l2:     nn.NewLinear(rng, "mlp.l2", a.Hidden, a.Hidden),
		out:    nn.NewLinear(rng, "mlp.out", a.Hidden, d.H*d.K),
		expand: midExpander(d)}
	nn.HeNormal(rng, n.l1.W)
	nn.HeNormal(rng, n.l2.W)
	return n
}

func (n *mlpNet) params() []*nn.Tensor {
	var ps []*nn.Tensor
	for _, l := range []*nn.Linear{n.trend, n.seas, n.l1, n.l2, n.out} {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// decompose splits each window into its centred moving average (edges padded with the end
// values, as DLinear does) and the remainder.
func (n *mlpNet) decompose(b *batch) (trend, seas []float64) {
	trend, seas = make([]float64, len(b.x)), make([]float64, len(b.x))
	l, half := b.L, n.ma/2
	for i := 0; i < b.n; i++ {
		w := b.x[i*l : (i+1)*l]
		for t := 0; t < l; t++ {
			s := 0.0
			for j := t - half; j < t-half+n.ma; j++ {
				s += w[min(max(j, 0), l-1)]
			}
			trend[i*l+t] = s / float64(n.ma)
			seas[i*l+t] = w[t] - trend[i*l+t]
		}
	}
	return trend, seas
}

func (n *mlpNet) forward(tp *nn.Tape, b *batch, _ *rand.Rand) *nn.Tensor {
	d := n.d
	tr, se := n.decompose(b)
	point := tp.Add(n.trend.Forward(tp, tp.Const(b.n, d.L, tr)), n.seas.Forward(tp, tp.Const(b.n, d.L, se)))
	linear := tp.MatMul(point, tp.Const(d.H, d.H*d.K, n.expand))
	x := tp.ConcatCols(tp.Const(b.n, d.L, b.x), timeInputs(tp, b))
	h := tp.ReLU(n.l1.Forward(tp, x))
	h = tp.ReLU(n.l2.Forward(tp, h))
	raw := tp.Add(n.out.Forward(tp, h), linear)
	return tp.MonotoneQuantiles(raw, d.K, d.Mid)
}
