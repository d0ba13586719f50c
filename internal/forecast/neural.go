package forecast

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"sync"

	"github.com/bascaler/bascaler/internal/nn"
	"github.com/bascaler/bascaler/internal/series"
)

// This file holds what the neural forecasters (mlp, gru, lstm, informer) share: parameters,
// windowing, input scaling, time features, the training loop with early stopping, Predict
// and persistence. Each model only supplies its network (an architecture).
//
// Input scaling, fitted per window: a window's values are standardised by their own mean μ
// and standard deviation σ (σ floored at 5% of the training series' standard deviation so a
// flat window cannot blow the targets up), and the targets are expressed in the same units;
// forecasts are mapped back with μ + σ·q. This keeps one network valid across the level
// shifts of a multi-year trace. The networks deliberately get no absolute-level input: in
// an experiment on the Wikipedia trace, feeding (μ − m)/s made the GRU's validation loss
// climb after two epochs: that trace's validation mean (45 M/h) lies 4.9 training standard
// deviations above the training mean and above the training maximum (35 M/h).
//
// Time features: sin/cos of hour-of-day and of day-of-week of every input and target
// interval, from history.Start and Step (all zero when Step is unknown).

// numTimeFeatures is the width of the per-interval time features.
const numTimeFeatures = 4

// architecture builds a model's network for the given dimensions.
type architecture interface {
	build(rng *rand.Rand, d netDims) network
}

// network maps a batch of windows to B×(H·K) non-crossing quantiles in scaled units.
type network interface {
	params() []*nn.Tensor
	// forward runs the network; rng drives any random choice (ProbSparse key sampling).
	forward(tp *nn.Tape, b *batch, rng *rand.Rand) *nn.Tensor
}

// netDims are the sizes a network is built for.
type netDims struct {
	L, H, K, Mid int // lookback, horizon, number of levels, index of the central level
}

// trainConfig are the training knobs every neural model takes as params.
type trainConfig struct {
	Lookback int     `json:"lookback"`
	Epochs   int     `json:"epochs"`
	Steps    int     `json:"steps"` // optimiser steps per epoch, each on a random batch
	Batch    int     `json:"batch"`
	LR       float64 `json:"lr"`
	Patience int     `json:"patience"` // epochs without validation improvement before stopping
	// ValWindows bounds the validation windows scored after each epoch (evenly spaced).
	ValWindows int `json:"val_windows"`
}

// paramSpec describes one integer or float parameter: its default and its valid range.
type paramSpec struct {
	name   string
	def    float64
	lo, hi float64
	isInt  bool
	target any // *int or *float64
}

// parseParams fills the targets of specs from p, rejecting unknown names, malformed numbers
// and values outside the range, naming the parameter.
func parseParams(p map[string]string, specs []paramSpec) error {
	names := make([]string, len(specs))
	for i, s := range specs {
		names[i] = s.name
	}
	if err := onlyParams(p, names...); err != nil {
		return err
	}
	for _, s := range specs {
		v := s.def
		if raw, ok := p[s.name]; ok {
			var err error
			if s.isInt {
				var n int
				n, err = strconv.Atoi(raw)
				v = float64(n)
			} else {
				v, err = strconv.ParseFloat(raw, 64)
			}
			if err != nil || math.IsNaN(v) || v < s.lo || v > s.hi {
				kind := "a number"
				if s.isInt {
					kind = "an integer"
				}
				return fmt.Errorf("param %s=%q: want %s in [%g, %g]", s.name, raw, kind, s.lo, s.hi)
			}
		}
		switch t := s.target.(type) {
		case *int:
			*t = int(v)
		case *float64:
			*t = v
		}
	}
	return nil
}

// trainSpecs are the shared params with model-specific defaults.
func trainSpecs(c *trainConfig, lookback, epochs, steps, batch int, lr float64) []paramSpec {
	return []paramSpec{
		{name: "lookback", def: float64(lookback), lo: 8, hi: 2000, isInt: true, target: &c.Lookback},
		{name: "epochs", def: float64(epochs), lo: 1, hi: 10000, isInt: true, target: &c.Epochs},
		{name: "steps", def: float64(steps), lo: 1, hi: 100000, isInt: true, target: &c.Steps},
		{name: "batch", def: float64(batch), lo: 1, hi: 4096, isInt: true, target: &c.Batch},
		{name: "lr", def: lr, lo: 1e-6, hi: 1, target: &c.LR},
		{name: "patience", def: 4, lo: 1, hi: 10000, isInt: true, target: &c.Patience},
		{name: "val_windows", def: 256, lo: 1, hi: 100000, isInt: true, target: &c.ValWindows},
	}
}

