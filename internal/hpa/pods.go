package hpa

import "time"

// Phase is a pod's status.phase, as far as the HPA's pod grouping distinguishes it.
type Phase uint8

// Pod phases.
const (
	PhasePending Phase = iota
	PhaseRunning
	PhaseSucceeded
	PhaseFailed
	PhaseUnknown
)

// Pod is what the HPA reads of one pod that matches the scale target's selector, and of its
// CPU sample.
type Pod struct {
	// Deleting is true once the pod has a deletionTimestamp.
	Deleting bool
	Phase    Phase
	// HasReady is true when the pod has a Ready condition; Ready is its status and
	// ReadySince its lastTransitionTime.
	HasReady   bool
	Ready      bool
	ReadySince time.Time
	// Started is status.startTime (zero: not set).
	Started time.Time
	// HasMetric is true when the metrics API returned a sample for the pod; MetricAt and
	// MetricWindow are the sample's timestamp and window.
	HasMetric    bool
	MetricAt     time.Time
	MetricWindow time.Duration
}

// Groups counts the pods of a CPU-utilisation sync by how the replica calculator treats
// them: Ready pods' samples are averaged; Unready pods count as 0% on a scale-up and are
// left out otherwise; Missing pods (no sample) count as 0% on a scale-up and as
// max(100%, target) on a scale-down; Ignored pods (deleting or failed) are left out.
type Groups struct {
	Ready, Unready, Missing, Ignored int
}

// GroupPods sorts pods as the HPA's replica calculator does for a CPU metric at now
// (groupPods in pkg/controller/podautoscaler/replica_calculator.go), in this order:
//  1. deleting or Failed: ignored;
//  2. Pending: unready;
//  3. no sample: missing;
//  4. no Ready condition or no start time: unready;
//  5. within cpuInit of its start: unready if not Ready, or if its sample was not a whole
//     window after the Ready transition (MetricAt < ReadySince + MetricWindow), since the
//     sample may hold start-up CPU;
//  6. later: unready only if not Ready and it never was, i.e. it turned NotReady within
//     readinessDelay of its start (Started + readinessDelay > ReadySince);
//  7. otherwise ready.
//
// Example (defaults: 5 min, 30 s): a pod started 2 min ago that turned Ready 20 s ago has a
// sample with a 30 s window taken now: unready (the window began before it was ready). The
// same pod 10 min after its start is ready.
func GroupPods(pods []Pod, now time.Time, cpuInit, readinessDelay time.Duration) Groups {
	var g Groups
	for i := range pods {
		p := &pods[i]
		switch {
		case p.Deleting || p.Phase == PhaseFailed:
			g.Ignored++
		case p.Phase == PhasePending:
			g.Unready++
		case !p.HasMetric:
			g.Missing++
		case unreadyForCPU(p, now, cpuInit, readinessDelay):
			g.Unready++
		default:
			g.Ready++
		}
	}
	return g
}

func unreadyForCPU(p *Pod, now time.Time, cpuInit, readinessDelay time.Duration) bool {
	if !p.HasReady || p.Started.IsZero() {
		return true
	}
	if p.Started.Add(cpuInit).After(now) {
		return !p.Ready || p.MetricAt.Before(p.ReadySince.Add(p.MetricWindow))
	}
	return !p.Ready && p.Started.Add(readinessDelay).After(p.ReadySince)
}
