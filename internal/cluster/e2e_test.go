package cluster_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/cluster"
	"github.com/bascaler/bascaler/internal/controller"
	"github.com/bascaler/bascaler/internal/promserver"
	"github.com/bascaler/bascaler/internal/scale"
)

// End-to-end scenarios on the one-machine cluster: the real controller (a manager running
// the Reconciler) scales real Deployments and StatefulSets; kube-controller-manager turns
// replicas into ReplicaSets and pods, kube-scheduler places them on KWOK's fake nodes, KWOK
// makes them Ready after readyDelay. The workload's rate and latency come from a real
// Prometheus scraping a gauge exporter served by the test (the custom metrics preset).
// Each scenario has its own namespace and node pool (a nodeSelector), so they run side by side.

const (
	readyDelay = 3 * time.Second
	interval   = 2 * time.Second
)

var (
	scheme = runtime.NewScheme()

	once    sync.Once
	cl      *cluster.Cluster
	prom    *promserver.Server
	gauges  = &exporter{values: map[string][2]float64{}}
	stopMgr context.CancelFunc
	mgrDone = make(chan struct{})
	initErr error
)

func init() {
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
}

func TestMain(m *testing.M) {
	code := m.Run()
	if stopMgr != nil {
		stopMgr()
		<-mgrDone
	}
	if prom != nil {
		_ = prom.Stop()
	}
	if cl != nil {
		if err := cl.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop cluster:", err)
		}
	}
	gauges.stop()
	os.Exit(code)
}

