// Package policy defines the one contract every scaling policy meets — a pure, causal
// Decide(Observation) -> Decision — and the baseline policies. The same policy value runs in
// the simulator, the local testbed and the Kubernetes controller.
package policy
