package replica

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/testbed/internal/proctest"
	"github.com/bascaler/bascaler/internal/testenv"
)

func TestMain(m *testing.M) {
	proctest.MaybeServe()
	os.Exit(m.Run())
}

func newManager(t *testing.T, o Options) *Manager {
	t.Helper()
	o.Binary, o.Args = proctest.Binary(t)
	if o.StopGrace == 0 {
		o.StopGrace = 2 * time.Second
	}
	m, err := NewManager(o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close() })
	return m
}

func waitState(t *testing.T, r *Replica, want State, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for r.State() != want {
		if time.Now().After(deadline) {
			t.Fatalf("replica %s: state %s after %s, want %s", r.Name, r.State(), within, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReplicasBecomeReadyAfterStartupDelayAndCloseLeavesNoProcess(t *testing.T) {
	m := newManager(t, Options{StartupDelay: 300 * time.Millisecond})
	var rs []*Replica
	for range 2 {
		r, err := m.Start(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(r.Addr, "127.0.0.1:") {
			t.Errorf("replica %s listens on %q, want loopback", r.Name, r.Addr)
		}
		rs = append(rs, r)
	}
	for _, r := range rs {
		if st := r.State(); st != Starting {
			t.Errorf("replica %s is %s right after start, want starting (start-up delay 300ms)", r.Name, st)
		}
	}
	for _, r := range rs {
		waitState(t, r, Ready, 10*time.Second)
		if d := r.ReadyAt().Sub(r.Started); d < 300*time.Millisecond {
			t.Errorf("replica %s ready %s after start, before its start-up delay", r.Name, d)
		}
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	for _, r := range rs {
		if proctest.Alive(r.PID) {
			t.Errorf("replica %s (pid %d) still alive after Close", r.Name, r.PID)
		}
	}
	if kids := proctest.Children(os.Getpid()); len(kids) > 0 {
		t.Errorf("child processes left after Close: %v", kids)
	}
	if err := m.Err(); err != nil {
		t.Errorf("unexpected manager error: %v", err)
	}
}

func TestReplicaThatNeverBecomesReadyIsKilledWithClearError(t *testing.T) {
	m := newManager(t, Options{StartupDelay: time.Hour, ReadyTimeout: 500 * time.Millisecond})
	r, err := m.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	select {
	case <-m.Failed():
	case <-time.After(15 * time.Second):
		t.Fatal("no failure reported for a replica that cannot become ready")
	}
	msg := m.Err().Error()
	for _, want := range []string{r.Name, "not ready after 500ms", "start-up delay 1h0m0s"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not mention %q", msg, want)
		}
	}
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("replica %s (pid %d) not stopped after its readiness timeout", r.Name, r.PID)
	}
}

func TestStopDrainsAndReapsReplica(t *testing.T) {
	m := newManager(t, Options{})
	r, err := m.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	waitState(t, r, Ready, 10*time.Second)
	m.Stop(r)
	select {
	case <-r.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("stopped replica not reaped")
	}
	if got := len(m.Replicas()); got != 0 {
		t.Errorf("%d replicas listed after stop, want 0", got)
	}
	if err := m.Err(); err != nil {
		t.Errorf("a requested stop was reported as a failure: %v", err)
	}
}

func TestCgroupV1LimiterWritesQuotaPeriodAndPid(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "cpu"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "cpu", "cpu.cfs_quota_us"), []byte("-1"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := cgroupRoot
	cgroupRoot = root
	defer func() { cgroupRoot = old }()

	l, err := NewCPULimiter(0.25, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if l.Kind() != "cgroup-v1" {
		t.Fatalf("kind %s, want cgroup-v1", l.Kind())
	}
	if err := l.Attach("fft-1", 4242); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(l.(*cgroupV1).parent, "fft-1")
	for file, want := range map[string]string{"cpu.cfs_period_us": "20000", "cpu.cfs_quota_us": "5000", "cgroup.procs": "4242"} {
		b, err := os.ReadFile(filepath.Join(dir, file))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want {
			t.Errorf("%s = %q, want %q", file, b, want)
		}
	}
}

func TestCPULimiterRejectsBadShares(t *testing.T) {
	for _, tc := range []struct {
		name   string
		share  float64
		period time.Duration
	}{
		{"zero share", 0, 100 * time.Millisecond},
		{"NaN share", nan(), 100 * time.Millisecond},
		{"quota under 1ms", 0.01, 10 * time.Millisecond},
		{"period too long", 0.5, 2 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l, err := NewCPULimiter(tc.share, tc.period)
			if err == nil {
				_ = l.Close()
				t.Fatal("no error")
			}
			if l.Kind() != "gomaxprocs" {
				t.Errorf("fallback kind %s, want gomaxprocs", l.Kind())
			}
		})
	}
}

func nan() float64 { return math.NaN() }

// TestRealCgroupHoldsReplica needs a writable cgroup cpu controller (root, as on the
// development machines and in CI); it checks the replica process really sits in its group.
// Without one it skips outside CI and fails under CI=true, where the testbed's CPU limits
// are part of what is tested.
func TestRealCgroupHoldsReplica(t *testing.T) {
	l, err := NewCPULimiter(0.5, 100*time.Millisecond)
	testenv.Require(t, err == nil, "test needs a writable cgroup cpu controller (run as root with cgroups mounted at /sys/fs/cgroup): %v", err)
	m := newManager(t, Options{Limiter: l})
	r, err := m.Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var procs []byte
	switch c := l.(type) {
	case *cgroupV1:
		procs, err = os.ReadFile(filepath.Join(c.parent, r.Name, "cgroup.procs"))
	case *cgroupV2:
		procs, err = os.ReadFile(filepath.Join(c.parent, r.Name, "cgroup.procs"))
	}
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(procs), itoa(r.PID)) {
		t.Errorf("cgroup.procs %q does not hold replica pid %d", procs, r.PID)
	}
	if err := m.Close(); err != nil {
		t.Fatal(err)
	}
	var parent string
	switch c := l.(type) {
	case *cgroupV1:
		parent = c.parent
	case *cgroupV2:
		parent = c.parent
	}
	if _, err := os.Stat(parent); !os.IsNotExist(err) {
		t.Errorf("cgroup %s left behind after Close (stat err %v)", parent, err)
	}
}

func itoa(i int) string { return strconv.Itoa(i) }

func TestSweepStaleRemovesLeftoversOfDeadOwnersOnly(t *testing.T) {
	dir := t.TempDir()
	dead := filepath.Join(dir, "bascaler-testbed-999999999-1")
	alive := filepath.Join(dir, "bascaler-testbed-"+strconv.Itoa(os.Getppid())+"-1")
	other := filepath.Join(dir, "something-else-1")
	for _, d := range []string{filepath.Join(dead, "data"), alive, other} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	SweepStale(dir, "bascaler-testbed-")
	for path, want := range map[string]bool{dead: false, alive: true, other: true} {
		_, err := os.Stat(path)
		if exists := err == nil; exists != want {
			t.Errorf("%s exists %v, want %v", filepath.Base(path), exists, want)
		}
	}
}
