// threshold is the reactive baseline of the BAScaler paper (Meng et al., arXiv 2402.12962):
// once per control interval it looks at the interval that just ended and
//
//	if its latency (the SLO's statistic) is above the SLO    -> add step-up pods (1)
//	else if its mean CPU utilisation is below cpu-low (50%)  -> remove step-down pods (1)
//	else                                                     -> hold
//
// Parameters: step-up (1), step-down (1), cpu-low (0.5).
//
// Example: 4 pods, last interval's mean latency 18 ms against a 16 ms SLO -> 5 pods; next
// interval 12 ms at 40% CPU -> 4 pods; then 14 ms at 60% CPU -> hold at 4.
//
// It reacts one interval late by construction (it sees only completed intervals), adds one
// pod per interval however large the overload, and does not wait for the pods it added to
// become ready before adding more: exactly the slowness the paper's burst-aware method is
// measured against. An interval that served no requests has no latency (0): only the CPU
// rule can act on it.

package policy

import (
	"fmt"
	"math"
	"time"
)

func init() {
	Register("threshold", "reactive rule of the BAScaler paper: latency above SLO -> +1 pod; CPU below 50% -> -1 pod; once per interval", false, newThreshold)
}

type threshold struct {
	slo            SLO
	stepUp         int
	stepDown       int
	cpuLow         float64
	envMin, envMax int
}

func newThreshold(env Env) (Policy, error) {
	p := newParamSet("threshold", env.Params)
	th := &threshold{
		slo:      env.SLO,
		stepUp:   p.integer("step-up", 1),
		stepDown: p.integer("step-down", 1),
		cpuLow:   p.float("cpu-low", 0.5),
		envMin:   env.Min,
		envMax:   env.Max,
	}
	if p.err == nil {
		p.check(th.stepUp >= 1, "step-up", th.stepUp, "must be a positive number of pods")
		p.check(th.stepDown >= 1, "step-down", th.stepDown, "must be a positive number of pods")
		p.check(th.cpuLow >= 0 && th.cpuLow < 10, "cpu-low", th.cpuLow, "must be a CPU utilisation fraction >= 0 (0.5 = 50%)")
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	if !(env.SLO.TargetMS > 0) || math.IsInf(env.SLO.TargetMS, 0) {
		return nil, fmt.Errorf("policy threshold: SLO must be a positive latency, got %g ms", env.SLO.TargetMS)
	}
	return th, nil
}

func (th *threshold) Name() string          { return "threshold" }
func (th *threshold) Period() time.Duration { return 0 }

// Reasons of the threshold policy's explanations.
const (
	thresholdReasonNoData  = "no completed interval yet"
	thresholdReasonBad     = "last interval's latency or cpu is not a finite non-negative number"
	thresholdReasonSlow    = "latency above SLO"
	thresholdReasonIdle    = "latency within SLO and cpu below the low threshold"
	thresholdReasonHold    = "latency within SLO and cpu at or above the low threshold"
	thresholdModeReactive  = ModeSteady
	thresholdModeWarmingUp = ModeWarmingUp
)

func (th *threshold) Decide(obs *Observation) Decision {
	lo, hi := bounds(obs, th.envMin, th.envMax)
	cur := obs.Replicas
	e := Explanation{Mode: thresholdModeReactive, Raw: cur, Target: th.slo.TargetMS}
	if len(obs.History) == 0 {
		e.Mode, e.Reason = thresholdModeWarmingUp, thresholdReasonNoData
		return Decision{Replicas: cur, Explanation: e}
	}
	iv := &obs.History[len(obs.History)-1]
	lat, cpu := iv.Latency(th.slo.Metric), iv.CPU
	if !(lat >= 0 && cpu >= 0) || math.IsInf(lat+cpu, 0) {
		e.Reason = thresholdReasonBad
		return Decision{Replicas: cur, Explanation: e}
	}
	e.Metric = lat
	switch {
	case lat > th.slo.TargetMS:
		e.Reason, e.Raw = thresholdReasonSlow, cur+th.stepUp
	case cpu < th.cpuLow:
		e.Reason, e.Raw = thresholdReasonIdle, cur-th.stepDown
		e.Metric, e.Target = cpu, th.cpuLow
	default:
		e.Reason = thresholdReasonHold
	}
	final, limit := clampExplained(e.Raw, lo, hi)
	e.Limit = limit
	return Decision{Replicas: final, Explanation: e}
}
