package lb

import (
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// namedServer answers every request with its name.
func namedServer(t *testing.T, name string, block <-chan struct{}) *httptest.Server {
	t.Helper()
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if block != nil {
			<-block
		}
		_, _ = io.WriteString(w, name)
	}))
	t.Cleanup(s.Close)
	return s
}

func get(t *testing.T, h http.Handler) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/fft", nil))
	return rec.Code, rec.Body.String()
}

func TestNoBackendAnswers503AfterTheHoldTimeout(t *testing.T) {
	b := NewWith(Options{HoldTimeout: 50 * time.Millisecond})
	code, body := get(t, b)
	if code != http.StatusServiceUnavailable || !strings.Contains(body, "hold timeout") {
		t.Fatalf("got %d %q, want 503 naming the hold timeout", code, body)
	}
	b.SetBackends([]Backend{{Name: "a", Addr: strings.TrimPrefix(namedServer(t, "a", nil).URL, "http://")}})
	b.SetBackends(nil)
	if code, _ := get(t, b); code != http.StatusServiceUnavailable {
		t.Fatalf("after removing every backend: got %d, want 503", code)
	}
}

func TestRoutesOnlyToListedBackends(t *testing.T) {
	a := namedServer(t, "a", nil)
	notReady := namedServer(t, "not-ready", nil)
	_ = notReady // running, but never given to the balancer
	b := New()
	b.SetBackends([]Backend{{Name: "a", Addr: strings.TrimPrefix(a.URL, "http://")}})
	for i := range 20 {
		code, body := get(t, b)
		if code != http.StatusOK || body != "a" {
			t.Fatalf("request %d: got %d %q, want 200 from a", i, code, body)
		}
	}
}

func TestLeastOutstandingAvoidsBusyBackend(t *testing.T) {
	block := make(chan struct{})
	slow := namedServer(t, "slow", block)
	fast := namedServer(t, "fast", nil)
	b := New()
	b.SetBackends([]Backend{
		{Name: "slow", Addr: strings.TrimPrefix(slow.URL, "http://")},
		{Name: "fast", Addr: strings.TrimPrefix(fast.URL, "http://")},
	})
	// With no load ties go round-robin: the first pick's scan starts at the second
	// backend... so send requests until one is held by the slow backend.
	var wg sync.WaitGroup
	deadline := time.Now().Add(5 * time.Second)
	for b.backends[0].outstanding.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no request ever reached the slow backend")
		}
		wg.Add(1)
		go func() { defer wg.Done(); get(t, b) }()
		time.Sleep(20 * time.Millisecond)
	}
	for i := range 5 {
		if _, body := get(t, b); body != "fast" {
			t.Fatalf("request %d went to %q while slow had one outstanding, want fast", i, body)
		}
	}
	close(block)
	wg.Wait()
}

// TestTiesGoRoundRobin: requests one at a time (none outstanding at each pick, the usual
// case below saturation) spread evenly over the backends instead of all going to the
// first, which under a CPU quota throttled that one replica while the rest idled.
func TestTiesGoRoundRobin(t *testing.T) {
	var bs []Backend
	for _, name := range []string{"a", "b", "c"} {
		srv := namedServer(t, name, nil)
		bs = append(bs, Backend{Name: name, Addr: strings.TrimPrefix(srv.URL, "http://")})
	}
	b := New()
	b.SetBackends(bs)
	counts := map[string]int{}
	for range 30 {
		code, body := get(t, b)
		if code != http.StatusOK {
			t.Fatalf("status %d", code)
		}
		counts[body]++
	}
	for _, name := range []string{"a", "b", "c"} {
		if counts[name] != 10 {
			t.Errorf("sequential requests per backend %v, want 10 each", counts)
			break
		}
	}
}

func TestDeadBackendGives502(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close() // nothing listens there now
	b := New()
	b.SetBackends([]Backend{{Name: "gone", Addr: addr}})
	if code, body := get(t, b); code != http.StatusBadGateway || !strings.Contains(body, "gone") {
		t.Fatalf("got %d %q, want 502 naming the backend", code, body)
	}
}

func TestListenRefusesTakenPortAndNonLoopback(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	for _, tc := range []struct{ name, addr, want string }{
		{"port taken", taken.Addr().String(), "choose another port"},
		{"not loopback", "0.0.0.0:0", "only loopback"},
		{"malformed", "localhost", "missing port"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, err := Listen(New(), tc.addr, "127.0.0.1:0")
			if err == nil {
				s.Close()
				t.Fatal("no error")
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not say %q", err, tc.want)
			}
		})
	}
}

func TestServerForwardsAndExportsMetrics(t *testing.T) {
	a := namedServer(t, "a", nil)
	b := New()
	b.SetBackends([]Backend{{Name: "a", Addr: strings.TrimPrefix(a.URL, "http://")}})
	s, err := Listen(b, "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	resp, err := http.Get("http://" + s.Addr + "/fft")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "a" {
		t.Fatalf("body %q, want a", body)
	}
	resp, err = http.Get("http://" + s.MetricsAddr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	m, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{`testbed_lb_requests_total{code="200"} 1`, "testbed_lb_ready_backends 1"} {
		if !strings.Contains(string(m), want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}
