package metrics

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"
)

// fakeSeries is one series a fake Prometheus returns: labels and a value per evaluation step.
type fakeSeries struct {
	labels map[string]string
	value  func(step int) string
}

func constant(v string) func(int) string { return func(int) string { return v } }

// fakeProm serves /api/v1/query_range; answer picks the series for a query (matched by the
// first rule whose substring occurs in it).
func fakeProm(t *testing.T, rules []struct {
	substr string
	series []fakeSeries
}) *httptest.Server {
	t.Helper()
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		q := r.Form.Get("query")
		start, _ := strconv.ParseFloat(r.Form.Get("start"), 64)
		end, _ := strconv.ParseFloat(r.Form.Get("end"), 64)
		step, _ := strconv.ParseFloat(r.Form.Get("step"), 64)
		var result []map[string]any
		for _, rule := range rules {
			if !strings.Contains(q, rule.substr) {
				continue
			}
			for _, s := range rule.series {
				var vals [][]any
				for i, ts := 0, start; ts <= end+1e-9; i, ts = i+1, ts+step {
					vals = append(vals, []any{ts, s.value(i)})
				}
				lbl := s.labels
				if lbl == nil {
					lbl = map[string]string{}
				}
				result = append(result, map[string]any{"metric": lbl, "values": vals})
			}
			break
		}
		if result == nil {
			result = []map[string]any{}
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"status": "success", "data": map[string]any{"resultType": "matrix", "result": result}})
	}))
}

type rule = struct {
	substr string
	series []fakeSeries
}

func buckets(le []string, counts []string) []fakeSeries {
	var out []fakeSeries
	for i := range le {
		out = append(out, fakeSeries{labels: map[string]string{"le": le[i]}, value: constant(counts[i])})
	}
	return out
}

var testWindow = Window{End: time.Unix(1_800_000_000, 0), Step: 10 * time.Second, Count: 3}

func TestPrometheusHTTPPresetReadsAllFields(t *testing.T) {
	srv := fakeProm(t, []rule{
		{`code=~"5.."`, []fakeSeries{{value: constant("2")}}},
		{"http_request_duration_seconds_sum", []fakeSeries{{value: constant("0.012")}}},
		{"http_request_duration_seconds_bucket", buckets([]string{"0.01", "0.02", "+Inf"}, []string{"50", "90", "100"})},
		{"http_requests_total", []fakeSeries{{value: func(i int) string { return strconv.Itoa(100 + 10*i) }}}},
		{"container_cpu_usage_seconds_total", []fakeSeries{{value: constant("0.4")}}},
		{"container_memory_working_set_bytes", []fakeSeries{{value: constant("1e6")}}},
	})
	defer srv.Close()
	p, err := NewPrometheus(PrometheusOptions{Address: srv.URL, SLOMS: 15,
		Queries: Queries{Preset: PresetHTTP, Namespace: "prod", Target: "shop", RequestMillicores: 500}})
	if err != nil {
		t.Fatal(err)
	}
	pts, err := p.Range(context.Background(), testWindow)
	if err != nil {
		t.Fatal(err)
	}
	if len(pts) != 3 {
		t.Fatalf("got %d points, want 3", len(pts))
	}
	for i, pt := range pts {
		wantStart := testWindow.End.Add(time.Duration(i-3) * 10 * time.Second)
		if !pt.Start.Equal(wantStart) {
			t.Errorf("point %d starts %v, want %v", i, pt.Start, wantStart)
		}
		if pt.Rate != float64(100+10*i) {
			t.Errorf("point %d rate %g, want %d", i, pt.Rate, 100+10*i)
		}
	}
	pt := pts[0]
	checks := []struct {
		name      string
		got, want float64
	}{
		{"errors", pt.Errors, 2},
		{"mean latency converted to ms", pt.LatencyMeanMS, 12},
		{"p95 from buckets in ms", pt.LatencyP95MS, 20},
		{"p99 in +Inf bucket is last finite bound", pt.LatencyP99MS, 20},
		{"over 15ms: 70 of 100 at or below", pt.OverSLO, 0.3},
		{"cpu", pt.CPU, 0.4},
		{"memory", pt.MemoryBytes, 1e6},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-9 {
			t.Errorf("%s = %g, want %g", c.name, c.got, c.want)
		}
	}
}

func TestPrometheusIstioQueriesSelectDestinationWorkload(t *testing.T) {
	qs := Queries{Preset: PresetIstio, Namespace: "prod", Target: "shop", Selector: `cluster="a"`}.build(time.Minute)
	for _, want := range []string{`destination_workload="shop"`, `destination_workload_namespace="prod"`, `reporter="destination"`, `cluster="a"`, "[60s]"} {
		if !strings.Contains(qs.rate, want) {
			t.Errorf("istio rate query %q lacks %s", qs.rate, want)
		}
	}
	if !strings.Contains(qs.buckets, "istio_request_duration_milliseconds_bucket") || qs.bucketScale != 1 {
		t.Errorf("istio bucket query %q (scale %g)", qs.buckets, qs.bucketScale)
	}
	if !strings.Contains(qs.cpu, "kube_pod_container_resource_requests") || !strings.Contains(qs.cpu, `pod=~"shop-.*"`) {
		t.Errorf("cpu query without configured request should divide by kube-state-metrics requests: %q", qs.cpu)
	}
}

func TestPrometheusMinWindowWidensShortPeriods(t *testing.T) {
	q := Queries{Preset: PresetIstio, Target: "shop", MinWindow: 30 * time.Second}
	if r := q.build(5 * time.Second).rate; !strings.Contains(r, "[30s]") {
		t.Errorf("5 s tick with a 30 s minimum window: %q", r)
	}
	if r := q.build(time.Minute).rate; !strings.Contains(r, "[60s]") {
		t.Errorf("60 s interval keeps its own window: %q", r)
	}
}

