// Package drift scores the live forecast against what came true and compares the recent
// input distribution with the one the model was trained on, one completed interval at a
// time, so a backend can tell when the model has stopped fitting the workload.
package drift
