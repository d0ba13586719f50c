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
//     usageRatio = utilisation / target. Within the tolerance (0.9 <= usageRatio <= 1.1, both ends included: 77% of 70% holds) the
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
// percentage), tolerance (0.1), period (15s, or the longest period
// under it that divides the interval), window (scale-down stabilisation, 300s),
// up-window (0s), policy-period (15s), up-pods (4), up-percent (100), down-pods (0 = none),
// down-percent (100), select (max | min | disabled, for both directions), memory-target
// (bytes of working set per ready pod, e.g. 2.5e8; 0 = CPU only), behavior (default | none).
//
// behavior=none is an HPA without spec.behavior, as `kubectl autoscale` creates it: the
// controller's older path (normalizeDesiredReplicas in horizontal.go) replaces steps 2 and 3
// by "the highest recommendation of the last window (this one included), then at most
// max(2 x current, 4) per sync" (hpa.NewLegacyBehavior); only window applies, and the rate
// keys are rejected. The default is an HPA with spec.behavior whose rules are all defaulted
// (steps 2 and 3). bench/hpa-fidelity.md compares both with the real controller.
//
// Several metrics (memory-target set): like the HPA with a CPU and a memory metric, each
// metric's replica calculator proposes a count and the raw recommendation is the largest;
// the explanation's Reason starts with "memory: " when memory decided, and Values hold both
// proposals (cpu, memory). Memory is an AverageValue target: its ratio is the ready pods'
// mean working set over memory-target (truncated to whole percent like utilisation). A
// period without a memory reading (NaN: the optional metric failed) leaves memory out.
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
//   - Like a freshly started controller (recordInitialRecommendation), a new policy records
//     the current count as a recommendation at its first sync: for the first window it
//     scales down no lower than the count it started at.

package policy

import (
	"fmt"
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/hpa"
)

func init() {
	Register("hpa", "Kubernetes HPA: CPU target 70%, tolerance 0.1, every 15 s; scale-up max(4 pods, 100%)/15 s; scale-down 100%/15 s after a 300 s stabilisation window", false, newHPA)
}

// hpaPolicy is the HPA on a CPU target: the replica calculator and the behavior engine of
// package hpa (the same engine the controller applies for spec.behavior).
type hpaPolicy struct {
	period         time.Duration
	targetPct      float64
	tolerance      float64
	envMin, envMax int
	behavior       *hpa.Behavior
	memTarget      float64 // bytes per ready pod; 0: CPU only
}

