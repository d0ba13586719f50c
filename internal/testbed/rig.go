package testbed

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/bascaler/bascaler/internal/testbed/lb"
	"github.com/bascaler/bascaler/internal/testbed/replica"
)

// Namespace and workload name under which replicas are labelled in Prometheus, so that the
// http metric preset's default matchers (namespace="testbed", pod=~"fft-.*") select them,
// as they would select a Deployment's pods.
const (
	promNamespace = "testbed"
	promTarget    = "fft"
)

// rig is the running machinery: replicas, load balancer and Prometheus.
type rig struct {
	cfg     *Config
	dir     string
	mgr     *replica.Manager
	scaler  *replica.Scaler
	bal     *lb.Balancer
	lbSrv   *lb.Server
	prom    *promServer
	sdPath  string
	mu      sync.Mutex // serialises sync
	limiter string
	share   float64 // effective cores per replica
}

// startRig brings up everything but the replicas. On error, everything started is stopped.
func startRig(ctx context.Context, cfg *Config) (r *rig, err error) {
	promBin, err := findPrometheus(cfg.Prometheus)
	if err != nil {
		return nil, err
	}
	replica.SweepStale(os.TempDir(), "bascaler-testbed-")
	dir, err := os.MkdirTemp("", fmt.Sprintf("bascaler-testbed-%d-", os.Getpid()))
	if err != nil {
		return nil, fmt.Errorf("testbed scratch folder: %w", err)
	}
	r = &rig{cfg: cfg, dir: dir, sdPath: filepath.Join(dir, "targets.json")}
	defer func() {
		if err != nil {
			r.close()
		}
	}()

	lim, limErr := replica.NewCPULimiter(cfg.CPUShare, cfg.CFSPeriod)
	r.limiter, r.share = lim.Kind(), cfg.CPUShare
	if limErr != nil {
		// Fallback: GOMAXPROCS=1 per replica; replicas share the machine's cores, so one
		// replica's capacity is a core's, and capacity stops growing at NumCPU replicas.
		r.share = 1
		fmt.Fprintf(cfg.Log, "testbed: no cgroup CPU quota (%v); replicas run with GOMAXPROCS=1 and share %d cores: capacity saturates at about %d replicas\n",
			limErr, machineCPUs(), machineCPUs())
	}
	logDir := ""
	if cfg.OutDir != "" {
		logDir = filepath.Join(cfg.OutDir, "replica-logs")
	}
	r.mgr, err = replica.NewManager(replica.Options{
		Binary: cfg.ReplicaBinary, Args: cfg.ReplicaArgs,
		StartupDelay: cfg.StartupDelay, FFTSize: cfg.FFTSize, Rounds: cfg.Rounds,
		Limiter: lim, LogDir: logDir, NamePrefix: promTarget,
		OnChange: r.sync,
	})
	if err != nil {
		_ = lim.Close()
		return nil, err
	}
	r.scaler = replica.NewScaler(r.mgr)
	r.bal = lb.NewWith(lb.Options{HoldTimeout: cfg.HoldTimeout, HoldQueue: cfg.HoldQueue})
	if r.lbSrv, err = lb.Listen(r.bal, "127.0.0.1:0", "127.0.0.1:0"); err != nil {
		return nil, err
	}
	if err = r.writeTargets(nil); err != nil {
		return nil, err
	}
	r.prom, err = startPrometheus(ctx, promBin, dir, r.promConfig())
	if err != nil {
		return nil, err
	}
	return r, nil
}