// scaler holds the training series' statistics; only the σ floor is used by the networks.
type scaler struct {
	Mean  float64 `json:"mean"`
	Std   float64 `json:"std"`
	Floor float64 `json:"floor"`
}

func fitScaler(v []float64) scaler {
	m, s := 0.0, 0.0
	for _, x := range v {
		m += x
	}
	m /= float64(len(v))
	for _, x := range v {
		s += (x - m) * (x - m)
	}
	s = math.Sqrt(s / float64(len(v)))
	if s == 0 || math.IsNaN(s) {
		s = max(math.Abs(m), 1)
	}
	return scaler{Mean: m, Std: s, Floor: 0.05 * s}
}

// source is a stretch of values with the time features of each point.
type source struct {
	v  []float64
	tf []float64 // len(v)×numTimeFeatures
}

// timeFeatures writes the features of the n intervals starting at index from of s.
func timeFeatures(s series.Series, from, n int, dst []float64) {
	if s.Step <= 0 {
		clear(dst[:n*numTimeFeatures])
		return
	}
	for i := 0; i < n; i++ {
		t := s.Time(from + i)
		day := float64(t.Hour()*3600+t.Minute()*60+t.Second()) / 86400
		week := (float64(t.Weekday()) + day) / 7
		f := dst[i*numTimeFeatures:]
		f[0], f[1] = math.Sin(2*math.Pi*day), math.Cos(2*math.Pi*day)
		f[2], f[3] = math.Sin(2*math.Pi*week), math.Cos(2*math.Pi*week)
	}
}

func newSource(s series.Series) source {
	src := source{v: s.Values, tf: make([]float64, s.Len()*numTimeFeatures)}
	timeFeatures(s, 0, s.Len(), src.tf)
	return src
}

// batch is a set of windows in network units. Window i reads src values [t−L, t) and,
// for training, targets [t, t+H).
type batch struct {
	n, L, H int
	x       []float64 // n×L standardised window values
	tfPast  []float64 // n·L×numTimeFeatures
	tfFut   []float64 // n·H×numTimeFeatures
	y       []float64 // n×H standardised targets (nil when predicting)
	mu, sd  []float64 // per-window standardisation
}

func newBatch(n, l, h int, withTargets bool) *batch {
	b := &batch{n: n, L: l, H: h,
		x: make([]float64, n*l), tfPast: make([]float64, n*l*numTimeFeatures),
		tfFut: make([]float64, n*h*numTimeFeatures),
		mu:    make([]float64, n), sd: make([]float64, n)}
	if withTargets {
		b.y = make([]float64, n*h)
	}
	return b
}

// fill loads the windows ending at ts, with their targets, from src.
func (b *batch) fill(src source, ts []int, sc scaler) {
	const f = numTimeFeatures
	for i, t := range ts {
		w := src.v[t-b.L : t]
		copy(b.tfPast[i*b.L*f:(i+1)*b.L*f], src.tf[(t-b.L)*f:t*f])
		copy(b.tfFut[i*b.H*f:(i+1)*b.H*f], src.tf[t*f:(t+b.H)*f])
		mu, sd := b.standardise(i, w, sc)
		for j, v := range src.v[t : t+b.H] {
			b.y[i*b.H+j] = (v - mu) / sd
		}
	}
}

func (b *batch) standardise(i int, w []float64, sc scaler) (mu, sd float64) {
	for _, v := range w {
		mu += v
	}
	mu /= float64(len(w))
	for _, v := range w {
		sd += (v - mu) * (v - mu)
	}
	sd = max(math.Sqrt(sd/float64(len(w))), sc.Floor, 1e-12)
	for j, v := range w {
		b.x[i*b.L+j] = (v - mu) / sd
	}
	b.mu[i], b.sd[i] = mu, sd
	return mu, sd
}

