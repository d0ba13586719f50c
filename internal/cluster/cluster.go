package cluster

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// Binaries are the executables a cluster runs, looked up in Options.Assets.
var Binaries = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok"}

// Controller names of kube-controller-manager's --controllers flag.
const (
	ControllerDeployment  = "deployment-controller"
	ControllerReplicaSet  = "replicaset-controller"
	ControllerStatefulSet = "statefulset-controller"
	ControllerHPA         = "horizontal-pod-autoscaler-controller"
)

// NodeLabel marks the fake nodes KWOK manages; a node without it is left alone (its status
// is then whatever the caller writes, e.g. NotReady).
const NodeLabel = "bascaler.io/kwok-node"

// Options configure a cluster.
type Options struct {
	// Assets is the folder with the binaries (hack/tools/build.sh prints it); empty means
	// $KUBEBUILDER_ASSETS.
	Assets string
	// CRDDirs are folders of CRDs installed before Start returns.
	CRDDirs []string
	// PodReadyDelay is how long after a pod lands on a node KWOK marks it Running and
	// Ready: the start-up delay. Zero means 1 s.
	PodReadyDelay time.Duration
	// Controllers run in kube-controller-manager; empty means the Deployment, ReplicaSet and
	// StatefulSet controllers.
	Controllers []string
	// ExtraControllerManagerArgs are appended to kube-controller-manager's flags (e.g. the
	// HPA's sync period).
	ExtraControllerManagerArgs []string
	// Scheme is the client's scheme; nil means client-go's.
	Scheme *runtime.Scheme
	// ReadyTimeout bounds the wait for each component; zero means 60 s.
	ReadyTimeout time.Duration
}

// Cluster is a running one-machine cluster.
type Cluster struct {
	// Config reaches the API server as a cluster administrator.
	Config *rest.Config
	// Client is a client with Options.Scheme (uncached).
	Client client.Client
	// Kubeconfig is the path of an administrator kubeconfig (for kubectl and the components).
	Kubeconfig string
	// Dir holds the kubeconfig, the KWOK stages and every component's log.
	Dir string

	env   *envtest.Environment
	procs []*process
}

// Missing returns the binaries of Binaries that assets lacks.
func Missing(assets string) []string {
	var out []string
	for _, b := range Binaries {
		if st, err := os.Stat(filepath.Join(assets, b)); assets == "" || err != nil || st.IsDir() {
			out = append(out, b)
		}
	}
	return out
}

// Start starts etcd and kube-apiserver (envtest), then kube-controller-manager,
// kube-scheduler and KWOK, and returns once each is serving. The cluster has no nodes: add
// them with AddNode. Stop it with Stop, also after an error.
func Start(ctx context.Context, o Options) (c *Cluster, err error) {
	if o.Assets == "" {
		o.Assets = os.Getenv("KUBEBUILDER_ASSETS")
	}
	if m := Missing(o.Assets); len(m) > 0 {
		return nil, fmt.Errorf("cluster: %s missing in assets folder %q (run hack/tools/build.sh)", strings.Join(m, ", "), o.Assets)
	}
	if o.PodReadyDelay <= 0 {
		o.PodReadyDelay = time.Second
	}
	if len(o.Controllers) == 0 {
		o.Controllers = []string{ControllerDeployment, ControllerReplicaSet, ControllerStatefulSet}
	}
	if o.Scheme == nil {
		o.Scheme = clientgoscheme.Scheme
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 60 * time.Second
	}
	dir, err := os.MkdirTemp("", "bascaler-cluster-")
	if err != nil {
		return nil, fmt.Errorf("cluster: %w", err)
	}
	c = &Cluster{Dir: dir}
	defer func() {
		if err != nil {
			_ = c.Stop()
			c = nil
		}
	}()
	c.env = &envtest.Environment{CRDDirectoryPaths: o.CRDDirs, ErrorIfCRDPathMissing: len(o.CRDDirs) > 0, BinaryAssetsDirectory: o.Assets}
	// Aggregated APIs (an APIService backed by a server on loopback, e.g. bascaler's
	// external metrics) work as in a kubeadm cluster.
	if err := EnableAggregation(c.env, dir); err != nil {
		return c, err
	}
	if c.Config, err = c.env.Start(); err != nil {
		c.env = nil
		return c, fmt.Errorf("cluster: start etcd and kube-apiserver: %w", err)
	}
	admin, err := c.env.AddUser(envtest.User{Name: "bascaler-admin", Groups: []string{"system:masters"}}, nil)
	if err != nil {
		return c, fmt.Errorf("cluster: add the admin user: %w", err)
	}
	kc, err := admin.KubeConfig()
	if err != nil {
		return c, fmt.Errorf("cluster: admin kubeconfig: %w", err)
	}
	c.Kubeconfig = filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kc, 0o600); err != nil {
		return c, fmt.Errorf("cluster: %w", err)
	}
	if c.Client, err = client.New(c.Config, client.Options{Scheme: o.Scheme}); err != nil {
		return c, fmt.Errorf("cluster: client: %w", err)
	}

	kcmPort, err := freePort()
	if err != nil {
		return c, err
	}
	kcmArgs := append([]string{"--kubeconfig=" + c.Kubeconfig, "--leader-elect=false",
		"--controllers=" + strings.Join(o.Controllers, ","), "--use-service-account-credentials=false",
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(kcmPort),
		"--authentication-kubeconfig=" + c.Kubeconfig, "--authorization-kubeconfig=" + c.Kubeconfig},
		o.ExtraControllerManagerArgs...)
	if err := c.run(ctx, o, "kube-controller-manager", kcmArgs, kcmPort); err != nil {
		return c, err
	}
	schedPort, err := freePort()
	if err != nil {
		return c, err
	}
	if err := c.run(ctx, o, "kube-scheduler", []string{"--kubeconfig=" + c.Kubeconfig, "--leader-elect=false", "-v=2",
		"--bind-address=127.0.0.1", "--secure-port=" + strconv.Itoa(schedPort),
		"--authentication-kubeconfig=" + c.Kubeconfig, "--authorization-kubeconfig=" + c.Kubeconfig}, schedPort); err != nil {
		return c, err
	}
	stages := filepath.Join(dir, "kwok-stages.yaml")
	if err := os.WriteFile(stages, []byte(kwokStages(o.PodReadyDelay)), 0o600); err != nil {
		return c, fmt.Errorf("cluster: %w", err)
	}
	kwokPort, err := freePort()
	if err != nil {
		return c, err
	}
	if err := c.run(ctx, o, "kwok", []string{"--kubeconfig=" + c.Kubeconfig, "--config=" + stages,
		"--manage-nodes-with-label-selector=" + NodeLabel, "--cidr=10.244.0.1/16", "--node-ip=127.0.0.1",
		"--server-address=127.0.0.1:" + strconv.Itoa(kwokPort)}, 0); err != nil {
		return c, err
	}
	return c, nil
}

