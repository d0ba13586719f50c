package nn

import "math"

// Adam is the Adam optimiser (Kingma & Ba, 2015) with bias correction and optional
// decoupled weight decay (AdamW, Loshchilov & Hutter, 2019):
//
//	m ← β1·m + (1−β1)·g;  v ← β2·v + (1−β2)·g²
//	θ ← θ − lr·( m/(1−β1ᵗ) / (√(v/(1−β2ᵗ)) + ε) + wd·θ )
type Adam struct {
	LR, Beta1, Beta2, Eps float64
	// WeightDecay is decoupled from the gradient (0 disables it).
	WeightDecay float64

	params []*Tensor
	m, v   [][]float64
	t      int
}

// NewAdam returns Adam over params with the usual defaults (β1 0.9, β2 0.999, ε 1e-8).
func NewAdam(params []*Tensor, lr float64) *Adam {
	a := &Adam{LR: lr, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, params: params}
	for _, p := range params {
		a.m = append(a.m, make([]float64, p.Len()))
		a.v = append(a.v, make([]float64, p.Len()))
	}
	return a
}

// Step applies one update from the accumulated gradients (it does not clear them).
func (a *Adam) Step() {
	a.t++
	c1 := 1 - math.Pow(a.Beta1, float64(a.t))
	c2 := 1 - math.Pow(a.Beta2, float64(a.t))
	for i, p := range a.params {
		m, v := a.m[i], a.v[i]
		for j, g := range p.Grad {
			m[j] = a.Beta1*m[j] + (1-a.Beta1)*g
			v[j] = a.Beta2*v[j] + (1-a.Beta2)*g*g
			upd := (m[j] / c1) / (math.Sqrt(v[j]/c2) + a.Eps)
			p.Data[j] -= a.LR * (upd + a.WeightDecay*p.Data[j])
		}
	}
}

// ClipGradNorm scales all gradients down so their global L2 norm is at most maxNorm, and
// returns the norm before clipping. A non-finite norm zeroes the gradients, so one bad batch
// skips an update instead of poisoning the weights.
func ClipGradNorm(params []*Tensor, maxNorm float64) float64 {
	s := 0.0
	for _, p := range params {
		for _, g := range p.Grad {
			s += g * g
		}
	}
	n := math.Sqrt(s)
	if math.IsNaN(n) || math.IsInf(n, 0) {
		ZeroGrad(params)
		return n
	}
	if n > maxNorm && n > 0 {
		f := maxNorm / n
		for _, p := range params {
			for j := range p.Grad {
				p.Grad[j] *= f
			}
		}
	}
	return n
}
