package nn

import (
	"fmt"
	"math"
	"slices"
)

// SoftmaxRows normalises each row to probabilities; the row maximum is subtracted first so
// large logits cannot overflow.
func (tp *Tape) SoftmaxRows(a *Tensor) *Tensor {
	out := tp.resultDirty(a.Rows, a.Cols, a)
	for i := 0; i < a.Rows; i++ {
		x, y := a.Row(i), out.Row(i)
		m := math.Inf(-1)
		for _, v := range x {
			m = max(m, v)
		}
		s := 0.0
		for j, v := range x {
			if v-m < -745 { // masked entries: e^(v−m) underflows to 0, skip the call
				y[j] = 0
				continue
			}
			y[j] = math.Exp(v - m)
			s += y[j]
		}
		for j := range y {
			y[j] /= s
		}
	}
	tp.record(out, func() {
		c := a.Cols
		for i := 0; i < a.Rows; i++ {
			y, g := out.Row(i), out.Grad[i*c:(i+1)*c]
			dot := 0.0
			for j := range y {
				dot += g[j] * y[j]
			}
			ag := a.Grad[i*c : (i+1)*c]
			for j := range y {
				ag[j] += y[j] * (g[j] - dot)
			}
		}
	})
	return out
}

// LogSoftmaxRows returns log(softmax(row)) for each row, stably (x − max − log Σ e^(x−max)).
func (tp *Tape) LogSoftmaxRows(a *Tensor) *Tensor {
	out := tp.resultDirty(a.Rows, a.Cols, a)
	for i := 0; i < a.Rows; i++ {
		x, y := a.Row(i), out.Row(i)
		m := math.Inf(-1)
		for _, v := range x {
			m = max(m, v)
		}
		s := 0.0
		for _, v := range x {
			s += math.Exp(v - m)
		}
		lse := m + math.Log(s)
		for j, v := range x {
			y[j] = v - lse
		}
	}
	tp.record(out, func() {
		c := a.Cols
		for i := 0; i < a.Rows; i++ {
			y, g := out.Row(i), out.Grad[i*c:(i+1)*c]
			sg := 0.0
			for _, v := range g {
				sg += v
			}
			ag := a.Grad[i*c : (i+1)*c]
			for j := range y {
				ag[j] += g[j] - math.Exp(y[j])*sg
			}
		}
	})
	return out
}

// LayerNorm normalises each row to zero mean and unit variance, then applies the 1×C gain
// and bias: y = gain·(x−μ)/√(σ²+eps) + bias.
func (tp *Tape) LayerNorm(a, gain, bias *Tensor, eps float64) *Tensor {
	if gain.Rows != 1 || gain.Cols != a.Cols || bias.Rows != 1 || bias.Cols != a.Cols {
		panic(fmt.Sprintf("nn: LayerNorm %s with gain %s bias %s", a.Shape(), gain.Shape(), bias.Shape()))
	}
	out := tp.resultDirty(a.Rows, a.Cols, a, gain, bias)
	c := a.Cols
	xhat := tp.allocDirty(a.Len())
	rstd := tp.allocDirty(a.Rows)
	for i := 0; i < a.Rows; i++ {
		x := a.Row(i)
		mu := 0.0
		for _, v := range x {
			mu += v
		}
		mu /= float64(c)
		vr := 0.0
		for _, v := range x {
			vr += (v - mu) * (v - mu)
		}
		vr /= float64(c)
		r := 1 / math.Sqrt(vr+eps)
		rstd[i] = r
		for j, v := range x {
			h := (v - mu) * r
			xhat[i*c+j] = h
			out.Data[i*c+j] = gain.Data[j]*h + bias.Data[j]
		}
	}
	tp.record(out, func() {
		for i := 0; i < a.Rows; i++ {
			g := out.Grad[i*c : (i+1)*c]
			h := xhat[i*c : (i+1)*c]
			if gain.Grad != nil {
				for j := range g {
					gain.Grad[j] += g[j] * h[j]
				}
			}
			if bias.Grad != nil {
				for j := range g {
					bias.Grad[j] += g[j]
				}
			}
			if a.Grad == nil {
				continue
			}
			// dx = r/C · (C·dĥ − Σdĥ − ĥ·Σ(dĥ·ĥ)), with dĥ = g·gain.
			s1, s2 := 0.0, 0.0
			for j := range g {
				dh := g[j] * gain.Data[j]
				s1 += dh
				s2 += dh * h[j]
			}
			r := rstd[i] / float64(c)
			ag := a.Grad[i*c : (i+1)*c]
			for j := range g {
				dh := g[j] * gain.Data[j]
				ag[j] += r * (float64(c)*dh - s1 - h[j]*s2)
			}
		}
	})
	return out
}

