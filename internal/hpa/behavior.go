package hpa

import (
	"fmt"
	"math"
	"time"
)

// Select is a direction's selectPolicy: which of several rate policies wins.
type Select uint8

// The HPA's selectPolicy values.
const (
	SelectMax      Select = iota // the policy allowing the largest change (the default)
	SelectMin                    // the policy allowing the smallest change
	SelectDisabled               // no change in this direction
)

// ParseSelect reads "Max", "Min" or "Disabled" (any case).
func ParseSelect(s string) (Select, error) {
	switch s {
	case "", "max", "Max":
		return SelectMax, nil
	case "min", "Min":
		return SelectMin, nil
	case "disabled", "Disabled":
		return SelectDisabled, nil
	}
	return SelectMax, fmt.Errorf("unknown selectPolicy %q (valid: Max, Min, Disabled)", s)
}

// Kind is a rate policy's unit.
type Kind uint8

// Rate policy kinds.
const (
	Pods    Kind = iota // at most Value pods per period
	Percent             // at most Value percent of the period's starting count per period
)

// RatePolicy is one HPAScalingPolicy: at most Value pods or percent per Period.
type RatePolicy struct {
	Kind   Kind
	Value  float64
	Period time.Duration
}

// Rules is one direction's behavior: a stabilisation window and rate policies.
type Rules struct {
	Window   time.Duration
	Select   Select
	Policies []RatePolicy
}

// DefaultScaleUp is the HPA's default scale-up: no stabilisation, at most max(+4 pods,
// +100%) per 15 s.
func DefaultScaleUp() Rules {
	return Rules{Select: SelectMax, Policies: []RatePolicy{{Pods, 4, 15 * time.Second}, {Percent, 100, 15 * time.Second}}}
}

// DefaultScaleDown is the HPA's default scale-down: a 300 s stabilisation window, then at
// most -100% per 15 s.
func DefaultScaleDown() Rules {
	return Rules{Window: 300 * time.Second, Select: SelectMax, Policies: []RatePolicy{{Percent, 100, 15 * time.Second}}}
}

// Validate checks the rules against the HPA API's limits.
func (r Rules) Validate(dir string) error {
	if r.Window < 0 || r.Window > time.Hour {
		return fmt.Errorf("%s stabilisation window %s must be in [0, 1h]", dir, r.Window)
	}
	if len(r.Policies) == 0 && r.Select != SelectDisabled {
		return fmt.Errorf("%s: no rate policy (use selectPolicy Disabled to forbid scaling)", dir)
	}
	for i, p := range r.Policies {
		switch {
		case p.Period <= 0 || p.Period > 30*time.Minute:
			return fmt.Errorf("%s policy %d: period %s must be in (0, 30m]", dir, i, p.Period)
		case !(p.Value > 0):
			return fmt.Errorf("%s policy %d: value %g must be positive", dir, i, p.Value)
		case p.Kind == Percent && dir == "scale-down" && p.Value > 100:
			return fmt.Errorf("%s policy %d: percent %g must be at most 100", dir, i, p.Value)
		}
	}
	return nil
}

// Limit names what changed a recommendation into the final count.
type Limit uint8

// The limits, in the order the engine applies them.
const (
	LimitNone Limit = iota
	LimitUpStabilization
	LimitDownStabilization
	LimitUpRate
	LimitDownRate
	LimitMax
	LimitMin
)

var limitNames = [...]string{"", "scale-up stabilisation window", "scale-down stabilisation window",
	"scale-up rate", "scale-down rate", "max replicas", "min replicas"}

// String returns the limit as shown in explanations ("" for none).
func (l Limit) String() string {
	if int(l) < len(limitNames) {
		return limitNames[l]
	}
	return "unknown"
}

