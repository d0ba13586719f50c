package policy

import (
	"fmt"
	"math"

	"github.com/bascaler/bascaler/internal/rl"
)

// The PPO corrector's contract, shared by training (package rltrain) and inference (the
// rlCorrector below): the same state builder and the same action meaning in both places, so a
// trained agent sees exactly the features it was trained on.

// RLFeatureSet names the state layout built by RLState; a model trained on another layout is
// refused at load time.
const RLFeatureSet = "bascaler-rl-state-v1"

// RLStateSize is the number of features RLState builds.
const RLStateSize = 43

// RLMaxStep is K: the agent picks one of 2K+1 corrections, −K..+K steps around the estimate.
const RLMaxStep = 4

// RLActions is the size of the agent's categorical action space.
const RLActions = 2*RLMaxStep + 1

// rlWorkloadPoints is how many past workload points the state holds (the paper's 24).
const rlWorkloadPoints = 24

// rlQuantiles are the forecast levels the state carries for the lead time.
var rlQuantiles = [...]float64{0.05, 0.5, 0.9, 0.95, 0.99}

// RLDelta is the replica correction of action a (0..RLActions−1) for an estimate: (a−K)
// steps of max(1, round(estimate/20)) pods. Small deployments move one pod per step, large
// ones about 5% of the estimate, so the same ±K steps span ±4 pods at 10 pods and ±20 pods
// at 100 — the paper's absolute ±10 pods would be reckless for the first and timid for the
// second.
func RLDelta(a, estimate int) int {
	unit := max(1, int(math.Round(float64(estimate)/20)))
	return (a - RLMaxStep) * unit
}

// RLState writes the corrector's state for in into dst (grown to RLStateSize) and returns it.
// It reads only in: the observation (completed intervals, replicas now, the clock as data),
// the estimate, the forecast issued now and the recent workload; nothing describes the
// interval being decided. Loads are expressed relative to what the estimate can serve
// (E·capacity, E = max(estimate, 1)), so one model fits deployments of any size:
//
//	0 CPU of the last interval (fraction of the request)
//	1 its latency statistic / SLO target
//	2 its share of requests over the SLO;  3 its failed share
//	4 allocated replicas now / E;  5 ready replicas now / E
//	6 SLO risk: last rate / (ready·capacity) — above 1 the ready pods cannot meet the SLO
//	7 log(1+E): the deployment's size
//	8..31 the last 24 workload points / (E·capacity), oldest first (padded with the oldest)
//	32..35 sin/cos of hour of day and of day of week (from Obs.Now, UTC)
//	36..40 forecast quantiles 0.05, 0.5, 0.9, 0.95, 0.99, each the peak over the lead time
//	       (steps 0..Lead), / (E·capacity); the last rate when there is no forecast
//	41 band width: peak over the lead time of (q0.95 − q0.05) / (E·capacity)
//	42 1 when a forecast exists, else 0
func RLState(in CorrectionInput, dst []float64) []float64 {
	if cap(dst) < RLStateSize {
		dst = make([]float64, RLStateSize)
	}
	dst = dst[:RLStateSize]
	clear(dst)
	e := float64(max(in.Estimate, 1))
	capacity := in.Capacity
	if !(capacity > 0) {
		capacity = 1
	}
	scale := e * capacity
	obs := in.Obs
	lastRate := 0.0
	if n := len(in.Workload); n > 0 {
		lastRate = in.Workload[n-1]
	}
	if obs != nil {
		if n := len(obs.History); n > 0 {
			iv := &obs.History[n-1]
			lastRate = iv.Rate
			dst[0] = iv.CPU
			if obs.SLO.TargetMS > 0 {
				dst[1] = iv.Latency(obs.SLO.Metric) / obs.SLO.TargetMS
			}
			dst[2] = iv.OverSLO
			if iv.Rate > 0 {
				dst[3] = min(iv.Failed/iv.Rate, 1)
			}
		}
		dst[4] = float64(obs.Replicas) / e
		dst[5] = float64(obs.Ready) / e
		dst[6] = lastRate / (float64(max(obs.Ready, 1)) * capacity)
		h := float64(obs.Now.UTC().Hour()) + float64(obs.Now.UTC().Minute())/60
		d := float64(obs.Now.UTC().Weekday()) + h/24
		dst[32], dst[33] = math.Sin(2*math.Pi*h/24), math.Cos(2*math.Pi*h/24)
		dst[34], dst[35] = math.Sin(2*math.Pi*d/7), math.Cos(2*math.Pi*d/7)
	}
	dst[7] = math.Log1p(e)
	w := in.Workload
	for k := 0; k < rlWorkloadPoints; k++ {
		i := len(w) - rlWorkloadPoints + k
		v := lastRate
		switch {
		case len(w) == 0:
		case i < 0:
			v = w[0]
		default:
			v = w[i]
		}
		dst[8+k] = v / scale
	}
	if in.HaveForecast && len(in.Forecast.Q) > 0 {
		steps := min(in.Lead+1, len(in.Forecast.Q))
		for j, q := range rlQuantiles {
			peak := math.Inf(-1)
			for s := 0; s < steps; s++ {
				peak = math.Max(peak, in.Forecast.Quantile(s, q))
			}
			dst[36+j] = peak / scale
		}
		band := 0.0
		for s := 0; s < steps; s++ {
			band = math.Max(band, in.Forecast.Quantile(s, 0.95)-in.Forecast.Quantile(s, 0.05))
		}
		dst[41] = band / scale
		dst[42] = 1
	} else {
		for j := range rlQuantiles {
			dst[36+j] = lastRate / scale
		}
	}
	for i, v := range dst {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			dst[i] = 0 // a broken metric must not poison the network's input
		}
	}
	return dst
}