func newHPA(env Env) (Policy, error) {
	p := newParamSet("hpa", env.Params)
	period := p.duration("period", periodUnder(15*time.Second, env.Interval))
	tolerance := p.float("tolerance", 0.1)
	upWindow := p.duration("up-window", 0)
	downWindow := p.duration("window", 300*time.Second)
	policyPeriod := p.duration("policy-period", 15*time.Second)
	upPods := p.integer("up-pods", 4)
	upPercent := p.float("up-percent", 100)
	downPods := p.integer("down-pods", 0)
	downPercent := p.float("down-percent", 100)
	target := p.float("target", 0.7)
	sel := p.choice("select", "max", "max", "min", "disabled")
	memTarget := p.float("memory-target", 0)
	legacy := p.choice("behavior", "default", "default", "none") == "none"
	var pct float64
	if p.err == nil {
		p.check(target > 0 && target <= 100, "target", target, "must be a CPU utilisation fraction > 0 (0.7 = 70%)")
		pct = math.Round(target * 100)
		// The HPA's averageUtilization is an integer percentage.
		p.check(math.Abs(target*100-pct) < 1e-6, "target", target, "must be a whole percentage (the HPA's averageUtilization is an integer)")
		p.check(period > 0, "period", period, "must be positive")
		p.check(memTarget >= 0 && !math.IsInf(memTarget, 0), "memory-target", memTarget, "must be bytes per pod >= 0 (0 = CPU only)")
		p.check(tolerance >= 0 && tolerance < 1, "tolerance", tolerance, "must be in [0, 1)")
		p.check(upWindow >= 0 && upWindow <= time.Hour, "up-window", upWindow, "must be in [0, 1h] (the HPA's limit)")
		p.check(downWindow >= 0 && downWindow <= time.Hour, "window", downWindow, "must be in [0, 1h] (the HPA's limit)")
		p.check(policyPeriod > 0 && policyPeriod <= 30*time.Minute, "policy-period", policyPeriod, "must be in (0, 30m] (the HPA's limit)")
		p.check(upPods >= 0, "up-pods", upPods, "must be >= 0 (0 = no Pods policy)")
		p.check(upPercent >= 0, "up-percent", upPercent, "must be >= 0 (0 = no Percent policy)")
		p.check(downPods >= 0, "down-pods", downPods, "must be >= 0 (0 = no Pods policy)")
		p.check(downPercent >= 0 && downPercent <= 100, "down-percent", downPercent, "must be in [0, 100] (0 = no Percent policy)")
		p.check(upPods > 0 || upPercent > 0 || sel == "disabled", "up-pods", upPods, "no scale-up policy: up-pods and up-percent are both 0 (select=disabled forbids scaling)")
		p.check(downPods > 0 || downPercent > 0 || sel == "disabled", "down-pods", downPods, "no scale-down policy: down-pods and down-percent are both 0 (select=disabled forbids scaling)")
		if legacy {
			for _, k := range []string{"up-window", "policy-period", "up-pods", "up-percent", "down-pods", "down-percent", "select"} {
				_, given := env.Params[k]
				p.check(!given, k, env.Params[k], "is a spec.behavior rule: an HPA with behavior=none has none (only window applies)")
			}
		}
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	selected, _ := hpa.ParseSelect(sel)
	rules := func(window time.Duration, pods int, percent float64) hpa.Rules {
		r := hpa.Rules{Window: window, Select: selected}
		if pods > 0 {
			r.Policies = append(r.Policies, hpa.RatePolicy{Kind: hpa.Pods, Value: float64(pods), Period: policyPeriod})
		}
		if percent > 0 {
			r.Policies = append(r.Policies, hpa.RatePolicy{Kind: hpa.Percent, Value: percent, Period: policyPeriod})
		}
		return r
	}
	var b *hpa.Behavior
	var err error
	if legacy {
		b, err = hpa.NewLegacyBehavior(downWindow, period)
	} else {
		b, err = hpa.NewBehavior(rules(upWindow, upPods, upPercent), rules(downWindow, downPods, downPercent), period)
	}
	if err != nil {
		return nil, fmt.Errorf("policy hpa: %w", err)
	}
	return &hpaPolicy{period: period, targetPct: pct, tolerance: tolerance, envMin: env.Min, envMax: env.Max, behavior: b, memTarget: memTarget}, nil
}

func (h *hpaPolicy) Name() string          { return "hpa" }
func (h *hpaPolicy) Period() time.Duration { return h.period }

// Reasons of the HPA's explanations (constant so Decide does not allocate).
const (
	hpaReasonNoData   = "no cpu sample yet"
	hpaReasonNoReady  = "no ready pods: no cpu metrics"
	hpaReasonBadCPU   = "cpu sample is not a finite non-negative number"
	hpaReasonDisabled = "scale target has 0 replicas: autoscaling disabled"
	hpaReasonAboveMax = "current replicas above max"
	hpaReasonBelowMin = "current replicas below min"
)

func (h *hpaPolicy) Decide(obs *Observation) Decision { return h.sync(obs, nil) }

// sync is one HPA sync at obs.Now. With predict (the predictive HPAs, phpa and ehpa), the
// raw recommendation is max(calculated, predicted) before the behavior engine.
func (h *hpaPolicy) sync(obs *Observation, predict predictedReplicas) Decision {
	lo, hi := bounds(obs, h.envMin, h.envMax)
	cur := obs.Replicas
	e := Explanation{Mode: ModeSteady, Target: h.targetPct / 100, Raw: cur}

	// The HPA checks these before looking at metrics.
	switch {
	case cur == 0:
		e.Mode, e.Reason = ModeDisabled, hpaReasonDisabled
		return Decision{Replicas: 0, Explanation: e}
	case cur > hi:
		// The HPA records every rescale as a scale event, these included.
		h.behavior.Record(obs.Now, hi-cur)
		e.Reason, e.Limit = hpaReasonAboveMax, limitMax
		return Decision{Replicas: hi, Explanation: e}
	case cur < lo:
		h.behavior.Record(obs.Now, lo-cur)
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

	raw, why := hpa.Replicas(cur, ready, cur-ready, 0, cpu, h.targetPct, h.tolerance)
	reason := why.String()
	if mem := obs.Recent[len(obs.Recent)-1].MemoryBytes; h.memTarget > 0 && mem >= 0 && !math.IsInf(mem, 0) {
		// The HPA's rule for several metrics: the largest proposal wins.
		memRaw, memWhy := hpa.Replicas(cur, ready, cur-ready, 0, mem/float64(ready)/h.memTarget, 100, h.tolerance)
		e.Values = append(e.Values[:0:0], KV{"cpu", float64(raw)}, KV{"memory", float64(memRaw)})
		if memRaw > raw {
			raw, reason = memRaw, "memory: "+memWhy.String()
		}
	}
	if predict != nil {
		pred, predReason, ok := predict(hpaSyncInput{cur: cur, ready: ready, cpu: cpu, calculated: raw})
		e.Values = append(e.Values, KV{"calculated", float64(raw)})
		if ok {
			e.Values = append(e.Values, KV{"predicted", float64(pred)})
			if pred > raw {
				raw, reason = pred, predReason
			}
		}
	}
	e.Reason, e.Raw = reason, raw
	e.Metric = hpa.Utilization(cpu) / 100

	final, limit := h.behavior.Apply(obs.Now, cur, raw, lo, hi)
	e.Limit = limit.String()
	if final != cur {
		h.behavior.Record(obs.Now, final-cur)
	}
	return Decision{Replicas: final, Explanation: e}
}
