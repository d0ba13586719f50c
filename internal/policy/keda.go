// keda is a KEDA ScaledObject with one trigger on the request rate (a Prometheus trigger
// or the HTTP add-on's scaler), with KEDA's documented defaults (keda.sh/docs, ScaledObject
// specification): pollingInterval 30 s, cooldownPeriod 300 s, activationThreshold 0,
// minReplicaCount 0.
//
// Every polling interval KEDA reads the trigger's metric: the request rate over the last
// polling interval, the activator's held requests included (the HTTP add-on's interceptor
// counts the requests it holds). Then, as KEDA does:
//
//   - Activation (0 <-> 1) is KEDA's own: at zero replicas, a metric above the activation
//     threshold scales to one; at one or more, the workload goes back to zero once no poll
//     has been active (metric > activation threshold) for cooldownPeriod.
//   - Above one replica the HPA that KEDA creates decides (minReplicas 1): the replica
//     calculator on the metric's average per pod against threshold (AverageValue), with
//     the default behavior (scale-down stabilisation 300 s), package hpa.
//
// The per-pod threshold defaults to 70% of the pod's capacity at the SLO, the same
// operating point as the KPA's target utilisation; param threshold sets it in req/s.
// Worked example: last request in the poll ending at 12:00:00; the polls up to 12:05:00
// are inactive, and the poll at 12:05:00 (300 s after the last active one) scales to zero.
// A request in the poll ending 12:20:30 wakes it at 12:20:30: up to one polling interval
// (30 s) of held time before the start-up delay even begins.
//
// Parameters: polling-interval (30s, or the longest under it that divides the interval),
// cooldown-period (300s), activation-threshold (0), threshold (req/s per pod), tolerance
// (0.1).

package policy

import (
	"time"

	"github.com/bascaler/bascaler/internal/hpa"
)

func init() {
	Register("keda", "KEDA ScaledObject on the request rate: poll every 30 s, activation threshold 0, cooldownPeriod 300 s to zero, HPA (target 70% of SLO capacity per pod, default behavior) above one replica", false, newKEDA)
}

type keda struct {
	polling, cooldown     time.Duration
	activation, threshold float64
	tolerance             float64
	min, max              int
	beh                   *hpa.Behavior
	lastActive            time.Time
	seen                  bool
	prev                  int // replicas at the previous poll
	prevAt                time.Time
}

func newKEDA(env Env) (Policy, error) {
	ps := newParamSet("keda", env.Params)
	k := &keda{
		polling:    ps.duration("polling-interval", periodUnder(30*time.Second, env.Interval)),
		cooldown:   ps.duration("cooldown-period", 300*time.Second),
		activation: ps.float("activation-threshold", 0),
		threshold:  ps.float("threshold", 0),
		tolerance:  ps.float("tolerance", 0.1),
		min:        env.Min, max: env.Max, prev: -1,
	}
	ps.check(k.polling > 0, "polling-interval", k.polling, "must be positive")
	ps.check(k.cooldown >= 0, "cooldown-period", k.cooldown, "must not be negative")
	ps.check(k.activation >= 0, "activation-threshold", k.activation, "must not be negative")
	ps.check(k.threshold >= 0, "threshold", k.threshold, "must be positive")
	ps.check(k.tolerance >= 0 && k.tolerance < 1, "tolerance", k.tolerance, "must be in [0, 1)")
	if err := ps.done(); err != nil {
		return nil, err
	}
	if k.threshold == 0 {
		capacity, err := sloCapacity(env, "keda")
		if err != nil {
			return nil, err
		}
		k.threshold = 0.7 * capacity
	}
	beh, err := hpa.NewBehavior(hpa.DefaultScaleUp(), hpa.DefaultScaleDown(), k.polling)
	if err != nil {
		return nil, err
	}
	k.beh = beh
	return k, nil
}

func (k *keda) Name() string          { return "keda" }
func (k *keda) Period() time.Duration { return k.polling }

// Reasons of KEDA's explanations.
const (
	kedaReasonNoData   = "no poll yet"
	kedaReasonActivate = "metric above the activation threshold: activate (0 -> 1)"
	kedaReasonIdle     = "inactive at zero"
	kedaReasonCooldown = "inactive for cooldownPeriod: scale to zero"
	kedaReasonHPA      = "HPA: metric per pod against threshold"
)

func (k *keda) Decide(obs *Observation) Decision {
	cur := obs.Replicas
	// The HPA's rate limits count applied changes: the one since the previous poll.
	if k.prev >= 0 && cur != k.prev {
		k.beh.Record(k.prevAt, cur-k.prev)
	}
	k.prev, k.prevAt = cur, obs.Now
	lo, hi := bounds(obs, k.min, k.max)
	e := Explanation{Mode: ModeSteady, Target: k.threshold, Raw: cur}
	if len(obs.Recent) == 0 {
		e.Mode, e.Reason = ModeWarmingUp, kedaReasonNoData
		return Decision{Replicas: cur, Explanation: e}
	}
	metric := demand(&obs.Recent[len(obs.Recent)-1])
	e.Metric = metric
	active := metric > k.activation
	if active || !k.seen {
		// The cooldown counts from the last active poll, or from the start.
		k.lastActive, k.seen = obs.Now, true
	}
	want := cur
	switch {
	case cur == 0 && active:
		want, e.Mode, e.Reason = 1, ModeWake, kedaReasonActivate
	case cur == 0:
		want, e.Mode, e.Reason = 0, ModeIdle, kedaReasonIdle
	case !active && lo == 0 && obs.Now.Sub(k.lastActive) >= k.cooldown:
		want, e.Mode, e.Reason = 0, ModeIdle, kedaReasonCooldown
	default:
		util := metric / float64(cur) / k.threshold
		raw, _ := hpa.Replicas(cur, cur, 0, 0, util, 100, k.tolerance)
		e.Reason, e.Raw = kedaReasonHPA, raw
		// KEDA's HPA has minReplicas max(1, min): activation is KEDA's, not the HPA's.
		out, l := k.beh.Apply(obs.Now, cur, raw, max(1, lo), hi)
		if l != hpa.LimitNone {
			e.Limit = l.String()
		}
		return Decision{Replicas: out, Explanation: e}
	}
	e.Raw = want
	out, limit := clampExplained(want, lo, hi)
	e.Limit = limit
	return Decision{Replicas: out, Explanation: e}
}
