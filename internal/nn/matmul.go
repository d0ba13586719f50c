package nn

import (
	"fmt"

	"gonum.org/v1/gonum/floats"
)

// The matrix products run row by row on gonum's assembly axpy and dot kernels: single
// threaded by design (the callers parallelise, if at all, across models), and fast enough
// for the small matrices used here without BLAS's packing overhead.

// MatMul returns a·b for a R×K and b K×C.
func (tp *Tape) MatMul(a, b *Tensor) *Tensor {
	if a.Cols != b.Rows {
		panic(fmt.Sprintf("nn: MatMul %s · %s", a.Shape(), b.Shape()))
	}
	out := tp.result(a.Rows, b.Cols, a, b)
	gemmNN(out.Data, a.Data, b.Data, a.Rows, a.Cols, b.Cols)
	tp.record(out, func() {
		if a.Grad != nil { // dA += dC · Bᵀ
			gemmNT(a.Grad, out.Grad, b.Data, a.Rows, b.Cols, a.Cols)
		}
		if b.Grad != nil { // dB += Aᵀ · dC
			gemmTN(b.Grad, a.Data, out.Grad, a.Rows, a.Cols, b.Cols)
		}
	})
	return out
}

// MatMulBT returns a·bᵀ for a R×K and b C×K (attention scores Q·Kᵀ without a transpose).
func (tp *Tape) MatMulBT(a, b *Tensor) *Tensor {
	if a.Cols != b.Cols {
		panic(fmt.Sprintf("nn: MatMulBT %s · (%s)ᵀ", a.Shape(), b.Shape()))
	}
	out := tp.result(a.Rows, b.Rows, a, b)
	gemmNT(out.Data, a.Data, b.Data, a.Rows, a.Cols, b.Rows)
	tp.record(out, func() {
		if a.Grad != nil { // dA += dC · B
			gemmNN(a.Grad, out.Grad, b.Data, a.Rows, b.Rows, a.Cols)
		}
		if b.Grad != nil { // dB += dCᵀ · A
			gemmTN(b.Grad, out.Grad, a.Data, a.Rows, b.Rows, a.Cols)
		}
	})
	return out
}

// gemmNN: c (m×n) += a (m×k) · b (k×n).
func gemmNN(c, a, b []float64, m, k, n int) {
	for i := 0; i < m; i++ {
		ci := c[i*n : (i+1)*n]
		ai := a[i*k : (i+1)*k]
		for p, v := range ai {
			if v != 0 {
				floats.AddScaled(ci, v, b[p*n:(p+1)*n])
			}
		}
	}
}

// gemmNT: c (m×n) += a (m×k) · bᵀ, b n×k.
func gemmNT(c, a, b []float64, m, k, n int) {
	for i := 0; i < m; i++ {
		ai := a[i*k : (i+1)*k]
		ci := c[i*n : (i+1)*n]
		for j := 0; j < n; j++ {
			ci[j] += floats.Dot(ai, b[j*k:(j+1)*k])
		}
	}
}

// gemmTN: c (k×n) += aᵀ · b, a m×k, b m×n.
func gemmTN(c, a, b []float64, m, k, n int) {
	for i := 0; i < m; i++ {
		ai := a[i*k : (i+1)*k]
		bi := b[i*n : (i+1)*n]
		for p, v := range ai {
			if v != 0 {
				floats.AddScaled(c[p*n:(p+1)*n], v, bi)
			}
		}
	}
}
