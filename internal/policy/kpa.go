// kpa is Knative Serving's Pod Autoscaler (KPA), re-implemented from its documentation and
// the decider in knative.dev/serving pkg/autoscaler/scaling/autoscaler.go, on the request
// rate per pod (or, with metric=concurrency, on requests in flight).
//
// Every 2 s the KPA averages the revision's total metric over two windows ending now: the
// stable window (60 s) and the panic window (6 s, 10% of the stable window). Then:
//
//	readyPods      = max(1, ready pods)
//	maxScaleUp     = ceil(maxScaleUpRate * readyPods)     (rate 1000)
//	maxScaleDown   = floor(readyPods / maxScaleDownRate)  (rate 2: at most halve)
//	desiredStable  = clamp(ceil(stableAvg / target), maxScaleDown, maxScaleUp)
//	desiredPanic   = clamp(ceil(panicAvg / target), maxScaleDown, maxScaleUp)
//
// where target is per pod. Panic mode starts when ceil(panicAvg / target) / readyPods >= 2
// (panic threshold 200%): the panic window's demand is at least twice what the ready pods
// can take. Each such tick renews the panic time; panic mode ends on the first tick below the
// threshold that comes more than one stable window (60 s) after the last panicking tick. In
// panic mode the decision is max(desiredStable, desiredPanic), and it never goes below the
// highest decision made in this panic (no scale-down while panicking). Outside panic it is
// desiredStable.
//
// Worked example of the rate clamps (as in Knative's comments): 2 ready pods, target 10
// req/s per pod, 100 req/s arriving: ceil(100/10) = 10 pods, within maxScaleUp =
// ceil(1000*2) = 2000. The panic ratio is 10/2 = 5 >= 2, so panic mode; 10 pods. When the
// load falls to 10 req/s with those 10 pods ready, ceil(10/10) = 1 but maxScaleDown =
// floor(10/2) = 5: the KPA halves to 5 (and only once panic mode has ended), then 2 (floor
// of 5/2), then 1. The clamp is relative to ready pods, so a slow start-up slows scale-down
// too, and a rate of 1.1 still adds a pod: ceil(1.1 * 2) = 3 > 2.
//
// Target. Knative's default is a target utilisation of 70% of a per-pod capacity (e.g.
// containerConcurrency). Our capacity is the load at which one pod just meets the SLO,
// profile.CapacityAt(SLO metric, SLO target), so target-rps = 0.7 * capacity. For
// metric=concurrency the same operating point is translated by Little's law: a pod serving
// 0.7 * capacity req/s with mean latency W (the profile's mean at that load) holds
// 0.7 * capacity * W requests in flight on average; that is the concurrency target.
//
// Parameters (Knative's names where it has one): period (2s, or the longest period under
// it that divides the interval: periodUnder), stable-window (60s),
// panic-window-percentage (10), panic-threshold-percentage (200), max-scale-up-rate (1000),
// max-scale-down-rate (2), target-utilization-percentage (70), metric (rps | concurrency),
// target-rps or target-concurrency (per pod; override the SLO-derived target).
//
// Approximations:
//   - Knative's collector scrapes the queue-proxies every second and keeps 1 s buckets; we
//     average the backend's 2 s ticks (obs.Recent). When Recent covers less than a window
//     (the start of a run), the average is over what is there, as Knative averages over the
//     data it has.
//   - Rate is the arrival rate the workload asks for, which Knative's activator and queue
//     proxies observe; Concurrency is the mean number of requests in the system.
//   - Target burst capacity and scale-down delay are out of scope.
//
// Scale to zero (min 0, enable-scale-to-zero true as in Knative by default). Knative scales
// a revision to zero once the stable window's average is zero, i.e. no request for a whole
// stable window (60 s), and then removes the last pod only after scale-to-zero-grace-period
// (30 s), the time it allows for the activator to be put back in the request path
// (knative.dev/docs serving/autoscaling/scale-to-zero). While no pod is ready the activator
// holds requests and reports them to the autoscaler, which scales from zero at once: the
// held rate counts in the windows (Sample.Held, see demand), and a tick with held requests
// asks for at least one pod. Worked example: last request in the tick ending at 0 s; the
// stable window (30 ticks of 2 s) holds it until the decision at 58 s, so the first zero
// recommendation is at 60 s; the grace period keeps one pod through 88 s and the decision
// at 90 s is 0.
// Parameters: enable-scale-to-zero (true), scale-to-zero-grace-period (30s).

package policy

import (
	"fmt"
	"math"
	"time"
)

func init() {
	Register("kpa", "Knative KPA: request rate per pod (target 70% of SLO capacity), every 2 s; 60 s stable / 6 s panic windows, panic at 200%, scale-up rate 1000, scale-down rate 2", false, newKPA)
}

