package hpa

import (
	"math"
	"time"
)

// The kube-controller-manager defaults the HPA controller runs with
// (cmd/kube-controller-manager/app/options: --horizontal-pod-autoscaler-*).
const (
	// SyncPeriod is --horizontal-pod-autoscaler-sync-period: the HPA reconciles each
	// object once per period, counted from the end of the previous sync.
	SyncPeriod = 15 * time.Second
	// DefaultTolerance is --horizontal-pod-autoscaler-tolerance.
	DefaultTolerance = 0.1
	// CPUInitializationPeriod is --horizontal-pod-autoscaler-cpu-initialization-period:
	// how long after its start a pod's CPU sample is distrusted (see GroupPods).
	CPUInitializationPeriod = 5 * time.Minute
	// InitialReadinessDelay is --horizontal-pod-autoscaler-initial-readiness-delay: a pod
	// that turned NotReady within this time of its start is taken as never having been
	// ready (see GroupPods).
	InitialReadinessDelay = 30 * time.Second
	// DownscaleStabilization is --horizontal-pod-autoscaler-downscale-stabilization: the
	// scale-down window of an HPA without spec.behavior (NewLegacyBehavior).
	DownscaleStabilization = 5 * time.Minute
)

// Within reports whether a usage ratio is within the tolerance of 1, as the HPA tests it
// (Tolerances.isWithin in replica_calculator.go): 1 - tolerance <= ratio <= 1 + tolerance.
// The comparison is on the ratio itself, not on |1 - ratio|: 77% of a 70% target is the
// ratio 1.1, within a 0.1 tolerance, though 1.1 - 1 rounds to slightly more than 0.1.
func Within(ratio, tolerance float64) bool {
	return 1-tolerance <= ratio && ratio <= 1+tolerance
}

// Reason names the rule of the replica calculator that produced a recommendation.
type Reason uint8

// The calculator's rules.
const (
	ReasonInTolerance Reason = iota // utilisation within the tolerance of the target: hold
	ReasonAbove                     // utilisation above the target: scale up
	ReasonBelow                     // utilisation below the target: scale down
	// ReasonRebalance: above the target among ready pods, but not once starting pods count
	// as 0% (the HPA holds for load the starting pods are about to absorb).
	ReasonRebalance
)

var reasonNames = [...]string{"cpu within tolerance of target", "cpu above target", "cpu below target",
	"cpu above target among ready pods, but not once starting pods count as 0%"}

// String returns the reason as shown in explanations.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Utilization is the HPA's integer percentage of a utilisation fraction: it sums milli-cores
// and divides as integers, so 77.9% counts as 77%.
func Utilization(fraction float64) float64 { return math.Floor(fraction*100 + 1e-9) }

// Replicas is the HPA's replica calculator for a utilisation target. cur is the current
// replica count, ready the pods with a usable metric, unready the pods still starting,
// missing the pods with no metric; util is the ready pods' mean utilisation as a fraction
// of the request, targetPct the target in whole percent.
//
// Within the tolerance (Within(usageRatio, tolerance)) the recommendation is cur; otherwise
// ceil(usageRatio * ready). On a scale-up with starting pods, those count as 0% and the HPA
// holds if the recomputed ratio falls within the tolerance or flips direction. Pods without
// metrics count as 0% on a scale-up and as max(100%, target) on a scale-down.
// Example: 4 pods, 2 ready at 210%, target 70%: usageRatio 3; with the 2 starting pods at 0%
// the utilisation is 105%, ratio 1.5, so ceil(1.5 * 4) = 6. With the ready pods at 100%, the
// recomputed 50% flips the direction and the HPA holds at 4.
func Replicas(cur, ready, unready, missing int, util, targetPct, tolerance float64) (int, Reason) {
	usageRatio := Utilization(util) / targetPct

	scaleUpWithUnready := unready > 0 && usageRatio > 1.0
	if !scaleUpWithUnready && missing == 0 {
		if Within(usageRatio, tolerance) {
			return cur, ReasonInTolerance
		}
		return int(math.Ceil(usageRatio * float64(ready))), direction(usageRatio)
	}

	// Fill in the pods without a usable metric, conservatively in the direction of change.
	total := util * 100 * float64(ready)
	n := ready
	if missing > 0 {
		if usageRatio < 1.0 {
			total += math.Max(100, targetPct) * float64(missing)
			n += missing
		} else if usageRatio > 1.0 {
			n += missing
		}
	}
	if scaleUpWithUnready {
		n += unready
	}
	newRatio := math.Floor(total/float64(n)+1e-9) / targetPct
	if Within(newRatio, tolerance) || (usageRatio < 1.0 && newRatio > 1.0) || (usageRatio > 1.0 && newRatio < 1.0) {
		if usageRatio > 1.0 {
			return cur, ReasonRebalance
		}
		return cur, ReasonInTolerance
	}
	next := int(math.Ceil(newRatio * float64(n)))
	if (newRatio < 1.0 && next > cur) || (newRatio > 1.0 && next < cur) {
		return cur, ReasonRebalance
	}
	return next, direction(newRatio)
}

func direction(ratio float64) Reason {
	if ratio > 1 {
		return ReasonAbove
	}
	return ReasonBelow
}
