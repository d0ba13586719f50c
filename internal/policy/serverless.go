// Helpers of the scale-to-zero policies (keepalive:D, keda, hybrid-histogram, and kpa and
// bascaler with min 0).
//
// The wake-up signal. With no ready pod, destination-side metrics are zero; what still
// counts the requests is the activator that holds them (Sample.Held, Interval.Held). A
// sample's demand is therefore max(Rate, Held): backends whose Rate is measured at the pods
// report 0 there and the held rate in Held; the simulator reports arrivals in both (its
// activator counts what it holds, as Knative's activator reports to the autoscaler).

package policy

import (
	"math"
	"strconv"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
)

// demand is a tick's request rate including what the activator held.
func demand(s *Sample) float64 { return math.Max(s.Rate, s.Held) }

// intervalDemand is an interval's request rate including what the activator held.
func intervalDemand(iv *Interval) float64 { return math.Max(iv.Rate, iv.Held) }

// lastTick returns the newest completed tick's demand and whether it saw a request or a
// held one (false when there is no tick yet).
func lastTick(obs *Observation) (rate float64, active bool) {
	if len(obs.Recent) == 0 {
		return 0, false
	}
	s := &obs.Recent[len(obs.Recent)-1]
	r := demand(s)
	return r, r > 0 || s.Held > 0
}

// peakDemand is the highest tick demand over the last window of Recent.
func peakDemand(obs *Observation, window time.Duration) float64 {
	tick := obs.Tick
	if tick <= 0 {
		tick = obs.Interval
	}
	n := windowTicks(window, tick)
	peak := 0.0
	for i := max(0, len(obs.Recent)-n); i < len(obs.Recent); i++ {
		peak = math.Max(peak, demand(&obs.Recent[i]))
	}
	return peak
}

// sloCapacity is the per-pod load at the SLO, for policies that size warm pods by rate.
func sloCapacity(env Env, name string) (float64, error) {
	if env.Profile == nil {
		return 0, errNoProfile(name)
	}
	return env.Profile.CapacityAt(env.SLO.Metric, env.SLO.TargetMS)
}

type errNoProfile string

func (e errNoProfile) Error() string {
	return "policy " + string(e) + ": needs a performance profile to size pods"
}

// warmPods is the pods a warm workload needs: enough for the recent peak at the SLO with
// the default headroom, and at least one.
func warmPods(peak, capacity float64) int {
	return max(1, perf.PodsFor(peak, capacity*perf.DefaultHeadroom))
}

// boolean reads a true/false parameter.
func (p *paramSet) boolean(key string, def bool) bool {
	s, ok := p.raw(key)
	if !ok {
		return def
	}
	v, err := strconv.ParseBool(s)
	if err != nil {
		p.fail("parameter %s=%q: want true or false", key, s)
		return def
	}
	return v
}
