package replica

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/bascaler/bascaler/internal/testbed/fftsvc"
)

// State is a replica's phase.
type State int

// Replica phases, in the order a replica goes through them.
const (
	Starting State = iota // process started, not ready yet
	Ready                 // answering /readyz with 200
	Stopping              // SIGTERM sent, draining
	Exited                // process reaped
)

func (s State) String() string {
	return [...]string{"starting", "ready", "stopping", "exited"}[s]
}

// Options configure a Manager.
type Options struct {
	// Binary is the executable to run; default os.Executable() (the bascaler binary).
	Binary string
	// Args are the arguments before the ones the manager adds (--addr 127.0.0.1:0 and the
	// service flags); default ["serve-fft"].
	Args []string
	// StartupDelay, FFTSize and Rounds are passed to serve-fft.
	StartupDelay    time.Duration
	FFTSize, Rounds int
	// ReadyTimeout is how long a replica may take to become ready before it is killed and
	// the manager reports an error; default StartupDelay + 30 s.
	ReadyTimeout time.Duration
	// StopGrace is how long a stopping replica may drain before SIGKILL; default 5 s.
	StopGrace time.Duration
	// Limiter holds each replica to its CPU share; nil means no limit beyond GOMAXPROCS=1.
	Limiter CPULimiter
	// LogDir, when set, receives each replica's stderr as <name>.log.
	LogDir string
	// NamePrefix names replicas <prefix>-<n>; default "fft".
	NamePrefix string
	// OnChange is called (from a manager goroutine) whenever a replica changes state.
	OnChange func()
}

// Replica is one serve-fft process.
type Replica struct {
	Name    string
	Addr    string // host:port it listens on
	PID     int
	Started time.Time
	// Asked is when the replica was asked for: the instant of the decision that started it
	// (Scaler.ScaleAt; replicas of one call start one after another), or the Start call.
	Asked time.Time

	m       *Manager
	cmd     *exec.Cmd
	done    chan struct{} // closed when the process has been reaped
	tail    *tailBuffer
	mu      sync.Mutex
	state   State
	readyAt time.Time
}

// State returns the replica's phase.
func (r *Replica) State() State {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.state
}

// ReadyAt returns when the replica became ready (zero if it has not).
func (r *Replica) ReadyAt() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.readyAt
}

// Done is closed once the process has exited and been reaped.
func (r *Replica) Done() <-chan struct{} { return r.done }

// Manager starts and stops replicas and guarantees none outlives it.
type Manager struct {
	opts  Options
	mu    sync.Mutex
	all   []*Replica // every replica ever started, for Close
	next  int
	err   error // first asynchronous failure (a replica that never became ready or died)
	errCh chan struct{}
	probe *http.Client
}

// NewManager checks the options.
func NewManager(o Options) (*Manager, error) {
	if o.Binary == "" {
		exe, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find own executable for replicas: %w", err)
		}
		o.Binary = exe
	}
	if o.Args == nil {
		o.Args = []string{"serve-fft"}
	}
	if o.StartupDelay < 0 {
		return nil, fmt.Errorf("replica start-up delay must not be negative, got %s", o.StartupDelay)
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = o.StartupDelay + 30*time.Second
	}
	if o.StopGrace <= 0 {
		o.StopGrace = 5 * time.Second
	}
	if o.Limiter == nil {
		o.Limiter = noLimit{}
	}
	if o.NamePrefix == "" {
		o.NamePrefix = "fft"
	}
	if o.LogDir != "" {
		if err := os.MkdirAll(o.LogDir, 0o755); err != nil {
			return nil, fmt.Errorf("replica log folder: %w", err)
		}
	}
	return &Manager{opts: o, errCh: make(chan struct{}), probe: &http.Client{Timeout: time.Second}}, nil
}

// LimiterKind says how CPU is shared ("cgroup-v1", "cgroup-v2" or "gomaxprocs").
func (m *Manager) LimiterKind() string { return m.opts.Limiter.Kind() }

// Err returns the first asynchronous failure, or nil.
func (m *Manager) Err() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.err
}

// Failed is closed when Err becomes non-nil.
func (m *Manager) Failed() <-chan struct{} { return m.errCh }

func (m *Manager) fail(err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err == nil {
		m.err = err
		close(m.errCh)
	}
}

