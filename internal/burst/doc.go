// Package burst decides, causally and once per control interval, whether a workload is in a
// burst (prediction-based detectors), and overestimates the next steps of a burst with an
// AR(2) model and a residual block bootstrap.
package burst