type kpa struct {
	period         time.Duration
	stableWindow   time.Duration
	panicWindow    time.Duration
	concurrency    bool    // scale on Sample.Concurrency instead of Sample.Rate
	target         float64 // per pod, in the metric's units
	panicThreshold float64 // ratio, 2 = 200%
	maxUpRate      float64
	maxDownRate    float64
	envMin, envMax int

	panicking    bool
	panicTime    time.Time // the last tick over the panic threshold
	maxPanicPods int       // the highest decision of the current panic

	scaleToZero   bool          // min 0 and enable-scale-to-zero
	grace         time.Duration // scale-to-zero-grace-period
	inactiveSince time.Time     // first tick of the current zero recommendation (zero: active)
}

func newKPA(env Env) (Policy, error) {
	p := newParamSet("kpa", env.Params)
	k := &kpa{
		period:         p.duration("period", periodUnder(2*time.Second, env.Interval)),
		stableWindow:   p.duration("stable-window", 60*time.Second),
		panicThreshold: p.float("panic-threshold-percentage", 200) / 100,
		maxUpRate:      p.float("max-scale-up-rate", 1000),
		maxDownRate:    p.float("max-scale-down-rate", 2),
		envMin:         env.Min,
		envMax:         env.Max,
	}
	panicPct := p.float("panic-window-percentage", 10)
	util := p.float("target-utilization-percentage", 70) / 100
	metric := p.choice("metric", "rps", "rps", "concurrency")
	targetRPS := p.float("target-rps", 0)
	targetConc := p.float("target-concurrency", 0)
	k.concurrency = metric == "concurrency"
	k.scaleToZero = p.boolean("enable-scale-to-zero", true) && env.Min == 0
	k.grace = p.duration("scale-to-zero-grace-period", 30*time.Second)
	k.panicWindow = time.Duration(float64(k.stableWindow) * panicPct / 100)

	if p.err == nil {
		p.check(k.period > 0, "period", k.period, "must be positive")
		p.check(k.grace >= 0, "scale-to-zero-grace-period", k.grace, "must not be negative")
		p.check(k.stableWindow >= k.period, "stable-window", k.stableWindow, "must be at least one period")
		p.check(panicPct > 0 && panicPct <= 100, "panic-window-percentage", panicPct, "must be in (0, 100]")
		p.check(k.panicThreshold >= 1, "panic-threshold-percentage", k.panicThreshold*100, "must be >= 100")
		p.check(k.maxUpRate > 1, "max-scale-up-rate", k.maxUpRate, "must be > 1")
		p.check(k.maxDownRate > 1, "max-scale-down-rate", k.maxDownRate, "must be > 1")
		p.check(util > 0 && util <= 1, "target-utilization-percentage", util*100, "must be in (0, 100]")
		p.check(targetRPS >= 0, "target-rps", targetRPS, "must be positive")
		p.check(targetConc >= 0, "target-concurrency", targetConc, "must be positive")
		p.check(!(k.concurrency && targetRPS > 0), "target-rps", targetRPS, "applies to metric=rps (use target-concurrency)")
		p.check(k.concurrency || targetConc == 0, "target-concurrency", targetConc, "applies to metric=concurrency (use target-rps)")
	}
	if err := p.done(); err != nil {
		return nil, err
	}

	switch {
	case !k.concurrency && targetRPS > 0:
		k.target = targetRPS
	case k.concurrency && targetConc > 0:
		k.target = targetConc
	default:
		if env.Profile == nil {
			return nil, fmt.Errorf("policy kpa: needs a performance profile to derive its target (or set target-rps / target-concurrency)")
		}
		capacity, err := env.Profile.CapacityAt(env.SLO.Metric, env.SLO.TargetMS)
		if err != nil {
			return nil, fmt.Errorf("policy kpa: target from the SLO: %w", err)
		}
		rate := util * capacity
		k.target = rate
		if k.concurrency {
			k.target = rate * env.Profile.At(rate).MeanMS / 1000 // Little's law: L = λW
		}
		if !(k.target > 0) {
			return nil, fmt.Errorf("policy kpa: the profile's capacity at the SLO is %g req/s per pod: no positive target", capacity)
		}
	}
	return k, nil
}

func (k *kpa) Name() string          { return "kpa" }
func (k *kpa) Period() time.Duration { return k.period }

// Reasons and limits of the KPA's explanations.
const (
	kpaReasonNoData    = "no metric sample yet"
	kpaReasonBadMetric = "metric sample is not a finite non-negative number"
	kpaReasonStable    = "stable-window demand over target per pod"
	kpaReasonPanic     = "panic-window demand over target per pod"
	kpaLimitUpRate     = "max scale-up rate"
	kpaLimitDownRate   = "max scale-down rate"
	kpaLimitPanic      = "no scale-down in panic mode"
	kpaLimitGrace      = "scale-to-zero grace period"
	kpaReasonZero      = "no request for a stable window: scale to zero"
	kpaReasonWake      = "activator holds requests: scale from zero"
)