// run starts a component and, for port > 0, waits for its /healthz over HTTPS.
func (c *Cluster) run(ctx context.Context, o Options, name string, args []string, port int) error {
	p, err := startProcess(filepath.Join(o.Assets, name), args, filepath.Join(c.Dir, name+".log"))
	if err != nil {
		return fmt.Errorf("cluster: start %s: %w", name, err)
	}
	c.procs = append(c.procs, p)
	if port == 0 {
		return nil
	}
	url := fmt.Sprintf("https://127.0.0.1:%d/healthz", port)
	hc := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{
		// The components serve /healthz with a self-signed certificate on loopback.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback health check only
	}}
	deadline := time.Now().Add(o.ReadyTimeout)
	for {
		if err := p.exited(); err != nil {
			return fmt.Errorf("cluster: %s exited: %v; log %s:\n%s", name, err, p.logPath, p.tail(2000))
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if resp, err := hc.Do(req); err == nil {
			_ = resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("cluster: %s not healthy at %s within %v; log %s:\n%s", name, url, o.ReadyTimeout, p.logPath, p.tail(2000))
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// Err reports a component that exited while the cluster runs.
func (c *Cluster) Err() error {
	for _, p := range c.procs {
		if err := p.exited(); err != nil {
			return fmt.Errorf("cluster: %s exited: %v; log %s:\n%s", filepath.Base(p.cmd.Path), err, p.logPath, p.tail(2000))
		}
	}
	return nil
}

// Stop stops the components in reverse order and removes Dir. It is safe on a partly
// started cluster.
func (c *Cluster) Stop() error {
	var errs []error
	for i := len(c.procs) - 1; i >= 0; i-- {
		errs = append(errs, c.procs[i].stop(10*time.Second))
	}
	c.procs = nil
	if c.env != nil {
		errs = append(errs, c.env.Stop())
		c.env = nil
	}
	if c.Dir != "" && os.Getenv("BASCALER_KEEP_CLUSTER_LOGS") == "" {
		errs = append(errs, os.RemoveAll(c.Dir))
	}
	return errors.Join(errs...)
}

// Node describes a fake node.
type Node struct {
	Name string
	// CPU and Pods are the node's allocatable CPU and pod count (e.g. "4", 110).
	CPU  string
	Pods int
	// Labels are added to the node's own (e.g. a pool that pods select).
	Labels map[string]string
	// Taints keep pods that do not tolerate them away (e.g. other tests' pods).
	Taints []corev1.Taint
}

// AddNode creates a fake node that KWOK manages and waits until it is Ready.
func (c *Cluster) AddNode(ctx context.Context, n Node) error {
	alloc := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse(n.CPU),
		corev1.ResourceMemory: resource.MustParse("64Gi"),
		corev1.ResourcePods:   *resource.NewQuantity(int64(n.Pods), resource.DecimalSI),
	}
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name,
		Labels:      map[string]string{NodeLabel: "true", corev1.LabelHostname: n.Name, "type": "kwok"},
		Annotations: map[string]string{"node.alpha.kubernetes.io/ttl": "0", "kwok.x-k8s.io/node": "fake"}}}
	for k, v := range n.Labels {
		node.Labels[k] = v
	}
	node.Spec.Taints = n.Taints
	// A node's status is kept on create (kubelets register that way), so the capacity is
	// there before KWOK or the scheduler first see the node.
	node.Status.Allocatable, node.Status.Capacity = alloc, alloc
	if err := c.Client.Create(ctx, node); err != nil {
		return fmt.Errorf("cluster: create node %s: %w", n.Name, err)
	}
	if err := c.waitNode(ctx, n.Name, corev1.ConditionTrue); err != nil {
		return err
	}
	return c.untaintReady(ctx, n.Name)
}

