package controller

import (
	"context"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// podHealth counts the scale target's pods that do not serve, for the Observation: notReady
// are placed (or placeable) and starting, unschedulable are Pending with the scheduler's
// PodScheduled=False reason Unschedulable (no node can take them). ok is false when the
// pods cannot be listed (no selector, an API error, no pod yet): the Observation then derives the counts
// from the scale subresource. One List per tick, through the same direct reader the
// metrics-API CPU source uses (no Pod informer).
func podHealth(ctx context.Context, rd client.Reader, namespace, selector string) (notReady, unschedulable int, ok bool) {
	if rd == nil || strings.TrimSpace(selector) == "" {
		return 0, 0, false
	}
	sel, err := labels.Parse(selector)
	if err != nil {
		return 0, 0, false
	}
	list := &unstructured.UnstructuredList{}
	list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
	if err := rd.List(ctx, list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil || len(list.Items) == 0 {
		return 0, 0, false // no detail (or none yet): the counts from the scale subresource stand
	}
	pods := make([]corev1.Pod, 0, len(list.Items))
	for i := range list.Items {
		var p corev1.Pod
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(list.Items[i].Object, &p); err != nil {
			return 0, 0, false
		}
		pods = append(pods, p)
	}
	notReady, unschedulable = countPodHealth(pods)
	return notReady, unschedulable, true
}

// countPodHealth splits the pods that are not Ready: unschedulable (Pending with
// PodScheduled=False, reason Unschedulable) or not ready (anything else still alive).
// Terminating and finished pods are not counted: they are leaving, not coming.
func countPodHealth(pods []corev1.Pod) (notReady, unschedulable int) {
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		ready, unsched := false, false
		for _, c := range p.Status.Conditions {
			switch {
			case c.Type == corev1.PodReady && c.Status == corev1.ConditionTrue:
				ready = true
			case c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable:
				unsched = true
			}
		}
		switch {
		case ready:
		case unsched && p.Status.Phase == corev1.PodPending:
			unschedulable++
		default:
			notReady++
		}
	}
	return notReady, unschedulable
}
