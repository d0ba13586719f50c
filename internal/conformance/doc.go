// Package conformance holds the tests that check the promise the architecture rests on: the
// same policy, fed the same observations through the simulator, the testbed's
// Prometheus-backed source and the Kubernetes controller (against a real kube-apiserver and
// a real Prometheus), makes the same decisions, tick for tick. It has no non-test code.
package conformance