// untaintReady removes the not-ready taint that the API server's TaintNodesByCondition
// admission puts on every new node; the node lifecycle controller, which would remove it
// once the node is Ready, does not run here.
func (c *Cluster) untaintReady(ctx context.Context, name string) error {
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node := &corev1.Node{}
		if err := c.Client.Get(ctx, client.ObjectKey{Name: name}, node); err != nil {
			return err
		}
		var taints []corev1.Taint
		for _, t := range node.Spec.Taints {
			if t.Key != corev1.TaintNodeNotReady {
				taints = append(taints, t)
			}
		}
		if len(taints) == len(node.Spec.Taints) {
			return nil
		}
		node.Spec.Taints = taints
		return c.Client.Update(ctx, node)
	})
	if err != nil {
		return fmt.Errorf("cluster: remove the not-ready taint of node %s: %w", name, err)
	}
	return nil
}

// SetNodeReady takes a node out of KWOK's hands and writes its Ready condition, as a node
// lifecycle controller would see a kubelet that stopped reporting; with ready false it
// also taints the node so the scheduler places nothing new there. ready true gives the node
// back to KWOK.
func (c *Cluster) SetNodeReady(ctx context.Context, name string, ready bool) error {
	taint := corev1.Taint{Key: corev1.TaintNodeNotReady, Effect: corev1.TaintEffectNoSchedule}
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node := &corev1.Node{}
		if err := c.Client.Get(ctx, client.ObjectKey{Name: name}, node); err != nil {
			return err
		}
		var taints []corev1.Taint
		for _, t := range node.Spec.Taints {
			if t.Key != taint.Key {
				taints = append(taints, t)
			}
		}
		// Tainted either way: on the way back, the taint goes once KWOK reports Ready.
		node.Spec.Taints = append(taints, taint)
		if ready {
			node.Labels[NodeLabel] = "true"
		} else {
			delete(node.Labels, NodeLabel)
		}
		return c.Client.Update(ctx, node)
	})
	if err != nil {
		return fmt.Errorf("cluster: relabel node %s: %w", name, err)
	}
	status := corev1.ConditionTrue
	if !ready {
		status = corev1.ConditionFalse
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			node := &corev1.Node{}
			if err := c.Client.Get(ctx, client.ObjectKey{Name: name}, node); err != nil {
				return err
			}
			now := metav1.Now()
			node.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: status, Reason: "KubeletStopped",
				Message: "the test stopped this node's kubelet", LastHeartbeatTime: now, LastTransitionTime: now}}
			return c.Client.Status().Update(ctx, node)
		})
		if err != nil {
			return fmt.Errorf("cluster: mark node %s NotReady: %w", name, err)
		}
		return nil
	}
	// KWOK sets Ready only from a not-Ready state, which the node is in now.
	if err := c.waitNode(ctx, name, status); err != nil {
		return err
	}
	return c.untaintReady(ctx, name)
}

func (c *Cluster) waitNode(ctx context.Context, name string, want corev1.ConditionStatus) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		node := &corev1.Node{}
		if err := c.Client.Get(ctx, client.ObjectKey{Name: name}, node); err == nil {
			for _, cond := range node.Status.Conditions {
				if cond.Type == corev1.NodeReady && cond.Status == want {
					return nil
				}
			}
		}
		if err := c.Err(); err != nil {
			return err
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("cluster: node %s not Ready=%s within 30 s (is kwok running? log in %s)", name, want, c.Dir)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// freePort returns a loopback port that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("cluster: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