// Behavior is the HPA's brake: stabilisation windows over past recommendations, rate limits
// over past scale events, then bounds. It remembers recommendations (every Apply) and scale
// events (every Record) in rings preallocated for the windows, so a steady loop does not
// allocate.
//
// Times: a recommendation or event counts while it is strictly younger than its window or
// period (the HPA compares timestamps with After(cutoff)), so one made exactly 300 s ago
// no longer counts in a 300 s window.
//
// A new engine starts as a new HPA does (recordInitialRecommendation in horizontal.go): its
// first Apply records the current count as a recommendation before the raw one, so for the
// first window a scale-down goes no lower than the count the engine found.
type Behavior struct {
	up, down Rules
	legacy   bool          // an HPA without spec.behavior (NewLegacyBehavior)
	seeded   bool          // the initial recommendation is recorded
	maxAge   time.Duration // longest rate-policy period
	downMax  ring          // recommendations that may still be the scale-down window's maximum
	upMin    ring          // recommendations that may still be the scale-up window's minimum
	events   ring          // scale events: +n added, -n removed
}

// NewBehavior returns an engine for the two directions' rules. every is how often Apply is
// expected to be called (the rings are sized for it; they grow if called more often).
func NewBehavior(up, down Rules, every time.Duration) (*Behavior, error) {
	if err := up.Validate("scale-up"); err != nil {
		return nil, err
	}
	if err := down.Validate("scale-down"); err != nil {
		return nil, err
	}
	if every <= 0 {
		every = 15 * time.Second
	}
	b := &Behavior{up: up, down: down}
	for _, p := range append(append([]RatePolicy(nil), up.Policies...), down.Policies...) {
		b.maxAge = max(b.maxAge, p.Period)
	}
	b.downMax = newRing(int(down.Window/every) + 2)
	b.upMin = newRing(int(up.Window/every) + 2)
	b.events = newRing(int(b.maxAge/every) + 2)
	return b, nil
}

// NewLegacyBehavior returns the engine of an HPA without spec.behavior, which the
// controller normalises on its older path (normalizeDesiredReplicas in horizontal.go):
//   - stabilisation: the recommendation is the highest of those made within window
//     (--horizontal-pod-autoscaler-downscale-stabilization, DownscaleStabilization by
//     default), this one included (stabilizeRecommendation). This holds scale-downs like
//     the behavior path's scale-down window, and also raises a scale-up to a higher
//     recommendation still in the window;
//   - bounds and rate (convertDesiredReplicasWithRules): below min gives min; above
//     min(max, max(2 x current, 4)) (calculateScaleUpLimit) gives that, at every sync: no
//     scale events are remembered, so the limit never depends on earlier syncs.
//
// Window edges: upstream keeps a recommendation exactly window old (only Before(cutoff) is
// dropped), but its syncs are a sync period apart after the previous one ended, so on its
// clock the recommendation made window/period syncs back is always older than the window.
// With exact instants (the simulator's) this engine drops it too, as the behavior path's
// After(cutoff) does: both count the recommendations strictly younger than the window.
func NewLegacyBehavior(window, every time.Duration) (*Behavior, error) {
	if window < 0 || window > time.Hour {
		return nil, fmt.Errorf("downscale stabilisation window %s must be in [0, 1h]", window)
	}
	if every <= 0 {
		every = SyncPeriod
	}
	return &Behavior{legacy: true, down: Rules{Window: window}, downMax: newRing(int(window/every) + 2),
		upMin: newRing(2), events: newRing(2)}, nil
}

// Legacy reports whether the engine is an HPA without spec.behavior (NewLegacyBehavior).
func (b *Behavior) Legacy() bool { return b.legacy }

