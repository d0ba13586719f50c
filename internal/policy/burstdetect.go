package policy

import (
	"fmt"
	"sort"

	"github.com/bascaler/bascaler/internal/burst"
	"github.com/bascaler/bascaler/internal/forecast"
)

// burstDetector is what the burst-aware policies need of a detector and overestimator.
type burstDetector interface {
	// observe is told the actual rate of the interval that just completed and the forecast
	// issued right after it (have=false: none), and returns whether the interval that starts
	// now is to be handled in burst mode.
	observe(actual float64, next forecast.Forecast, have bool) (bool, error)
	// overestimate is the workload to plan for during a burst over the next steps intervals,
	// from the recent workload (oldest first).
	overestimate(recent []float64, steps int) (float64, error)
}

// calibrationPoints bounds the stretch of history on which a detector learns its thresholds:
// one forecast per point, so this is what building a policy costs.
const calibrationPoints = 1500

func burstDetectorNames() []string {
	names := append([]string{"none"}, burst.Names()...)
	sort.Strings(names)
	return names
}

// newBurstDetector builds the named detector from package burst, calibrated on the end of
// env.History with forecasts that model issues along it (each from the points before it
// only), plus the AR(2)+bootstrap overestimator at the given confidence.
func newBurstDetector(name string, env Env, model forecast.Forecaster, confidence float64, method burst.Method) (burstDetector, error) {
	if name == "none" {
		return noDetector{}, nil
	}
	d, err := burst.New(name)
	if err != nil {
		return nil, err
	}
	h := env.History
	from := max(h.Len()-calibrationPoints, model.MinHistory())
	if from < h.Len() {
		tr := burst.Trace{}
		win := window(model)
		for t := from; t < h.Len(); t++ {
			tr.Values = append(tr.Values, h.Values[t])
			lo := max(0, t+1-win)
			fc, err := model.Predict(h.Slice(lo, t+1), 3)
			if err != nil {
				fc = forecast.Forecast{}
			}
			tr.Forecasts = append(tr.Forecasts, fc)
		}
		if err := d.Calibrate(tr); err != nil {
			return nil, fmt.Errorf("calibrate burst detector %s: %w", name, err)
		}
	}
	over, err := burst.NewOverestimator(burst.OverestimatorOptions{Method: method, Confidence: confidence, Seed: uint64(env.Seed)})
	if err != nil {
		return nil, err
	}
	return &detectorAdapter{d: d, over: over}, nil
}

type detectorAdapter struct {
	d    burst.Detector
	over *burst.Overestimator
}

func (a *detectorAdapter) observe(actual float64, next forecast.Forecast, have bool) (bool, error) {
	if !have {
		next = forecast.Forecast{}
	}
	if err := a.d.Observe(actual, next); err != nil {
		return a.d.State().Burst, err
	}
	return a.d.State().Burst, nil
}

func (a *detectorAdapter) overestimate(recent []float64, steps int) (float64, error) {
	o, err := a.over.Estimate(recent, steps)
	if err != nil {
		return 0, err
	}
	m := 0.0
	for _, u := range o.Upper {
		m = max(m, u)
	}
	return m, nil
}

// noDetector never reports a burst: the policy runs on its forecast and reactive floor only.
type noDetector struct{}

func (noDetector) observe(float64, forecast.Forecast, bool) (bool, error) { return false, nil }
func (noDetector) overestimate(r []float64, _ int) (float64, error) {
	if len(r) == 0 {
		return 0, nil
	}
	return r[len(r)-1], nil
}
