package burst_test

import (
	"fmt"
	"math"

	"github.com/bascaler/bascaler/internal/burst"
	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/perf"
)

// persistence stands in for a fitted forecaster: the last value, with a ±10% band.
func persistence(history []float64) forecast.Forecast {
	last := history[len(history)-1]
	return forecast.Forecast{Levels: []float64{0.01, 0.5, 0.99}, Q: [][]float64{{0.9 * last, last, 1.1 * last}}}
}

// A policy's Decide, once per control interval: feed the detector the interval that just
// ended with the forecast issued now, read the state for the interval being decided, and in
// a burst plan with the overestimate.
func Example() {
	// A workload around 500 req/s that jumps to 1500 at interval 40.
	var load []float64
	for i := range 60 {
		v := 500 + 20*math.Sin(float64(i))
		if i >= 40 {
			v *= 3
		}
		load = append(load, v)
	}
	// Calibrate on the training part: the forecasts issued along it.
	train := burst.Trace{Values: load[:35]}
	for i := range 35 {
		train.Forecasts = append(train.Forecasts, persistence(load[:i+1]))
	}
	det := burst.NewCUSUM(burst.CUSUMOptions{})
	if err := det.Calibrate(train); err != nil {
		fmt.Println(err)
		return
	}
	over, _ := burst.NewOverestimator(burst.OverestimatorOptions{Seed: 1})
	capacity, _ := perf.PodCapacity(perf.FFT(), perf.Mean, 16, 0.9)

	for t := 35; t < 45; t++ { // deciding interval t; intervals < t are complete
		if err := det.Observe(load[t-1], persistence(load[:t])); err != nil {
			fmt.Println(err)
			return
		}
		st := det.State() // governs interval t, decided without load[t]
		if !st.Burst {
			continue
		}
		est, _ := over.Estimate(load[:t], 1)
		replicas, _ := perf.Replicas(est.Upper[0], capacity)
		fmt.Printf("interval %d: burst (%s), overestimate %.0f req/s -> %d pods\n", t, st.Reason, est.Upper[0], replicas)
		break
	}
	// Output:
	// interval 41: burst (accumulated forecast surprise above threshold), overestimate 1564 req/s -> 22 pods
}