// Apply returns the replicas to set at now for the raw recommendation, given the current
// count and the bounds, and the limit that changed raw (LimitNone when none did). It
// remembers raw for later stabilisation; it does not record a scale event (Record does,
// once the change is applied).
//
// Stabilisation: the result is the current count raised to the lowest recommendation of
// the scale-up window and lowered to the highest of the scale-down window. Example: current
// 10, a 300 s scale-down window holding 10, 8, 6: a new 6 gives 10.
// Rate: relative to the count at the start of each policy's period (current - added +
// removed within it), scale-up at most start+Value pods or ceil(start*(1+Value%)),
// scale-down at most start-Value pods or floor(start*(1-Value%)); Max selects the most
// permissive, Min the least. Example: 1 pod, raw 15, default scale-up: max(1+4, 2) = 5.
// Bounds last: [lo, hi].
func (b *Behavior) Apply(now time.Time, cur, raw, lo, hi int) (int, Limit) {
	if !b.seeded {
		b.seeded = true
		b.remember(now, cur)
	}
	if b.legacy {
		return b.applyLegacy(now, cur, raw, lo, hi)
	}
	stab := b.stabilize(now, cur, raw)
	limit := LimitNone
	if stab != raw { // then raw != cur: a recommendation equal to cur is never moved
		limit = LimitUpStabilization
		if raw < cur {
			limit = LimitDownStabilization
		}
	}
	out, l := b.rate(now, cur, stab, lo, hi)
	if l != LimitNone {
		limit = l
	}
	return out, limit
}

// applyLegacy is Apply for an HPA without spec.behavior (see NewLegacyBehavior).
func (b *Behavior) applyLegacy(now time.Time, cur, raw, lo, hi int) (int, Limit) {
	stab := b.windowMax(now, raw)
	b.pushDown(now, raw)
	limit := LimitNone
	if stab != raw {
		limit = LimitDownStabilization
	}
	allowed, why := hi, LimitMax
	if up := max(2*cur, 4); up < hi {
		allowed, why = up, LimitUpRate
	}
	switch {
	case stab < lo:
		return lo, LimitMin
	case stab > allowed:
		return allowed, why
	}
	return stab, limit
}

// remember records a recommendation in both windows without using it (the initial one).
func (b *Behavior) remember(now time.Time, v int) {
	b.downMax.dropUpTo(now.Add(-b.down.Window))
	b.pushDown(now, v)
	if b.up.Window > 0 {
		b.upMin.dropUpTo(now.Add(-b.up.Window))
		for b.upMin.n > 0 && b.upMin.back().v >= v {
			b.upMin.popBack()
		}
		b.upMin.push(stamp{at: now, v: v})
	}
}

// windowMax is the highest of raw and the recommendations of the scale-down window at now.
func (b *Behavior) windowMax(now time.Time, raw int) int {
	b.downMax.dropUpTo(now.Add(-b.down.Window))
	if b.downMax.n > 0 {
		return max(raw, b.downMax.front().v)
	}
	return raw
}

// pushDown adds a recommendation to the scale-down window's monotonic queue.
func (b *Behavior) pushDown(now time.Time, v int) {
	for b.downMax.n > 0 && b.downMax.back().v <= v {
		b.downMax.popBack()
	}
	b.downMax.push(stamp{at: now, v: v})
}

// Record notes a scale change applied at now (to - from replicas), for the rate policies.
func (b *Behavior) Record(now time.Time, change int) {
	if change == 0 {
		return
	}
	b.events.dropUpTo(now.Add(-b.maxAge))
	b.events.push(stamp{at: now, v: change})
}

// stabilize keeps the windows' answers in O(1) with two monotonic queues: downMax holds the
// recommendations of the scale-down window that no newer one outranks (strictly decreasing
// from the front), so its front is the window's maximum; upMin mirrors it for the minimum.
func (b *Behavior) stabilize(now time.Time, cur, raw int) int {
	down := b.windowMax(now, raw)
	b.pushDown(now, raw)

	up := raw
	if b.up.Window > 0 { // a zero window holds only the current recommendation
		b.upMin.dropUpTo(now.Add(-b.up.Window))
		if b.upMin.n > 0 {
			up = min(up, b.upMin.front().v)
		}
		for b.upMin.n > 0 && b.upMin.back().v >= raw {
			b.upMin.popBack()
		}
		b.upMin.push(stamp{at: now, v: raw})
	}
	rec := max(cur, up)
	return min(rec, down)
}