func TestPrometheusCustomPlaceholders(t *testing.T) {
	qs := Queries{Preset: PresetCustom, Namespace: "ns", Target: "app", CPUSource: CPUNone,
		CustomRate: `sum(rate(x{ns="$namespace",app="$target"}[$interval]))`, CustomLatency: "y"}.build(1500 * time.Millisecond)
	if want := `sum(rate(x{ns="ns",app="app"}[1500ms]))`; qs.rate != want {
		t.Errorf("custom rate = %q, want %q", qs.rate, want)
	}
}

func TestPrometheusBadInput(t *testing.T) {
	hang := make(chan struct{})
	defer close(hang)
	handlers := []struct {
		name    string
		preset  string
		handler http.HandlerFunc
		rules   []rule
		kind    error
	}{
		{name: "empty result", preset: PresetHTTP, rules: []rule{}, kind: ErrNoData},
		{name: "many latency series in custom query", preset: PresetCustom, rules: []rule{
			{"lat", []fakeSeries{{labels: map[string]string{"pod": "a"}, value: constant("1")}, {labels: map[string]string{"pod": "b"}, value: constant("2")}}},
			{"req", []fakeSeries{{value: constant("1")}}},
		}, kind: ErrManySeries},
		{name: "http 500", handler: func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) }, kind: ErrUnavailable},
		{name: "garbage json", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":`))
		}, kind: ErrBadResponse},
		{name: "bad promql", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(400)
			_, _ = w.Write([]byte(`{"status":"error","errorType":"bad_data","error":"parse error: unexpected }"}`))
		}, kind: ErrQuery},
		{name: "timeout", handler: func(w http.ResponseWriter, r *http.Request) {
			_ = r.ParseForm() // the server notices a gone client only once the body is read
			select {
			case <-hang:
			case <-r.Context().Done():
			}
		}, kind: ErrTimeout},
		{name: "scalar instead of matrix", handler: func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write([]byte(`{"status":"success","data":{"resultType":"scalar","result":[1,"1"]}}`))
		}, kind: ErrBadResponse},
	}
	for _, c := range handlers {
		t.Run(c.name, func(t *testing.T) {
			var srv *httptest.Server
			if c.handler != nil {
				srv = httptest.NewServer(c.handler)
			} else {
				srv = fakeProm(t, c.rules)
			}
			defer srv.Close()
			preset := c.preset
			if preset == "" {
				preset = PresetIstio
			}
			p, err := NewPrometheus(PrometheusOptions{Address: srv.URL, Timeout: 200 * time.Millisecond,
				Queries: Queries{Preset: preset, Target: "shop", Namespace: "prod", CPUSource: CPUNone, CustomRate: "req", CustomLatency: "lat"}})
			if err != nil {
				t.Fatal(err)
			}
			_, err = p.Range(context.Background(), testWindow)
			if !errors.Is(err, c.kind) {
				t.Fatalf("error %v, want kind %v", err, c.kind)
			}
			var qe *QueryError
			if !errors.As(err, &qe) || qe.Query == "" || !strings.Contains(err.Error(), srv.URL) {
				t.Errorf("error %q should name the query and the address %s", err, srv.URL)
			}
		})
	}
}

func TestPrometheusUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	addr := srv.URL
	srv.Close() // nothing listens there any more
	p, err := NewPrometheus(PrometheusOptions{Address: addr, Queries: Queries{Preset: PresetIstio, Target: "shop"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Range(context.Background(), testWindow); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("error %v, want ErrUnavailable", err)
	}
}

func TestPrometheusNonFiniteSamplesBecomeGaps(t *testing.T) {
	vals := []string{"NaN", "+Inf", "-3"}
	srv := fakeProm(t, []rule{
		{"istio_request_duration_milliseconds_sum", []fakeSeries{{value: constant("5")}}},
		{"istio_request_duration_milliseconds_bucket", buckets([]string{"10", "+Inf"}, []string{"1", "1"})},
		{"istio_requests_total", []fakeSeries{{value: func(i int) string { return vals[i] }}}},
	})
	defer srv.Close()
	p, _ := NewPrometheus(PrometheusOptions{Address: srv.URL, Queries: Queries{Preset: PresetIstio, Target: "shop", CPUSource: CPUNone}})
	pts, err := p.Range(context.Background(), testWindow)
	if err != nil {
		t.Fatal(err)
	}
	for i, pt := range pts {
		if !math.IsNaN(pt.Rate) {
			t.Errorf("sample %q read as rate %g, want NaN (unmeasured)", vals[i], pt.Rate)
		}
	}
}

func TestNewPrometheusRejectsBadConfig(t *testing.T) {
	cases := map[string]Queries{
		"unknown preset":       {Preset: "nginx", Target: "x"},
		"custom without rate":  {Preset: PresetCustom, CustomLatency: "y"},
		"istio without target": {Preset: PresetIstio},
		"envoy without target": {Preset: PresetEnvoy},
		"histogram unit":       {Preset: PresetCustom, CustomRate: "x", CustomLatency: "y", CustomHistogram: "z", CustomHistogramUnit: "us"},
		"metrics-api via prom": {Preset: PresetIstio, Target: "x", CPUSource: "metrics-api"},
	}
	for name, q := range cases {
		if _, err := NewPrometheus(PrometheusOptions{Address: "http://127.0.0.1:1", Queries: q}); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
