package policy

import (
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
)

// oracle is the clairvoyant floor of the evaluation protocol. It knows every future arrival
// rate and the pod start-up delay, and keeps allocated exactly the fewest pods that meet the
// SLO, creating them early enough to be ready when needed.
//
// Pods created at the start of interval i are ready at i*I + S, so a pod needed from interval
// j on must be created at interval j - L at the latest, with L = ceil(S/I). The oracle
// therefore allocates max(need(i), ..., need(i+L)) at interval i; with S = 30 s and I = 60 s
// that is max(need(i), need(i+1)). need(t) = ceil(rate(t) / capacity), where capacity is the
// largest per-pod load whose profile latency meets the SLO. Any policy that meets the SLO
// in every interval must have at least need(t) ready pods in t, so no such policy can be
// cheaper (up to the start-up pods, which the oracle also pays for).
type oracle struct {
	future   []float64
	capacity float64
	lead     int
	min, max int
}

func init() {
	Register("oracle", "clairvoyant floor: the fewest pods that meet the SLO, started in time (simulator only)", true, newOracle)
}

func newOracle(env Env) (Policy, error) {
	capacity, err := env.Profile.CapacityAt(env.SLO.Metric, env.SLO.TargetMS)
	if err != nil {
		return nil, err
	}
	lead := int(math.Ceil(env.Startup.Seconds() / env.Interval.Seconds()))
	return &oracle{future: env.Future, capacity: capacity, lead: lead, min: env.Min, max: env.Max}, nil
}

func (o *oracle) Name() string          { return "oracle" }
func (o *oracle) Period() time.Duration { return 0 }
func (o *oracle) needAt(i int) int {
	if i >= len(o.future) {
		return 0
	}
	return perf.PodsFor(o.future[i], o.capacity)
}

func (o *oracle) Decide(obs *Observation) Decision {
	want := 0
	for k := 0; k <= o.lead; k++ {
		want = max(want, o.needAt(obs.Index+k))
	}
	out := Clamp(want, o.min, o.max)
	e := Explanation{Mode: ModeClairvoyant, Reason: "fewest pods meeting the SLO over the start-up lead time",
		Metric: o.futureAt(obs.Index), Target: o.capacity, Raw: want}
	if out != want {
		e.Limit = "replica bounds"
	}
	return Decision{Replicas: out, Explanation: e}
}

func (o *oracle) futureAt(i int) float64 {
	if i < len(o.future) {
		return o.future[i]
	}
	return 0
}
