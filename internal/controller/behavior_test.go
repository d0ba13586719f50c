package controller

import (
	"testing"
	"time"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/hpa"
)

func i32(v int32) *int32 { return &v }

// apply is the behavior engine as the driver runs it for the controller (bounds 0..1000).
func apply(b *hpa.Behavior, now time.Time, rec, cur int) (int, string) {
	got, l := b.Apply(now, cur, rec, 0, 1000)
	return got, limitReason(l)
}

func mustBehavior(t *testing.T, spec *v1alpha1.Behavior) *hpa.Behavior {
	t.Helper()
	b, err := behaviorOf(spec, 15*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestBehaviorNilIsNoBrake(t *testing.T) {
	if b, err := behaviorOf(nil, 15*time.Second); b != nil || err != nil {
		t.Errorf("nil spec.behavior gave %v, %v; want no engine", b, err)
	}
}

func TestBehaviorScaleDownWaitsForStabilisationWindow(t *testing.T) {
	b := mustBehavior(t, &v1alpha1.Behavior{ScaleDown: &v1alpha1.ScalingRules{StabilizationWindowSeconds: i32(60)}})
	t0 := time.Unix(1000, 0)
	steps := []struct {
		at       time.Duration
		rec, cur int
		want     int
	}{
		{0, 10, 10, 10},
		{20 * time.Second, 4, 10, 10}, // 10 is still in the window
		{50 * time.Second, 4, 10, 10},
		{61 * time.Second, 4, 10, 4}, // the 10 left the window
	}
	for _, s := range steps {
		got, _ := apply(b, t0.Add(s.at), s.rec, s.cur)
		if got != s.want {
			t.Fatalf("at +%v rec %d cur %d: got %d, want %d", s.at, s.rec, s.cur, got, s.want)
		}
	}
}

func TestBehaviorScaleUpRateLimits(t *testing.T) {
	cases := []struct {
		name    string
		rules   *v1alpha1.ScalingRules
		cur     int
		rec     int
		want    int
		wantWhy string
	}{
		{"default: max(4 pods, 100%) from 2 is 6", nil, 2, 20, 6, v1alpha1.ReasonScaleUpLimit},
		{"default: 100% from 10 is 20", nil, 10, 50, 20, v1alpha1.ReasonScaleUpLimit},
		{"within limits unchanged", nil, 10, 12, 12, ""},
		{"select Min takes the tighter", &v1alpha1.ScalingRules{SelectPolicy: v1alpha1.SelectMin}, 10, 50, 14, v1alpha1.ReasonScaleUpLimit},
		{"disabled holds", &v1alpha1.ScalingRules{SelectPolicy: v1alpha1.SelectDisabled}, 10, 50, 10, v1alpha1.ReasonScaleUpLimit},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := mustBehavior(t, &v1alpha1.Behavior{ScaleUp: c.rules})
			got, why := apply(b, time.Unix(0, 0), c.rec, c.cur)
			if got != c.want || why != c.wantWhy {
				t.Errorf("got %d (%q), want %d (%q)", got, why, c.want, c.wantWhy)
			}
		})
	}
}

func TestBehaviorRateCountsChangesWithinPeriod(t *testing.T) {
	b := mustBehavior(t, &v1alpha1.Behavior{ScaleUp: &v1alpha1.ScalingRules{Policies: []v1alpha1.ScalingPolicy{{Type: v1alpha1.PodsPolicy, Value: 2, PeriodSeconds: 60}}}})
	t0 := time.Unix(0, 0)
	got, _ := apply(b, t0, 10, 2)
	if got != 4 {
		t.Fatalf("first step: got %d, want 4", got)
	}
	b.Record(t0, 2)
	// 30 s later the period still holds the +2: no further pods allowed.
	if got, _ := apply(b, t0.Add(30*time.Second), 10, 4); got != 4 {
		t.Errorf("within the period: got %d, want 4", got)
	}
	// After the period the budget is back.
	if got, _ := apply(b, t0.Add(61*time.Second), 10, 4); got != 6 {
		t.Errorf("after the period: got %d, want 6", got)
	}
}
