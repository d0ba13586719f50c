package policy

import (
	"math"
)

// This file holds what the two predictive HPAs (phpa, ehpa) share: one HPA sync whose
// recommendation is the largest of the HPA's own calculation and a predicted one, followed
// by the HPA's stabilisation and rate limits. Both projects run the stock HPA arithmetic and
// behavior; only where the extra recommendation comes from differs.
//
// Note: the checks before the calculator and the stabilise/rate-limit sequence mirror
// hpa.Decide; once the HPA calculator and behavior live in their own package, both should
// call that package instead (the lead's refactoring).

// hpaSyncInput is what a predictive extension sees in one sync: the calculator's inputs and
// its recommendation.
type hpaSyncInput struct {
	cur, ready int
	cpu        float64 // ready pods' mean utilisation, fraction of the request
	calculated int     // the HPA's recommendation from the current metric
}

// predictedReplicas returns a second recommendation for a sync, the reason to show when it
// wins, and whether it exists (false: prediction not ready, the HPA's own value is used).
type predictedReplicas func(in hpaSyncInput) (replicas int, reason string, ok bool)

// reasonPredictionAbove explains a sync whose prediction outranked the HPA's calculation.
// When the calculation wins, the HPA's own reason stands; the explanation's values carry
// "calculated" and, once the prediction is ready, "predicted".
const reasonPredictionAbove = "predicted replicas above the calculated ones"

// syncMax is one HPA sync at obs.Now with raw = max(calculated, predicted).
func (h *hpa) syncMax(obs *Observation, predict predictedReplicas) Decision {
	if !h.started {
		h.epoch, h.started = obs.Now, true
	}
	now := obs.Now.Sub(h.epoch)
	lo, hi := bounds(obs, h.envMin, h.envMax)
	cur := obs.Replicas
	e := Explanation{Mode: ModeSteady, Target: h.cfg.targetPct / 100, Raw: cur}
	switch {
	case cur == 0:
		e.Mode, e.Reason = ModeDisabled, hpaReasonDisabled
		return Decision{Replicas: 0, Explanation: e}
	case cur > hi:
		h.storeEvent(now, hi-cur)
		e.Reason, e.Limit = hpaReasonAboveMax, limitMax
		return Decision{Replicas: hi, Explanation: e}
	case cur < lo:
		h.storeEvent(now, lo-cur)
		e.Reason, e.Limit = hpaReasonBelowMin, limitMin
		return Decision{Replicas: lo, Explanation: e}
	}
	if len(obs.Recent) == 0 {
		e.Mode, e.Reason = ModeWarmingUp, hpaReasonNoData
		return Decision{Replicas: cur, Explanation: e}
	}
	ready := min(obs.Ready, cur)
	if ready <= 0 {
		e.Mode, e.Reason = ModeWarmingUp, hpaReasonNoReady
		return Decision{Replicas: cur, Explanation: e}
	}
	cpu := obs.Recent[len(obs.Recent)-1].CPU
	if !(cpu >= 0) || math.IsInf(cpu, 0) {
		e.Reason = hpaReasonBadCPU
		return Decision{Replicas: cur, Explanation: e}
	}
	calc, reason := hpaReplicas(cur, ready, cur-ready, 0, cpu, h.cfg.targetPct, h.cfg.tolerance)
	raw := calc
	pred, predReason, ok := predict(hpaSyncInput{cur: cur, ready: ready, cpu: cpu, calculated: calc})
	switch {
	case !ok:
		e.Values = append(e.Values[:0:0], KV{"calculated", float64(calc)})
	case pred > calc:
		raw, reason = pred, predReason
		e.Values = append(e.Values[:0:0], KV{"calculated", float64(calc)}, KV{"predicted", float64(pred)})
	default:
		e.Values = append(e.Values[:0:0], KV{"calculated", float64(calc)}, KV{"predicted", float64(pred)})
	}
	e.Reason, e.Raw = reason, raw
	e.Metric = math.Floor(cpu*100+1e-9) / 100

	stab := h.stabilize(now, cur, raw)
	if stab != raw {
		if raw < cur {
			e.Limit = hpaLimitDownStab
		} else {
			e.Limit = hpaLimitUpStab
		}
	}
	final, limit := h.rateLimit(now, cur, stab, lo, hi)
	if limit != "" {
		e.Limit = limit
	}
	if final != cur {
		h.storeEvent(now, final-cur)
	}
	return Decision{Replicas: final, Explanation: e}
}

// splitParams separates the keys a predictive HPA reads itself from those it hands to the
// HPA (target, tolerance, window, behavior...).
func splitParams(all map[string]string, own ...string) (mine, rest map[string]string) {
	mine, rest = map[string]string{}, map[string]string{}
	for k, v := range all {
		rest[k] = v
	}
	for _, k := range own {
		if v, ok := rest[k]; ok {
			mine[k] = v
			delete(rest, k)
		}
	}
	return mine, rest
}