// requireOrSkip fails under CI=true and skips elsewhere.
func requireOrSkip(t *testing.T, ok bool, msg string) {
	t.Helper()
	if ok {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// start brings up the cluster, Prometheus and the controller once for the package.
func start(t *testing.T) client.Client {
	t.Helper()
	assets := os.Getenv("KUBEBUILDER_ASSETS")
	missing := cluster.Missing(assets)
	requireOrSkip(t, len(missing) == 0, fmt.Sprintf("end-to-end test needs %s in $KUBEBUILDER_ASSETS (%q): run `hack/tools/build.sh` (first build of the cluster binaries about 20 min on 2 cores) and export KUBEBUILDER_ASSETS=$(hack/tools/build.sh)",
		strings.Join(missing, ", "), assets))
	_, err := promserver.Find()
	requireOrSkip(t, err == nil, fmt.Sprintf("end-to-end test needs Prometheus: %v", err))
	once.Do(func() { initErr = startAll() })
	if initErr != nil {
		t.Fatal(initErr)
	}
	return cl.Client
}

func startAll() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var err error
	cl, err = cluster.Start(ctx, cluster.Options{CRDDirs: []string{filepath.Join("..", "..", "deploy", "crd")},
		PodReadyDelay: readyDelay, Scheme: scheme,
		Controllers:                []string{cluster.ControllerDeployment, cluster.ControllerReplicaSet, cluster.ControllerStatefulSet, cluster.ControllerHPA},
		ExtraControllerManagerArgs: []string{"--horizontal-pod-autoscaler-sync-period=2s"}})
	if err != nil {
		return err
	}
	if err := gauges.start(); err != nil {
		return err
	}
	if prom, err = promserver.Start(ctx, promserver.Options{ScrapeInterval: 500 * time.Millisecond,
		Jobs: map[string][]string{"e2e": {gauges.addr}}}); err != nil {
		return err
	}
	mgr, err := ctrl.NewManager(cl.Config, ctrl.Options{Scheme: scheme, Metrics: metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0", Controller: config.Controller{SkipNameValidation: ptr.To(true)}})
	if err != nil {
		return err
	}
	r := &controller.Reconciler{Client: mgr.GetClient(), Scaler: scale.Kubernetes{Client: mgr.GetClient()},
		Events: mgr.GetEventRecorder("bascaler-controller"), Stats: controller.NewStats(prometheus.NewRegistry())}
	if err := r.SetupWithManager(mgr); err != nil {
		return err
	}
	mctx, mcancel := context.WithCancel(context.Background())
	stopMgr = mcancel
	go func() {
		defer close(mgrDone)
		if err := mgr.Start(mctx); err != nil {
			fmt.Fprintln(os.Stderr, "manager:", err)
		}
	}()
	return nil
}

// exporter serves one rate and one latency gauge per workload for Prometheus to scrape.
type exporter struct {
	mu     sync.Mutex
	addr   string
	srv    *http.Server
	values map[string][2]float64 // "ns/name" -> rate req/s, latency ms
}

func (e *exporter) start() error {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	e.addr = l.Addr().String()
	e.srv = &http.Server{Handler: http.HandlerFunc(e.serve), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = e.srv.Serve(l) }()
	return nil
}

func (e *exporter) stop() {
	if e.srv != nil {
		_ = e.srv.Close()
	}
}

func (e *exporter) set(ns, name string, rate, latencyMS float64) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.values[ns+"/"+name] = [2]float64{rate, latencyMS}
}

func (e *exporter) serve(w http.ResponseWriter, _ *http.Request) {
	e.mu.Lock()
	defer e.mu.Unlock()
	keys := make([]string, 0, len(e.values))
	for k := range e.values {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	b.WriteString("# TYPE e2e_rate gauge\n# TYPE e2e_latency_ms gauge\n")
	for _, k := range keys {
		ns, name, _ := strings.Cut(k, "/")
		v := e.values[k]
		fmt.Fprintf(&b, "e2e_rate{namespace=%q,target=%q} %g\ne2e_latency_ms{namespace=%q,target=%q} %g\n", ns, name, v[0], ns, name, v[1])
	}
	_, _ = w.Write([]byte(b.String()))
}

// autoscaler targets kind/name with the given policy, reading the exporter's gauges.
func autoscaler(ns, name, kind, policy string, maxReplicas int32) *v1alpha1.BurstAwareAutoscaler {
	q := func(m string) string {
		return fmt.Sprintf(`max(max_over_time(%s{namespace="$namespace",target="$target"}[$interval]))`, m)
	}
	return &v1alpha1.BurstAwareAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1alpha1.BurstAwareAutoscalerSpec{
			ScaleTargetRef: v1alpha1.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: kind, Name: name},
			MinReplicas:    ptr.To[int32](1), MaxReplicas: maxReplicas,
			SLO:      v1alpha1.SLO{Metric: "mean", Target: "16ms"},
			Interval: &metav1.Duration{Duration: interval},
			Metrics: v1alpha1.MetricsSpec{Prometheus: v1alpha1.PrometheusSpec{Address: prom.URL}, Preset: v1alpha1.PresetCustom,
				Custom: &v1alpha1.CustomQueries{Rate: q("e2e_rate"), Latency: q("e2e_latency_ms")},
				CPU:    &v1alpha1.CPUSpec{Source: v1alpha1.CPUSourceNone}},
			Policy: v1alpha1.PolicySpec{Name: policy, HistoryIntervals: 10},
			Mode:   v1alpha1.ModeAuto,
		},
	}
}

// thresholdNoScaleDown turns off the threshold policy's CPU rule (the gauges have no CPU).
func thresholdNoScaleDown(b *v1alpha1.BurstAwareAutoscaler) *v1alpha1.BurstAwareAutoscaler {
	b.Spec.Policy.Params = map[string]string{"cpu-low": "0"}
	return b
}

// podTemplate places pods on the pool's nodes only (which take no other pods: they are
// tainted), with a CPU request.
func podTemplate(app, pool string) corev1.PodTemplateSpec {
	return corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": app}},
		Spec: corev1.PodSpec{NodeSelector: map[string]string{"pool": pool},
			Tolerations: []corev1.Toleration{{Key: "pool", Operator: corev1.TolerationOpEqual, Value: pool, Effect: corev1.TaintEffectNoSchedule}},
			Containers: []corev1.Container{{Name: "app", Image: "example/app",
				Resources: corev1.ResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")}}}}}}
}

func setup(t *testing.T, c client.Client, ns string, nodes int, podsPerNode int) {
	t.Helper()
	ctx := context.Background()
	if err := c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < nodes; i++ {
		addNode(t, ns, i, podsPerNode)
	}
}

// addNode adds node i of the pool named after the namespace.
func addNode(t *testing.T, pool string, i, pods int) {
	t.Helper()
	if err := cl.AddNode(context.Background(), cluster.Node{Name: fmt.Sprintf("%s-%d", pool, i), CPU: "8", Pods: pods,
		Labels: map[string]string{"pool": pool}, Taints: []corev1.Taint{{Key: "pool", Value: pool, Effect: corev1.TaintEffectNoSchedule}}}); err != nil {
		t.Fatal(err)
	}
}

func create(t *testing.T, c client.Client, objs ...client.Object) {
	t.Helper()
	for _, o := range objs {
		if err := c.Create(context.Background(), o); err != nil {
			t.Fatalf("create %T %s: %v", o, o.GetName(), err)
		}
	}
}

func getBAA(t *testing.T, c client.Client, ns, name string) *v1alpha1.BurstAwareAutoscaler {
	t.Helper()
	b := &v1alpha1.BurstAwareAutoscaler{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, b); err != nil {
		t.Fatal(err)
	}
	return b
}

// podsOf lists the app's pods that are not being deleted.
func podsOf(t *testing.T, c client.Client, ns, app string) []corev1.Pod {
	t.Helper()
	var list corev1.PodList
	if err := c.List(context.Background(), &list, client.InNamespace(ns), client.MatchingLabels{"app": app}); err != nil {
		t.Fatal(err)
	}
	var out []corev1.Pod
	for _, p := range list.Items {
		if p.DeletionTimestamp == nil {
			out = append(out, p)
		}
	}
	return out
}

func podCond(p *corev1.Pod, typ corev1.PodConditionType) *corev1.PodCondition {
	for i := range p.Status.Conditions {
		if p.Status.Conditions[i].Type == typ {
			return &p.Status.Conditions[i]
		}
	}
	return nil
}

func readyPods(pods []corev1.Pod) int {
	n := 0
	for i := range pods {
		if c := podCond(&pods[i], corev1.PodReady); c != nil && c.Status == corev1.ConditionTrue {
			n++
		}
	}
	return n
}

// eventually polls cond every 250 ms until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	last := ""
	for {
		ok, msg := cond()
		if ok {
			return
		}
		last = msg
		if cl != nil { // a test with a cluster of its own checks it itself
			if err := cl.Err(); err != nil {
				t.Fatal(err)
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v (last: %s)", what, timeout, last)
		}
		time.Sleep(250 * time.Millisecond)
	}
}

// checkReadyAfterDelay checks that no pod became Ready sooner than the start-up delay after
// it was placed (condition times have one-second resolution).
func checkReadyAfterDelay(t *testing.T, pods []corev1.Pod) {
	t.Helper()
	for i := range pods {
		sched, ready := podCond(&pods[i], corev1.PodScheduled), podCond(&pods[i], corev1.PodReady)
		if sched == nil || ready == nil {
			t.Errorf("pod %s lacks PodScheduled or Ready: %+v", pods[i].Name, pods[i].Status.Conditions)
			continue
		}
		if d := ready.LastTransitionTime.Sub(sched.LastTransitionTime.Time); d < readyDelay-time.Second {
			t.Errorf("pod %s Ready %v after it was scheduled, want at least the start-up delay %v", pods[i].Name, d, readyDelay)
		}
	}
}

func TestDeploymentScalesToReadyPods(t *testing.T) {
	t.Parallel()
	c := start(t)
	ns := "e2e-deploy"
	setup(t, c, ns, 1, 20)
	gauges.set(ns, "shop", 50, 5)
	create(t, c, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Template: podTemplate("shop", ns)}},
		autoscaler(ns, "shop", "Deployment", "static:3", 10))
	eventually(t, 60*time.Second, "3 Ready pods and the status saying so", func() (bool, string) {
		pods := podsOf(t, c, ns, "shop")
		b := getBAA(t, c, ns, "shop")
		return len(pods) == 3 && readyPods(pods) == 3 && b.Status.CurrentReplicas == 3 && b.Status.ReadyReplicas == 3,
			fmt.Sprintf("%d pods, %d ready; status current %d ready %d; %s", len(pods), readyPods(pods), b.Status.CurrentReplicas, b.Status.ReadyReplicas, describe(b, pods))
	})
	var rs appsv1.ReplicaSetList
	if err := c.List(context.Background(), &rs, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(rs.Items) != 1 || *rs.Items[0].Spec.Replicas != 3 || rs.Items[0].Status.ReadyReplicas != 3 {
		t.Fatalf("want one ReplicaSet with 3 ready of 3, got %d: %+v", len(rs.Items), rs.Items)
	}
	checkReadyAfterDelay(t, podsOf(t, c, ns, "shop"))
	d := &appsv1.Deployment{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "shop"}, d); err != nil {
		t.Fatal(err)
	}
	if d.Status.ReadyReplicas != 3 || d.Status.AvailableReplicas != 3 {
		t.Errorf("Deployment status %+v, want 3 ready and available", d.Status)
	}
	if cond := meta.FindStatusCondition(getBAA(t, c, ns, "shop").Status.Conditions, v1alpha1.ConditionPodsSchedulable); cond == nil || cond.Status != metav1.ConditionTrue {
		t.Errorf("PodsSchedulable %+v, want True", cond)
	}
}

func TestStatefulSetScalesPodByPod(t *testing.T) {
	t.Parallel()
	c := start(t)
	ns := "e2e-sts"
	setup(t, c, ns, 1, 20)
	gauges.set(ns, "db", 50, 5)
	create(t, c, &appsv1.StatefulSet{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "db"},
		Spec: appsv1.StatefulSetSpec{Replicas: ptr.To[int32](1), ServiceName: "db", Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "db"}},
			Template: podTemplate("db", ns)}},
		autoscaler(ns, "db", "StatefulSet", "static:3", 10))
	eventually(t, 90*time.Second, "db-0..db-2 Ready and the status saying so", func() (bool, string) {
		pods := podsOf(t, c, ns, "db")
		b := getBAA(t, c, ns, "db")
		return len(pods) == 3 && readyPods(pods) == 3 && b.Status.CurrentReplicas == 3 && b.Status.ReadyReplicas == 3,
			fmt.Sprintf("%d pods, %d ready; status current %d ready %d", len(pods), readyPods(pods), b.Status.CurrentReplicas, b.Status.ReadyReplicas)
	})
	pods := podsOf(t, c, ns, "db")
	checkReadyAfterDelay(t, pods)
	// OrderedReady: db-i is created only once db-(i-1) is Ready.
	byName := map[string]*corev1.Pod{}
	for i := range pods {
		byName[pods[i].Name] = &pods[i]
	}
	for i := 1; i < 3; i++ {
		prev, cur := byName[fmt.Sprintf("db-%d", i-1)], byName[fmt.Sprintf("db-%d", i)]
		if prev == nil || cur == nil {
			t.Fatalf("pods %v, want db-0, db-1, db-2", pods)
		}
		if r := podCond(prev, corev1.PodReady); cur.CreationTimestamp.Before(&r.LastTransitionTime) {
			t.Errorf("%s created at %v, before %s was Ready at %v", cur.Name, cur.CreationTimestamp, prev.Name, r.LastTransitionTime)
		}
	}
}

