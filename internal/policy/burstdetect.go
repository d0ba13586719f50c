package policy

import (
	"fmt"
	"sort"

	"github.com/bascaler/bascaler/internal/forecast"
)

// burstDetector is what the burst-aware policies need of a detector and overestimator
// (package burst provides them; adapters register here).
type burstDetector interface {
	// step is told, at the start of a new interval, the completed intervals (through obs and
	// mem) and the forecast that was issued one interval ago; it reports whether the new
	// interval is to be handled in burst mode. It must not look at anything else.
	step(obs *Observation, mem *workloadMemory, prev forecast.Forecast, havePrev bool) bool
	// overestimate is the workload to plan for during a burst, for the next steps intervals.
	overestimate(mem *workloadMemory, steps int) float64
}

type detectorFactory func(env Env, model forecast.Forecaster, confidence float64) (burstDetector, error)

var detectors = map[string]detectorFactory{
	"none": func(Env, forecast.Forecaster, float64) (burstDetector, error) { return noDetector{}, nil },
}

func burstDetectorNames() []string {
	out := make([]string, 0, len(detectors))
	for n := range detectors {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

func newBurstDetector(name string, env Env, model forecast.Forecaster, confidence float64) (burstDetector, error) {
	f, ok := detectors[name]
	if !ok {
		return nil, fmt.Errorf("unknown burst detector %q (valid: %v)", name, burstDetectorNames())
	}
	return f(env, model, confidence)
}

// noDetector never reports a burst: the policy runs on its forecast and reactive floor only.
type noDetector struct{}

func (noDetector) step(*Observation, *workloadMemory, forecast.Forecast, bool) bool { return false }
func (noDetector) overestimate(m *workloadMemory, _ int) float64                    { return m.last() }

// defaultDetector is the detector the bascaler policy uses unless told otherwise.
var defaultDetector = "none"
