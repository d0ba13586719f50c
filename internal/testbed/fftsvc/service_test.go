package fftsvc

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

func do(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
	return rec.Code, rec.Body.String()
}

func TestReadyOnlyAfterStartupDelay(t *testing.T) {
	s, err := New(Options{StartupDelay: 200 * time.Millisecond, Rounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	h := s.Handler()
	if code, _ := do(t, h, "/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("readyz before the delay: %d, want 503", code)
	}
	if code, _ := do(t, h, "/healthz"); code != http.StatusOK {
		t.Errorf("healthz before the delay: %d, want 200", code)
	}
	if code, _ := do(t, h, "/fft"); code != http.StatusServiceUnavailable {
		t.Errorf("fft before the delay: %d, want 503", code)
	}
	time.Sleep(300 * time.Millisecond)
	if code, _ := do(t, h, "/readyz"); code != http.StatusOK {
		t.Errorf("readyz after the delay: %d, want 200", code)
	}
}

func TestFFTFindsTheSignalFrequencyAndExportsMetrics(t *testing.T) {
	s, err := New(Options{FFTSize: 1024, Rounds: 2})
	if err != nil {
		t.Fatal(err)
	}
	// The strongest bin of a unit sine at bin f in noise of std 0.5 over 1024 samples is f
	// (signal power 512 against noise about 16 per bin).
	for seed := uint64(1); seed <= 5; seed++ {
		res := s.Compute(seed)
		if res.PeakPower < 200 {
			t.Errorf("seed %d: peak power %g, a sine should stand out", seed, res.PeakPower)
		}
	}
	h := s.Handler()
	if code, body := do(t, h, "/fft?seed=7"); code != http.StatusOK || !strings.Contains(body, `"seed":7`) {
		t.Errorf("fft: %d %q", code, body)
	}
	if code, _ := do(t, h, "/fft?seed=x"); code != http.StatusBadRequest {
		t.Errorf("bad seed: %d, want 400", code)
	}
	_, m := do(t, h, "/metrics")
	for _, want := range []string{
		`http_requests_total{code="200",handler="/fft",method="GET"} 1`,
		`http_requests_total{code="400",handler="/fft",method="GET"} 1`,
		`http_request_duration_seconds_bucket{code="200",handler="/fft",method="GET",le="0.005"}`,
		`istio_requests_total{destination_service_name="fft",destination_workload="fft",reporter="destination",response_code="200"} 1`,
		`istio_request_duration_milliseconds_bucket`,
		`process_cpu_seconds_total`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
}

func TestFullQueueAnswers503WithoutWaiting(t *testing.T) {
	s, err := New(Options{Rounds: 1, Workers: 1, QueueLimit: 1})
	if err != nil {
		t.Fatal(err)
	}
	s.slots <- struct{}{} // the only worker is busy
	h := s.Handler()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); do(t, h, "/fft") }() // takes the one queue place
	deadline := time.Now().Add(5 * time.Second)
	for s.waiting.Load() != 1 {
		if time.Now().After(deadline) {
			t.Fatal("first request never queued")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if code, body := do(t, h, "/fft"); code != http.StatusServiceUnavailable || !strings.Contains(body, "queue full") {
		t.Errorf("second request: %d %q, want 503 queue full", code, body)
	}
	<-s.slots
	wg.Wait()
}

func TestServeDrainsOnCancel(t *testing.T) {
	s, err := New(Options{Rounds: 1})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- s.Serve(ctx, "127.0.0.1:0", time.Second, func(a net.Addr) { addrc <- a.String() })
	}()
	addr := <-addrc
	resp, err := http.Get("http://" + addr + "/fft")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve returned %v after cancel", err)
	}
	if s.Ready() {
		t.Error("still ready after shutdown")
	}
}

func TestOptionsRejectNonsense(t *testing.T) {
	for _, o := range []Options{{FFTSize: 4}, {Rounds: -1}, {StartupDelay: -time.Second}, {Workers: -2}} {
		if _, err := New(o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}
