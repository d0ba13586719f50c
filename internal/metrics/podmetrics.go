package metrics

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// PodMetricsGVK is the list kind metrics-server serves through the aggregated
// metrics.k8s.io API.
var PodMetricsGVK = schema.GroupVersionKind{Group: "metrics.k8s.io", Version: "v1beta1", Kind: "PodMetricsList"}

// The metrics API reader fails with ErrNoPods (the selector matches no ready pod) or
// ErrNoCPURequest (a container without a CPU request: utilisation has no denominator, the
// HPA refuses the same way), besides ErrUnavailable and ErrNoData.

// CPUReading is one read of the metrics API.
type CPUReading struct {
	// Utilization is the summed CPU usage of the ready pods that have metrics divided by the
	// sum of their CPU requests (0.7 = 70% of request).
	Utilization float64
	// UsageMilli and RequestMilli are the two sums, millicores.
	UsageMilli, RequestMilli int64
	// Pods are the ready pods counted; Missing names those without metrics yet (left out
	// of both sums).
	Pods    int
	Missing []string
	// Newest is the latest PodMetrics timestamp; Window the longest measurement window.
	Newest time.Time
	Window time.Duration
}

// PodMetricsCPU reads CPU utilisation from the metrics.k8s.io API (metrics-server), the
// quantity the HPA scales on, for clusters without Prometheus.
//
// Pods and PodMetrics are read as unstructured objects: controller-runtime does not cache
// unstructured reads by default, so each read is a direct list (RBAC get/list, no watch, no
// cluster-wide Pod informer in the controller's memory) and no k8s.io/metrics dependency
// is needed.
type PodMetricsCPU struct {
	Client client.Reader
}

// Read returns the utilisation of the ready pods in namespace that match selector (the
// scale subresource's status.selector, e.g. "app=shop").
//
// Which pods count: not terminating, phase Running, condition Ready=True; the
// Observation's CPU is defined over ready pods and the pods still starting are the
// policy's business (Observation.Ready). A counted pod with a container without a CPU
// request is an error naming the pod and container. Pods without a PodMetrics object yet
// (metrics-server reports a pod one scrape after it starts) are left out of both sums and
// listed in Missing; if none has metrics the read fails with ErrNoData.
func (m PodMetricsCPU) Read(ctx context.Context, namespace, selector string) (CPUReading, error) {
	var rd CPUReading
	where := fmt.Sprintf("metrics API, namespace %s, selector %q", namespace, selector)
	if strings.TrimSpace(selector) == "" {
		return rd, fmt.Errorf("%s: the scale target reports no pod selector (status.selector), so its pods cannot be found", where)
	}
	sel, err := labels.Parse(selector)
	if err != nil {
		return rd, fmt.Errorf("%s: bad selector: %w", where, err)
	}
	opts := []client.ListOption{client.InNamespace(namespace), client.MatchingLabelsSelector{Selector: sel}}

	podList := &unstructured.UnstructuredList{}
	podList.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
	if err := m.Client.List(ctx, podList, opts...); err != nil {
		return rd, fmt.Errorf("%s: list pods: %w", where, err)
	}
	pods := make([]corev1.Pod, 0, len(podList.Items))
	for i := range podList.Items {
		var p corev1.Pod
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(podList.Items[i].Object, &p); err != nil {
			return rd, fmt.Errorf("%s: pod %s: %w", where, podList.Items[i].GetName(), err)
		}
		pods = append(pods, p)
	}

	pmList := &unstructured.UnstructuredList{}
	pmList.SetGroupVersionKind(PodMetricsGVK)
	if err := m.Client.List(ctx, pmList, opts...); err != nil {
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) || apierrors.IsServiceUnavailable(err) {
			return rd, fmt.Errorf("%s: %w: the metrics.k8s.io API is not available (is metrics-server installed and its APIService available?): %v", where, ErrUnavailable, err)
		}
		return rd, fmt.Errorf("%s: list pods.metrics.k8s.io: %w: %v", where, ErrUnavailable, err)
	}
	usage := make(map[string]podUsage, len(pmList.Items))
	for _, it := range pmList.Items {
		u, err := parsePodMetrics(it.Object)
		if err != nil {
			return rd, fmt.Errorf("%s: PodMetrics %s: %w", where, it.GetName(), err)
		}
		usage[it.GetName()] = u
	}
	rd, err = utilization(pods, usage)
	if err != nil {
		return rd, fmt.Errorf("%s: %w", where, err)
	}
	return rd, nil
}

