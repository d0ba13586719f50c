package rl

import "math"

// RunningNorm standardises observations with a running mean and variance (Welford's
// parallel update, Chan et al. 1979), as PPO implementations do: state features come in
// different units (ratios, shares, sines), and a network learns poorly from unscaled inputs.
// Statistics are updated while collecting experience and frozen in a checkpoint, so inference
// normalises exactly as training last did.
type RunningNorm struct {
	Mean  []float64 `json:"mean"`
	Var   []float64 `json:"var"`
	Count float64   `json:"count"`
}

// NewRunningNorm returns statistics for n features: mean 0, variance 1, no samples.
func NewRunningNorm(n int) *RunningNorm {
	r := &RunningNorm{Mean: make([]float64, n), Var: make([]float64, n)}
	for i := range r.Var {
		r.Var[i] = 1
	}
	return r
}

// Update adds one observation to the statistics.
func (r *RunningNorm) Update(x []float64) {
	r.Count++
	for i, v := range x {
		d := v - r.Mean[i]
		r.Mean[i] += d / r.Count
		if r.Count == 1 {
			r.Var[i] = 0
			continue
		}
		// Var holds the population variance; M2 = Var·(n−1) before, M2 + d·(v−mean') after.
		r.Var[i] = (r.Var[i]*(r.Count-1) + d*(v-r.Mean[i])) / r.Count
	}
}

// Apply writes the standardised x into dst, each value clipped to [−clip, clip]. Features
// with (nearly) zero variance are only centred, so a constant input maps to 0.
func (r *RunningNorm) Apply(dst, x []float64, clip float64) {
	for i, v := range x {
		sd := math.Sqrt(r.Var[i])
		z := v - r.Mean[i]
		if sd > 1e-8 {
			z /= sd
		}
		dst[i] = min(max(z, -clip), clip)
	}
}
