// hpa is the Kubernetes Horizontal Pod Autoscaler (autoscaling/v2) on a CPU-utilisation
// target, re-implemented from the controller's documented algorithm and its source
// (pkg/controller/podautoscaler: replica_calculator.go for the arithmetic, horizontal.go for
// stabilisation and rate limits). Every step below is the HPA's; only the metric source is
// ours (see "Approximations").
//
// Each sync (every 15 s):
//
//  1. Replica calculator. Utilisation is the ready pods' CPU usage over their CPU requests, in
//     whole percent (the HPA's integer division truncates: 77.9% counts as 77%).
//     usageRatio = utilisation / target. Within the tolerance (|1 - usageRatio| <= 0.1) the
//     recommendation is the current count; otherwise ceil(usageRatio * readyPods).
//     Not-ready pods (still starting) are left out, except that on a scale-up
//     (usageRatio > 1) they are counted as using 0%: the ratio is recomputed over all pods
//     and the HPA holds if the recomputed ratio falls within the tolerance or flips the
//     direction. Pods without metrics count as 0% on a scale-up and as max(100%, target) on
//     a scale-down. Example: 4 pods, 2 of them ready at 210% of their request, target 70%:
//     usageRatio = 3; counting the 2 starting pods at 0% gives 105%, ratio 1.5, so
//     ceil(1.5 * 4) = 6 pods (the ready pods alone would have asked for ceil(3 * 2) = 6 as
//     well). With the ready pods at 100% instead, the recomputed utilisation is 50%, the
//     direction flips and the HPA holds at 4: it does not add pods for load that the
//     starting pods are about to absorb.
//  2. Stabilisation. Every raw recommendation is remembered with its time. The stabilised
//     recommendation is the current count, raised to the minimum of the recommendations in
//     the scale-up window (default 0 s: just this one) and lowered to the maximum of those in
//     the scale-down window (default 300 s). So a scale-down happens only once every
//     recommendation of the last 5 minutes agrees, and goes to the highest of them.
//  3. Rate limits (behavior policies). The HPA remembers its scale events and limits a change
//     relative to the replica count at the start of the policy period (periodSeconds, 15 s):
//     periodStart = current - added in the period + removed in the period.
//     Scale-up limit = max(periodStart + 4, ceil(periodStart * 2)) ("select: max" of the Pods
//     and Percent policies); scale-down limit = floor(periodStart * (1 - 100%)) = 0.
//     Example with 1 pod at 1000% (target 70%): the raw recommendation is 15; the limit is
//     max(1 + 4, 2) = 5, so 5 pods. Fifteen seconds later the event has left the 15 s period
//     (events count only if strictly younger than the period), periodStart = 5, the limit is
//     max(9, 10) = 10. With policy-period=60s the second sync would still see the +4 event,
//     periodStart = 1 and the limit stays 5 until the event is 60 s old.
//  4. Bounds: the result is kept within [min, max]; a current count outside them is moved to
//     the bound directly, without rate limits (the HPA does the same before computing, and
//     records the move as a scale event).
//     A current count of 0 means "autoscaling disabled": the HPA holds at 0. With min >= 1
//     our backends never set 0.
//
// Parameters (key=value; durations as "15s" or plain seconds): target (0.7 or 70%, a whole
// percentage), tolerance (0.1), period (15s), window (scale-down stabilisation, 300s),
// up-window (0s), policy-period (15s), up-pods (4), up-percent (100), down-pods (0 = none),
// down-percent (100), select (max | min | disabled, for both directions).
//
// Approximations (what our Observation exposes versus the real controller):
//   - The HPA reads metrics-server samples (a 15-30 s window per pod, scraped
//     asynchronously). We use the last completed tick's mean CPU of ready pods (one tick = the
//     15 s sync period), which is fresher and noise-free.
//   - Pods are "ready" or "starting"; the HPA's CPU-initialisation rule (a pod within 5 min
//     of start whose metric window overlaps its readiness transition is treated as not
//     ready) is not modelled: our simulated pods have no start-up CPU spike to guard
//     against, and the tick's CPU mean covers ready pods only. Every ready pod has a metric,
//     so the "missing pods" branch is exercised only by the calculator's own tests.
//   - Timestamps are exact multiples of the period, so "strictly younger than the window"
//     matters: a recommendation made exactly 300 s ago no longer counts.
//   - If no pod is ready the HPA cannot compute (no metrics) and holds; so do we.
//   - Like a freshly started controller, a new policy has no recommendation history: its
//     first recommendation is not held back by the scale-down window.

