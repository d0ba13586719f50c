package scale

import (
	"context"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func node(name string, ready corev1.ConditionStatus) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
		Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: ready}}}}
}

func pod(name, nodeName string, conds ...corev1.PodCondition) *corev1.Pod {
	return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{"app": "shop"}},
		Spec: corev1.PodSpec{NodeName: nodeName}, Status: corev1.PodStatus{Conditions: conds}}
}

var (
	readyCond   = corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}
	unschedCond = corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable, Message: "0/1 nodes are available: 1 Too many pods."}
)

func TestCountPods(t *testing.T) {
	other := pod("other", "n1", readyCond)
	other.Labels = map[string]string{"app": "cart"}
	cases := []struct {
		name     string
		selector string
		objs     []client.Object
		want     Pods
	}{
		{"no selector counts nothing", "", []client.Object{pod("a", "n1", readyCond), node("n1", corev1.ConditionTrue)}, Pods{}},
		{"ready on ready node", "app=shop", []client.Object{pod("a", "n1", readyCond), other, node("n1", corev1.ConditionTrue)}, Pods{Total: 1}},
		{"unschedulable", "app=shop", []client.Object{pod("a", "n1", readyCond), pod("b", "", unschedCond), node("n1", corev1.ConditionTrue)},
			Pods{Total: 2, Unschedulable: 1, Message: unschedCond.Message}},
		{"pending, not yet judged by the scheduler", "app=shop", []client.Object{pod("b", "")}, Pods{Total: 1}},
		{"ready pod on a NotReady node", "app=shop", []client.Object{pod("a", "n1", readyCond), pod("b", "n2", readyCond),
			node("n1", corev1.ConditionTrue), node("n2", corev1.ConditionFalse)}, Pods{Total: 2, OnNotReadyNode: 1}},
		{"ready pod on a deleted node", "app=shop", []client.Object{pod("a", "gone", readyCond)}, Pods{Total: 1, OnNotReadyNode: 1}},
		{"not-ready pod on a NotReady node is not double counted", "app=shop", []client.Object{pod("a", "n2"), node("n2", corev1.ConditionUnknown)}, Pods{Total: 1}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithObjects(tc.objs...).Build()
			got, err := CountPods(context.Background(), c, "ns", tc.selector)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if _, err := CountPods(context.Background(), fake.NewClientBuilder().Build(), "ns", "app in (("); err == nil {
		t.Error("bad selector: want an error")
	}
}
