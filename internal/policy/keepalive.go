// keepalive:D is the fixed keep-alive of FaaS platforms: a function's instance stays up for
// D after the last request and is removed then; the next request after that is a cold
// start. AWS Lambda keeps instances about 10 minutes, Azure Functions 20 minutes ("Serverless
// in the Wild", Shahrad et al., USENIX ATC 2020, section 4), hence keepalive:10m and
// keepalive:20m. Any Go duration works (keepalive:90s).
//
// Every tick (param period, 2 s, so that a held request wakes the workload within one tick
// as an activator's poke does):
//
//	a request or a held request in the newest tick -> last = now
//	now - last < D  -> warm: max(1, pods for the last minute's peak demand at the SLO)
//	otherwise       -> 0 (then the bounds: with min >= 1 it never goes below min)
//
// Worked example (keepalive:10m, 2 s ticks): requests until 12:00:00, none after: warm
// through the decision at 12:09:58, 0 at 12:10:00; a request held in the tick ending
// 12:30:02 sets last = 12:30:02 and the decision then asks for one pod.

package policy

import (
	"fmt"
	"time"
)

func init() {
	Register("keepalive:N", "fixed keep-alive: a pod stays D after the last request, then scale to zero (with min 0), e.g. keepalive:10m (AWS-like), keepalive:20m (Azure-like)", false, newKeepAlive)
}

type keepAlive struct {
	arg      string
	keep     time.Duration
	period   time.Duration
	capacity float64
	min, max int
	last     time.Time // end of the last tick that saw a request
	seen     bool
}

func newKeepAlive(env Env) (Policy, error) {
	arg := env.Params["arg"]
	keep, err := time.ParseDuration(arg)
	if err != nil || keep <= 0 {
		return nil, fmt.Errorf("policy keepalive: keep-alive %q is not a positive duration (e.g. keepalive:10m)", arg)
	}
	ps := newParamSet("keepalive", env.Params)
	ps.known["arg"] = true
	period := ps.duration("period", periodUnder(2*time.Second, env.Interval))
	ps.check(period > 0, "period", period, "must be positive")
	if err := ps.done(); err != nil {
		return nil, err
	}
	capacity, err := sloCapacity(env, "keepalive")
	if err != nil {
		return nil, err
	}
	return &keepAlive{arg: arg, keep: keep, period: period, capacity: capacity, min: env.Min, max: env.Max}, nil
}

func (k *keepAlive) Name() string          { return "keepalive:" + k.arg }
func (k *keepAlive) Period() time.Duration { return k.period }

func (k *keepAlive) Decide(obs *Observation) Decision {
	_, active := lastTick(obs)
	if active {
		k.last, k.seen = obs.Now, true
	}
	e := Explanation{Mode: ModeSteady}
	if active && obs.Ready == 0 {
		e.Mode = ModeWake
	}
	want := 0
	switch {
	case !k.seen && obs.Replicas > 0:
		// Before the first request the pods the run started with are kept: the keep-alive
		// counts from a request.
		want, e.Reason = obs.Replicas, "no request seen yet"
	case k.seen && obs.Now.Sub(k.last) < k.keep:
		want, e.Reason = warmPods(peakDemand(obs, time.Minute), k.capacity), "within the keep-alive after the last request"
	default:
		e.Mode, e.Reason = ModeIdle, "keep-alive expired: scale to zero"
	}
	e.Raw = want
	lo, hi := bounds(obs, k.min, k.max)
	out, limit := clampExplained(want, lo, hi)
	e.Limit = limit
	return Decision{Replicas: out, Explanation: e}
}
