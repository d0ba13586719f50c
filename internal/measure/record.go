package measure

import (
	"github.com/bascaler/bascaler/internal/drift"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
)

// Record is one measured control interval: what the workload did, what the deployment did,
// the hindsight judgement, and the decision that governed the interval.
//
// The embedded policy.Interval is what a policy may see of the interval once it has ended
// (rates per second, latency of served requests, time-averaged replicas). Need and Violated
// use hindsight and are for judging only, never shown to a policy.
type Record struct {
	policy.Interval
	// Requests, FailedCount are request counts over the interval: arrived (simulator) or
	// sent (testbed), and failed.
	Requests, FailedCount float64
	// Need is the fewest ready pods that meet the SLO at this interval's rate (hindsight).
	Need int
	// Violated reports an SLO violation: the interval's latency statistic above the target,
	// or failed requests.
	Violated bool
	// Desired is the allocated replica count at the end of the interval.
	Desired int
	// Decision is the decision that shaped the interval: the last one in it that changed the
	// replica count, else its first.
	Decision policy.Decision

	// Scale to zero and from zero (all zero while a pod is always ready).
	//
	// ColdStarts counts arrivals that found no ready pod (held by the activator or refused
	// because its queue was full). HeldRequests counts those the activator held;
	// HeldFailed those of them that waited past the activator's timeout or were refused.
	ColdStarts, HeldRequests, HeldFailed float64
	// HeldWaits are the added latencies of the held requests that were served (released to
	// a ready pod in this interval); HeldLatencyMeanMS and HeldLatencyP99MS summarise them.
	HeldWaits                           []HeldWait
	HeldLatencyMeanMS, HeldLatencyP99MS float64
	// IdlePodSeconds is allocated pod-time while no request arrived.
	IdlePodSeconds float64
	// Drift holds the drift scores of the forecast issued for this interval, computed when
	// it completed (nil unless the run scored drift).
	Drift *drift.Scores
}

// failedSlack is the failed-request count below which an interval counts as failure-free:
// the simulator's fluid queue fails fractions of a request, and float noise must not make
// an interval violate. Measured counts are whole numbers, so for them it means "> 0".
const failedSlack = 1e-9

// Judge sets the hindsight fields from the measured ones: Need is perf.PodsFor(Rate,
// capacity), capacity being one pod's load at the SLO (req/s); Violated is true when the
// latency statistic of the SLO's metric exceeds its target or a request failed.
func (r *Record) Judge(slo policy.SLO, capacity float64) {
	r.Need = perf.PodsFor(r.Rate, capacity)
	r.Violated = r.Latency(slo.Metric) > slo.TargetMS || r.FailedCount > failedSlack
}

// Result is one policy's run: its records and their summary.
type Result struct {
	Policy  string
	Records []Record
	Summary Summary
}
