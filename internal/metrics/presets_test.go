package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/promserver"
	"github.com/bascaler/bascaler/internal/testenv"
)

// The backfilled series: counters sampled every scrape for samples+1 scrapes ending at
// stackEnd. Every stack's target serves 10 req/s, 1 of them failing; its latency histogram
// holds per second 5 requests at or below 10 ms, 9 at or below 50 ms and all 10 at or below
// 100 ms, with a mean of 20 ms. Decoys (other workloads, other directions, other ingresses,
// other clusters) serve 100 req/s at 1 s so a wrong selector shows in the numbers.
const (
	scrape  = 10 * time.Second
	samples = 60
)

var stackEnd = time.Now().Add(-24 * time.Hour).Truncate(time.Hour)

// family is one metric family written as the stack exports it: labels, and the per-second
// increase of each sample. Bucket families list one increase per bound of bounds.
type family struct {
	name   string // sample name, e.g. response_total
	labels string // label pairs without braces
	perSec float64
}

// stackSeries returns the families of one stack. unit is the histogram's unit in
// milliseconds (1 for ms, 1000 for seconds).
func stackSeries(counter, errCounter, hist string, target, decoy, okLabel, errLabel string, unit float64) []family {
	var fs []family
	bound := func(ms float64) string { return fmt.Sprintf("%g", ms/unit) }
	add := func(sel string, ok, bad float64, dist [4]float64, sum float64) {
		hists := []struct {
			sel   string
			share float64
		}{{sel, 1}}
		switch {
		case counter == hist+"_count":
			// OpenTelemetry: the histogram is the only series, split by status code.
			hists = hists[:0]
			for _, h := range []struct {
				l string
				n float64
			}{{okLabel, ok}, {errLabel, bad}} {
				hists = append(hists, struct {
					sel   string
					share float64
				}{sel + "," + h.l, h.n / (ok + bad)})
			}
		case errCounter == "":
			fs = append(fs, family{counter, sel + "," + okLabel, ok}, family{counter, sel + "," + errLabel, bad})
		default:
			fs = append(fs, family{counter, sel, ok + bad}, family{errCounter, sel + "," + okLabel, ok}, family{errCounter, sel + "," + errLabel, bad})
		}
		for _, h := range hists {
			for i, le := range []string{bound(10), bound(50), bound(100), "+Inf"} {
				fs = append(fs, family{hist + "_bucket", fmt.Sprintf("%s,le=%q", h.sel, le), dist[i] * h.share})
			}
			fs = append(fs, family{hist + "_sum", h.sel, sum / unit * h.share}, family{hist + "_count", h.sel, dist[3] * h.share})
		}
	}
	add(target, 9, 1, [4]float64{5, 9, 10, 10}, 200)
	add(decoy, 90, 10, [4]float64{0, 0, 0, 100}, 100_000)
	return fs
}

// stacks are the presets under test, each with its series in the stack's exact names and
// labels (see the comments in promql.go for where they are documented).
var stacks = []struct {
	preset string
	q      Queries
	series []family
}{
	{PresetLinkerd, Queries{Namespace: "prod", Target: "shop"},
		stackSeries("response_total", "", "response_latency_ms",
			`direction="inbound",namespace="prod",deployment="shop",pod="shop-7d9f-abcde",status_code="200"`,
			`direction="outbound",namespace="prod",deployment="shop",pod="shop-7d9f-abcde",dst_deployment="cart",status_code="200"`,
			`classification="success"`, `classification="failure"`, 1)},
	{PresetOTel, Queries{Namespace: "prod", Target: "shop"},
		stackSeries("http_server_request_duration_seconds_count", "", "http_server_request_duration_seconds",
			`namespace="prod",pod="shop-7d9f-abcde",job="shop",http_request_method="GET",url_scheme="http"`,
			`namespace="prod",pod="cart-5c4b-xyz12",job="cart",http_request_method="GET",url_scheme="http"`,
			`http_response_status_code="200"`, `http_response_status_code="503"`, 1000)},
	{PresetNginxIngress, Queries{Namespace: "prod", Target: "shop"},
		stackSeries("nginx_ingress_controller_requests", "", "nginx_ingress_controller_request_duration_seconds",
			`namespace="ingress-nginx",exported_namespace="prod",ingress="shop",service="shop",controller_class="k8s.io/ingress-nginx",method="GET",path="/"`,
			`namespace="ingress-nginx",exported_namespace="prod",ingress="cart",service="cart",controller_class="k8s.io/ingress-nginx",method="GET",path="/"`,
			`status="200"`, `status="502"`, 1000)},
	{PresetEnvoy, Queries{Namespace: "prod", Target: "shop", Selector: `envoy_cluster_name="httproute/prod/shop/rule/0"`},
		stackSeries("envoy_cluster_upstream_rq_total", "envoy_cluster_upstream_rq_xx", "envoy_cluster_upstream_rq_time",
			`envoy_cluster_name="httproute/prod/shop/rule/0"`,
			`envoy_cluster_name="httproute/prod/cart/rule/0"`,
			`envoy_response_code_class="2"`, `envoy_response_code_class="5"`, 1)},
	{PresetCustom, Queries{Namespace: "prod", Target: "shop",
		CustomRate:          `sum(rate(app_requests_total{app="$target",ns="$namespace"}[$interval]))`,
		CustomErrors:        `sum(rate(app_requests_total{app="$target",ns="$namespace",code="500"}[$interval]))`,
		CustomLatency:       `sum(rate(app_latency_seconds_sum{app="$target"}[$interval])) / sum(rate(app_latency_seconds_count{app="$target"}[$interval])) * 1000`,
		CustomHistogram:     `sum by (le) (rate(app_latency_seconds_bucket{app="$target"}[$interval]))`,
		CustomHistogramUnit: "s"},
		stackSeries("app_requests_total", "", "app_latency_seconds", `app="shop",ns="prod"`, `app="cart",ns="prod"`,
			`code="200"`, `code="500"`, 1000)},
}

