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

	// ColdStarts counts arrivals that found no ready pod; ColdStartsPer1000 is that per
	// 1,000 requests.
	ColdStarts        float64 `json:"cold_starts"`
	ColdStartsPer1000 float64 `json:"cold_starts_per_1000"`
	// HeldRequests counts requests the activator held while no pod was ready;
	// HeldFailed those of them that timed out or found the activator's queue full.
	HeldRequests float64 `json:"held_requests"`
	HeldFailed   float64 `json:"held_failed"`
	// HeldLatencyMeanMS and HeldLatencyP99MS are the added latency (arrival to release to
	// a ready pod) of the held requests that were served, over the whole run.
	HeldLatencyMeanMS float64 `json:"held_latency_mean_ms"`
	HeldLatencyP99MS  float64 `json:"held_latency_p99_ms"`
	// IdlePodHours is allocated pod-time while no request arrived (the keep-alive's waste
	// in "Serverless in the Wild"); CostPodHours is the total.
	IdlePodHours float64 `json:"idle_pod_hours"`
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
//   - mean latency = Σ r.LatencyMeanMS·served / Σ served;
//   - cold starts, held and held-failed requests and idle pod-time are sums; cold starts per
//     1,000 = 1000·cold starts / requests; the held latency's mean and p99 are over every
//     interval's HeldWaits together (HeldLatency).
func Summarise(records []Record, interval time.Duration) Summary {
	s := Summary{Intervals: len(records)}
	if len(records) == 0 {
		return s
	}
	hours := interval.Hours()
	var violated int
	var over, served, latSum, alloc float64
	var waits []HeldWait
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
		s.ColdStarts += r.ColdStarts
		s.HeldRequests += r.HeldRequests
		s.HeldFailed += r.HeldFailed
		s.IdlePodHours += r.IdlePodSeconds / 3600
		waits = append(waits, r.HeldWaits...)
	}
	held := HeldLatency(waits)
	s.HeldLatencyMeanMS, s.HeldLatencyP99MS = held.MeanMS, held.P99MS
	s.CostPodHours = alloc * hours
	s.MeanReplicas = alloc / float64(len(records))
	s.SLOViolationRate = float64(violated) / float64(len(records))
	if s.Requests > 0 {
		s.RequestsOverSLO = (over + s.FailedRequests) / s.Requests
		s.FailedRate = s.FailedRequests / s.Requests
		s.ColdStartsPer1000 = 1000 * s.ColdStarts / s.Requests
	}
	if served > 0 {
		s.MeanLatencyMS = latSum / served
	}
	return s
}
