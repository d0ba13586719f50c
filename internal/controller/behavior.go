package controller

import (
	"math"
	"time"

	"github.com/bascaler/bascaler/api/v1alpha1"
)

// rules is one direction's behavior with defaults filled in.
type rules struct {
	window   time.Duration
	sel      string
	policies []v1alpha1.ScalingPolicy
}

// The HPA's defaults (autoscaling/v2): scale up at most max(+4 pods, +100%) per 15 s without
// stabilisation; scale down at most -100% per 15 s after a 300 s stabilisation window.
func defaultUp() rules {
	return rules{sel: v1alpha1.SelectMax, policies: []v1alpha1.ScalingPolicy{
		{Type: v1alpha1.PodsPolicy, Value: 4, PeriodSeconds: 15},
		{Type: v1alpha1.PercentPolicy, Value: 100, PeriodSeconds: 15}}}
}

func defaultDown() rules {
	return rules{window: 300 * time.Second, sel: v1alpha1.SelectMax, policies: []v1alpha1.ScalingPolicy{
		{Type: v1alpha1.PercentPolicy, Value: 100, PeriodSeconds: 15}}}
}

func fill(r *v1alpha1.ScalingRules, def rules) rules {
	if r == nil {
		return def
	}
	out := def
	if r.StabilizationWindowSeconds != nil {
		out.window = time.Duration(*r.StabilizationWindowSeconds) * time.Second
	}
	if r.SelectPolicy != "" {
		out.sel = r.SelectPolicy
	}
	if len(r.Policies) > 0 {
		out.policies = r.Policies
	}
	return out
}

type stamped struct {
	t time.Time
	n int // a recommendation, or a scale event's change in replicas
}

// behavior applies the HPA's stabilisation windows and rate policies to the policy's
// recommendations. It is the controller's, not the policy's: policies decide what they
// want, behavior is the cluster operator's brake. A nil spec.behavior disables it.
type behavior struct {
	up, down rules
	recs     []stamped // past recommendations, for the stabilisation windows
	events   []stamped // past scale changes, for the rate policies
}

func newBehavior(b *v1alpha1.Behavior) *behavior {
	if b == nil {
		return nil
	}
	return &behavior{up: fill(b.ScaleUp, defaultUp()), down: fill(b.ScaleDown, defaultDown())}
}

// apply returns the replicas to set given the recommendation rec and the current count, and
// the reason when it changed rec ("" otherwise).
//
// Stabilisation (as the HPA): the result is held between the lowest recommendation of the
// scale-up window and the highest of the scale-down window. Example: current 10, scale-down
// window 300 s holding recommendations 10, 8, 6 -> a new 6 gives 10 (the highest), so pods
// go away only after a quiet window.
// Rate: within each policy's period, the change from the count at the period's start is at
// most Value pods or Value percent; selectPolicy Max picks the most permissive limit.
func (b *behavior) apply(now time.Time, rec, current int) (int, string) {
	if b == nil {
		return rec, ""
	}
	longest := max(b.up.window, b.down.window)
	b.recs = prune(b.recs, now.Add(-longest))
	b.recs = append(b.recs, stamped{now, rec})
	upRec, downRec := rec, rec
	for _, r := range b.recs {
		if !r.t.Before(now.Add(-b.up.window)) {
			upRec = min(upRec, r.n)
		}
		if !r.t.Before(now.Add(-b.down.window)) {
			downRec = max(downRec, r.n)
		}
	}
	out, why := current, ""
	if out < upRec {
		out = upRec
	}
	if out > downRec {
		out = downRec
	}
	if out != rec {
		why = v1alpha1.ReasonStabilized
	}
	var longestPeriod time.Duration
	for _, p := range append(append([]v1alpha1.ScalingPolicy(nil), b.up.policies...), b.down.policies...) {
		longestPeriod = max(longestPeriod, time.Duration(p.PeriodSeconds)*time.Second)
	}
	b.events = prune(b.events, now.Add(-longestPeriod))
	if out > current {
		limit := b.limit(now, current, b.up, +1)
		if out > limit {
			out, why = limit, v1alpha1.ReasonScaleUpLimit
		}
	} else if out < current {
		limit := b.limit(now, current, b.down, -1)
		if out < limit {
			out, why = limit, v1alpha1.ReasonScaleDownLimit
		}
	}
	return out, why
}

// limit returns the furthest count the rate policies allow in direction dir (+1 up, -1 down).
func (b *behavior) limit(now time.Time, current int, r rules, dir int) int {
	if r.sel == v1alpha1.SelectDisabled || len(r.policies) == 0 {
		return current
	}
	best := current
	first := true
	for _, p := range r.policies {
		period := time.Duration(p.PeriodSeconds) * time.Second
		start := current // replicas at the start of the period: undo the changes made within it
		for _, e := range b.events {
			if !e.t.Before(now.Add(-period)) {
				start -= e.n
			}
		}
		var l int
		switch {
		case p.Type == v1alpha1.PodsPolicy && dir > 0:
			l = start + int(p.Value)
		case p.Type == v1alpha1.PodsPolicy:
			l = start - int(p.Value)
		case dir > 0:
			l = int(math.Ceil(float64(start) * (1 + float64(p.Value)/100)))
		default:
			l = int(math.Floor(float64(start) * (1 - float64(p.Value)/100)))
		}
		// Max picks the limit allowing the largest change, Min the smallest.
		wantFurther := (r.sel != v1alpha1.SelectMin) == (dir > 0)
		if first || (wantFurther && l > best) || (!wantFurther && l < best) {
			best, first = l, false
		}
	}
	if dir > 0 {
		return max(best, current)
	}
	return min(best, current)
}

// record notes a scale change applied at now (for the rate policies).
func (b *behavior) record(now time.Time, from, to int) {
	if b != nil && from != to {
		b.events = append(b.events, stamped{now, to - from})
	}
}

func prune(s []stamped, before time.Time) []stamped {
	i := 0
	for i < len(s) && s[i].t.Before(before) {
		i++
	}
	return append(s[:0], s[i:]...)
}
