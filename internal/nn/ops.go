package nn

import (
	"fmt"
	"math"
)

// Add returns a+b (same shapes).
func (tp *Tape) Add(a, b *Tensor) *Tensor {
	sameShape("Add", a, b)
	out := tp.resultDirty(a.Rows, a.Cols, a, b)
	for i := range out.Data {
		out.Data[i] = a.Data[i] + b.Data[i]
	}
	tp.record(out, func() {
		accum(a.Grad, out.Grad, 1)
		accum(b.Grad, out.Grad, 1)
	})
	return out
}

// Sub returns a−b (same shapes).
func (tp *Tape) Sub(a, b *Tensor) *Tensor {
	sameShape("Sub", a, b)
	out := tp.resultDirty(a.Rows, a.Cols, a, b)
	for i := range out.Data {
		out.Data[i] = a.Data[i] - b.Data[i]
	}
	tp.record(out, func() {
		accum(a.Grad, out.Grad, 1)
		accum(b.Grad, out.Grad, -1)
	})
	return out
}

// Mul returns the elementwise product a⊙b.
func (tp *Tape) Mul(a, b *Tensor) *Tensor {
	sameShape("Mul", a, b)
	out := tp.resultDirty(a.Rows, a.Cols, a, b)
	for i := range out.Data {
		out.Data[i] = a.Data[i] * b.Data[i]
	}
	tp.record(out, func() {
		if a.Grad != nil {
			for i, g := range out.Grad {
				a.Grad[i] += g * b.Data[i]
			}
		}
		if b.Grad != nil {
			for i, g := range out.Grad {
				b.Grad[i] += g * a.Data[i]
			}
		}
	})
	return out
}

// Scale returns s·a.
func (tp *Tape) Scale(a *Tensor, s float64) *Tensor {
	out := tp.resultDirty(a.Rows, a.Cols, a)
	for i, v := range a.Data {
		out.Data[i] = s * v
	}
	tp.record(out, func() { accum(a.Grad, out.Grad, s) })
	return out
}

// AddRow returns a with the 1×C row b added to every row (bias broadcast).
func (tp *Tape) AddRow(a, b *Tensor) *Tensor {
	if b.Rows != 1 || b.Cols != a.Cols {
		panic(fmt.Sprintf("nn: AddRow %s + %s", a.Shape(), b.Shape()))
	}
	out := tp.resultDirty(a.Rows, a.Cols, a, b)
	c := a.Cols
	for i := 0; i < a.Rows; i++ {
		for j := 0; j < c; j++ {
			out.Data[i*c+j] = a.Data[i*c+j] + b.Data[j]
		}
	}
	tp.record(out, func() {
		accum(a.Grad, out.Grad, 1)
		if b.Grad != nil {
			for i := 0; i < a.Rows; i++ {
				for j := 0; j < c; j++ {
					b.Grad[j] += out.Grad[i*c+j]
				}
			}
		}
	})
	return out
}

// Max returns the elementwise maximum; the gradient goes to a on ties.
func (tp *Tape) Max(a, b *Tensor) *Tensor {
	return tp.pick("Max", a, b, func(x, y float64) bool { return x >= y })
}

// Min returns the elementwise minimum; the gradient goes to a on ties.
func (tp *Tape) Min(a, b *Tensor) *Tensor {
	return tp.pick("Min", a, b, func(x, y float64) bool { return x <= y })
}

func (tp *Tape) pick(op string, a, b *Tensor, takeA func(x, y float64) bool) *Tensor {
	sameShape(op, a, b)
	out := tp.resultDirty(a.Rows, a.Cols, a, b)
	for i := range out.Data {
		if takeA(a.Data[i], b.Data[i]) {
			out.Data[i] = a.Data[i]
		} else {
			out.Data[i] = b.Data[i]
		}
	}
	tp.record(out, func() {
		for i, g := range out.Grad {
			if takeA(a.Data[i], b.Data[i]) {
				if a.Grad != nil {
					a.Grad[i] += g
				}
			} else if b.Grad != nil {
				b.Grad[i] += g
			}
		}
	})
	return out
}