// podUsage is one PodMetrics object: summed container CPU usage and its sample.
type podUsage struct {
	milli     int64
	timestamp time.Time
	window    time.Duration
}

// parsePodMetrics reads containers[].usage.cpu (summed), timestamp and window.
func parsePodMetrics(obj map[string]any) (podUsage, error) {
	var u podUsage
	cs, found, err := unstructured.NestedSlice(obj, "containers")
	if err != nil {
		return u, fmt.Errorf("containers: %w", err)
	}
	if !found || len(cs) == 0 {
		return u, errors.New("no containers[] (the pod has no usage sample yet)")
	}
	for i, c := range cs {
		cm, ok := c.(map[string]any)
		if !ok {
			return u, fmt.Errorf("containers[%d] is not an object", i)
		}
		s, found, err := unstructured.NestedString(cm, "usage", "cpu")
		if err != nil || !found {
			return u, fmt.Errorf("containers[%d].usage.cpu missing or not a string", i)
		}
		q, err := resource.ParseQuantity(s)
		if err != nil {
			return u, fmt.Errorf("containers[%d].usage.cpu %q: %w", i, s, err)
		}
		if q.Sign() < 0 {
			return u, fmt.Errorf("containers[%d].usage.cpu %q is negative", i, s)
		}
		u.milli += q.MilliValue()
	}
	if ts, ok, _ := unstructured.NestedString(obj, "timestamp"); ok {
		if t, err := time.Parse(time.RFC3339, ts); err == nil {
			u.timestamp = t
		}
	}
	if ws, ok, _ := unstructured.NestedString(obj, "window"); ok {
		if d, err := time.ParseDuration(ws); err == nil {
			u.window = d
		}
	}
	return u, nil
}

// utilization is the HPA's arithmetic: sum of usage over sum of requests, both over the
// ready pods that have metrics. Example: pods a (request 500m, usage 450m) and b (request
// 500m, usage 250m) -> 700/1000 = 0.70.
func utilization(pods []corev1.Pod, usage map[string]podUsage) (CPUReading, error) {
	var rd CPUReading
	sort.Slice(pods, func(i, j int) bool { return pods[i].Name < pods[j].Name })
	total := 0
	for i := range pods {
		p := &pods[i]
		total++
		if !counted(p) {
			continue
		}
		rd.Pods++
		var req int64
		for _, c := range p.Spec.Containers {
			q, ok := c.Resources.Requests[corev1.ResourceCPU]
			if !ok || q.IsZero() {
				return rd, fmt.Errorf("%w: pod %s, container %s: set resources.requests.cpu (utilisation is measured against it)", ErrNoCPURequest, p.Name, c.Name)
			}
			req += q.MilliValue()
		}
		u, ok := usage[p.Name]
		if !ok {
			rd.Missing = append(rd.Missing, p.Name)
			continue
		}
		rd.UsageMilli += u.milli
		rd.RequestMilli += req
		if u.timestamp.After(rd.Newest) {
			rd.Newest = u.timestamp
		}
		rd.Window = max(rd.Window, u.window)
	}
	if rd.Pods == 0 {
		return rd, fmt.Errorf("%w: %d pods match, none running and ready", ErrNoPods, total)
	}
	if rd.RequestMilli == 0 {
		return rd, fmt.Errorf("%w: no PodMetrics yet for pods %s (metrics-server reports a pod about one scrape after it starts)", ErrNoData, strings.Join(rd.Missing, ", "))
	}
	rd.Utilization = float64(rd.UsageMilli) / float64(rd.RequestMilli)
	return rd, nil
}

// counted says whether a pod's CPU belongs in the utilisation: running, ready, not leaving.
func counted(p *corev1.Pod) bool {
	if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning {
		return false
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
