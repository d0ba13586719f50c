// Package perf models how one pod performs under load: performance profiles (per-pod load to
// latency and CPU), and the capacity a pod has at a latency SLO.
package perf