// ConcatCols joins tensors with the same row count side by side.
func (tp *Tape) ConcatCols(ts ...*Tensor) *Tensor {
	ts = slices.Clone(ts) // the backward step must not see later writes to the caller's slice
	cols := 0
	for _, t := range ts {
		if t.Rows != ts[0].Rows {
			panic(fmt.Sprintf("nn: ConcatCols rows %d vs %d", t.Rows, ts[0].Rows))
		}
		cols += t.Cols
	}
	out := tp.resultDirty(ts[0].Rows, cols, ts...)
	off := 0
	for _, t := range ts {
		for i := 0; i < t.Rows; i++ {
			copy(out.Data[i*cols+off:i*cols+off+t.Cols], t.Row(i))
		}
		off += t.Cols
	}
	tp.record(out, func() {
		off := 0
		for _, t := range ts {
			if t.Grad != nil {
				for i := 0; i < t.Rows; i++ {
					g := t.Grad[i*t.Cols : (i+1)*t.Cols]
					for j, v := range out.Grad[i*cols+off : i*cols+off+t.Cols] {
						g[j] += v
					}
				}
			}
			off += t.Cols
		}
	})
	return out
}

// SliceCols returns columns [from, to).
func (tp *Tape) SliceCols(a *Tensor, from, to int) *Tensor {
	if from < 0 || to > a.Cols || from >= to {
		panic(fmt.Sprintf("nn: SliceCols [%d,%d) of %s", from, to, a.Shape()))
	}
	w := to - from
	out := tp.resultDirty(a.Rows, w, a)
	for i := 0; i < a.Rows; i++ {
		copy(out.Row(i), a.Data[i*a.Cols+from:i*a.Cols+to])
	}
	tp.record(out, func() {
		for i := 0; i < a.Rows; i++ {
			g := a.Grad[i*a.Cols+from : i*a.Cols+to]
			for j, v := range out.Grad[i*w : (i+1)*w] {
				g[j] += v
			}
		}
	})
	return out
}

// ConcatRows stacks tensors with the same column count.
func (tp *Tape) ConcatRows(ts ...*Tensor) *Tensor {
	ts = slices.Clone(ts) // the backward step must not see later writes to the caller's slice
	rows := 0
	for _, t := range ts {
		if t.Cols != ts[0].Cols {
			panic(fmt.Sprintf("nn: ConcatRows cols %d vs %d", t.Cols, ts[0].Cols))
		}
		rows += t.Rows
	}
	out := tp.resultDirty(rows, ts[0].Cols, ts...)
	off := 0
	for _, t := range ts {
		copy(out.Data[off:], t.Data)
		off += t.Len()
	}
	tp.record(out, func() {
		off := 0
		for _, t := range ts {
			accum(t.Grad, out.Grad[off:off+t.Len()], 1)
			off += t.Len()
		}
	})
	return out
}

// SliceRows returns rows [from, to).
func (tp *Tape) SliceRows(a *Tensor, from, to int) *Tensor {
	if from < 0 || to > a.Rows || from >= to {
		panic(fmt.Sprintf("nn: SliceRows [%d,%d) of %s", from, to, a.Shape()))
	}
	c := a.Cols
	out := tp.resultDirty(to-from, c, a)
	copy(out.Data, a.Data[from*c:to*c])
	tp.record(out, func() { accum(a.Grad[from*c:to*c], out.Grad, 1) })
	return out
}

// GatherRows returns the rows a[idx[0]], a[idx[1]], ...; rows may repeat, and their
// gradients add up. Shifts, circular padding, pooling windows and top-u query selection are
// all gathers.
func (tp *Tape) GatherRows(a *Tensor, idx []int) *Tensor {
	c := a.Cols
	for _, r := range idx {
		if r < 0 || r >= a.Rows {
			panic(fmt.Sprintf("nn: GatherRows row %d of %s", r, a.Shape()))
		}
	}
	idx = append([]int(nil), idx...) // the caller may reuse its slice before Backward
	out := tp.resultDirty(len(idx), c, a)
	for i, r := range idx {
		copy(out.Row(i), a.Row(r))
	}
	tp.record(out, func() {
		for i, r := range idx {
			accum(a.Grad[r*c:(r+1)*c], out.Grad[i*c:(i+1)*c], 1)
		}
	})
	return out
}

