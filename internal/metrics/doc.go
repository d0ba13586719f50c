// Package metrics reads a workload's request rate, latency and CPU per interval from
// Prometheus and turns them into the policy.Observation every backend hands to a policy.
package metrics
