package policy

// This file holds what the two predictive HPAs (phpa, ehpa) share: one HPA sync whose
// recommendation is the largest of the HPA's own calculation and a predicted one, followed
// by the HPA's stabilisation and rate limits. Both projects run the stock HPA arithmetic and
// behavior; only where the extra recommendation comes from differs.
// The sync itself is the hpa policy's (hpaPolicy.sync, on internal/hpa's calculator and
// behavior engine).

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
