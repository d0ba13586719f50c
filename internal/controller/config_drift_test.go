package controller

import (
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/drift"
)

// spec.policy.drift's seasonal fields: a day by default, a season in whole intervals, 0s
// off, and a season shorter than two intervals or a bad threshold refused naming the field.
func TestDriftSeasonResolves(t *testing.T) {
	withDrift := func(d *v1alpha1.DriftSpec) (settings, error) {
		b := autoscaler("ns", "a", "shop", "http://127.0.0.1:9")
		b.Spec.Interval = &metav1.Duration{Duration: 15 * time.Second}
		b.Spec.Policy.Drift = d
		return resolve(b, "")
	}
	s, err := withDrift(nil)
	if err != nil || s.drift.Season != drift.DailySeason(15*time.Second) || s.drift.Season != 5760 {
		t.Fatalf("default season %d intervals (%v), want a day at 15 s: 5760", s.drift.Season, err)
	}
	week := &metav1.Duration{Duration: 7 * 24 * time.Hour}
	if s, err = withDrift(&v1alpha1.DriftSpec{Season: week, SeasonalWindow: 60, SeasonalAbove: "2.5"}); err != nil ||
		s.drift.Season != 40320 || s.drift.SeasonalWindow != 60 || s.drift.SeasonalAbove != 2.5 {
		t.Fatalf("weekly season: %+v, %v", s.drift, err)
	}
	if s, err = withDrift(&v1alpha1.DriftSpec{Season: &metav1.Duration{Duration: 37 * time.Second}}); err != nil || s.drift.Season != 2 {
		t.Fatalf("37 s at a 15 s interval: season %d intervals (%v), want 2 (rounded)", s.drift.Season, err)
	}
	if s, err = withDrift(&v1alpha1.DriftSpec{Season: &metav1.Duration{}}); err != nil || s.drift.Season >= 0 {
		t.Fatalf("season 0s: %d (%v), want the score off (negative)", s.drift.Season, err)
	}
	for _, bad := range []*v1alpha1.DriftSpec{
		{Season: &metav1.Duration{Duration: 20 * time.Second}},
		{Season: &metav1.Duration{Duration: -time.Hour}},
		{SeasonalAbove: "0"},
	} {
		_, err := withDrift(bad)
		field := "spec.policy.drift.season"
		if bad.SeasonalAbove != "" {
			field = "spec.policy.drift.seasonalAbove"
		}
		if err == nil || !strings.Contains(err.Error(), field) {
			t.Errorf("%+v: error %v, want one naming %s", bad, err, field)
		}
	}
}
