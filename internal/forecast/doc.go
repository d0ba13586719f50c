// Package forecast predicts a workload's next steps as quantiles: the Forecaster contract,
// classic and neural models, conformal calibration, rolling-origin backtests and model
// selection.
package forecast