// Neural is a neural quantile forecaster (kinds mlp, gru, lstm, informer): a network from its
// architecture trained with pinball loss on windows of the training series, with early
// stopping on the validation series. See the architecture types for each network.
type Neural struct {
	kind string
	cfg  trainConfig
	arch architecture

	// Fitted state.
	levels []float64
	dims   netDims
	sc     scaler
	nonneg bool
	net    network
	// tapes recycles inference arenas between Predict calls (safe for concurrent use).
	tapes sync.Pool
	// valLoss is the validation score after each epoch of the last Fit (for tests and
	// diagnostics; not saved).
	valLoss []float64
}

// Kind returns the registry name.
func (m *Neural) Kind() string { return m.kind }

// MinHistory is the lookback window: Predict reads exactly the last MinHistory points.
func (m *Neural) MinHistory() int { return m.cfg.Lookback }

// defaultHorizon is used when FitOptions.Horizon is 0.
const defaultHorizon = 24

// Fit trains the network. The validation windows take their lookback context from the end
// of train, so val needs only H points.
func (m *Neural) Fit(train, val series.Series, opts FitOptions) error {
	levels, err := fitLevels(opts)
	if err != nil {
		return fmt.Errorf("%s: %w", m.kind, err)
	}
	h := opts.Horizon
	if h == 0 {
		h = defaultHorizon
	}
	if h < 0 {
		return fmt.Errorf("%s: horizon %d, want >= 1", m.kind, h)
	}
	l := m.cfg.Lookback
	if err := checkTrain(m.kind, train, l+h); err != nil {
		return err
	}
	if val.Len() < h {
		return fmt.Errorf("%s: validation series has %d points, needs at least %d (the horizon) for early stopping", m.kind, val.Len(), h)
	}
	if err := checkValues(m.kind+": validation series", val.Values); err != nil {
		return err
	}
	mid := 0
	for k, q := range levels {
		if math.Abs(q-0.5) < math.Abs(levels[mid]-0.5) {
			mid = k
		}
	}
	m.levels, m.dims = levels, netDims{L: l, H: h, K: len(levels), Mid: mid}
	m.sc = fitScaler(train.Values)
	m.valLoss = nil
	m.nonneg = nonNegative(train.Values)

	trainSrc := newSource(train)
	valSrc := contextSource(train, val, l)
	trainEnds := make([]int, 0, train.Len()-l-h+1)
	for t := l; t+h <= train.Len(); t++ {
		trainEnds = append(trainEnds, t)
	}
	valEnds := evenly(l, len(valSrc.v)-h, m.cfg.ValWindows)

	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed))
	m.net = m.arch.build(rng, m.dims)
	params := m.net.params()
	best := nn.CloneParams(params)
	bestLoss := math.Inf(1)
	opt := nn.NewAdam(params, m.cfg.LR)
	tp := nn.NewTape()
	b := newBatch(m.cfg.Batch, l, h, true)
	ts := make([]int, m.cfg.Batch)
	bad, step, total := 0, 0, m.cfg.Epochs*m.cfg.Steps
	for ep := 0; ep < m.cfg.Epochs; ep++ {
		for range m.cfg.Steps {
			// Cosine decay to 10% of the rate: large steps early, fine ones near the end,
			// which steadies the validation score that early stopping watches.
			opt.LR = m.cfg.LR * (0.1 + 0.45*(1+math.Cos(math.Pi*float64(step)/float64(total))))
			step++
			for i := range ts {
				ts[i] = trainEnds[rng.IntN(len(trainEnds))]
			}
			b.fill(trainSrc, ts, m.sc)
			tp.Reset()
			q := m.net.forward(tp, b, rng)
			loss := tp.Pinball(q, tp.Const(b.n, h, b.y), levels)
			if err := tp.Backward(loss); err != nil {
				m.net = nil // a failed Fit leaves the model unfitted, not half trained
				return fmt.Errorf("%s: %w", m.kind, err)
			}
			nn.ClipGradNorm(params, 1)
			opt.Step()
			nn.ZeroGrad(params)
		}
		vl := m.scaledLoss(valSrc, valEnds)
		m.valLoss = append(m.valLoss, vl)
		if vl < bestLoss {
			bestLoss, bad = vl, 0
			nn.CopyData(best, params)
		} else {
			bad++
		}
		if opts.Progress != nil {
			opts.Progress(ep+1, m.cfg.Epochs)
		}
		if bad >= m.cfg.Patience {
			if opts.Progress != nil && ep+1 < m.cfg.Epochs {
				opts.Progress(m.cfg.Epochs, m.cfg.Epochs)
			}
			break
		}
	}
	if math.IsInf(bestLoss, 1) || math.IsNaN(bestLoss) {
		m.net = nil
		return fmt.Errorf("%s: training diverged (validation loss %v)", m.kind, bestLoss)
	}
	nn.CopyData(params, best)
	return nil
}