// periodStart is the replica count at the start of a period ending now: current minus the
// pods added plus the pods removed by events strictly younger than the period.
func (b *Behavior) periodStart(now time.Time, cur int, period time.Duration) int {
	cut := now.Add(-period)
	start := cur
	for i := 0; i < b.events.n; i++ {
		if s := b.events.at(i); s.at.After(cut) {
			start -= s.v
		}
	}
	return start
}

func (b *Behavior) rate(now time.Time, cur, desired, lo, hi int) (int, Limit) {
	if desired == cur {
		return clamp(desired, lo, hi)
	}
	b.events.dropUpTo(now.Add(-b.maxAge))
	if desired > cur {
		limit := max(b.limit(now, cur, b.up, true), cur) // never below current: wait for old events to expire
		allowed, why := hi, LimitMax
		if allowed > limit {
			allowed, why = limit, LimitUpRate
		}
		if desired > allowed {
			return allowed, why
		}
		return clamp(desired, lo, hi)
	}
	limit := min(b.limit(now, cur, b.down, false), cur)
	allowed, why := lo, LimitMin
	if allowed < limit {
		allowed, why = limit, LimitDownRate
	}
	if desired < allowed {
		return allowed, why
	}
	return clamp(desired, lo, hi)
}

// limit is the furthest count one direction's rate policies allow from cur: each policy's
// bound from the count at the start of its period, combined by the direction's Select
// (Max: the most permissive, Min: the least; Disabled: cur).
func (b *Behavior) limit(now time.Time, cur int, r Rules, up bool) int {
	if r.Select == SelectDisabled {
		return cur
	}
	limit := cur
	for i, p := range r.Policies {
		start := b.periodStart(now, cur, p.Period)
		var l int
		switch {
		case p.Kind == Pods && up:
			l = start + int(p.Value)
		case p.Kind == Pods:
			l = start - int(p.Value)
		case up:
			// Rounded up so that a small percentage still adds a pod.
			l = int(math.Ceil(float64(start) * (1 + p.Value/100)))
		default:
			l = int(float64(start) * (1 - p.Value/100)) // truncated, as the HPA does
		}
		permissive := (l > limit) == up // further from cur in the direction of change
		switch {
		case i == 0:
			limit = l
		case (r.Select == SelectMin) != permissive:
			limit = l
		}
	}
	return limit
}

func clamp(n, lo, hi int) (int, Limit) {
	if n > hi {
		return hi, LimitMax
	}
	if n < lo {
		return lo, LimitMin
	}
	return n, LimitNone
}

// stamp is a timestamped integer: a recommendation or a scale event.
type stamp struct {
	at time.Time
	v  int
}

// ring is a FIFO of stamps in time order over a preallocated buffer.
type ring struct {
	buf     []stamp
	head, n int
}

func newRing(capacity int) ring { return ring{buf: make([]stamp, max(capacity, 2))} }

func (r *ring) at(i int) stamp {
	j := r.head + i
	if j >= len(r.buf) {
		j -= len(r.buf)
	}
	return r.buf[j]
}

func (r *ring) front() stamp { return r.buf[r.head] }
func (r *ring) back() stamp  { return r.at(r.n - 1) }
func (r *ring) popBack()     { r.n-- }

func (r *ring) push(s stamp) {
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

// dropUpTo removes the oldest stamps at or before cut.
func (r *ring) dropUpTo(cut time.Time) {
	for r.n > 0 && !r.buf[r.head].at.After(cut) {
		r.head++
		if r.head == len(r.buf) {
			r.head = 0
		}
		r.n--
	}
}

// Rules returns the engine's rules for scale-up and scale-down.
func (b *Behavior) Rules() (up, down Rules) { return b.up, b.down }
