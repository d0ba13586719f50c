package controller

import (
	"time"

	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bascaler/bascaler/api/v1alpha1"
)

// ScaleStatusRefresh is the StatusRefresh recommended for fleets of hundreds of
// autoscalers on one controller (bench/controller-scale.md); the default (0) writes every
// change, so a user watching `kubectl get baa` sees each decision.
const ScaleStatusRefresh = time.Minute

// statusWrite says whether the status st, computed at now, must be written over old.
//
// A change a user or a tool acts on is written at once: the replica counts, the burst
// state, a scale, failed reads, the observed generation, the decision's mode, and any
// condition's status or reason. What only refreshes (explanations, condition messages,
// the forecast's numbers, the decision's time) is written when the written decision is
// refresh old or older. Without this rule every decision was a status write, although
// most intervals change nothing but numbers in words: at 1,000 autoscalers on a 15 s grid
// that was 67 writes a second, the API server's whole write budget on a loaded machine
// (bench/controller-scale.md); with a 1 minute refresh it is a quarter of that plus the
// changes. The decision itself is in the bascaler_* series every tick. refresh <= 0 writes
// every change.
func statusWrite(old, st *v1alpha1.BurstAwareAutoscalerStatus, now time.Time, refresh time.Duration) bool {
	if equality.Semantic.DeepEqual(old, st) {
		return false
	}
	if refresh <= 0 || old.LastDecision == nil || st.LastDecision == nil || !sameActionable(old, st) {
		return true
	}
	return now.Sub(old.LastDecision.Time.Time) >= refresh
}

// sameActionable compares what statusWrite writes at once.
func sameActionable(a, b *v1alpha1.BurstAwareAutoscalerStatus) bool {
	if a.ObservedGeneration != b.ObservedGeneration || a.CurrentReplicas != b.CurrentReplicas ||
		a.ReadyReplicas != b.ReadyReplicas || a.DesiredReplicas != b.DesiredReplicas || a.Burst != b.Burst ||
		a.MetricFailures != b.MetricFailures || !equality.Semantic.DeepEqual(a.LastScaleTime, b.LastScaleTime) ||
		a.LastDecision.Mode != b.LastDecision.Mode || a.LastDecision.Policy != b.LastDecision.Policy ||
		len(a.Conditions) != len(b.Conditions) {
		return false
	}
	for i := range a.Conditions {
		if !sameCondition(&a.Conditions[i], &b.Conditions[i]) {
			return false
		}
	}
	return true
}

func sameCondition(a, b *metav1.Condition) bool {
	return a.Type == b.Type && a.Status == b.Status && a.Reason == b.Reason && a.ObservedGeneration == b.ObservedGeneration
}
