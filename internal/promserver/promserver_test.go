package promserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

// requireBinary fails in CI (CI=true) and skips elsewhere when Prometheus is not installed.
func requireBinary(t *testing.T) string {
	t.Helper()
	bin, err := Find()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("integration test needs Prometheus: %v", err)
		}
		t.Skipf("skipping: %v", err)
	}
	return bin
}

func TestStartScrapesTargetAndStopCleansUp(t *testing.T) {
	bin := requireBinary(t)
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintln(w, "# TYPE promserver_test_gauge gauge")
		fmt.Fprintln(w, "promserver_test_gauge 42")
	}))
	defer exporter.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	s, err := Start(ctx, Options{Binary: bin, Jobs: map[string][]string{"test": {strings.TrimPrefix(exporter.URL, "http://")}}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Stop()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(s.URL + "/api/v1/query?query=promserver_test_gauge")
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Contains(string(body), `"42"`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("gauge not scraped within 30s; server log:\n%s", s.Log())
		}
		time.Sleep(200 * time.Millisecond)
	}
	dir := s.dir
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temp dir %s still exists after Stop (%v)", dir, err)
	}
	if _, err := http.Get(s.URL + "/-/ready"); err == nil {
		t.Error("server still answers after Stop")
	}
	if err := s.Stop(); err != nil {
		t.Errorf("second Stop: %v", err)
	}
}

func TestStartRefusesTakenPort(t *testing.T) {
	bin := requireBinary(t)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	_, err = Start(context.Background(), Options{Binary: bin, Port: port, Jobs: map[string][]string{"x": {"127.0.0.1:1"}}})
	if err == nil || !strings.Contains(err.Error(), "taken") {
		t.Fatalf("error %v, want a message that the port is taken", err)
	}
}

func TestFindMissingBinarySaysHowToInstall(t *testing.T) {
	t.Setenv(EnvBinary, "/nonexistent/prometheus")
	_, err := Find()
	if !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "apt-get install -y prometheus") {
		t.Fatalf("error %v should be ErrNotFound with an install hint", err)
	}
}

func TestConfigRejectsNonLoopbackTargets(t *testing.T) {
	for _, target := range []string{"10.0.0.1:9090", "example.com:80", "nohost"} {
		if _, err := config(Options{ScrapeInterval: time.Second, Jobs: map[string][]string{"j": {target}}}); err == nil {
			t.Errorf("target %q accepted", target)
		}
	}
	cfg, err := config(Options{ScrapeInterval: 500 * time.Millisecond, Jobs: map[string][]string{"j": {"127.0.0.1:8080", "localhost:1"}}})
	if err != nil || !strings.Contains(cfg, "scrape_interval: 500ms") || !strings.Contains(cfg, `"127.0.0.1:8080"`) {
		t.Errorf("config %q, %v", cfg, err)
	}
}