// The threshold policy sees latency above the SLO in every interval and adds a pod each
// time; the pool has room for 3 pods until a second node joins.
func TestNodeCapacityRunsOutAndRecovers(t *testing.T) {
	t.Parallel()
	c := start(t)
	ns := "e2e-capacity"
	setup(t, c, ns, 1, 3)
	gauges.set(ns, "shop", 200, 100)
	create(t, c, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Template: podTemplate("shop", ns)}},
		thresholdNoScaleDown(autoscaler(ns, "shop", "Deployment", "threshold", 6)))
	eventually(t, 90*time.Second, "an unschedulable pod, a PodsSchedulable=False condition and an event", func() (bool, string) {
		b := getBAA(t, c, ns, "shop")
		cond := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionPodsSchedulable)
		evs := eventsFor(t, c, ns, "shop", v1alpha1.ReasonPodsUnschedulable)
		return cond != nil && cond.Status == metav1.ConditionFalse && cond.Reason == v1alpha1.ReasonPodsUnschedulable && len(evs) > 0,
			fmt.Sprintf("condition %+v, %d events, %d pods", cond, len(evs), len(podsOf(t, c, ns, "shop")))
	})
	// The bound: no replicas are added while pods wait, so the count stays where the
	// scheduler's verdict found it (3 placed + what was asked before the verdict).
	held := replicas(t, c, ns, "shop")
	t.Logf("unschedulability noticed at %d replicas for 3 slots", held)
	if held > 5 {
		t.Fatalf("%d replicas for 3 slots when unschedulability was noticed", held)
	}
	for i := 0; i < 4; i++ {
		time.Sleep(interval)
		if n := replicas(t, c, ns, "shop"); n != held {
			t.Fatalf("replicas moved from %d to %d while pods were unschedulable", held, n)
		}
	}
	b := getBAA(t, c, ns, "shop")
	if b.Status.ReadyReplicas != 3 {
		t.Errorf("status.readyReplicas %d, want the 3 placed pods", b.Status.ReadyReplicas)
	}
	// A second node: the pending pods start, and the policy goes on to its maximum.
	addNode(t, ns, 1, 3)
	eventually(t, 60*time.Second, "6 Ready pods and PodsSchedulable=True", func() (bool, string) {
		pods := podsOf(t, c, ns, "shop")
		b := getBAA(t, c, ns, "shop")
		cond := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionPodsSchedulable)
		return readyPods(pods) == 6 && b.Status.ReadyReplicas == 6 && cond != nil && cond.Status == metav1.ConditionTrue,
			fmt.Sprintf("%d pods, %d ready, status ready %d, condition %+v", len(pods), readyPods(pods), b.Status.ReadyReplicas, cond)
	})
}

