package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bascaler/bascaler/api/v1alpha1"
)

func TestStatusWriteWaitsForNewsOrTheRefresh(t *testing.T) {
	at := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	base := func() *v1alpha1.BurstAwareAutoscalerStatus {
		return &v1alpha1.BurstAwareAutoscalerStatus{CurrentReplicas: 3, ReadyReplicas: 3, DesiredReplicas: 3, Burst: "normal",
			LastDecision: &v1alpha1.DecisionStatus{Policy: "bascaler", Replicas: 3, Mode: "steady", Explanation: "forecast 120 req/s", Time: metav1.NewTime(at)},
			Conditions: []metav1.Condition{{Type: v1alpha1.ConditionScalingActive, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonValidMetricFound,
				Message: "policy bascaler decides from 100 intervals of history"}}}
	}
	next := func(edit func(*v1alpha1.BurstAwareAutoscalerStatus)) *v1alpha1.BurstAwareAutoscalerStatus {
		st := base()
		st.LastDecision.Time = metav1.NewTime(at.Add(15 * time.Second))
		st.LastDecision.Explanation = "forecast 121 req/s"
		st.Conditions[0].Message = "policy bascaler decides from 101 intervals of history"
		if edit != nil {
			edit(st)
		}
		return st
	}
	for _, tc := range []struct {
		name    string
		st      *v1alpha1.BurstAwareAutoscalerStatus
		after   time.Duration
		refresh time.Duration
		want    bool
	}{
		{"nothing changed", base(), time.Hour, time.Minute, false},
		{"only words and numbers, within the refresh", next(nil), 15 * time.Second, time.Minute, false},
		{"only words and numbers, the refresh reached", next(nil), time.Minute, time.Minute, true},
		{"only words and numbers, every change written", next(nil), 15 * time.Second, -1, true},
		{"desired replicas", next(func(s *v1alpha1.BurstAwareAutoscalerStatus) { s.DesiredReplicas = 4 }), 15 * time.Second, time.Minute, true},
		{"ready replicas", next(func(s *v1alpha1.BurstAwareAutoscalerStatus) { s.ReadyReplicas = 2 }), 15 * time.Second, time.Minute, true},
		{"burst", next(func(s *v1alpha1.BurstAwareAutoscalerStatus) { s.Burst = "burst" }), 15 * time.Second, time.Minute, true},
		{"mode", next(func(s *v1alpha1.BurstAwareAutoscalerStatus) { s.LastDecision.Mode = "burst" }), 15 * time.Second, time.Minute, true},
		{"a condition's reason", next(func(s *v1alpha1.BurstAwareAutoscalerStatus) { s.Conditions[0].Reason = v1alpha1.ReasonNoMetricsYet }), 15 * time.Second, time.Minute, true},
		{"a new condition", next(func(s *v1alpha1.BurstAwareAutoscalerStatus) {
			s.Conditions = append(s.Conditions, metav1.Condition{Type: v1alpha1.ConditionReady, Status: metav1.ConditionTrue, Reason: v1alpha1.ReasonReconciled})
		}), 15 * time.Second, time.Minute, true},
		{"a scale", next(func(s *v1alpha1.BurstAwareAutoscalerStatus) { ts := metav1.NewTime(at); s.LastScaleTime = &ts }), 15 * time.Second, time.Minute, true},
	} {
		old := base()
		if got := statusWrite(old, tc.st, at.Add(tc.after), tc.refresh); got != tc.want {
			t.Errorf("%s: write %v, want %v", tc.name, got, tc.want)
		}
	}
	old := base()
	old.LastDecision = nil
	if !statusWrite(old, next(nil), at, time.Minute) {
		t.Error("the first decision: not written")
	}
}
