package metrics

import (
	"context"
	"errors"
	"math"
	"strings"
	"testing"
)

// A workload scaled to zero: the pods' series exist for the first period only; the
// wake-up source counts in every period.
func TestServerlessWakeUpSourceReadsNoPodAsZeroRateAndHeld(t *testing.T) {
	podSeries := func(i int) string {
		if i == 0 {
			return "5"
		}
		return "NaN" // no pod: the destination series is gone
	}
	for _, tc := range []struct {
		name      string
		q         Queries
		substr    string
		wake      []string
		wantHeld  []float64
		wantQuery string
	}{
		{"held count (testbed activator)", Queries{WakeUp: WakeUpTestbed}, "testbed_lb_cold_starts_total",
			[]string{"0", "0", "3"}, []float64{0, 0, 3}, "sum(rate(testbed_lb_cold_starts_total[10s]))"},
		{"arrivals (Istio source reporter)", Queries{WakeUp: WakeUpIstioSource}, `reporter="source"`,
			[]string{"5", "0", "3"}, []float64{0, 0, 3},
			`sum(rate(istio_requests_total{reporter="source",destination_workload="shop",destination_workload_namespace="prod"}[10s]))`},
		{"arrivals (KEDA HTTP interceptor)", Queries{WakeUp: WakeUpKEDAHTTP}, "interceptor_request_count_total",
			[]string{"5", "0", "3"}, []float64{0, 0, 3},
			`sum(rate(interceptor_request_count_total{route_name="shop",route_namespace="prod"}[10s]))`},
		{"custom held query", Queries{WakeUp: WakeUpCustom, WakeUpQuery: "sum(rate(my_activator_held{app=\"$target\"}[$interval]))", WakeUpCounts: CountsHeld},
			"my_activator_held", []string{"0", "0", "3"}, []float64{0, 0, 3}, `sum(rate(my_activator_held{app="shop"}[10s]))`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var queries []string
			srv := fakeProm(t, []rule{
				{tc.substr, []fakeSeries{{value: func(i int) string { return tc.wake[i] }}}},
				{"http_requests_total", []fakeSeries{{value: podSeries}}},
				{"http_request_duration_seconds", nil},
				{"container_cpu_usage_seconds_total", []fakeSeries{{value: podSeries}}},
			})
			defer srv.Close()
			q := tc.q
			q.Preset, q.Namespace, q.Target, q.RequestMillicores = PresetHTTP, "prod", "shop", 500
			queries = append(queries, q.build(testWindow.Step).wakeUp)
			if queries[0] != tc.wantQuery {
				t.Errorf("wake-up query %s, want %s", queries[0], tc.wantQuery)
			}
			p, err := NewPrometheus(PrometheusOptions{Address: srv.URL, Queries: q})
			if err != nil {
				t.Fatal(err)
			}
			pts, err := p.Range(context.Background(), testWindow)
			if err != nil {
				t.Fatal(err)
			}
			if pts[0].Rate != 5 || pts[0].CPU != 5 {
				t.Errorf("period with a pod: rate %g cpu %g, want 5 and 5", pts[0].Rate, pts[0].CPU)
			}
			for i, pt := range pts {
				if i > 0 && (pt.Rate != 0 || pt.CPU != 0 || pt.LatencyMeanMS != 0) {
					t.Errorf("period %d without a pod: rate %g cpu %g latency %g, want 0", i, pt.Rate, pt.CPU, pt.LatencyMeanMS)
				}
				if pt.Held != tc.wantHeld[i] {
					t.Errorf("period %d: held %g, want %g", i, pt.Held, tc.wantHeld[i])
				}
			}
		})
	}
}

// With no pod in the whole window the destination queries match nothing: without a wake-up
// source that is "no data"; with one, the wake-up count decides.
func TestServerlessNoPodInTheWholeWindow(t *testing.T) {
	srv := fakeProm(t, []rule{{"testbed_lb_cold_starts_total", []fakeSeries{{value: constant("2")}}}})
	defer srv.Close()
	base := Queries{Preset: PresetHTTP, Namespace: "prod", Target: "shop", RequestMillicores: 500}
	p, err := NewPrometheus(PrometheusOptions{Address: srv.URL, Queries: base})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Range(context.Background(), testWindow); !errors.Is(err, ErrNoData) {
		t.Fatalf("destination only: error %v, want ErrNoData", err)
	}
	base.WakeUp = WakeUpTestbed
	p, err = NewPrometheus(PrometheusOptions{Address: srv.URL, Queries: base})
	if err != nil {
		t.Fatal(err)
	}
	pts, err := p.Range(context.Background(), testWindow)
	if err != nil {
		t.Fatal(err)
	}
	for i, pt := range pts {
		if pt.Rate != 0 || pt.Held != 2 || math.IsNaN(pt.CPU) {
			t.Errorf("period %d: rate %g held %g cpu %g, want 0, 2, 0", i, pt.Rate, pt.Held, pt.CPU)
		}
	}
	// Neither source counted: no data.
	empty := fakeProm(t, nil)
	defer empty.Close()
	p, _ = NewPrometheus(PrometheusOptions{Address: empty.URL, Queries: base})
	if _, err := p.Range(context.Background(), testWindow); !errors.Is(err, ErrNoData) || !strings.Contains(err.Error(), "wake-up source testbed-lb") {
		t.Fatalf("nothing at all: error %v, want ErrNoData naming the wake-up source", err)
	}
}

func TestServerlessWakeUpConfigErrors(t *testing.T) {
	for _, tc := range []struct {
		q    Queries
		want string
	}{
		{Queries{WakeUp: "gateway"}, `unknown wake-up source "gateway"`},
		{Queries{WakeUp: WakeUpCustom}, "needs a query"},
		{Queries{WakeUp: WakeUpIstioSource, WakeUpQuery: "x"}, "only for wake-up source custom"},
		{Queries{WakeUp: WakeUpCustom, WakeUpQuery: "x", WakeUpCounts: "some"}, `wake-up counts "some"`},
	} {
		q := tc.q
		q.Preset, q.Target = PresetHTTP, "shop"
		if _, err := NewPrometheus(PrometheusOptions{Address: "http://127.0.0.1:1", Queries: q}); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.q, err, tc.want)
		}
	}
	if !(Queries{Preset: PresetNginxIngress}).CountsWithoutPods() || (Queries{Preset: PresetIstio}).CountsWithoutPods() ||
		!(Queries{Preset: PresetIstio, WakeUp: WakeUpIstioSource}).CountsWithoutPods() {
		t.Error("CountsWithoutPods: want nginx-ingress or a wake-up source, not istio alone")
	}
}