func TestNotReadyNodePodsAreNotServing(t *testing.T) {
	t.Parallel()
	c := start(t)
	ns := "e2e-notready"
	setup(t, c, ns, 2, 2)
	gauges.set(ns, "shop", 50, 5)
	create(t, c, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "shop"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](1), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "shop"}},
			Template: podTemplate("shop", ns)}},
		autoscaler(ns, "shop", "Deployment", "static:4", 10))
	eventually(t, 60*time.Second, "4 Ready pods on 2 nodes", func() (bool, string) {
		b := getBAA(t, c, ns, "shop")
		return readyPods(podsOf(t, c, ns, "shop")) == 4 && b.Status.ReadyReplicas == 4, fmt.Sprintf("status ready %d", b.Status.ReadyReplicas)
	})
	down := ns + "-1"
	onDown := 0
	for _, p := range podsOf(t, c, ns, "shop") {
		if p.Spec.NodeName == down {
			onDown++
		}
	}
	if onDown != 2 {
		t.Fatalf("%d pods on %s, want 2 (2 slots per node)", onDown, down)
	}
	if err := cl.SetNodeReady(context.Background(), down, false); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "status.readyReplicas drops to the 2 pods on the Ready node", func() (bool, string) {
		b := getBAA(t, c, ns, "shop")
		return b.Status.ReadyReplicas == 2 && b.Status.CurrentReplicas == 4, fmt.Sprintf("status current %d ready %d", b.Status.CurrentReplicas, b.Status.ReadyReplicas)
	})
	// Nobody marks the pods themselves NotReady here (no node lifecycle controller): the
	// Deployment still counts 4 ready, which is exactly what the controller must not trust.
	d := &appsv1.Deployment{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "shop"}, d); err != nil {
		t.Fatal(err)
	}
	t.Logf("Deployment reports %d ready; the autoscaler counts %d serving", d.Status.ReadyReplicas, getBAA(t, c, ns, "shop").Status.ReadyReplicas)
	if err := cl.SetNodeReady(context.Background(), down, true); err != nil {
		t.Fatal(err)
	}
	eventually(t, 30*time.Second, "all 4 serving again", func() (bool, string) {
		b := getBAA(t, c, ns, "shop")
		return b.Status.ReadyReplicas == 4, fmt.Sprintf("status ready %d", b.Status.ReadyReplicas)
	})
}

