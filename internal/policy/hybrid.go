// hybrid-histogram is the hybrid histogram keep-alive/pre-warm policy of "Serverless in the
// Wild" (Shahrad et al., USENIX ATC 2020, section 4.2), implemented from the paper's
// description on this repository's per-interval data.
//
// Idle times. An idle time (IT) is the time between the end of one invocation and the start
// of the next. Here invocations are seen per control interval (the traces count requests
// per minute): an interval with requests after k intervals without is an IT of k intervals,
// consecutive busy intervals an IT of 0. The policy keeps a per-workload range-limited
// histogram of ITs in bins of one interval (1 minute, the paper's bin) over a range of 4
// hours (240 bins); longer ITs are out of bounds (OOB), counted but not binned. It learns
// from Env.History (the training data before the run) and from every completed interval.
//
// Windows. With a representative histogram:
//
//	pre-warm  = 0.9 x (5th percentile of the ITs)    (head of the distribution, 10% margin)
//	keep-end  = 1.1 x (99th percentile of the ITs)   (tail, 10% margin)
//
// where a percentile is read at the bin's edge (the lower edge for the head, the upper edge
// for the tail, so a histogram whose ITs all lie in bin 9 gives 9 and 10 minutes). After an
// invocation ends at E the workload is unloaded (0 pods) until E + pre-warm, then loaded (1
// pod) until E + keep-end: the keep-alive window runs from the pre-warm to keep-end. A
// pre-warm of 0 keeps the pod loaded from E to E + keep-end.
//
// Representative. The paper falls back to a standard keep-alive when the histogram does not
// capture a pattern: too few ITs, or a flat histogram, measured by the coefficient of
// variation (CV) of the bin counts, representative when CV >= 2 (a single populated bin of
// 240 has CV = sqrt(239) = 15.5; counts spread evenly have CV near 0). The fallback is
// pre-warm 0 and a fixed keep-alive equal to the histogram's range (4 hours), as in the
// paper; param fallback sets another one. The paper's third part, an ARIMA forecast of the
// next IT when most ITs are out of bounds, is not implemented: such workloads get the
// fallback here (reported as such in the explanation).
//
// Worked example (from the description above): a workload invoked for one minute every 10
// minutes has ITs of 9 minutes; after 20 of them the histogram has one populated bin (9),
// CV = 15.5, 5th percentile 9 (lower edge), 99th percentile 10 (upper edge): pre-warm 8.1
// min, keep-end 11 min. An invocation ending at 12:00 leaves 0 pods until 12:08:06, one
// pod from then until 12:11:00, 0 after.
//
// A request that arrives while the workload is unloaded is a cold start: the activator's
// held-request signal (or any arrival) loads it at once, sized as the other keep-alive
// policies size a warm workload (at least one pod, more for the last minute's peak).
//
// Parameters (the paper's values as defaults): range (4h), head (5, percent), tail (99),
// margin (0.1), cv (2), min-its (10, ITs needed before the histogram is used), fallback
// (the range), period (2s, the decision tick).

package policy

import (
	"math"
	"time"
)

func init() {
	Register("hybrid-histogram", "hybrid histogram keep-alive/pre-warm of Serverless in the Wild (ATC 2020): per-workload idle-time histogram (1 min bins, 4 h), pre-warm at 0.9 x p5, keep alive to 1.1 x p99, fixed keep-alive fallback when CV < 2", false, newHybrid)
}

type hybrid struct {
	interval   time.Duration
	period     time.Duration
	bins       []float64
	oob        float64
	head, tail float64 // percentiles, as fractions
	margin     float64
	cv         float64
	minITs     int
	fallback   time.Duration
	capacity   float64
	min, max   int

	idleRun  int  // completed idle intervals since the last busy one
	seenBusy bool // a busy interval was seen (ITs start counting after it)
	synced   int  // History intervals already learned (by start time)
	lastHist time.Time
	end      time.Time // end of the last tick with a request
	ended    bool
}

func newHybrid(env Env) (Policy, error) {
	ps := newParamSet("hybrid-histogram", env.Params)
	rng := ps.duration("range", 4*time.Hour)
	h := &hybrid{
		interval: env.Interval,
		period:   ps.duration("period", periodUnder(2*time.Second, env.Interval)),
		head:     ps.float("head", 5) / 100,
		tail:     ps.float("tail", 99) / 100,
		margin:   ps.float("margin", 0.1),
		cv:       ps.float("cv", 2),
		minITs:   ps.integer("min-its", 10),
		fallback: ps.duration("fallback", rng),
		min:      env.Min, max: env.Max,
	}
	ps.check(env.Interval > 0 && rng >= env.Interval, "range", rng, "must be at least one interval")
	ps.check(h.period > 0, "period", h.period, "must be positive")
	ps.check(h.head >= 0 && h.head < h.tail && h.tail <= 1, "head/tail", [2]float64{h.head * 100, h.tail * 100}, "need 0 <= head < tail <= 100")
	ps.check(h.margin >= 0 && h.margin < 1, "margin", h.margin, "must be in [0, 1)")
	ps.check(h.cv >= 0, "cv", h.cv, "must not be negative")
	ps.check(h.minITs >= 1, "min-its", h.minITs, "must be at least 1")
	ps.check(h.fallback > 0, "fallback", h.fallback, "must be positive")
	if err := ps.done(); err != nil {
		return nil, err
	}
	capacity, err := sloCapacity(env, "hybrid-histogram")
	if err != nil {
		return nil, err
	}
	h.capacity = capacity
	h.bins = make([]float64, int(rng/env.Interval))
	for _, v := range env.History.Values {
		if !math.IsNaN(v) {
			h.learn(v > 0)
		}
	}
	return h, nil
}

