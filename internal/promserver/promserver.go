package promserver

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"
)

// EnvBinary names the environment variable that overrides the Prometheus binary.
const EnvBinary = "BASCALER_PROMETHEUS"

// InstallHint says how to get the binary on a Debian-like machine.
const InstallHint = "install it with `apt-get install -y prometheus` or point $" + EnvBinary + " at a prometheus binary"

// ErrNotFound means no Prometheus binary was found.
var ErrNotFound = errors.New("prometheus binary not found")

// Find returns the Prometheus binary: $BASCALER_PROMETHEUS, else `prometheus` on PATH.
func Find() (string, error) {
	if p := os.Getenv(EnvBinary); p != "" {
		if st, err := os.Stat(p); err != nil || st.IsDir() {
			return "", fmt.Errorf("%w: $%s=%q is not a file; %s", ErrNotFound, EnvBinary, p, InstallHint)
		}
		return p, nil
	}
	p, err := exec.LookPath("prometheus")
	if err != nil {
		return "", fmt.Errorf("%w on PATH; %s", ErrNotFound, InstallHint)
	}
	return p, nil
}

// Options configure a server.
type Options struct {
	// Binary is the prometheus executable; empty means Find().
	Binary string
	// Jobs maps a scrape job name to its targets ("127.0.0.1:port"); loopback only.
	Jobs map[string][]string
	// ScrapeInterval applies to every job; default 1 s.
	ScrapeInterval time.Duration
	// Port is the port to listen on; 0 picks a free one.
	Port int
	// ReadyTimeout bounds the wait for /-/ready; default 30 s.
	ReadyTimeout time.Duration
	// Backfill, when set, is OpenMetrics text (ending in "# EOF") loaded into the TSDB
	// before the server starts, with promtool's create-blocks-from openmetrics: series with
	// exact values at exact past timestamps. With it, Jobs may be empty and the retention
	// is at least ten years, so the data is kept.
	Backfill string
	// DataDir is an existing TSDB directory to serve, for example one backfilled with
	// `promtool tsdb create-blocks-from openmetrics`; empty means a fresh temporary one.
	// Stop does not remove it.
	DataDir string
	// Retention is the TSDB retention time; default 2h. Backfilled history older than the
	// retention is deleted at start-up.
	Retention time.Duration
}

// Server is a running Prometheus.
type Server struct {
	// URL is the server's base URL, e.g. http://127.0.0.1:41234.
	URL string
	dir string
	cmd *exec.Cmd
	log *syncBuffer

	stopOnce sync.Once
	exited   chan struct{}
	stopErr  error
}

