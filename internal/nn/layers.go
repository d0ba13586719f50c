package nn

import (
	"math"
	"math/rand/v2"
)

// GlorotUniform fills t with U(−a, a), a = √(6/(fan_in+fan_out)), taking fan_in = Rows and
// fan_out = Cols (weights are used as x·W): keeps activation variance steady through tanh
// and linear layers.
func GlorotUniform(rng *rand.Rand, t *Tensor) {
	a := math.Sqrt(6 / float64(t.Rows+t.Cols))
	for i := range t.Data {
		t.Data[i] = (2*rng.Float64() - 1) * a
	}
}

// HeNormal fills t with N(0, 2/fan_in), fan_in = Rows: the scale that suits ReLU layers.
func HeNormal(rng *rand.Rand, t *Tensor) {
	s := math.Sqrt(2 / float64(t.Rows))
	for i := range t.Data {
		t.Data[i] = rng.NormFloat64() * s
	}
}

// Linear is a dense layer y = x·W + b.
type Linear struct {
	W *Tensor // in×out
	B *Tensor // 1×out
}

// NewLinear returns a Glorot-initialised layer with zero bias; parameters are named
// name+".W" and name+".b".
func NewLinear(rng *rand.Rand, name string, in, out int) *Linear {
	l := &Linear{W: NewParam(name+".W", in, out), B: NewParam(name+".b", 1, out)}
	GlorotUniform(rng, l.W)
	return l
}

// Forward applies the layer to the rows of x.
func (l *Linear) Forward(tp *Tape, x *Tensor) *Tensor { return tp.AddRow(tp.MatMul(x, l.W), l.B) }

// Params lists W and b.
func (l *Linear) Params() []*Tensor { return []*Tensor{l.W, l.B} }

// LayerNormParams holds a layer norm's gain (initially 1) and bias (initially 0).
type LayerNormParams struct{ Gain, Bias *Tensor }

// NewLayerNorm returns the identity-initialised parameters for rows of width c.
func NewLayerNorm(name string, c int) *LayerNormParams {
	ln := &LayerNormParams{Gain: NewParam(name+".gain", 1, c), Bias: NewParam(name+".bias", 1, c)}
	for i := range ln.Gain.Data {
		ln.Gain.Data[i] = 1
	}
	return ln
}

// Forward normalises the rows of x.
func (ln *LayerNormParams) Forward(tp *Tape, x *Tensor) *Tensor {
	return tp.LayerNorm(x, ln.Gain, ln.Bias, 1e-5)
}

// Params lists gain and bias.
func (ln *LayerNormParams) Params() []*Tensor { return []*Tensor{ln.Gain, ln.Bias} }
