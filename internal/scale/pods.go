package scale

import (
	"context"
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Pods is what a target's pods are doing, as the scheduler and the nodes report it. The
// scale subresource counts replicas and ready pods; it cannot say that a pod waits for a
// node that does not exist, or that a Ready pod sits on a node that stopped reporting.
type Pods struct {
	// Total is the pods the selector matches that are not being deleted.
	Total int
	// Unschedulable is the pods the scheduler could not place (PodScheduled False with
	// reason Unschedulable): capacity that is not coming until the cluster changes.
	Unschedulable int
	// OnNotReadyNode is the Ready pods whose node is not Ready (or gone): they are not
	// serving, whatever their own condition still says.
	OnNotReadyNode int
	// Message is the scheduler's message for one unschedulable pod, e.g. "0/2 nodes are
	// available: 2 Too many pods."; empty when none is.
	Message string
}

// CountPods lists the pods of namespace that selector (a scale status.selector) matches and
// classifies them; nodes are read through r as well. An empty selector counts nothing.
func CountPods(ctx context.Context, r client.Reader, namespace, selector string) (Pods, error) {
	var out Pods
	if selector == "" {
		return out, nil
	}
	sel, err := labels.Parse(selector)
	if err != nil {
		return out, fmt.Errorf("pods of %s: bad selector %q: %w", namespace, selector, err)
	}
	var list corev1.PodList
	if err := r.List(ctx, &list, client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return out, fmt.Errorf("list pods of %s matching %q: %w", namespace, selector, err)
	}
	nodeReady := map[string]bool{}
	for i := range list.Items {
		p := &list.Items[i]
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		out.Total++
		if c := podCondition(p, corev1.PodScheduled); p.Spec.NodeName == "" && c != nil &&
			c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			out.Unschedulable++
			if out.Message == "" {
				out.Message = c.Message
			}
			continue
		}
		if p.Spec.NodeName == "" {
			continue
		}
		if c := podCondition(p, corev1.PodReady); c == nil || c.Status != corev1.ConditionTrue {
			continue
		}
		ready, ok := nodeReady[p.Spec.NodeName]
		if !ok {
			ready, err = isNodeReady(ctx, r, p.Spec.NodeName)
			if err != nil {
				return out, err
			}
			nodeReady[p.Spec.NodeName] = ready
		}
		if !ready {
			out.OnNotReadyNode++
		}
	}
	return out, nil
}

func podCondition(p *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == t {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

// isNodeReady reports whether the node's Ready condition is True; a node that is gone is not.
func isNodeReady(ctx context.Context, r client.Reader, name string) (bool, error) {
	n := &corev1.Node{}
	if err := r.Get(ctx, client.ObjectKey{Name: name}, n); err != nil {
		if client.IgnoreNotFound(err) == nil {
			return false, nil
		}
		return false, fmt.Errorf("get node %s: %w", name, err)
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue, nil
		}
	}
	return false, nil
}