// promConfig scrapes the replicas (file_sd, rewritten on every change: Prometheus watches
// the file, so no reload is needed) and the load balancer. process_cpu_seconds_total is
// renamed to cAdvisor's container_cpu_usage_seconds_total with a container label, so the
// metric source reads replica CPU with the same query it uses in a cluster.
func (r *rig) promConfig() string {
	si := r.cfg.ScrapeInterval
	timeout := si * 9 / 10
	return fmt.Sprintf(`global:
  scrape_interval: %[1]s
  scrape_timeout: %[2]s
  evaluation_interval: %[1]s
scrape_configs:
  - job_name: fft
    file_sd_configs:
      - files: [%[3]q]
        refresh_interval: %[1]s
    metric_relabel_configs:
      - source_labels: [__name__]
        regex: process_cpu_seconds_total
        target_label: container
        replacement: %[4]s
      - source_labels: [__name__]
        regex: process_cpu_seconds_total
        target_label: __name__
        replacement: container_cpu_usage_seconds_total
  - job_name: testbed-lb
    static_configs:
      - targets: [%[5]q]
`, promDuration(si), promDuration(timeout), r.sdPath, promTarget, r.lbSrv.MetricsAddr)
}

func promDuration(d time.Duration) string { return fmt.Sprintf("%dms", d.Milliseconds()) }

type sdGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// writeTargets replaces the file_sd file atomically (write, then rename).
func (r *rig) writeTargets(rs []*replica.Replica) error {
	groups := []sdGroup{}
	for _, x := range rs {
		groups = append(groups, sdGroup{Targets: []string{x.Addr}, Labels: map[string]string{"namespace": promNamespace, "pod": x.Name}})
	}
	b, err := json.Marshal(groups)
	if err != nil {
		return err
	}
	tmp := r.sdPath + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return fmt.Errorf("write scrape targets: %w", err)
	}
	return os.Rename(tmp, r.sdPath)
}

// sync pushes the replica set to the load balancer (ready ones) and to Prometheus (all
// that still run, so a stopping replica's last requests are still counted).
func (r *rig) sync() {
	r.mu.Lock()
	defer r.mu.Unlock()
	all := r.mgr.Replicas()
	var ready []lb.Backend
	var scrape []*replica.Replica
	for _, x := range all {
		st := x.State()
		if st == replica.Ready {
			ready = append(ready, lb.Backend{Name: x.Name, Addr: x.Addr})
		}
		if st != replica.Exited && x.Addr != "" {
			scrape = append(scrape, x)
		}
	}
	r.bal.SetBackends(ready)
	if err := r.writeTargets(scrape); err != nil {
		fmt.Fprintf(r.cfg.Log, "testbed: %v\n", err)
	}
}

// waitReplicas waits until exactly n replicas run and all are ready (stopping ones gone).
func (r *rig) waitReplicas(ctx context.Context, n int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		all := r.mgr.Replicas()
		ready := 0
		for _, x := range all {
			if x.State() == replica.Ready {
				ready++
			}
		}
		if len(all) == n && ready == n {
			return nil
		}
		if time.Now().After(deadline) {
			var states []string
			for _, x := range all {
				states = append(states, x.Name+"="+x.State().String())
			}
			return fmt.Errorf("testbed: waiting for %d ready replicas: replicas did not settle within %s (%s)", n, timeout, strings.Join(states, ", "))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.mgr.Failed():
			return r.mgr.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// holdTimeout is the activator's hold timeout in effect.
func (r *rig) holdTimeout() time.Duration {
	if r.cfg.HoldTimeout > 0 {
		return r.cfg.HoldTimeout
	}
	return lb.DefaultHoldTimeout
}

// readyReplica is the address of a ready replica (the first one).
func (r *rig) readyReplica() (string, error) {
	for _, x := range r.mgr.Replicas() {
		if x.State() == replica.Ready {
			return x.Addr, nil
		}
	}
	return "", fmt.Errorf("testbed: no ready replica to probe")
}

// target is the URL the load goes to.
func (r *rig) target() string { return "http://" + r.lbSrv.Addr + "/fft" }

// close stops replicas, load balancer and Prometheus, and removes the scratch folder.
func (r *rig) close() error {
	var firstErr error
	if r.mgr != nil {
		if err := r.mgr.Close(); err != nil {
			firstErr = err
		}
	}
	if r.lbSrv != nil {
		_ = r.lbSrv.Close()
	}
	if r.prom != nil {
		r.prom.Stop()
	}
	_ = os.RemoveAll(r.dir)
	return firstErr
}
