// Package hpa holds the Kubernetes Horizontal Pod Autoscaler's arithmetic, re-implemented from
// its documented algorithm and its source (pkg/controller/podautoscaler: replica_calculator.go
// for the replica calculator, horizontal.go for stabilisation and rate limits): the replica
// calculator for a utilisation target, and the behavior engine (stabilisation windows,
// rate-limit policies, selectPolicy, bounds).
//
// One copy serves every user: the `hpa` policy (calculator + engine), the controller's
// spec.behavior (the engine applied to any policy's recommendation, through internal/driver)
// and the controller's CPU fallback (the calculator). The package knows nothing of policies,
// backends or Kubernetes types.
package hpa