func (k *kpa) Decide(obs *Observation) Decision {
	lo, hi := bounds(obs, k.envMin, k.envMax)
	cur := obs.Replicas
	e := Explanation{Mode: ModeSteady, Target: k.target, Raw: cur}
	if k.panicking {
		e.Mode = ModePanic
	}
	if len(obs.Recent) == 0 {
		e.Mode, e.Reason = ModeWarmingUp, kpaReasonNoData
		return Decision{Replicas: cur, Explanation: e}
	}
	tick := obs.Tick
	if tick <= 0 {
		tick = k.period
	}
	stableAvg := k.windowMean(obs.Recent, windowTicks(k.stableWindow, tick))
	panicAvg := k.windowMean(obs.Recent, windowTicks(k.panicWindow, tick))
	if !(stableAvg >= 0 && panicAvg >= 0) || math.IsInf(stableAvg+panicAvg, 0) {
		e.Reason = kpaReasonBadMetric
		return Decision{Replicas: cur, Explanation: e}
	}

	ready := math.Max(1, float64(obs.Ready))
	maxUp := math.Ceil(k.maxUpRate * ready)
	maxDown := math.Floor(ready / k.maxDownRate)
	dspc := math.Ceil(stableAvg / k.target)
	dppc := math.Ceil(panicAvg / k.target)
	desiredStable, stableLimit := clampRate(dspc, maxDown, maxUp)
	desiredPanic, panicLimit := clampRate(dppc, maxDown, maxUp)

	over := dppc/ready >= k.panicThreshold
	switch {
	case over:
		k.panicking, k.panicTime = true, obs.Now
	case k.panicking && k.panicTime.Add(k.stableWindow).Before(obs.Now):
		// The surge has had a full stable window to reach the stable average.
		k.panicking, k.maxPanicPods = false, 0
	}

	desired := desiredStable
	e.Reason, e.Raw, e.Limit = kpaReasonStable, rawCount(dspc), stableLimit
	e.Metric = stableAvg / ready
	if k.panicking {
		e.Mode = ModePanic
		if desiredPanic > desired {
			desired = desiredPanic
			e.Reason, e.Raw, e.Limit = kpaReasonPanic, rawCount(dppc), panicLimit
			e.Metric = panicAvg / ready
		}
		if desired > k.maxPanicPods {
			k.maxPanicPods = desired
		} else if desired < k.maxPanicPods {
			desired, e.Limit = k.maxPanicPods, kpaLimitPanic
		}
	} else {
		e.Mode = ModeSteady
	}
	if k.scaleToZero {
		desired = k.zero(obs, desired, &e)
	}
	final, limit := clampExplained(desired, lo, hi)
	if limit != "" {
		e.Limit = limit
	}
	return Decision{Replicas: final, Explanation: e}
}

// clampRate keeps a desired pod count within the KPA's rate limits and names the one that
// applied.
func clampRate(want, lo, hi float64) (int, string) {
	if want > hi {
		return int(hi), kpaLimitUpRate
	}
	if want < lo {
		return int(lo), kpaLimitDownRate
	}
	return int(want), ""
}

// rawCount converts an unclamped pod count for the explanation, saturating instead of
// overflowing on absurd loads.
func rawCount(x float64) int { return int(math.Min(x, 1<<31)) }

// windowTicks is the number of ticks a window spans (at least one).
func windowTicks(window, tick time.Duration) int {
	return max(1, int((window+tick-1)/tick))
}

// windowMean averages the KPA's metric over the last n samples (fewer if Recent is shorter).
func (k *kpa) windowMean(recent []Sample, n int) float64 {
	if n > len(recent) {
		n = len(recent)
	}
	sum := 0.0
	for i := len(recent) - n; i < len(recent); i++ {
		if k.concurrency {
			sum += recent[i].Concurrency
		} else {
			sum += recent[i].Rate
		}
	}
	return sum / float64(n)
}

// zero applies Knative's scale-to-zero rules to a recommendation (min 0 only): a tick with
// held requests wakes the revision; a zero recommendation removes the last pod only once it
// has lasted the grace period.
func (k *kpa) zero(obs *Observation, desired int, e *Explanation) int {
	if s := &obs.Recent[len(obs.Recent)-1]; s.Held > 0 && desired < 1 {
		desired = 1
	}
	if s := &obs.Recent[len(obs.Recent)-1]; s.Held > 0 && obs.Ready == 0 {
		e.Mode, e.Reason = ModeWake, kpaReasonWake
	}
	if desired > 0 {
		k.inactiveSince = time.Time{}
		return desired
	}
	if k.inactiveSince.IsZero() {
		k.inactiveSince = obs.Now
	}
	e.Mode, e.Reason = ModeIdle, kpaReasonZero
	if obs.Replicas > 0 && obs.Now.Sub(k.inactiveSince) < k.grace {
		e.Limit = kpaLimitGrace
		return 1
	}
	return 0
}
