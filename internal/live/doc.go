// Package live runs bascaler's decision loop for named workloads whose metrics it reads
// from Prometheus (the controller's presets, through the driver's Feed), without writing
// replicas: the model server answers forecasts, recommendations and KEDA's external
// scaler from these loops. One driver.Loop per target, stepped on its own tick grid; the
// policy is built once from the warm history, as the controller builds it.
package live