func replicas(t *testing.T, c client.Client, ns, name string) int32 {
	t.Helper()
	d := &appsv1.Deployment{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: name}, d); err != nil {
		t.Fatal(err)
	}
	return *d.Spec.Replicas
}

func eventsFor(t *testing.T, c client.Client, ns, name, reason string) []eventsv1.Event {
	t.Helper()
	var list eventsv1.EventList
	if err := c.List(context.Background(), &list, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	var out []eventsv1.Event
	for _, e := range list.Items {
		if e.Regarding.Name == name && e.Reason == reason {
			out = append(out, e)
		}
	}
	return out
}

// describe summarises an autoscaler's conditions and its pods for failure messages.
func describe(b *v1alpha1.BurstAwareAutoscaler, pods []corev1.Pod) string {
	var sb strings.Builder
	for _, c := range b.Status.Conditions {
		fmt.Fprintf(&sb, "%s=%s(%s: %s) ", c.Type, c.Status, c.Reason, c.Message)
	}
	for _, p := range pods {
		fmt.Fprintf(&sb, "| pod %s node %q phase %s", p.Name, p.Spec.NodeName, p.Status.Phase)
		for _, c := range p.Status.Conditions {
			fmt.Fprintf(&sb, " %s=%s(%s)", c.Type, c.Status, c.Message)
		}
	}
	return sb.String()
}

// The real HPA controller runs in kube-controller-manager: it reads its target's scale and
// reports, in its own conditions, that it has no CPU metrics for the pods (nothing serves
// PodMetrics for them; TestRealHPAFirstDecision feeds some), and leaves replicas alone.
func TestRealHPAControllerRuns(t *testing.T) {
	t.Parallel()
	c := start(t)
	ns := "e2e-hpa"
	setup(t, c, ns, 1, 10)
	create(t, c, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "web"}},
			Template: podTemplate("web", ns)}},
		&autoscalingv2.HorizontalPodAutoscaler{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
			Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
				ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
				MinReplicas:    ptr.To[int32](1), MaxReplicas: 5,
				Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
					Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To[int32](70)}}}}}})
	eventually(t, 60*time.Second, "the HPA's conditions from kube-controller-manager", func() (bool, string) {
		h := &autoscalingv2.HorizontalPodAutoscaler{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: ns, Name: "web"}, h); err != nil {
			return false, err.Error()
		}
		var able, active *autoscalingv2.HorizontalPodAutoscalerCondition
		for i := range h.Status.Conditions {
			switch h.Status.Conditions[i].Type {
			case autoscalingv2.AbleToScale:
				able = &h.Status.Conditions[i]
			case autoscalingv2.ScalingActive:
				active = &h.Status.Conditions[i]
			}
		}
		return able != nil && able.Status == corev1.ConditionTrue && active != nil && active.Status == corev1.ConditionFalse &&
			active.Reason == "FailedGetResourceMetric", fmt.Sprintf("conditions %+v", h.Status.Conditions)
	})
	if n := replicas(t, c, ns, "web"); n != 2 {
		t.Errorf("the HPA changed replicas to %d without metrics", n)
	}
}
