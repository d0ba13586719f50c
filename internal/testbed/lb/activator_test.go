package lb

import (
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// listen serves b on loopback for the test.
func listen(t *testing.T, b *Balancer) *Server {
	t.Helper()
	s, err := Listen(b, "127.0.0.1:0", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func httpGet(url string) (int, string, error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp.StatusCode, string(body), err
}

// scrape returns the balancer's /metrics text.
func scrape(t *testing.T, s *Server) string {
	t.Helper()
	code, body, err := httpGet("http://" + s.MetricsAddr + "/metrics")
	if err != nil || code != http.StatusOK {
		t.Fatalf("scrape: %d %v", code, err)
	}
	return body
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestServerlessHeldRequestIsServedOnceAReplicaIsReady(t *testing.T) {
	b := New()
	s := listen(t, b)
	type answer struct {
		code int
		body string
		err  error
		at   time.Time
	}
	got := make(chan answer, 1)
	sent := time.Now()
	go func() {
		code, body, err := httpGet("http://" + s.Addr + "/fft")
		got <- answer{code, body, err, time.Now()}
	}()
	waitFor(t, "the request to be held", func() bool { return b.Holding() == 1 })
	if m := scrape(t, s); !strings.Contains(m, "testbed_lb_queued_requests 1") || !strings.Contains(m, "testbed_lb_cold_starts_total 1") {
		t.Fatalf("while held, metrics lack queued 1 / cold starts 1:\n%s", grepLines(m, "testbed_lb_"))
	}
	const delay = 150 * time.Millisecond
	time.Sleep(delay)
	select {
	case a := <-got:
		t.Fatalf("answered while no replica was ready: %+v", a)
	default:
	}
	ready := time.Now()
	a := namedServer(t, "a", nil)
	b.SetBackends([]Backend{{Name: "a", Addr: strings.TrimPrefix(a.URL, "http://")}})
	ans := <-got
	if ans.err != nil || ans.code != http.StatusOK || ans.body != "a" {
		t.Fatalf("held request: got %d %q %v, want 200 from a", ans.code, ans.body, ans.err)
	}
	if ans.at.Before(ready) {
		t.Fatal("answered before the replica was ready")
	}
	held := b.TakeHeld()
	if len(held) != 1 || held[0].Outcome != Served || held[0].Wait < delay || held[0].Wait > ans.at.Sub(sent) {
		t.Fatalf("held log %+v, want one served request that waited between %s and %s", held, delay, ans.at.Sub(sent))
	}
	m := scrape(t, s)
	for _, want := range []string{"testbed_lb_queued_requests 0", `testbed_lb_held_requests_total{outcome="served"} 1`,
		`testbed_lb_held_requests_total{outcome="timeout"} 0`, "testbed_lb_arrivals_total 1", "testbed_lb_held_wait_seconds_count 1"} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, grepLines(m, "testbed_lb_"))
		}
	}
	// A request with a replica ready is not a cold start.
	if code, _, err := httpGet("http://" + s.Addr + "/fft"); err != nil || code != http.StatusOK {
		t.Fatalf("warm request: %d %v", code, err)
	}
	if h := b.TakeHeld(); len(h) != 0 {
		t.Fatalf("warm request was held: %+v", h)
	}
	if m := scrape(t, s); !strings.Contains(m, "testbed_lb_cold_starts_total 1") || !strings.Contains(m, "testbed_lb_arrivals_total 2") {
		t.Errorf("after a warm request: want cold starts 1, arrivals 2:\n%s", grepLines(m, "testbed_lb_"))
	}
}

func TestServerlessRequestHeldPastTheTimeoutFailsAndIsCounted(t *testing.T) {
	const timeout = 200 * time.Millisecond
	b := NewWith(Options{HoldTimeout: timeout})
	s := listen(t, b)
	start := time.Now()
	code, body, err := httpGet("http://" + s.Addr + "/fft")
	took := time.Since(start)
	if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, "hold timeout") {
		t.Fatalf("got %d %q %v, want 503 naming the hold timeout", code, body, err)
	}
	if took < timeout {
		t.Fatalf("failed after %s, before the %s timeout", took, timeout)
	}
	held := b.TakeHeld()
	if len(held) != 1 || held[0].Outcome != TimedOut || held[0].Wait < timeout {
		t.Fatalf("held log %+v, want one timed-out request", held)
	}
	m := scrape(t, s)
	for _, want := range []string{`testbed_lb_held_requests_total{outcome="timeout"} 1`, `testbed_lb_held_requests_total{outcome="served"} 0`,
		"testbed_lb_cold_starts_total 1", `testbed_lb_requests_total{code="503"} 1`} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %q:\n%s", want, grepLines(m, "testbed_lb_"))
		}
	}
}

func TestServerlessFullQueueRefusesAtOnce(t *testing.T) {
	b := NewWith(Options{HoldTimeout: 5 * time.Second, HoldQueue: 2})
	s := listen(t, b)
	var wg sync.WaitGroup
	for range 2 {
		wg.Add(1)
		go func() { defer wg.Done(); _, _, _ = httpGet("http://" + s.Addr + "/fft") }()
	}
	waitFor(t, "two held requests", func() bool { return b.Holding() == 2 })
	start := time.Now()
	code, body, err := httpGet("http://" + s.Addr + "/fft")
	if err != nil || code != http.StatusServiceUnavailable || !strings.Contains(body, "queue limit") {
		t.Fatalf("third request: got %d %q %v, want 503 naming the queue limit", code, body, err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("refused after %s, want at once", d)
	}
	a := namedServer(t, "a", nil)
	b.SetBackends([]Backend{{Name: "a", Addr: strings.TrimPrefix(a.URL, "http://")}})
	wg.Wait()
	counts := map[Outcome]int{}
	for _, h := range b.TakeHeld() {
		counts[h.Outcome]++
	}
	if counts[Refused] != 1 || counts[Served] != 2 {
		t.Fatalf("outcomes %v, want 1 refused and 2 served", counts)
	}
}

func grepLines(text, prefix string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, prefix) {
			out = append(out, l)
		}
	}
	return fmt.Sprint(strings.Join(out, "\n"))
}
