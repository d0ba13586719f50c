package nn

import "fmt"

// Pinball returns the mean quantile (pinball) loss of pred against y.
//
// pred is R×(H·K): column h·K+k holds the levels[k] quantile for target column h of y (R×H).
// ρ_τ(u) = u·(τ − 1[u<0]) with u = y − q; its minimiser over q is the τ-quantile of y, which
// is why training on it yields quantile forecasts. The mean runs over R·H·K terms.
func (tp *Tape) Pinball(pred, y *Tensor, levels []float64) *Tensor {
	k := len(levels)
	if k == 0 || pred.Rows != y.Rows || pred.Cols != y.Cols*k {
		panic(fmt.Sprintf("nn: Pinball pred %s, y %s, %d levels", pred.Shape(), y.Shape(), k))
	}
	levels = append([]float64(nil), levels...)
	out := tp.result(1, 1, pred, y)
	n := float64(pred.Len())
	h := y.Cols
	s := 0.0
	for r := 0; r < pred.Rows; r++ {
		for j := 0; j < h; j++ {
			yv := y.Data[r*h+j]
			for l, tau := range levels {
				u := yv - pred.Data[r*pred.Cols+j*k+l]
				if u >= 0 {
					s += tau * u
				} else {
					s += (tau - 1) * u
				}
			}
		}
	}
	out.Data[0] = s / n
	tp.record(out, func() {
		g := out.Grad[0] / n
		for r := 0; r < pred.Rows; r++ {
			for j := 0; j < h; j++ {
				yv := y.Data[r*h+j]
				for l, tau := range levels {
					i := r*pred.Cols + j*k + l
					d := -tau // ∂ρ/∂q for u ≥ 0
					if yv-pred.Data[i] < 0 {
						d = 1 - tau
					}
					if pred.Grad != nil {
						pred.Grad[i] += g * d
					}
					if y.Grad != nil {
						y.Grad[r*h+j] -= g * d
					}
				}
			}
		}
	})
	return out
}

// MSE returns the mean squared difference of two same-shaped tensors.
func (tp *Tape) MSE(pred, y *Tensor) *Tensor {
	sameShape("MSE", pred, y)
	out := tp.result(1, 1, pred, y)
	n := float64(pred.Len())
	s := 0.0
	for i, p := range pred.Data {
		d := p - y.Data[i]
		s += d * d
	}
	out.Data[0] = s / n
	tp.record(out, func() {
		g := 2 * out.Grad[0] / n
		for i, p := range pred.Data {
			d := g * (p - y.Data[i])
			if pred.Grad != nil {
				pred.Grad[i] += d
			}
			if y.Grad != nil {
				y.Grad[i] -= d
			}
		}
	})
	return out
}

// MonotoneQuantiles turns raw network outputs into non-crossing quantiles. a is R×(H·K);
// within each block of K columns, column mid is the central quantile as is, and the others
// are cumulative softplus steps away from it:
//
//	q[mid] = a[mid];  q[k] = q[k−1] + softplus(a[k]) for k > mid;  q[k] = q[k+1] − softplus(a[k]) for k < mid.
//
// So q is non-decreasing in k by construction, for any weights.
func (tp *Tape) MonotoneQuantiles(a *Tensor, k, mid int) *Tensor {
	if k <= 0 || a.Cols%k != 0 || mid < 0 || mid >= k {
		panic(fmt.Sprintf("nn: MonotoneQuantiles %s with k=%d mid=%d", a.Shape(), k, mid))
	}
	out := tp.resultDirty(a.Rows, a.Cols, a)
	blocks := a.Len() / k
	for b := 0; b < blocks; b++ {
		x, q := a.Data[b*k:(b+1)*k], out.Data[b*k:(b+1)*k]
		q[mid] = x[mid]
		for j := mid + 1; j < k; j++ {
			q[j] = q[j-1] + softplus(x[j])
		}
		for j := mid - 1; j >= 0; j-- {
			q[j] = q[j+1] - softplus(x[j])
		}
	}
	tp.record(out, func() {
		for b := 0; b < blocks; b++ {
			x, g, ag := a.Data[b*k:(b+1)*k], out.Grad[b*k:(b+1)*k], a.Grad[b*k:(b+1)*k]
			// q[j] for j > mid depends on x[i] for mid < i ≤ j, so x[i] collects Σ_{j≥i} g[j].
			tail := 0.0
			for j := k - 1; j > mid; j-- {
				tail += g[j]
				ag[j] += tail * sigmoid(x[j])
			}
			head := 0.0
			for j := 0; j < mid; j++ {
				head += g[j]
				ag[j] -= head * sigmoid(x[j])
			}
			ag[mid] += tail + head + g[mid]
		}
	})
	return out
}
