// Package metrics reads a workload's request rate, latency and CPU per interval from
// Prometheus (or CPU alone from the metrics.k8s.io API) and turns them into the
// policy.Observation every backend hands to a policy.
package metrics
