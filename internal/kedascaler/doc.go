// Package kedascaler serves KEDA's external scaler gRPC interface (api/externalscaler) for
// live targets, so that a ScaledObject with an external trigger scales a workload by
// bascaler's decisions: the metric is the desired replicas with target 1 (an AverageValue
// target, so the HPA KEDA creates wants exactly that many), and the workload is active
// while the desired count is above zero.
package kedascaler