// Start writes a config, starts Prometheus on 127.0.0.1 with a temporary TSDB and waits
// until it reports ready.
func Start(ctx context.Context, o Options) (*Server, error) {
	bin := o.Binary
	if bin == "" {
		var err error
		if bin, err = Find(); err != nil {
			return nil, err
		}
	}
	if o.ScrapeInterval <= 0 {
		o.ScrapeInterval = time.Second
	}
	if o.ReadyTimeout <= 0 {
		o.ReadyTimeout = 30 * time.Second
	}
	cfg, err := config(o)
	if err != nil {
		return nil, err
	}
	port := o.Port
	if port == 0 {
		if port, err = freePort(); err != nil {
			return nil, err
		}
	} else if l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		return nil, fmt.Errorf("prometheus: port %d on 127.0.0.1 is taken: %w", port, err)
	} else {
		_ = l.Close()
	}
	dir, err := os.MkdirTemp("", "bascaler-prometheus-")
	if err != nil {
		return nil, fmt.Errorf("prometheus: temp dir: %w", err)
	}
	cfgPath := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o644); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("prometheus: write config: %w", err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	data := o.DataDir
	if data == "" {
		data = filepath.Join(dir, "data")
	}
	if o.Retention <= 0 {
		o.Retention = 2 * time.Hour
	}
	if o.Backfill != "" {
		if err := backfill(ctx, bin, dir, data, o.Backfill); err != nil {
			_ = os.RemoveAll(dir)
			return nil, err
		}
		o.Retention = max(o.Retention, 10*365*24*time.Hour)
	}
	cmd := exec.Command(bin,
		"--config.file="+cfgPath,
		"--storage.tsdb.path="+data,
		"--web.listen-address="+addr,
		"--storage.tsdb.retention.time="+promDur(o.Retention),
		"--log.level=warn",
	)
	s := &Server{URL: "http://" + addr, dir: dir, cmd: cmd, log: &syncBuffer{}, exited: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = s.log, s.log
	if err := cmd.Start(); err != nil {
		_ = os.RemoveAll(dir)
		return nil, fmt.Errorf("prometheus: start %s: %w", bin, err)
	}
	go func() { s.stopErr = cmd.Wait(); close(s.exited) }()
	if err := s.waitReady(ctx, o.ReadyTimeout); err != nil {
		_ = s.Stop()
		return nil, err
	}
	return s, nil
}

// backfill writes the OpenMetrics text to dir and turns it into TSDB blocks under data with
// promtool (found beside the prometheus binary, else on PATH).
func backfill(ctx context.Context, bin, dir, data, text string) error {
	tool := filepath.Join(filepath.Dir(bin), "promtool")
	if _, err := os.Stat(tool); err != nil {
		if tool, err = exec.LookPath("promtool"); err != nil {
			return fmt.Errorf("prometheus: backfill needs promtool beside %s or on PATH (Debian's prometheus package ships it)", bin)
		}
	}
	src := filepath.Join(dir, "backfill.om")
	if err := os.WriteFile(src, []byte(text), 0o644); err != nil {
		return fmt.Errorf("prometheus: write backfill: %w", err)
	}
	out, err := exec.CommandContext(ctx, tool, "tsdb", "create-blocks-from", "openmetrics", src, data).CombinedOutput()
	if err != nil {
		return fmt.Errorf("prometheus: promtool backfill: %w: %s", err, lastLines(string(out), 10))
	}
	return nil
}

// config renders prometheus.yml.
func config(o Options) (string, error) {
	if len(o.Jobs) == 0 && o.Backfill == "" {
		return "", fmt.Errorf("prometheus: no scrape jobs")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "global:\n  scrape_interval: %s\n  evaluation_interval: %s\n  scrape_timeout: %s\nscrape_configs:\n",
		promDur(o.ScrapeInterval), promDur(o.ScrapeInterval), promDur(o.ScrapeInterval))
	jobs := make([]string, 0, len(o.Jobs))
	for j := range o.Jobs {
		jobs = append(jobs, j)
	}
	sort.Strings(jobs)
	for _, j := range jobs {
		fmt.Fprintf(&b, "  - job_name: %q\n    static_configs:\n      - targets:\n", j)
		for _, t := range o.Jobs[j] {
			host, _, err := net.SplitHostPort(t)
			if err != nil {
				return "", fmt.Errorf("prometheus: job %s: target %q: %w", j, t, err)
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				return "", fmt.Errorf("prometheus: job %s: target %q is not on loopback", j, t)
			}
			fmt.Fprintf(&b, "          - %q\n", t)
		}
	}
	return b.String(), nil
}

func promDur(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int(d/time.Second))
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("prometheus: find a free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func (s *Server) waitReady(ctx context.Context, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-s.exited:
			msg := s.log.String()
			if strings.Contains(msg, "address already in use") {
				return fmt.Errorf("prometheus: %s is taken (address already in use)", s.URL)
			}
			return fmt.Errorf("prometheus exited before ready (%v): %s", s.stopErr, lastLines(msg, 5))
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get(s.URL + "/-/ready")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("prometheus at %s not ready after %v: %s", s.URL, timeout, lastLines(s.log.String(), 5))
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Stop kills the server, waits for it and removes its temporary directory. Safe to call twice.
func (s *Server) Stop() error {
	var err error
	s.stopOnce.Do(func() {
		select {
		case <-s.exited:
		default:
			_ = s.cmd.Process.Kill()
			<-s.exited
		}
		err = os.RemoveAll(s.dir)
	})
	return err
}

// Log returns what the server printed so far (for test failure messages).
func (s *Server) Log() string { return s.log.String() }

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}
