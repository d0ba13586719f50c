package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestCountPodHealthTellsComingFromCannotCome(t *testing.T) {
	cond := func(typ corev1.PodConditionType, st corev1.ConditionStatus, reason string) corev1.PodCondition {
		return corev1.PodCondition{Type: typ, Status: st, Reason: reason}
	}
	pod := func(phase corev1.PodPhase, conds ...corev1.PodCondition) corev1.Pod {
		return corev1.Pod{Status: corev1.PodStatus{Phase: phase, Conditions: conds}}
	}
	now := metav1.Now()
	terminating := pod(corev1.PodRunning)
	terminating.DeletionTimestamp = &now
	pods := []corev1.Pod{
		pod(corev1.PodRunning, cond(corev1.PodScheduled, corev1.ConditionTrue, ""), cond(corev1.PodReady, corev1.ConditionTrue, "")),
		pod(corev1.PodRunning, cond(corev1.PodScheduled, corev1.ConditionTrue, ""), cond(corev1.PodReady, corev1.ConditionFalse, "")), // starting
		pod(corev1.PodPending, cond(corev1.PodScheduled, corev1.ConditionTrue, "")),                                                   // pulling its image
		pod(corev1.PodPending, cond(corev1.PodScheduled, corev1.ConditionFalse, corev1.PodReasonUnschedulable)),                       // no node has room
		pod(corev1.PodPending), // not yet seen by the scheduler: coming
		pod(corev1.PodFailed),
		terminating,
	}
	notReady, unsched := countPodHealth(pods)
	if notReady != 3 || unsched != 1 {
		t.Errorf("not ready %d, unschedulable %d; want 3 and 1", notReady, unsched)
	}
}
