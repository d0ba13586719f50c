// Package series holds evenly spaced workload time series: CSV input, validation, resampling,
// chronological splits, normalisation and a seeded synthetic workload generator.
package series
