package hpa

import (
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// sync is one HPA sync: the current count and the raw recommendation (the calculator's),
// the count the engine must set and the limit it must name.
type sync struct {
	cur, raw int
	want     int
	limit    Limit
}

// runSyncs applies the syncs every 15 s (hpa.SyncPeriod) and records the applied changes as
// the controller does (storeScaleEvent after a successful rescale).
func runSyncs(t *testing.T, b *Behavior, lo, hi int, syncs []sync) {
	t.Helper()
	for i, s := range syncs {
		now := t0.Add(time.Duration(i) * SyncPeriod)
		got, limit := b.Apply(now, s.cur, s.raw, lo, hi)
		if got != s.want || limit != s.limit {
			t.Fatalf("sync %d (t=%v, current %d, raw %d): got %d (%q), want %d (%q)", i, now.Sub(t0), s.cur, s.raw, got, limit, s.want, s.limit)
		}
		if got != s.cur {
			b.Record(now, got-s.cur)
		}
	}
}

// TestDefaultBehavior pins an HPA with spec.behavior and every rule defaulted
// (GenerateHPAScaleUpRules, GenerateHPAScaleDownRules in pkg/apis/autoscaling/v2/defaults.go,
// the scale-down window from --horizontal-pod-autoscaler-downscale-stabilization via
// maybeInitScaleDownStabilizationWindow), as normalizeDesiredReplicasWithBehaviors applies
// it: stabilizeRecommendationWithBehaviors, then convertDesiredReplicasWithBehaviorRate with
// calculateScaleUpLimitWithScalingRules / calculateScaleDownLimitWithBehaviors.
func TestDefaultBehavior(t *testing.T) {
	cases := []struct {
		name   string
		lo, hi int
		syncs  []sync
	}{
		{"scale-up: max(+4 pods, +100%) per 15 s, from the count at the start of the period", 1, 100, []sync{
			{1, 15, 5, LimitUpRate},  // max(1+4, 2)
			{5, 15, 10, LimitUpRate}, // the +4 of 15 s ago is not younger than 15 s: max(5+4, 10)
			{10, 15, 15, LimitNone},
		}},
		{"scale-up capped by max replicas", 1, 6, []sync{{2, 9, 6, LimitMax}}},
		{"scale-down held by the 300 s window, then to the highest recommendation in it", 1, 100, []sync{
			{10, 10, 10, LimitNone}, // 0 s
			{10, 5, 10, LimitDownStabilization},
			{10, 2, 10, LimitDownStabilization}, {10, 2, 10, LimitDownStabilization}, {10, 2, 10, LimitDownStabilization},
			{10, 2, 10, LimitDownStabilization}, {10, 2, 10, LimitDownStabilization}, {10, 2, 10, LimitDownStabilization},
			{10, 2, 10, LimitDownStabilization}, {10, 2, 10, LimitDownStabilization}, {10, 2, 10, LimitDownStabilization},
			{10, 2, 10, LimitDownStabilization}, {10, 2, 10, LimitDownStabilization}, {10, 2, 10, LimitDownStabilization},
			{10, 2, 10, LimitDownStabilization}, {10, 2, 10, LimitDownStabilization}, {10, 2, 10, LimitDownStabilization},
			{10, 2, 10, LimitDownStabilization}, {10, 2, 10, LimitDownStabilization}, {10, 2, 10, LimitDownStabilization}, // 285 s
			{10, 2, 5, LimitDownStabilization}, // 300 s: the 10 made at 0 s has left the window, the 5 of 15 s has not
			{5, 2, 2, LimitNone},               // 315 s: -100% per 15 s allows any scale-down
		}},
		{"a scale-up is not held by the scale-down window", 1, 100, []sync{{4, 2, 4, LimitDownStabilization}, {4, 8, 8, LimitNone}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, err := NewBehavior(DefaultScaleUp(), DefaultScaleDown(), SyncPeriod)
			if err != nil {
				t.Fatal(err)
			}
			runSyncs(t, b, c.lo, c.hi, c.syncs)
		})
	}
}

// TestInitialRecommendation pins recordInitialRecommendation (horizontal.go): a new HPA
// records the count it finds as a recommendation at its first sync, so a scale-down within
// the first window goes no lower than that count.
func TestInitialRecommendation(t *testing.T) {
	for _, legacy := range []bool{false, true} {
		b, err := NewBehavior(DefaultScaleUp(), DefaultScaleDown(), SyncPeriod)
		if legacy {
			b, err = NewLegacyBehavior(DownscaleStabilization, SyncPeriod)
		}
		if err != nil {
			t.Fatal(err)
		}
		syncs := make([]sync, 0, 21)
		for range 20 { // 0 .. 285 s: the initial 8 is in the window
			syncs = append(syncs, sync{8, 3, 8, LimitDownStabilization})
		}
		syncs = append(syncs, sync{8, 3, 3, LimitNone}) // 300 s
		t.Run(map[bool]string{false: "behavior", true: "legacy"}[legacy], func(t *testing.T) { runSyncs(t, b, 1, 100, syncs) })
	}
}

// TestLegacyBehavior pins an HPA without spec.behavior (normalizeDesiredReplicas in
// horizontal.go): stabilizeRecommendation (the highest recommendation within
// --horizontal-pod-autoscaler-downscale-stabilization, this one included), then
// convertDesiredReplicasWithRules with calculateScaleUpLimit = max(2 x current, 4) at every
// sync, no scale events.
func TestLegacyBehavior(t *testing.T) {
	cases := []struct {
		name   string
		lo, hi int
		syncs  []sync
		window time.Duration // 0: DownscaleStabilization
	}{
		{"scale-up limit max(2 x current, 4), every sync, no period memory", 1, 100, []sync{
			{1, 15, 4, LimitUpRate}, // max(2, 4)
			{4, 15, 8, LimitUpRate},
			{8, 15, 15, LimitNone},
		}, 0},
		{"from 3 replicas: 6 (the behavior path allows 7)", 1, 100, []sync{{3, 20, 6, LimitUpRate}}, 0},
		{"max replicas below the rate limit", 1, 5, []sync{{4, 20, 5, LimitMax}}, 0},
		{"a higher recommendation still in the window raises a scale-up", 1, 100, []sync{
			{4, 12, 8, LimitUpRate}, // 12 remembered
			{8, 10, 12, LimitDownStabilization},
		}, 0},
		{"the window holds a raw count below min", 2, 100, []sync{{2, 2, 2, LimitNone}, {2, 1, 2, LimitDownStabilization}}, 0},
		{"min replicas (no window)", 2, 100, []sync{{2, 2, 2, LimitNone}, {2, 1, 2, LimitMin}}, time.Nanosecond},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := c.window
			if w == 0 {
				w = DownscaleStabilization
			}
			b, err := NewLegacyBehavior(w, SyncPeriod)
			if err != nil {
				t.Fatal(err)
			}
			runSyncs(t, b, c.lo, c.hi, c.syncs)
		})
	}
	if _, err := NewLegacyBehavior(2*time.Hour, SyncPeriod); err == nil {
		t.Error("a 2 h window: want an error")
	}
}

// TestWindowCountsRecommendationsStrictlyYounger: stabilizeRecommendationWithBehaviors keeps
// recommendations After(now - window); a sync period apart, the one made window ago is out.
func TestWindowCountsRecommendationsStrictlyYounger(t *testing.T) {
	up := Rules{Window: 30 * time.Second, Select: SelectMax, Policies: DefaultScaleUp().Policies}
	b, err := NewBehavior(up, DefaultScaleDown(), SyncPeriod)
	if err != nil {
		t.Fatal(err)
	}
	runSyncs(t, b, 1, 100, []sync{
		{2, 2, 2, LimitNone},              // 0 s (initial 2, raw 2)
		{2, 4, 2, LimitUpStabilization},   // 15 s: min over (-15 s, 15 s] holds the 2 of 0 s
		{2, 4, 4, LimitNone},              // 30 s: the 2s of 0 s are exactly 30 s old: out
		{4, 3, 4, LimitDownStabilization}, // 45 s: the scale-down window holds the 4s
	})
}
