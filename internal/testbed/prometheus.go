package testbed

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"github.com/bascaler/bascaler/internal/promserver"
)

// This file launches Prometheus with the testbed's own configuration. The shared launcher
// (internal/promserver) renders static scrape jobs only; the testbed needs file-based
// service discovery (replicas come and go) and metric relabelling, so it writes its own
// config and reuses promserver only to find the binary.

// ErrNoPrometheus means the prometheus binary was not found (the same error as
// promserver's, so errors.Is works with either).
var ErrNoPrometheus = promserver.ErrNotFound

// promServer is one Prometheus process on loopback with its own temporary storage.
type promServer struct {
	URL  string // http://127.0.0.1:port
	cmd  *exec.Cmd
	dir  string
	done chan struct{}
	log  *os.File
}

// findPrometheus returns the binary to run: path if given, else prometheus from PATH.
func findPrometheus(path string) (string, error) {
	if path == "" {
		return promserver.Find()
	}
	p, err := exec.LookPath(path)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v; %s", ErrNoPrometheus, path, err, promserver.InstallHint)
	}
	return p, nil
}

// startPrometheus starts binary with config (YAML text) and waits until it is ready. dir
// holds the config and storage; the caller owns it.
func startPrometheus(ctx context.Context, binary, dir, config string) (*promServer, error) {
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(config), 0o644); err != nil {
		return nil, fmt.Errorf("write prometheus config: %w", err)
	}
	var lastErr error
	// A free port is found by binding port 0 and releasing it; another process can take it
	// before Prometheus binds, so a failed start is retried on a new port.
	for attempt := 0; attempt < 3; attempt++ {
		port, err := freePort()
		if err != nil {
			return nil, err
		}
		s, err := launchPrometheus(ctx, binary, dir, cfgPath, port)
		if err == nil {
			return s, nil
		}
		lastErr = err
		if ctx.Err() != nil {
			break
		}
	}
	return nil, lastErr
}

func launchPrometheus(ctx context.Context, binary, dir, cfgPath string, port int) (*promServer, error) {
	addr := "127.0.0.1:" + strconv.Itoa(port)
	logf, err := os.Create(filepath.Join(dir, "prometheus.log"))
	if err != nil {
		return nil, err
	}
	storage := filepath.Join(dir, "data-"+strconv.Itoa(port))
	cmd := exec.Command(binary,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+storage,
		"--storage.tsdb.retention.time=1d",
		"--web.listen-address="+addr,
		"--web.enable-lifecycle",
		"--log.level=warn",
	)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		logf.Close()
		return nil, fmt.Errorf("start prometheus %s: %w", binary, err)
	}
	s := &promServer{URL: "http://" + addr, cmd: cmd, dir: dir, done: make(chan struct{}), log: logf}
	go func() { _ = cmd.Wait(); close(s.done) }()

	client := &http.Client{Timeout: time.Second}
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return s, nil
			}
		}
		select {
		case <-s.done:
			return nil, fmt.Errorf("prometheus exited during start-up (log %s): %s", logf.Name(), tailFile(logf.Name()))
		case <-ctx.Done():
			s.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			s.Stop()
			return nil, fmt.Errorf("prometheus on %s not ready after 60s (log %s): %s", addr, logf.Name(), tailFile(logf.Name()))
		}
	}
}

// Stop terminates Prometheus (SIGTERM, SIGKILL after 10 s) and waits for it.
func (s *promServer) Stop() {
	_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-s.cmd.Process.Pid, syscall.SIGKILL)
		<-s.done
	}
	s.log.Close()
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free loopback port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// tailFile returns the last 1 KB of a file, for error messages.
func tailFile(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	if len(b) > 1024 {
		b = b[len(b)-1024:]
	}
	return string(b)
}