// openMetrics renders families as OpenMetrics text for promtool's backfill. The samples are
// typed unknown: OpenMetrics would otherwise demand a family's exact suffixes, and the
// query side treats counters and buckets alike.
func openMetrics(fs []family) string {
	byName := map[string][]family{}
	for _, f := range fs {
		byName[f.name] = append(byName[f.name], f)
	}
	names := make([]string, 0, len(byName))
	for n := range byName {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	start := stackEnd.Add(-samples * scrape)
	for _, n := range names {
		fmt.Fprintf(&b, "# TYPE %s unknown\n", n)
		for _, f := range byName[n] {
			for k := 0; k <= samples; k++ {
				ts := start.Add(time.Duration(k) * scrape)
				// Start far from zero: rate() must not extrapolate to a counter reset.
				v := 1e6 + f.perSec*scrape.Seconds()*float64(k)
				fmt.Fprintf(&b, "%s{%s} %g %d\n", n, f.labels, v, ts.Unix())
			}
		}
	}
	b.WriteString("# EOF\n")
	return b.String()
}

var (
	promOnce sync.Once
	promSrv  *promserver.Server
	promErr  error
)

// backfilled returns one Prometheus shared by the preset tests, holding every stack's series
// plus extra (cAdvisor series for the memory tests).
func backfilled(t *testing.T) *promserver.Server {
	t.Helper()
	bin := testenv.Prometheus(t)
	promOnce.Do(func() {
		var all []family
		for _, s := range stacks {
			all = append(all, s.series...)
		}
		all = append(all, cadvisorSeries...)
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		promSrv, promErr = promserver.Start(ctx, promserver.Options{Binary: bin, Backfill: openMetrics(all)})
	})
	if promErr != nil {
		t.Fatal(promErr)
	}
	return promSrv
}

// cadvisorSeries: the shop pods use 0.3 CPU-seconds per second each (two pods) and 200 MB of
// working set each; a pod of another workload uses more of both.
var cadvisorSeries = []family{
	{"container_cpu_usage_seconds_total", `namespace="prod",pod="shop-7d9f-abcde",container="app"`, 0.3},
	{"container_cpu_usage_seconds_total", `namespace="prod",pod="shop-7d9f-fghij",container="app"`, 0.3},
	{"container_cpu_usage_seconds_total", `namespace="prod",pod="cart-5c4b-xyz12",container="app"`, 2},
	// Gauges: perSec 0 keeps the backfilled value at 1e6 bytes. cart has no memory series.
	{"container_memory_working_set_bytes", `namespace="prod",pod="shop-7d9f-abcde",container="app"`, 0},
	{"container_memory_working_set_bytes", `namespace="prod",pod="shop-7d9f-fghij",container="app"`, 0},
}

// TestMemoryIsOptional: a missing or rejected memory query leaves rate, latency and CPU read
// and is reported; a present one is read.
func TestMemoryIsOptional(t *testing.T) {
	srv := backfilled(t)
	w := Window{End: stackEnd, Step: time.Minute, Count: 2}
	cases := []struct {
		name         string
		target       string
		memory       string // CustomMemory
		rate, cpu    float64
		wantMem      float64 // NaN: not read
		wantReported error
	}{
		{"present", "shop", "", 10, 0.3, 2e6, nil},
		{"series missing", "cart", "", 100, 2, math.NaN(), ErrNoData},
		{"query rejected", "shop", "sum(container_memory_working_set_bytes{", 10, 0.3, math.NaN(), ErrQuery},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var reported []error
			p, err := NewPrometheus(PrometheusOptions{Address: srv.URL, SLOMS: 30,
				OnOptional: func(err error) { reported = append(reported, err) },
				Queries:    Queries{Preset: PresetOTel, Namespace: "prod", Target: c.target, RequestMillicores: 1000, CustomMemory: c.memory}})
			if err != nil {
				t.Fatal(err)
			}
			pts, err := p.Range(context.Background(), w)
			if err != nil {
				t.Fatalf("read failed: %v", err)
			}
			for i, pt := range pts {
				if math.Abs(pt.Rate-c.rate) > 1e-6*c.rate || math.Abs(pt.CPU-c.cpu) > 1e-6 || math.IsNaN(pt.LatencyP95MS) {
					t.Errorf("period %d: rate %g cpu %g p95 %g, want rate %g cpu %g and a p95", i, pt.Rate, pt.CPU, pt.LatencyP95MS, c.rate, c.cpu)
				}
				if math.IsNaN(c.wantMem) != math.IsNaN(pt.MemoryBytes) || (!math.IsNaN(c.wantMem) && pt.MemoryBytes != c.wantMem) {
					t.Errorf("period %d: memory %g, want %g", i, pt.MemoryBytes, c.wantMem)
				}
			}
			switch {
			case c.wantReported == nil && len(reported) > 0:
				t.Errorf("reported %v, want nothing", reported)
			case c.wantReported != nil && (len(reported) != 1 || !errors.Is(reported[0], c.wantReported)):
				t.Errorf("reported %v, want one %v", reported, c.wantReported)
			}
		})
	}
}