func (h *hybrid) Name() string          { return "hybrid-histogram" }
func (h *hybrid) Period() time.Duration { return h.period }

// learn adds one completed interval: busy (requests arrived) or idle.
func (h *hybrid) learn(busy bool) {
	if !busy {
		h.idleRun++
		return
	}
	if h.seenBusy {
		if h.idleRun < len(h.bins) {
			h.bins[h.idleRun]++
		} else {
			h.oob++
		}
	}
	h.seenBusy, h.idleRun = true, 0
}

// Windows returns the pre-warm and keep-end durations after an invocation, and whether the
// histogram was representative (false: the fixed keep-alive fallback).
func (h *hybrid) windows() (prewarm, keepEnd time.Duration, representative bool) {
	var n, sum, sq float64
	for _, c := range h.bins {
		n += c
	}
	if n < float64(h.minITs) || h.oob > n {
		return 0, h.fallback, false
	}
	mean := n / float64(len(h.bins))
	for _, c := range h.bins {
		sq += (c - mean) * (c - mean)
	}
	if cv := math.Sqrt(sq/float64(len(h.bins))) / mean; cv < h.cv {
		return 0, h.fallback, false
	}
	// Percentiles over binned ITs: the head at its bin's lower edge, the tail at its upper.
	lo, hi := -1, -1
	for i, c := range h.bins {
		sum += c
		if lo < 0 && sum >= h.head*n && sum > 0 {
			lo = i
		}
		if hi < 0 && sum >= h.tail*n {
			hi = i
		}
	}
	step := float64(h.interval)
	prewarm = time.Duration((1 - h.margin) * float64(lo) * step)
	keepEnd = time.Duration((1 + h.margin) * float64(hi+1) * step)
	return prewarm, keepEnd, true
}

// sync learns the History intervals not learned yet.
func (h *hybrid) sync(obs *Observation) {
	for i := range obs.History {
		iv := &obs.History[i]
		if h.synced > 0 && !iv.Start.After(h.lastHist) {
			continue
		}
		h.learn(intervalDemand(iv) > 0)
		h.synced++
		h.lastHist = iv.Start
	}
}

const (
	hybridReasonBusy     = "requests in the last tick: loaded"
	hybridReasonUnloaded = "idle, before the pre-warm window ends: unloaded"
	hybridReasonPrewarm  = "pre-warm window passed: loaded until the keep-alive ends"
	hybridReasonKeep     = "within the keep-alive window"
	hybridReasonExpired  = "keep-alive window ended: unloaded"
	hybridReasonFallback = "histogram not representative: fixed keep-alive"
	hybridReasonNoReq    = "no request seen yet"
)

func (h *hybrid) Decide(obs *Observation) Decision {
	h.sync(obs)
	_, active := lastTick(obs)
	if active {
		h.end, h.ended = obs.Now, true
	}
	prewarm, keepEnd, rep := h.windows()
	e := Explanation{Mode: ModeSteady, Values: []KV{{"prewarm_s", prewarm.Seconds()}, {"keep_end_s", keepEnd.Seconds()}}}
	want := 0
	since := obs.Now.Sub(h.end)
	switch {
	case active:
		want, e.Reason = warmPods(peakDemand(obs, time.Minute), h.capacity), hybridReasonBusy
		if obs.Ready == 0 {
			e.Mode = ModeWake
		}
	case !h.ended:
		want, e.Reason = obs.Replicas, hybridReasonNoReq
	case since < prewarm:
		e.Mode, e.Reason = ModeIdle, hybridReasonUnloaded
	case since < keepEnd:
		want, e.Reason = 1, hybridReasonKeep
		if prewarm > 0 {
			e.Mode, e.Reason = ModePrewarm, hybridReasonPrewarm
		}
	default:
		e.Mode, e.Reason = ModeIdle, hybridReasonExpired
	}
	if !rep && !active {
		e.Reason = hybridReasonFallback
	}
	e.Raw = want
	lo, hi := bounds(obs, h.min, h.max)
	out, limit := clampExplained(want, lo, hi)
	e.Limit = limit
	return Decision{Replicas: out, Explanation: e}
}