func (m *Manager) changed() {
	if m.opts.OnChange != nil {
		m.opts.OnChange()
	}
}

// Replicas returns the replicas that have not exited, oldest first.
func (m *Manager) Replicas() []*Replica {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []*Replica
	for _, r := range m.all {
		if r.State() != Exited {
			out = append(out, r)
		}
	}
	return out
}

// Start launches one replica and returns once it listens (not once it is ready: readiness
// is probed in the background and reported through OnChange).
func (m *Manager) Start(ctx context.Context) (*Replica, error) {
	return m.start(ctx, time.Now())
}

// StartupTimes returns, for every replica asked for at or after since that has become
// ready, the time from the request to its readiness (start-up delay, process start and the
// readiness probe's polling), in start order: the testbed's measured start-up.
func (m *Manager) StartupTimes(since time.Time) []time.Duration {
	m.mu.Lock()
	all := append([]*Replica(nil), m.all...)
	m.mu.Unlock()
	var out []time.Duration
	for _, r := range all {
		if at := r.ReadyAt(); !at.IsZero() && !r.Asked.Before(since) {
			out = append(out, at.Sub(r.Asked))
		}
	}
	return out
}

// start is Start for a replica asked for at asked.
func (m *Manager) start(ctx context.Context, asked time.Time) (*Replica, error) {
	m.mu.Lock()
	m.next++
	name := fmt.Sprintf("%s-%d", m.opts.NamePrefix, m.next)
	m.mu.Unlock()

	args := append(append([]string(nil), m.opts.Args...),
		"--addr", "127.0.0.1:0",
		"--startup-delay", m.opts.StartupDelay.String(),
		"--name", m.opts.NamePrefix)
	if m.opts.FFTSize > 0 {
		args = append(args, "--fft-size", strconv.Itoa(m.opts.FFTSize))
	}
	if m.opts.Rounds > 0 {
		args = append(args, "--rounds", strconv.Itoa(m.opts.Rounds))
	}
	cmd := exec.Command(m.opts.Binary, args...)
	// GOMAXPROCS=1: one replica never runs on more than one core, whatever the limiter.
	cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
	// Own process group, so a stop reaches anything the replica might spawn; Pdeathsig, so
	// the kernel kills the replica should this process die without running its cleanup.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, fmt.Errorf("replica %s: %w", name, err)
	}
	var logw io.Writer = io.Discard
	if m.opts.LogDir != "" {
		f, err := os.Create(filepath.Join(m.opts.LogDir, name+".log"))
		if err != nil {
			return nil, fmt.Errorf("replica %s log: %w", name, err)
		}
		defer func() {
			if cmd.Process == nil {
				f.Close()
			}
		}()
		logw = f
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start replica %s (%s %s): %w", name, m.opts.Binary, strings.Join(args, " "), err)
	}
	r := &Replica{Name: name, PID: cmd.Process.Pid, Started: time.Now(), Asked: asked, m: m, cmd: cmd,
		done: make(chan struct{}), tail: &tailBuffer{max: 20}}
	m.mu.Lock()
	m.all = append(m.all, r)
	m.mu.Unlock()

	if err := m.opts.Limiter.Attach(name, r.PID); err != nil {
		m.kill(r)
		go m.reap(r, stderr, logw, nil)
		<-r.done
		return nil, fmt.Errorf("replica %s: cpu limit: %w", name, err)
	}
	addrc := make(chan string, 1)
	go m.reap(r, stderr, logw, addrc)

	timer := time.NewTimer(10 * time.Second)
	defer timer.Stop()
	select {
	case addr := <-addrc:
		r.Addr = addr
	case <-r.done:
		return nil, fmt.Errorf("replica %s exited before listening: %s", name, r.tail.String())
	case <-timer.C:
		m.kill(r)
		<-r.done
		return nil, fmt.Errorf("replica %s did not report a listening address within 10s: %s", name, r.tail.String())
	case <-ctx.Done():
		m.kill(r)
		<-r.done
		return nil, ctx.Err()
	}
	go m.probeReady(r)
	m.changed()
	return r, nil
}

