package measure

import (
	"math"
	"time"
)

// Summary holds the evaluation protocol's per-run numbers. The JSON field names are read by
// scripts: keep them.
type Summary struct {
	Intervals int `json:"intervals"`
	// SLOViolationRate is the share of intervals that violated the SLO.
	SLOViolationRate float64 `json:"slo_violation_rate"`
	// RequestsOverSLO is the share of requests slower than the SLO or failed.
	RequestsOverSLO float64 `json:"requests_over_slo"`
	// FailedRequests counts requests that timed out or found no ready pod.
	FailedRequests float64 `json:"failed_requests"`
	// FailedRate is FailedRequests over all requests.
	FailedRate float64 `json:"failed_rate"`
	// CostPodHours counts every allocated pod, starting or ready.
	CostPodHours float64 `json:"cost_pod_hours"`
	MeanReplicas float64 `json:"mean_replicas"`
	// ScalingActions counts decisions that changed the allocated replicas (counted by the
	// control loop, not from records).
	ScalingActions int `json:"scaling_actions"`
	// Over- and under-provisioning against the hindsight need (the fewest ready pods that
	// meet the SLO each interval): allocated pods above it, ready pods below it.
	OverProvisionPodHours  float64 `json:"over_provision_pod_hours"`
	UnderProvisionPodHours float64 `json:"under_provision_pod_hours"`
	Requests               float64 `json:"requests"`
	// MeanLatencyMS is the mean latency of served requests (each interval's mean weighted
	// by the requests it served).
	MeanLatencyMS float64 `json:"mean_latency_ms"`
	// Decisions counts the policy's decisions (counted by the control loop).
	Decisions int `json:"decisions"`
}

// Summarise computes a run's summary from its records, each lasting interval. The loop's
// own counts (Decisions, ScalingActions) are left zero for the caller to set.
//
// Per record r of length T (hours h = T/1h):
//   - cost += r.Replicas·h; mean replicas = Σ r.Replicas / intervals;
//   - over-provisioning += max(0, r.Replicas − r.Need)·h (allocated pods above the need),
//     under-provisioning += max(0, r.Need − r.Ready)·h (ready pods short of it);
//   - served = r.Served·T requests, of which r.OverSLO·served were slower than the SLO;
//     requests over the SLO = (Σ slow + Σ failed) / Σ requests;
//   - mean latency = Σ r.LatencyMeanMS·served / Σ served.
func Summarise(records []Record, interval time.Duration) Summary {
	s := Summary{Intervals: len(records)}
	if len(records) == 0 {
		return s
	}
	hours := interval.Hours()
	var violated int
	var over, served, latSum, alloc float64
	for i := range records {
		r := &records[i]
		if r.Violated {
			violated++
		}
		s.Requests += r.Requests
		s.FailedRequests += r.FailedCount
		srv := r.Served * interval.Seconds()
		served += srv
		over += r.OverSLO * srv
		latSum += r.LatencyMeanMS * srv
		alloc += r.Replicas
		s.OverProvisionPodHours += math.Max(0, r.Replicas-float64(r.Need)) * hours
		s.UnderProvisionPodHours += math.Max(0, float64(r.Need)-r.Ready) * hours
	}
	s.CostPodHours = alloc * hours
	s.MeanReplicas = alloc / float64(len(records))
	s.SLOViolationRate = float64(violated) / float64(len(records))
	if s.Requests > 0 {
		s.RequestsOverSLO = (over + s.FailedRequests) / s.Requests
		s.FailedRate = s.FailedRequests / s.Requests
	}
	if served > 0 {
		s.MeanLatencyMS = latSum / served
	}
	return s
}
