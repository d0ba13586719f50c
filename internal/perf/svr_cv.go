package perf

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Grid is the hyper-parameter grid of a cross-validated SVR search. Empty lists take the
// defaults of DefaultGrid.
type Grid struct {
	Kernel   Kernel
	Cs       []float64
	Epsilons []float64
	Gammas   []float64 // ignored by the linear kernel
	// Folds is k of k-fold cross-validation; default 5.
	Folds int
	// Seed orders the points before they are dealt into folds.
	Seed uint64
}

// DefaultGrid is a small grid around the paper's setting (C=100, ε=0.1): 3 C × 3 ε × 4 γ.
// It stops at C=100 and ε=0.05 because larger C and tubes narrower than the measurement
// noise (a few % of the latency, about 0.05 target standard deviations) multiply the SMO
// iterations by 10-100 without improving the validation error on profiling data.
func DefaultGrid() Grid {
	return Grid{
		Kernel:   RBF,
		Cs:       []float64{1, 10, 100},
		Epsilons: []float64{0.05, 0.1, 0.2},
		Gammas:   []float64{0.1, 0.5, 1, 2},
		Folds:    5,
	}
}

// CVResult is the cross-validated error of one grid point.
type CVResult struct {
	Params SVRParams
	// RMSE is the root mean squared validation error over all folds, in target units.
	RMSE float64
}

// CrossValidate scores every grid point by k-fold cross-validation and returns the results
// in grid order (C outermost, then ε, then γ) and the index of the best one (lowest RMSE;
// ties go to the earlier, simpler point). Points are dealt into folds after a shuffle with
// Grid.Seed, so the result is deterministic. Each fold standardises its own training part,
// so no validation point leaks into the scaling.
func CrossValidate(x [][]float64, y []float64, g Grid) ([]CVResult, int, error) {
	if err := checkData(x, y); err != nil {
		return nil, 0, err
	}
	def := DefaultGrid()
	if len(g.Cs) == 0 {
		g.Cs = def.Cs
	}
	if len(g.Epsilons) == 0 {
		g.Epsilons = def.Epsilons
	}
	if len(g.Gammas) == 0 || g.Kernel == Linear {
		g.Gammas = def.Gammas
		if g.Kernel == Linear {
			g.Gammas = []float64{1} // unused by the kernel; one pass
		}
	}
	if g.Folds == 0 {
		g.Folds = def.Folds
	}
	n := len(x)
	if g.Folds < 2 {
		return nil, 0, fmt.Errorf("SVR cross-validation: need at least 2 folds, got %d", g.Folds)
	}
	if n < g.Folds {
		return nil, 0, fmt.Errorf("SVR cross-validation: %d points are fewer than the %d folds", n, g.Folds)
	}
	// Validate every grid point before any work.
	for _, c := range g.Cs {
		for _, e := range g.Epsilons {
			for _, gm := range g.Gammas {
				if err := (SVRParams{Kernel: g.Kernel, C: c, Epsilon: e, Gamma: gm, Tol: 1e-3}).validate(); err != nil {
					return nil, 0, fmt.Errorf("SVR grid: %w", err)
				}
			}
		}
	}

	order := rand.New(rand.NewPCG(g.Seed, 0x5eed)).Perm(n)
	fold := make([]int, n)
	for r, i := range order {
		fold[i] = r % g.Folds
	}
	type split struct {
		s    *scaled
		valX [][]float64
		valY []float64
	}
	splits := make([]split, g.Folds)
	for f := range splits {
		var tx [][]float64
		var ty []float64
		for i := range x {
			if fold[i] == f {
				splits[f].valX = append(splits[f].valX, x[i])
				splits[f].valY = append(splits[f].valY, y[i])
			} else {
				tx = append(tx, x[i])
				ty = append(ty, y[i])
			}
		}
		s, err := standardise(tx, ty)
		if err != nil {
			return nil, 0, fmt.Errorf("SVR cross-validation fold %d: %w", f+1, err)
		}
		splits[f].s = s
	}

	nc, ne, ng := len(g.Cs), len(g.Epsilons), len(g.Gammas)
	results := make([]CVResult, nc*ne*ng)
	sse := make([]float64, len(results))
	// The kernel matrix depends only on γ and the fold, so it is computed once per pair and
	// shared by every (C, ε).
	for gi, gm := range g.Gammas {
		for _, sp := range splits {
			kp := SVRParams{Kernel: g.Kernel, Gamma: gm}
			k := gram(kp, sp.s.x)
			for ci, c := range g.Cs {
				for ei, e := range g.Epsilons {
					p := SVRParams{Kernel: g.Kernel, C: c, Epsilon: e, Gamma: gm, Tol: 1e-3}
					m := fitScaled(sp.s, k, p)
					idx := (ci*ne+ei)*ng + gi
					results[idx].Params = p
					for v, row := range sp.valX {
						pred, err := m.Predict(row)
						if err != nil {
							return nil, 0, err
						}
						d := pred - sp.valY[v]
						sse[idx] += d * d
					}
				}
			}
		}
	}
	best := 0
	for i := range results {
		results[i].RMSE = math.Sqrt(sse[i] / float64(n))
		if results[i].RMSE < results[best].RMSE {
			best = i
		}
	}
	return results, best, nil
}

// FitSVRCV picks the hyper-parameters by CrossValidate and trains the final model on all
// points with them.
func FitSVRCV(x [][]float64, y []float64, g Grid) (*SVR, CVResult, error) {
	res, best, err := CrossValidate(x, y, g)
	if err != nil {
		return nil, CVResult{}, err
	}
	m, err := FitSVR(x, y, res[best].Params)
	if err != nil {
		return nil, CVResult{}, err
	}
	return m, res[best], nil
}