package policy

import (
	"math"
	"time"
)

func init() {
	Register("hpa", "Kubernetes HPA: CPU target 70%, tolerance 0.1, every 15 s; scale-up max(4 pods, 100%)/15 s; scale-down 100%/15 s after a 300 s stabilisation window", false, newHPA)
}

// Scaling-policy selection of the HPA's behavior rules.
const (
	selectMax = iota
	selectMin
	selectDisabled
)

// hpaConfig holds the HPA's settings; the defaults are the Kubernetes defaults.
type hpaConfig struct {
	period       time.Duration // sync period
	targetPct    float64       // target utilisation, whole percent of the CPU request
	tolerance    float64
	upWindow     time.Duration // scale-up stabilisation window
	downWindow   time.Duration // scale-down stabilisation window
	policyPeriod time.Duration // periodSeconds of every rate-limit policy
	upPods       int           // Pods policy for scale-up (0 = none)
	upPercent    float64       // Percent policy for scale-up, in percent (0 = none)
	downPods     int           // Pods policy for scale-down (0 = none)
	downPercent  float64       // Percent policy for scale-down, in percent (0 = none)
	upSelect     int
	downSelect   int
}

// hpa is the policy's state: the remembered recommendations and scale events, both in
// rings preallocated for the windows so that Decide never allocates.
type hpa struct {
	cfg            hpaConfig
	envMin, envMax int
	epoch          time.Time // first decision time; ring timestamps are offsets from it
	started        bool
	downMax        stampRing // raw recommendations that may still be the scale-down window's max
	upMin          stampRing // raw recommendations that may still be the scale-up window's min
	events         stampRing // scale events: +n added, -n removed
}