// scaledLoss is the mean pinball loss, in standardised units, over the windows ending at ts.
// Its random draws use a fixed seed so that the score of given weights is reproducible.
func (m *Neural) scaledLoss(src source, ts []int) float64 {
	rng := rand.New(rand.NewPCG(1, 2))
	const chunk = 64
	total, n := 0.0, 0
	tp := nn.NewInferenceTape()
	for from := 0; from < len(ts); from += chunk {
		part := ts[from:min(from+chunk, len(ts))]
		b := newBatch(len(part), m.dims.L, m.dims.H, true)
		b.fill(src, part, m.sc)
		tp.Reset()
		q := m.net.forward(tp, b, rng)
		l := tp.Pinball(q, tp.Const(b.n, b.H, b.y), m.levels)
		total += l.Data[0] * float64(len(part))
		n += len(part)
	}
	return total / float64(n)
}

// contextSource joins the last l points of train and all of val, so that validation windows
// can start before val does.
func contextSource(train, val series.Series, l int) source {
	ctx := train.Slice(train.Len()-l, train.Len())
	v := append(slices.Clone(ctx.Values), val.Values...)
	tf := make([]float64, len(v)*numTimeFeatures)
	timeFeatures(ctx, 0, l, tf)
	timeFeatures(val, 0, val.Len(), tf[l*numTimeFeatures:])
	return source{v: v, tf: tf}
}

// evenly returns up to n evenly spaced integers from [lo, hi].
func evenly(lo, hi, n int) []int {
	if hi < lo {
		return nil
	}
	count := min(n, hi-lo+1)
	out := make([]int, count)
	for i := range out {
		if count == 1 {
			out[i] = hi
			continue
		}
		out[i] = lo + int(math.Round(float64(i)*float64(hi-lo)/float64(count-1)))
	}
	return out
}

// Predict forecasts h ≤ the fitted horizon steps from the last MinHistory points.
func (m *Neural) Predict(history series.Series, h int) (Forecast, error) {
	if m.net == nil {
		return Forecast{}, fmt.Errorf("%s: model is not fitted", m.kind)
	}
	l := m.dims.L
	if err := checkHistory(m.kind, history, l, l, h); err != nil {
		return Forecast{}, err
	}
	if h > m.dims.H {
		return Forecast{}, fmt.Errorf("%s: horizon %d exceeds the %d steps the model was trained for", m.kind, h, m.dims.H)
	}
	n := history.Len()
	b := newBatch(1, l, m.dims.H, false)
	timeFeatures(history, n-l, l, b.tfPast)
	timeFeatures(history, n, m.dims.H, b.tfFut)
	mu, sd := b.standardise(0, history.Values[n-l:], m.sc)
	rng := rand.New(rand.NewPCG(1, 2))
	tp, _ := m.tapes.Get().(*nn.Tape)
	if tp == nil {
		tp = nn.NewInferenceTape()
	}
	defer m.tapes.Put(tp)
	tp.Reset()
	q := m.net.forward(tp, b, rng)
	fc := newForecast(m.levels, h)
	k := len(m.levels)
	for s := 0; s < h; s++ {
		for j := 0; j < k; j++ {
			fc.Q[s][j] = mu + sd*q.Data[s*k+j]
		}
	}
	return finish(fc, m.nonneg), nil
}

