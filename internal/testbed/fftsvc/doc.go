// Package fftsvc is the CPU-bound HTTP service the testbed scales: every request computes
// FFTs of a synthetic signal, and the service exports Prometheus metrics under both the
// plain HTTP names and the Istio names the metric presets read.
package fftsvc