// reap reads the replica's stderr (announcing the listening address on addrc), waits for
// the process and releases its CPU limit.
func (m *Manager) reap(r *Replica, stderr io.ReadCloser, logw io.Writer, addrc chan<- string) {
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		line := sc.Text()
		fmt.Fprintln(logw, line)
		r.tail.add(line)
		if addrc != nil {
			if a, ok := strings.CutPrefix(line, fftsvc.ListeningPrefix); ok {
				addrc <- strings.TrimSpace(a)
				addrc = nil
			}
		}
	}
	err := r.cmd.Wait()
	if c, ok := logw.(io.Closer); ok {
		c.Close()
	}
	r.mu.Lock()
	prev := r.state
	r.state = Exited
	r.mu.Unlock()
	if relErr := m.opts.Limiter.Release(r.Name); relErr != nil {
		r.tail.add("release cpu limit: " + relErr.Error())
	}
	if prev == Ready || prev == Starting {
		// Nobody asked it to stop: a crash. The run cannot continue honestly.
		m.fail(fmt.Errorf("replica %s (pid %d, %s) died: %v; last output: %s", r.Name, r.PID, r.Addr, err, r.tail.String()))
	}
	close(r.done)
	m.changed()
}

// probeReady polls /readyz until it answers 200 or ReadyTimeout passes.
func (m *Manager) probeReady(r *Replica) {
	deadline := time.Now().Add(m.opts.ReadyTimeout)
	url := "http://" + r.Addr + "/readyz"
	last := "no probe answered"
	for {
		if st := r.State(); st != Starting {
			return
		}
		resp, err := m.probe.Get(url)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				r.mu.Lock()
				ok := r.state == Starting
				if ok {
					r.state = Ready
					r.readyAt = time.Now()
				}
				r.mu.Unlock()
				if ok {
					m.changed()
				}
				return
			}
			last = "readiness probe answered " + resp.Status
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			m.fail(fmt.Errorf("replica %s (pid %d, %s) not ready after %s (start-up delay %s): %s",
				r.Name, r.PID, r.Addr, m.opts.ReadyTimeout, m.opts.StartupDelay, last))
			m.Stop(r)
			return
		}
		select {
		case <-r.done:
			return
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Stop begins a graceful stop: the replica is marked stopping (so the load balancer drops
// it), gets SIGTERM, and SIGKILL after StopGrace. It returns at once.
func (m *Manager) Stop(r *Replica) {
	r.mu.Lock()
	if r.state == Stopping || r.state == Exited {
		r.mu.Unlock()
		return
	}
	r.state = Stopping
	r.mu.Unlock()
	m.changed()
	_ = syscall.Kill(-r.PID, syscall.SIGTERM)
	go func() {
		select {
		case <-r.done:
		case <-time.After(m.opts.StopGrace):
			m.kill(r)
		}
	}()
}

func (m *Manager) kill(r *Replica) {
	_ = syscall.Kill(-r.PID, syscall.SIGKILL)
	_ = r.cmd.Process.Kill()
}

// Close stops every replica, waits for all of them (SIGKILL after StopGrace) and removes
// the CPU limit groups. It is safe to call more than once.
func (m *Manager) Close() error {
	m.mu.Lock()
	all := append([]*Replica(nil), m.all...)
	m.mu.Unlock()
	for _, r := range all {
		m.Stop(r)
	}
	var errs []error
	for _, r := range all {
		select {
		case <-r.done:
		case <-time.After(m.opts.StopGrace + 5*time.Second):
			m.kill(r)
			select {
			case <-r.done:
			case <-time.After(5 * time.Second):
				errs = append(errs, fmt.Errorf("replica %s (pid %d) could not be reaped", r.Name, r.PID))
			}
		}
		// Anything left in the replica's process group goes too.
		_ = syscall.Kill(-r.PID, syscall.SIGKILL)
	}
	if err := m.opts.Limiter.Close(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// tailBuffer keeps the last lines of a replica's output for error messages.
type tailBuffer struct {
	mu    sync.Mutex
	max   int
	lines []string
}

func (t *tailBuffer) add(s string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.lines = append(t.lines, s)
	if len(t.lines) > t.max {
		t.lines = t.lines[len(t.lines)-t.max:]
	}
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.lines) == 0 {
		return "(no output)"
	}
	return strings.Join(t.lines, " | ")
}