// TestMain stops the shared Prometheus.
func TestMain(m *testing.M) {
	code := m.Run()
	if promSrv != nil {
		_ = promSrv.Stop()
	}
	os.Exit(code)
}

func TestPresetsAgainstPrometheusWithEachStacksSeries(t *testing.T) {
	srv := backfilled(t)
	w := Window{End: stackEnd, Step: time.Minute, Count: 3}
	for _, s := range stacks {
		t.Run(s.preset, func(t *testing.T) {
			q := s.q
			q.Preset, q.CPUSource = s.preset, CPUNone
			p, err := NewPrometheus(PrometheusOptions{Address: srv.URL, SLOMS: 30, Queries: q})
			if err != nil {
				t.Fatal(err)
			}
			pts, err := p.Range(context.Background(), w)
			if err != nil {
				t.Fatal(err)
			}
			for i, pt := range pts {
				for _, c := range []struct {
					name      string
					got, want float64
				}{
					{"rate", pt.Rate, 10},
					{"errors", pt.Errors, 1},
					{"mean latency ms", pt.LatencyMeanMS, 20},
					// rank 9.5 of 10 falls in (50, 100] holding 1: 50 + 50*0.5/1.
					{"p95 ms", pt.LatencyP95MS, 75},
					{"p99 ms", pt.LatencyP99MS, 95},
					// at 30 ms: 5 + 4*(20/40) = 7 of 10 at or below.
					{"over SLO", pt.OverSLO, 0.3},
				} {
					if math.IsNaN(c.got) || math.Abs(c.got-c.want) > 1e-6*max(1, c.want) {
						t.Errorf("period %d: %s = %g, want %g", i, c.name, c.got, c.want)
					}
				}
			}
		})
	}
}

func TestPresetWithWrongSelectorHasNoData(t *testing.T) {
	srv := backfilled(t)
	for _, preset := range []string{PresetLinkerd, PresetOTel, PresetNginxIngress, PresetEnvoy} {
		p, err := NewPrometheus(PrometheusOptions{Address: srv.URL,
			Queries: Queries{Preset: preset, Namespace: "prod", Target: "basket", CPUSource: CPUNone}})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := p.Range(context.Background(), Window{End: stackEnd, Step: time.Minute, Count: 2}); !errors.Is(err, ErrNoData) {
			t.Errorf("%s for a workload without series: error %v, want ErrNoData", preset, err)
		}
	}
}