func newHPA(env Env) (Policy, error) {
	p := newParamSet("hpa", env.Params)
	c := hpaConfig{
		period:       p.duration("period", 15*time.Second),
		tolerance:    p.float("tolerance", 0.1),
		upWindow:     p.duration("up-window", 0),
		downWindow:   p.duration("window", 300*time.Second),
		policyPeriod: p.duration("policy-period", 15*time.Second),
		upPods:       p.integer("up-pods", 4),
		upPercent:    p.float("up-percent", 100),
		downPods:     p.integer("down-pods", 0),
		downPercent:  p.float("down-percent", 100),
	}
	target := p.float("target", 0.7)
	sel := p.choice("select", "max", "max", "min", "disabled")
	if p.err == nil {
		p.check(target > 0 && target <= 100, "target", target, "must be a CPU utilisation fraction > 0 (0.7 = 70%)")
		pct := math.Round(target * 100)
		// The HPA's averageUtilization is an integer percentage.
		p.check(math.Abs(target*100-pct) < 1e-6, "target", target, "must be a whole percentage (the HPA's averageUtilization is an integer)")
		c.targetPct = pct
		p.check(c.period > 0, "period", c.period, "must be positive")
		p.check(c.tolerance >= 0 && c.tolerance < 1, "tolerance", c.tolerance, "must be in [0, 1)")
		p.check(c.upWindow >= 0 && c.upWindow <= time.Hour, "up-window", c.upWindow, "must be in [0, 1h] (the HPA's limit)")
		p.check(c.downWindow >= 0 && c.downWindow <= time.Hour, "window", c.downWindow, "must be in [0, 1h] (the HPA's limit)")
		p.check(c.policyPeriod > 0 && c.policyPeriod <= 30*time.Minute, "policy-period", c.policyPeriod, "must be in (0, 30m] (the HPA's limit)")
		p.check(c.upPods >= 0, "up-pods", c.upPods, "must be >= 0 (0 = no Pods policy)")
		p.check(c.upPercent >= 0, "up-percent", c.upPercent, "must be >= 0 (0 = no Percent policy)")
		p.check(c.downPods >= 0, "down-pods", c.downPods, "must be >= 0 (0 = no Pods policy)")
		p.check(c.downPercent >= 0 && c.downPercent <= 100, "down-percent", c.downPercent, "must be in [0, 100] (0 = no Percent policy)")
		p.check(c.upPods > 0 || c.upPercent > 0 || sel == "disabled", "up-pods", c.upPods, "no scale-up policy: up-pods and up-percent are both 0 (select=disabled forbids scaling)")
		p.check(c.downPods > 0 || c.downPercent > 0 || sel == "disabled", "down-pods", c.downPods, "no scale-down policy: down-pods and down-percent are both 0 (select=disabled forbids scaling)")
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	switch sel {
	case "min":
		c.upSelect, c.downSelect = selectMin, selectMin
	case "disabled":
		c.upSelect, c.downSelect = selectDisabled, selectDisabled
	default:
		c.upSelect, c.downSelect = selectMax, selectMax
	}
	// One recommendation per sync; +2 leaves room for the current one and for timing slack.
	return &hpa{
		cfg:     c,
		envMin:  env.Min,
		envMax:  env.Max,
		downMax: newStampRing(int(c.downWindow/c.period) + 2),
		upMin:   newStampRing(int(c.upWindow/c.period) + 2),
		events:  newStampRing(int(c.policyPeriod/c.period) + 2),
	}, nil
}

func (h *hpa) Name() string          { return "hpa" }
func (h *hpa) Period() time.Duration { return h.cfg.period }

// Reasons and limits of the HPA's explanations (constant so Decide does not allocate).
const (
	hpaReasonNoData    = "no cpu sample yet"
	hpaReasonNoReady   = "no ready pods: no cpu metrics"
	hpaReasonBadCPU    = "cpu sample is not a finite non-negative number"
	hpaReasonDisabled  = "scale target has 0 replicas: autoscaling disabled"
	hpaReasonAboveMax  = "current replicas above max"
	hpaReasonBelowMin  = "current replicas below min"
	hpaReasonInTol     = "cpu within tolerance of target"
	hpaReasonAbove     = "cpu above target"
	hpaReasonBelow     = "cpu below target"
	hpaReasonRebalance = "cpu above target among ready pods, but not once starting pods count as 0%"
	hpaLimitDownStab   = "scale-down stabilisation window"
	hpaLimitUpStab     = "scale-up stabilisation window"
	hpaLimitUpRate     = "scale-up rate"
	hpaLimitDownRate   = "scale-down rate"
)

func (h *hpa) Decide(obs *Observation) Decision {
	if !h.started {
		h.epoch, h.started = obs.Now, true
	}
	now := obs.Now.Sub(h.epoch)
	lo, hi := bounds(obs, h.envMin, h.envMax)
	cur := obs.Replicas
	e := Explanation{Mode: ModeSteady, Target: h.cfg.targetPct / 100, Raw: cur}

	// The HPA checks these before looking at metrics.
	switch {
	case cur == 0:
		e.Mode, e.Reason = ModeDisabled, hpaReasonDisabled
		return Decision{Replicas: 0, Explanation: e}
	case cur > hi:
		// The HPA records every rescale as a scale event, these included.
		h.storeEvent(now, hi-cur)
		e.Reason, e.Limit = hpaReasonAboveMax, limitMax
		return Decision{Replicas: hi, Explanation: e}
	case cur < lo:
		h.storeEvent(now, lo-cur)
		e.Reason, e.Limit = hpaReasonBelowMin, limitMin
		return Decision{Replicas: lo, Explanation: e}
	}
	if len(obs.Recent) == 0 {
		e.Mode, e.Reason = ModeWarmingUp, hpaReasonNoData
		return Decision{Replicas: cur, Explanation: e}
	}
	ready := min(obs.Ready, cur)
	if ready <= 0 {
		e.Mode, e.Reason = ModeWarmingUp, hpaReasonNoReady
		return Decision{Replicas: cur, Explanation: e}
	}
	cpu := obs.Recent[len(obs.Recent)-1].CPU
	if !(cpu >= 0) || math.IsInf(cpu, 0) {
		e.Reason = hpaReasonBadCPU
		return Decision{Replicas: cur, Explanation: e}
	}

	raw, reason := hpaReplicas(cur, ready, cur-ready, 0, cpu, h.cfg.targetPct, h.cfg.tolerance)
	e.Reason, e.Raw = reason, raw
	e.Metric = math.Floor(cpu*100+1e-9) / 100

	stab := h.stabilize(now, cur, raw)
	if stab != raw { // then raw != cur: a recommendation equal to cur is never moved
		if raw < cur {
			e.Limit = hpaLimitDownStab
		} else {
			e.Limit = hpaLimitUpStab
		}
	}
	final, limit := h.rateLimit(now, cur, stab, lo, hi)
	if limit != "" {
		e.Limit = limit
	}
	if final != cur {
		h.storeEvent(now, final-cur)
	}
	return Decision{Replicas: final, Explanation: e}
}

// hpaReplicas is the HPA's replica calculator for a CPU-utilisation target. cur is the
// current replica count, ready the pods with a usable metric, unready the pods still
// starting, missing the pods with no metric; cpu is the ready pods' mean utilisation as a
// fraction of the request, targetPct the target in whole percent. It returns the raw
// recommendation and the rule that produced it.
func hpaReplicas(cur, ready, unready, missing int, cpu, targetPct, tolerance float64) (int, string) {
	// The HPA sums milli-cores and divides as integers: utilisation in whole percent.
	util := math.Floor(cpu*100 + 1e-9)
	usageRatio := util / targetPct

	scaleUpWithUnready := unready > 0 && usageRatio > 1.0
	if !scaleUpWithUnready && missing == 0 {
		if math.Abs(1.0-usageRatio) <= tolerance {
			return cur, hpaReasonInTol
		}
		return int(math.Ceil(usageRatio * float64(ready))), directionReason(usageRatio)
	}

	// Fill in the pods without a usable metric, conservatively in the direction of change.
	total := cpu * 100 * float64(ready)
	n := ready
	if missing > 0 {
		if usageRatio < 1.0 {
			total += math.Max(100, targetPct) * float64(missing)
			n += missing
		} else if usageRatio > 1.0 {
			n += missing
		}
	}
	if scaleUpWithUnready {
		n += unready
	}
	newRatio := math.Floor(total/float64(n)+1e-9) / targetPct
	if math.Abs(1.0-newRatio) <= tolerance || (usageRatio < 1.0 && newRatio > 1.0) || (usageRatio > 1.0 && newRatio < 1.0) {
		if usageRatio > 1.0 {
			return cur, hpaReasonRebalance
		}
		return cur, hpaReasonInTol
	}
	next := int(math.Ceil(newRatio * float64(n)))
	if (newRatio < 1.0 && next > cur) || (newRatio > 1.0 && next < cur) {
		return cur, hpaReasonRebalance
	}
	return next, directionReason(newRatio)
}

func directionReason(ratio float64) string {
	if ratio > 1 {
		return hpaReasonAbove
	}
	return hpaReasonBelow
}

// stabilize applies the stabilisation windows to raw and remembers raw.
//
// The HPA scans every remembered recommendation; we keep the same answer in O(1) with two
// monotonic queues: downMax holds the recommendations of the scale-down window that a newer
// one has not outranked (values strictly decreasing from the front), so its front is the
// window's maximum; upMin is the mirror image for the scale-up window's minimum.
func (h *hpa) stabilize(now time.Duration, cur, raw int) int {
	down := raw
	h.downMax.dropUpTo(now - h.cfg.downWindow)
	if h.downMax.n > 0 {
		down = max(down, h.downMax.buf[h.downMax.head].v)
	}
	for h.downMax.n > 0 && h.downMax.back().v <= raw {
		h.downMax.popBack()
	}
	h.downMax.push(stamp{at: now, v: raw})

	up := raw
	if h.cfg.upWindow > 0 { // a zero window holds only the current recommendation
		h.upMin.dropUpTo(now - h.cfg.upWindow)
		if h.upMin.n > 0 {
			up = min(up, h.upMin.buf[h.upMin.head].v)
		}
		for h.upMin.n > 0 && h.upMin.back().v >= raw {
			h.upMin.popBack()
		}
		h.upMin.push(stamp{at: now, v: raw})
	}

	rec := cur
	if rec < up {
		rec = up
	}
	if rec > down {
		rec = down
	}
	return rec
}

// rateLimit applies the behavior policies and the bounds to the stabilised recommendation.
func (h *hpa) rateLimit(now time.Duration, cur, desired, lo, hi int) (int, string) {
	if desired == cur {
		return desired, ""
	}
	cut := now - h.cfg.policyPeriod
	h.events.dropUpTo(cut)
	added, removed := 0, 0
	for i := 0; i < h.events.n; i++ {
		if s := h.events.at(i); s.at > cut {
			if s.v > 0 {
				added += s.v
			} else {
				removed -= s.v
			}
		}
	}
	start := cur - added + removed // replicas at the start of the policy period
	c := &h.cfg
	if desired > cur {
		limit := cur
		if c.upSelect != selectDisabled {
			first := true
			if c.upPods > 0 {
				limit, first = start+c.upPods, false
			}
			if c.upPercent > 0 {
				// Rounded up so that a small percentage still adds a pod.
				p := int(math.Ceil(float64(start) * (1 + c.upPercent/100)))
				switch {
				case first:
					limit = p
				case c.upSelect == selectMin:
					limit = min(limit, p)
				default:
					limit = max(limit, p)
				}
			}
		}
		limit = max(limit, cur) // never below current: wait for old events to expire
		allowed, why := hi, limitMax
		if allowed > limit {
			allowed, why = limit, hpaLimitUpRate
		}
		if desired > allowed {
			return allowed, why
		}
		return desired, ""
	}
	limit := cur
	if c.downSelect != selectDisabled {
		first := true
		if c.downPods > 0 {
			limit, first = start-c.downPods, false
		}
		if c.downPercent > 0 {
			p := int(float64(start) * (1 - c.downPercent/100)) // truncated, as the HPA does
			switch {
			case first:
				limit = p
			case c.downSelect == selectMin:
				limit = max(limit, p)
			default:
				limit = min(limit, p)
			}
		}
	}
	limit = min(limit, cur)
	allowed, why := lo, limitMin
	if allowed < limit {
		allowed, why = limit, hpaLimitDownRate
	}
	if desired < allowed {
		return allowed, why
	}
	return desired, ""
}

func (h *hpa) storeEvent(now time.Duration, change int) {
	h.events.dropUpTo(now - h.cfg.policyPeriod)
	h.events.push(stamp{at: now, v: change})
}

// stamp is a timestamped integer: a recommendation or a scale event. at is the offset from
// the policy's first decision.
type stamp struct {
	at time.Duration
	v  int
}

// stampRing is a FIFO of stamps in time order, backed by a ring preallocated for the
// expected window. It grows only if Decide is called more often than the policy's period.
type stampRing struct {
	buf     []stamp
	head, n int
}

func newStampRing(capacity int) stampRing { return stampRing{buf: make([]stamp, max(capacity, 2))} }

func (r *stampRing) at(i int) stamp {
	j := r.head + i
	if j >= len(r.buf) {
		j -= len(r.buf)
	}
	return r.buf[j]
}

func (r *stampRing) push(s stamp) {
	if r.n == len(r.buf) {
		grown := make([]stamp, 2*len(r.buf))
		for i := 0; i < r.n; i++ {
			grown[i] = r.at(i)
		}
		r.buf, r.head = grown, 0
	}
	j := r.head + r.n
	if j >= len(r.buf) {
		j -= len(r.buf)
	}
	r.buf[j] = s
	r.n++
}

func (r *stampRing) back() stamp { return r.at(r.n - 1) }

func (r *stampRing) popBack() { r.n-- }

// dropUpTo removes the oldest stamps with at <= cut.
func (r *stampRing) dropUpTo(cut time.Duration) {
	for r.n > 0 && r.buf[r.head].at <= cut {
		r.head++
		if r.head == len(r.buf) {
			r.head = 0
		}
		r.n--
	}
}
