package testenv

import (
	"context"
	"fmt"
	"math"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/promserver"
)

// KnownWorkload is a workload a test Prometheus holds exactly: per one-minute period from
// Start, Rates[i] req/s at the target "web" in namespace "shop", served by its pods web-0
// (60%) and web-1 (40%), beside an unrelated pod db-0 that no preset query may pick up.
// Counters are scraped every 15 s, so whole-number rates give exact counter increments.
type KnownWorkload struct {
	Start time.Time
	Rates []float64
	// LatencyMS, when set, is every request's latency in period i: http_request_duration_seconds
	// (a histogram with the buckets of LatencyBuckets) records it for both pods.
	LatencyMS []float64
	// CPUPerRequest, when positive, is the CPU-seconds one request costs: each pod's
	// container_cpu_usage_seconds_total (container "app") grows by its share of it.
	CPUPerRequest float64
}

// LatencyBuckets are the histogram's upper bounds in seconds (+Inf added).
var LatencyBuckets = []float64{0.005, 0.01, 0.02, 0.05, 0.1, 0.25}

// KnownRates is a workload of n periods: a daily-like wave (period 180) between 15 and 65
// req/s with a burst of +60 at periods 300-309, whole numbers.
func KnownRates(n int) []float64 {
	r := make([]float64, n)
	for i := range r {
		r[i] = math.Round(40 + 25*math.Sin(2*math.Pi*float64(i)/180))
		if i >= 300 && i < 310 {
			r[i] += 60
		}
	}
	return r
}

// OpenMetrics renders the workload as OpenMetrics text for promtool's backfill.
func (w KnownWorkload) OpenMetrics() string {
	var b strings.Builder
	pods := []struct {
		name  string
		share float64
	}{{"web-0", 0.6}, {"web-1", 0.4}, {"db-0", 2}}
	scrapes := func(put func(i, k int, ts int64)) {
		for i := range w.Rates {
			for k := 1; k <= 4; k++ { // four scrapes per minute
				put(i, k, w.Start.Add(time.Duration(i)*time.Minute+time.Duration(k)*15*time.Second).Unix())
			}
		}
	}
	b.WriteString("# HELP http_requests Requests served.\n# TYPE http_requests counter\n")
	for _, p := range pods {
		total := 0.0
		fmt.Fprintf(&b, "http_requests_total{namespace=\"shop\",pod=%q} 0 %d\n", p.name, w.Start.Unix())
		scrapes(func(i, _ int, ts int64) {
			total += w.Rates[i] * p.share * 15
			fmt.Fprintf(&b, "http_requests_total{namespace=\"shop\",pod=%q} %g %d\n", p.name, total, ts)
		})
	}
	if w.LatencyMS != nil {
		b.WriteString("# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n")
		for _, p := range pods {
			les := append(append([]float64(nil), LatencyBuckets...), math.Inf(1))
			counts := make([]float64, len(les))
			var count, sum float64
			line := func(ts int64) {
				for j, le := range les {
					l := "+Inf"
					if !math.IsInf(le, 1) {
						l = fmt.Sprint(le)
					}
					fmt.Fprintf(&b, "http_request_duration_seconds_bucket{namespace=\"shop\",pod=%q,le=%q} %g %d\n", p.name, l, counts[j], ts)
				}
				fmt.Fprintf(&b, "http_request_duration_seconds_sum{namespace=\"shop\",pod=%q} %g %d\n", p.name, sum, ts)
				fmt.Fprintf(&b, "http_request_duration_seconds_count{namespace=\"shop\",pod=%q} %g %d\n", p.name, count, ts)
			}
			line(w.Start.Unix())
			scrapes(func(i, _ int, ts int64) {
				n := w.Rates[i] * p.share * 15
				lat := w.LatencyMS[i] / 1000
				for j, le := range les {
					if lat <= le {
						counts[j] += n
					}
				}
				count += n
				sum += n * lat
				line(ts)
			})
		}
	}
	if w.CPUPerRequest > 0 {
		b.WriteString("# HELP container_cpu_usage_seconds CPU used.\n# TYPE container_cpu_usage_seconds counter\n")
		for _, p := range pods {
			total := 0.0
			fmt.Fprintf(&b, "container_cpu_usage_seconds_total{namespace=\"shop\",pod=%q,container=\"app\"} 0 %d\n", p.name, w.Start.Unix())
			scrapes(func(i, _ int, ts int64) {
				total += w.Rates[i] * p.share * 15 * w.CPUPerRequest
				fmt.Fprintf(&b, "container_cpu_usage_seconds_total{namespace=\"shop\",pod=%q,container=\"app\"} %g %d\n", p.name, total, ts)
			})
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

// BackfilledPrometheus backfills the workload into a fresh TSDB with promtool and serves it
// with a real Prometheus on loopback, stopped when the test ends. Without prometheus or
// promtool the test skips (fails under CI=true).
func BackfilledPrometheus(t testing.TB, w KnownWorkload) *promserver.Server {
	t.Helper()
	bin := Prometheus(t)
	_, err := exec.LookPath("promtool")
	Require(t, err == nil, "test needs promtool (%v): %s", err, promserver.InstallHint)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	srv, err := promserver.Start(ctx, promserver.Options{Binary: bin, Backfill: w.OpenMetrics()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}