// neuralState is the JSON header of a saved neural model; the weights follow it.
type neuralState struct {
	Kind   string          `json:"kind"`
	Train  trainConfig     `json:"train"`
	Arch   json.RawMessage `json:"arch"`
	Levels []float64       `json:"levels"`
	H      int             `json:"horizon"`
	Scaler scaler          `json:"scaler"`
	Nonneg bool            `json:"nonneg"`
}

// MarshalState writes a length-prefixed JSON header (configuration, levels, horizon,
// scaler) followed by the weights in nn's checksummed parameter format.
func (m *Neural) MarshalState() ([]byte, error) {
	if m.net == nil {
		return nil, fmt.Errorf("%s: model is not fitted", m.kind)
	}
	arch, err := json.Marshal(m.arch)
	if err != nil {
		return nil, err
	}
	hdr, err := json.Marshal(neuralState{Kind: m.kind, Train: m.cfg, Arch: arch, Levels: m.levels,
		H: m.dims.H, Scaler: m.sc, Nonneg: m.nonneg})
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Write(binary.LittleEndian.AppendUint32(nil, uint32(len(hdr))))
	buf.Write(hdr)
	if err := nn.SaveParams(&buf, m.net.params()); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// UnmarshalState restores a model saved by MarshalState into a model built with the same
// params; a header for another kind or configuration is an error.
func (m *Neural) UnmarshalState(b []byte) error {
	if len(b) < 4 {
		return errors.New("neural state: too short")
	}
	n := int(binary.LittleEndian.Uint32(b))
	if n > len(b)-4 {
		return fmt.Errorf("neural state: header length %d exceeds the %d bytes present", n, len(b)-4)
	}
	var st neuralState
	if err := json.Unmarshal(b[4:4+n], &st); err != nil {
		return fmt.Errorf("neural state header: %w", err)
	}
	if st.Kind != m.kind {
		return fmt.Errorf("neural state is for kind %q, not %q", st.Kind, m.kind)
	}
	if st.Train != m.cfg {
		return fmt.Errorf("neural state was trained with %+v, the model's params give %+v", st.Train, m.cfg)
	}
	arch, err := json.Marshal(m.arch)
	if err != nil {
		return err
	}
	if !bytes.Equal(arch, st.Arch) {
		return fmt.Errorf("neural state architecture %s differs from the params' %s", st.Arch, arch)
	}
	if err := checkLevels(st.Levels); err != nil {
		return fmt.Errorf("neural state levels: %w", err)
	}
	if st.H < 1 || st.H > 100000 {
		return fmt.Errorf("neural state horizon %d is invalid", st.H)
	}
	if !(st.Scaler.Std > 0) || !(st.Scaler.Floor > 0) || math.IsNaN(st.Scaler.Mean) || math.IsInf(st.Scaler.Mean, 0) {
		return fmt.Errorf("neural state scaler %+v is invalid", st.Scaler)
	}
	mid := 0
	for k, q := range st.Levels {
		if math.Abs(q-0.5) < math.Abs(st.Levels[mid]-0.5) {
			mid = k
		}
	}
	dims := netDims{L: m.cfg.Lookback, H: st.H, K: len(st.Levels), Mid: mid}
	net := m.arch.build(rand.New(rand.NewPCG(0, 0)), dims)
	if err := nn.LoadParams(bytes.NewReader(b[4+n:]), net.params()); err != nil {
		return fmt.Errorf("neural weights: %w", err)
	}
	m.levels, m.dims, m.sc, m.nonneg, m.net = st.Levels, dims, st.Scaler, st.Nonneg, net
	return nil
}

// timeInputs returns the per-target-step time features of b flattened per window: n×(H·4).
func timeInputs(tp *nn.Tape, b *batch) *nn.Tensor {
	return tp.Const(b.n, b.H*numTimeFeatures, b.tfFut)
}

// midExpander is the constant H×(H·K) matrix that places a per-step value in the central
// quantile column of each step, so a point-forecast branch adds to the median and, through
// the cumulative parameterisation, shifts every quantile of that step alike.
func midExpander(d netDims) []float64 {
	e := make([]float64, d.H*d.H*d.K)
	for s := 0; s < d.H; s++ {
		e[s*d.H*d.K+s*d.K+d.Mid] = 1
	}
	return e
}