// rlCorrector applies a trained PPO agent greedily.
type rlCorrector struct {
	agent *rl.Agent
	state []float64
}

// NewRLCorrector wraps a trained agent as a Corrector. The agent must have been built for
// RLStateSize features and RLActions actions. Each policy needs its own corrector: decisions
// reuse its buffers.
func NewRLCorrector(a *rl.Agent) (Corrector, error) {
	if a.StateSize != RLStateSize || a.Actions != RLActions {
		return nil, fmt.Errorf("rl agent has %d features and %d actions, the corrector needs %d and %d", a.StateSize, a.Actions, RLStateSize, RLActions)
	}
	return &rlCorrector{agent: a, state: make([]float64, RLStateSize)}, nil
}

// Correct returns the estimate moved by the agent's most probable action, within [Min, Max].
func (c *rlCorrector) Correct(in CorrectionInput) (int, []KV) {
	if in.Obs == nil {
		return in.Estimate, nil
	}
	c.state = RLState(in, c.state)
	a := c.agent.Greedy(c.state)
	return Clamp(in.Estimate+RLDelta(a, in.Estimate), in.Obs.Min, in.Obs.Max), nil
}

// LoadRLCorrector loads the agent in dir for policyName, refusing a model trained for another
// feature set, action space or policy.
func LoadRLCorrector(dir, policyName string, _ Env) (Corrector, error) {
	a, m, err := rl.Load(dir, RLStateSize, RLActions)
	if err != nil {
		return nil, err
	}
	if fs := m.Meta["features"]; fs != RLFeatureSet {
		return nil, fmt.Errorf("rl model %s: trained on feature set %q, this build uses %q", dir, fs, RLFeatureSet)
	}
	if p := m.Meta["policy"]; p != policyName {
		return nil, fmt.Errorf("rl model %s: trained to correct policy %q, not %q", dir, p, policyName)
	}
	return NewRLCorrector(a)
}

func init() { CorrectorLoader = LoadRLCorrector }