// Transpose returns aᵀ.
func (tp *Tape) Transpose(a *Tensor) *Tensor {
	out := tp.resultDirty(a.Cols, a.Rows, a)
	for i := 0; i < a.Rows; i++ {
		for j := 0; j < a.Cols; j++ {
			out.Data[j*a.Rows+i] = a.Data[i*a.Cols+j]
		}
	}
	tp.record(out, func() {
		for i := 0; i < a.Rows; i++ {
			for j := 0; j < a.Cols; j++ {
				a.Grad[i*a.Cols+j] += out.Grad[j*a.Rows+i]
			}
		}
	})
	return out
}

// Sum returns the 1×1 sum of all values.
func (tp *Tape) Sum(a *Tensor) *Tensor { return tp.total(a, 1) }

// Mean returns the 1×1 mean of all values.
func (tp *Tape) Mean(a *Tensor) *Tensor { return tp.total(a, 1/float64(a.Len())) }

func (tp *Tape) total(a *Tensor, s float64) *Tensor {
	out := tp.result(1, 1, a)
	t := 0.0
	for _, v := range a.Data {
		t += v
	}
	out.Data[0] = s * t
	tp.record(out, func() {
		g := s * out.Grad[0]
		for i := range a.Grad {
			a.Grad[i] += g
		}
	})
	return out
}

// MeanRows returns the 1×C mean over rows (the column means).
func (tp *Tape) MeanRows(a *Tensor) *Tensor {
	out := tp.result(1, a.Cols, a)
	inv := 1 / float64(a.Rows)
	for i := 0; i < a.Rows; i++ {
		for j, v := range a.Row(i) {
			out.Data[j] += v * inv
		}
	}
	tp.record(out, func() {
		for i := 0; i < a.Rows; i++ {
			accum(a.Grad[i*a.Cols:(i+1)*a.Cols], out.Grad, inv)
		}
	})
	return out
}

// SumCols returns the R×1 sums of each row (e.g. an entropy per sample).
func (tp *Tape) SumCols(a *Tensor) *Tensor {
	out := tp.resultDirty(a.Rows, 1, a)
	for i := 0; i < a.Rows; i++ {
		s := 0.0
		for _, v := range a.Row(i) {
			s += v
		}
		out.Data[i] = s
	}
	tp.record(out, func() {
		for i := 0; i < a.Rows; i++ {
			g := a.Grad[i*a.Cols : (i+1)*a.Cols]
			for j := range g {
				g[j] += out.Grad[i]
			}
		}
	})
	return out
}

// PickCols returns the R×1 values a[i, idx[i]] (the log-probability of each taken action).
func (tp *Tape) PickCols(a *Tensor, idx []int) *Tensor {
	if len(idx) != a.Rows {
		panic(fmt.Sprintf("nn: PickCols %d indices for %s", len(idx), a.Shape()))
	}
	for _, j := range idx {
		if j < 0 || j >= a.Cols {
			panic(fmt.Sprintf("nn: PickCols column %d of %s", j, a.Shape()))
		}
	}
	idx = append([]int(nil), idx...)
	out := tp.resultDirty(a.Rows, 1, a)
	for i, j := range idx {
		out.Data[i] = a.Data[i*a.Cols+j]
	}
	tp.record(out, func() {
		for i, j := range idx {
			a.Grad[i*a.Cols+j] += out.Grad[i]
		}
	})
	return out
}

// Reshape returns the same values in row-major order as rows×cols (e.g. the B·H×K rows of
// per-step outputs as B rows of H·K).
func (tp *Tape) Reshape(a *Tensor, rows, cols int) *Tensor {
	if rows*cols != a.Len() {
		panic(fmt.Sprintf("nn: Reshape %s to %dx%d", a.Shape(), rows, cols))
	}
	out := tp.resultDirty(rows, cols, a)
	copy(out.Data, a.Data)
	tp.record(out, func() { accum(a.Grad, out.Grad, 1) })
	return out
}
