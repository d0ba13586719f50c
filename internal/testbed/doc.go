// Package testbed runs policies end to end on one machine: real serve-fft replicas behind a
// loopback load balancer, an open-loop trace-driven load, a real Prometheus, and the policy
// deciding from what Prometheus reports.
package testbed
