package perf

import "math"

// smoSolution is the dual solution of an ε-SVR.
type smoSolution struct {
	coef       []float64 // α_i - α*_i per training point
	rho        float64
	iterations int
	converged  bool
}

// tau replaces a non-positive curvature in the working-set selection and the update, as in
// Fan, Chen and Lin (2005), so that two copies of one point (i and i+n below) or duplicate
// points do not divide by zero.
const tau = 1e-12

// solveSMO solves the ε-SVR dual in the 2n-variable form of Chang and Lin (LIBSVM paper,
// section 2.4):
//
//	min ½ βᵀQβ + pᵀβ  s.t.  yᵀβ = 0, 0 ≤ β_t ≤ C,
//
// with β = (α, α*), y_t = +1 for t < n and -1 for t ≥ n, Q_ts = y_t y_s K(x_t mod n, x_s mod n),
// p_t = ε - z_t for t < n and ε + z_t for t ≥ n. Each iteration picks a working pair by the
// second-order rule WSS2 of Fan, Chen and Lin (2005) - i maximises -y∇f over I_up, j
// minimises the predicted decrease -b²/a over I_low among the violating pairs - solves the
// two-variable subproblem analytically, clips it to the box, and updates the gradient.
// It stops when the maximal violation m(β) - M(β) falls below p.Tol.
//
// k is the n×n kernel matrix, row-major; z the standardised targets.
func solveSMO(k []float64, z []float64, p SVRParams) smoSolution {
	n := len(z)
	l := 2 * n
	c := p.C
	beta := make([]float64, l)
	grad := make([]float64, l)
	sign := make([]float64, l)
	for t := 0; t < n; t++ {
		sign[t], sign[t+n] = 1, -1
		grad[t] = p.Epsilon - z[t]
		grad[t+n] = p.Epsilon + z[t]
	}
	maxIter := p.MaxIter
	if maxIter <= 0 {
		maxIter = max(100000, 100*l)
	}
	diag := make([]float64, n)
	for t := range diag {
		diag[t] = k[t*n+t]
	}

	iter := 0
	converged := false
	for ; iter < maxIter; iter++ {
		// i: the most violating index in I_up = {t: y=+1, β<C} ∪ {t: y=-1, β>0}, i.e. the
		// largest -y∇f. The two halves (α and α*) are scanned separately to keep the sign
		// and the kernel row index out of the inner loop.
		i, gMax := -1, math.Inf(-1)
		for t := 0; t < n; t++ {
			if beta[t] < c && -grad[t] >= gMax {
				i, gMax = t, -grad[t]
			}
		}
		for t := n; t < l; t++ {
			if beta[t] > 0 && grad[t] >= gMax {
				i, gMax = t, grad[t]
			}
		}
		if i < 0 {
			converged = true
			break
		}
		// j: over I_low, the index with the largest second-order decrease -b²/a among those
		// that violate with i; gMin tracks M(β) for the stopping test.
		ki := k[(i%n)*n : (i%n)*n+n]
		kii := diag[i%n]
		j, gMin, best := -1, math.Inf(1), math.Inf(1)
		for t := 0; t < l; t++ {
			var v float64
			if t < n {
				if !(beta[t] > 0) {
					continue
				}
				v = -grad[t]
			} else {
				if !(beta[t] < c) {
					continue
				}
				v = grad[t]
			}
			if v < gMin {
				gMin = v
			}
			b := gMax - v
			if b <= 0 {
				continue
			}
			r := t
			if r >= n {
				r -= n
			}
			a := kii + diag[r] - 2*ki[r]
			if a <= 0 {
				a = tau
			}
			if obj := -b * b / a; obj <= best {
				j, best = t, obj
			}
		}
		if j < 0 || gMax-gMin < p.Tol {
			converged = true
			break
		}
		updatePair(i, j, beta, grad, sign, k, n, c)
	}
	return smoSolution{coef: coefficients(beta, n), rho: bias(beta, grad, sign, c), iterations: iter, converged: converged}
}

// updatePair minimises the dual along the feasible line through (β_i, β_j) and clips the
// step to the box [0, C]². The linear constraint yᵀβ = 0 fixes β_i - β_j when the labels
// differ and β_i + β_j when they agree; both cases are written as a move of β_j within its
// feasible segment [lo, hi].
func updatePair(i, j int, beta, grad, sign, k []float64, n int, c float64) {
	ri, rj := i%n, j%n
	ki, kj := k[ri*n:ri*n+n], k[rj*n:rj*n+n]
	curv := ki[ri] + kj[rj] - 2*ki[rj] // second derivative along the line, same in both cases
	if curv <= 0 {
		curv = tau
	}
	oldI, oldJ := beta[i], beta[j]
	if sign[i] != sign[j] {
		// Direction (+1, +1): the derivative is grad_i + grad_j.
		diff := oldI - oldJ
		lo, hi := math.Max(0, -diff), math.Min(c, c-diff)
		nj := clamp(oldJ-(grad[i]+grad[j])/curv, lo, hi)
		beta[j], beta[i] = nj, nj+diff
	} else {
		// Direction (-1, +1): the derivative is grad_j - grad_i.
		sum := oldI + oldJ
		lo, hi := math.Max(0, sum-c), math.Min(c, sum)
		nj := clamp(oldJ+(grad[i]-grad[j])/curv, lo, hi)
		beta[j], beta[i] = nj, sum-nj
	}
	di, dj := sign[i]*(beta[i]-oldI), sign[j]*(beta[j]-oldJ)
	if di == 0 && dj == 0 {
		return
	}
	// grad_t += y_t (y_i K_ti Δβ_i + y_j K_tj Δβ_j); the α half has y_t = +1, the α* half -1.
	ga, gb := grad[:n], grad[n:2*n]
	for t := 0; t < n; t++ {
		d := ki[t]*di + kj[t]*dj
		ga[t] += d
		gb[t] -= d
	}
}

func clamp(v, lo, hi float64) float64 {
	if v < lo {
		return lo
	}
	if v > hi {
		return hi
	}
	return v
}

// bias computes rho from the KKT conditions: the mean of y∇f over free variables, or, when
// none is free, the midpoint of the interval the bounded variables allow.
func bias(beta, grad, sign []float64, c float64) float64 {
	ub, lb := math.Inf(1), math.Inf(-1)
	sum, free := 0.0, 0
	for t := range beta {
		yg := sign[t] * grad[t]
		switch {
		case beta[t] >= c:
			if sign[t] < 0 {
				ub = math.Min(ub, yg)
			} else {
				lb = math.Max(lb, yg)
			}
		case beta[t] <= 0:
			if sign[t] > 0 {
				ub = math.Min(ub, yg)
			} else {
				lb = math.Max(lb, yg)
			}
		default:
			sum += yg
			free++
		}
	}
	if free > 0 {
		return sum / float64(free)
	}
	return (ub + lb) / 2
}

func coefficients(beta []float64, n int) []float64 {
	out := make([]float64, n)
	for t := 0; t < n; t++ {
		out[t] = beta[t] - beta[t+n]
	}
	return out
}
