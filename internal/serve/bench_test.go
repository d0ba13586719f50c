package serve

import (
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"testing"
	"time"
)

// benchEndpoint sends b.N requests one after another over a keep-alive loopback
// connection and reports the latency percentiles and requests/s (run with -cpu 1: server
// and client then share one core, so requests/s is a lower bound for a one-core server).
func benchEndpoint(b *testing.B, method, path, body string) {
	ts := newBenchServer(b)
	client := ts.Client()
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	began := time.Now()
	for i := 0; i < b.N; i++ {
		t0 := time.Now()
		req, _ := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: status %d", path, resp.StatusCode)
		}
		lat = append(lat, time.Since(t0))
	}
	total := time.Since(began)
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	q := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(p*float64(len(lat))))].Microseconds()) / 1000
	}
	b.ReportMetric(q(0.5), "p50-ms")
	b.ReportMetric(q(0.99), "p99-ms")
	b.ReportMetric(float64(len(lat))/total.Seconds(), "req/s")
}

func newBenchServer(b *testing.B) *httptest.Server {
	builtinOnce.Do(func() { builtin, builtinErr = Builtin() })
	if builtinErr != nil {
		b.Fatal(builtinErr)
	}
	s := New()
	if err := s.SetModels([]*Model{builtin}); err != nil {
		b.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	b.Cleanup(ts.Close)
	return ts
}

// BenchmarkServe measures each endpoint: forecast with the built-in holt-winters at 1,000
// history points and H=10, recommend with hpa (30 intervals, 4 ticks) and with bascaler
// (300 intervals: it fits its forecaster on them per request), models and healthz.
func BenchmarkServe(b *testing.B) {
	t := &testing.T{}
	w := workload(t)
	fc := jsonOf(t, ForecastRequest{Step: "60s", History: w.Values[:1000], Horizon: 10})
	hpaReq := jsonOf(t, observationOf(t, 30, 4, "hpa", 15*time.Second))
	basReq := jsonOf(t, observationOf(t, 300, 4, "bascaler", time.Minute))
	b.Run("forecast-hw-1000", func(b *testing.B) { benchEndpoint(b, "POST", "/v1/forecast", fc) })
	b.Run("recommend-hpa", func(b *testing.B) { benchEndpoint(b, "POST", "/v1/recommend", hpaReq) })
	b.Run("recommend-bascaler-300", func(b *testing.B) { benchEndpoint(b, "POST", "/v1/recommend", basReq) })
	b.Run("models", func(b *testing.B) { benchEndpoint(b, "GET", "/v1/models", "") })
	b.Run("healthz", func(b *testing.B) { benchEndpoint(b, "GET", "/healthz", "") })
}
