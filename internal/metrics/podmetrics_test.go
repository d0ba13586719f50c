package metrics

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// pod builds a pod with one container per CPU request ("" = no request).
func pod(name string, ready bool, requests ...string) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	st := corev1.ConditionFalse
	if ready {
		st = corev1.ConditionTrue
	}
	p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: st}}
	for i, r := range requests {
		c := corev1.Container{Name: string(rune('a' + i))}
		if r != "" {
			c.Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse(r)}
		}
		p.Spec.Containers = append(p.Spec.Containers, c)
	}
	return p
}

func TestUtilizationIsUsageOverRequestOfReadyPodsWithMetrics(t *testing.T) {
	terminating := pod("t", true, "500m")
	terminating.DeletionTimestamp = &metav1.Time{Time: time.Unix(1, 0)}
	pending := pod("p", true, "500m")
	pending.Status.Phase = corev1.PodPending
	cases := []struct {
		name    string
		pods    []corev1.Pod
		usage   map[string]podUsage
		want    float64
		missing string
		err     error
		errHas  string
	}{
		{"two pods: 700m of 1000m", []corev1.Pod{pod("a", true, "500m"), pod("b", true, "500m")},
			map[string]podUsage{"a": {milli: 450}, "b": {milli: 250}}, 0.70, "", nil, ""},
		{"containers' requests are summed", []corev1.Pod{pod("a", true, "250m", "250m")},
			map[string]podUsage{"a": {milli: 600}}, 1.2, "", nil, ""},
		{"unready, terminating and pending pods are left out", []corev1.Pod{pod("a", true, "1"), pod("u", false, "1"), terminating, pending},
			map[string]podUsage{"a": {milli: 500}, "u": {milli: 1000}, "t": {milli: 1000}, "p": {milli: 1000}}, 0.5, "", nil, ""},
		{"a pod without metrics is left out and named", []corev1.Pod{pod("a", true, "1"), pod("new", true, "1")},
			map[string]podUsage{"a": {milli: 900}}, 0.9, "new", nil, ""},
		{"no metrics at all", []corev1.Pod{pod("a", true, "1")}, map[string]podUsage{}, 0, "", ErrNoData, "no PodMetrics yet for pods a"},
		{"container without request names pod and container", []corev1.Pod{pod("a", true, "1"), pod("greedy", true, "100m", "")},
			map[string]podUsage{"a": {milli: 1}, "greedy": {milli: 1}}, 0, "", ErrNoCPURequest, "pod greedy, container b"},
		{"no pods", nil, nil, 0, "", ErrNoPods, "0 pods match"},
		{"only unready pods", []corev1.Pod{pod("u", false, "1")}, nil, 0, "", ErrNoPods, "1 pods match, none running and ready"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			rd, err := utilization(c.pods, c.usage)
			if c.err != nil {
				if !errors.Is(err, c.err) || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("error %v, want %v saying %q", err, c.err, c.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(rd.Utilization-c.want) > 1e-12 {
				t.Errorf("utilisation %g, want %g", rd.Utilization, c.want)
			}
			if got := strings.Join(rd.Missing, ","); got != c.missing {
				t.Errorf("missing %q, want %q", got, c.missing)
			}
		})
	}
}

func TestParsePodMetricsSumsContainersAndRejectsBadShapes(t *testing.T) {
	obj := func(cs ...any) map[string]any {
		return map[string]any{"timestamp": "2026-01-02T03:04:05Z", "window": "30s", "containers": cs}
	}
	usage := func(cpu any) map[string]any { return map[string]any{"name": "c", "usage": map[string]any{"cpu": cpu}} }
	cases := []struct {
		name   string
		obj    map[string]any
		milli  int64
		errHas string
	}{
		{"millicores and nanocores summed", obj(usage("250m"), usage("500000000n")), 750, ""},
		{"whole cores", obj(usage("2")), 2000, ""},
		{"no containers", map[string]any{}, 0, "no containers[]"},
		{"cpu missing", obj(map[string]any{"name": "c", "usage": map[string]any{}}), 0, "containers[0].usage.cpu missing"},
		{"cpu not a quantity", obj(usage("lots")), 0, `containers[0].usage.cpu "lots"`},
		{"negative cpu", obj(usage("-5m")), 0, "is negative"},
		{"container not an object", obj("x"), 0, "containers[0] is not an object"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			u, err := parsePodMetrics(c.obj)
			if c.errHas != "" {
				if err == nil || !strings.Contains(err.Error(), c.errHas) {
					t.Fatalf("error %v, want one saying %q", err, c.errHas)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if u.milli != c.milli || u.window != 30*time.Second || u.timestamp.IsZero() {
				t.Errorf("got %+v, want %dm over 30s with a timestamp", u, c.milli)
			}
		})
	}
}