// Clamp limits every value to [lo, hi]; clamped values pass no gradient (PPO's ratio clip).
func (tp *Tape) Clamp(a *Tensor, lo, hi float64) *Tensor {
	out := tp.resultDirty(a.Rows, a.Cols, a)
	for i, v := range a.Data {
		out.Data[i] = min(max(v, lo), hi)
	}
	tp.record(out, func() {
		for i, g := range out.Grad {
			if v := a.Data[i]; v >= lo && v <= hi {
				a.Grad[i] += g
			}
		}
	})
	return out
}

// unary applies f elementwise; df gives the derivative from the input x and output y.
func (tp *Tape) unary(a *Tensor, f func(x float64) float64, df func(x, y float64) float64) *Tensor {
	out := tp.resultDirty(a.Rows, a.Cols, a)
	for i, v := range a.Data {
		out.Data[i] = f(v)
	}
	tp.record(out, func() {
		for i, g := range out.Grad {
			a.Grad[i] += g * df(a.Data[i], out.Data[i])
		}
	})
	return out
}

// Tanh is the hyperbolic tangent.
func (tp *Tape) Tanh(a *Tensor) *Tensor {
	return tp.unary(a, math.Tanh, func(_, y float64) float64 { return 1 - y*y })
}

// Sigmoid is 1/(1+e^−x).
func (tp *Tape) Sigmoid(a *Tensor) *Tensor {
	return tp.unary(a, sigmoid, func(_, y float64) float64 { return y * (1 - y) })
}

// ReLU is max(0, x).
func (tp *Tape) ReLU(a *Tensor) *Tensor {
	return tp.unary(a, func(x float64) float64 { return max(x, 0) },
		func(x, _ float64) float64 {
			if x > 0 {
				return 1
			}
			return 0
		})
}

// ELU is x for x>0 and e^x−1 otherwise (Informer's distilling activation, α=1).
func (tp *Tape) ELU(a *Tensor) *Tensor {
	return tp.unary(a, func(x float64) float64 {
		if x > 0 {
			return x
		}
		return math.Expm1(x)
	}, func(x, y float64) float64 {
		if x > 0 {
			return 1
		}
		return y + 1
	})
}

// GELU uses the tanh approximation 0.5·x·(1+tanh(√(2/π)(x+0.044715x³))).
func (tp *Tape) GELU(a *Tensor) *Tensor {
	const c = 0.7978845608028654 // √(2/π)
	return tp.unary(a, func(x float64) float64 {
		return 0.5 * x * (1 + math.Tanh(c*(x+0.044715*x*x*x)))
	}, func(x, _ float64) float64 {
		t := math.Tanh(c * (x + 0.044715*x*x*x))
		return 0.5*(1+t) + 0.5*x*(1-t*t)*c*(1+3*0.044715*x*x)
	})
}

// Exp is e^x.
func (tp *Tape) Exp(a *Tensor) *Tensor {
	return tp.unary(a, math.Exp, func(_, y float64) float64 { return y })
}

// Softplus is log(1+e^x), computed without overflow.
func (tp *Tape) Softplus(a *Tensor) *Tensor {
	return tp.unary(a, softplus, func(x, _ float64) float64 { return sigmoid(x) })
}

func sigmoid(x float64) float64 {
	if x >= 0 {
		return 1 / (1 + math.Exp(-x))
	}
	e := math.Exp(x)
	return e / (1 + e)
}

func softplus(x float64) float64 {
	if x > 30 {
		return x
	}
	return math.Log1p(math.Exp(x))
}

// accum adds s·src into dst when dst is a gradient buffer.
func accum(dst, src []float64, s float64) {
	if dst == nil {
		return
	}
	for i, g := range src {
		dst[i] += s * g
	}
}
