package metrics

import (
	"context"
	"strings"
	"testing"
	"time"
)

func TestRateSeriesSumsSeriesAndRefusesGaps(t *testing.T) {
	cases := []struct {
		name   string
		values [2]func(int) string
		want   []float64
		err    string
	}{
		{"two pods summed", [2]func(int) string{func(i int) string { return []string{"1", "2", "3"}[i] }, constant("10")}, []float64{11, 12, 13}, ""},
		{"a NaN period is a gap", [2]func(int) string{func(i int) string { return []string{"1", "NaN", "3"}[i] }, constant("10")}, nil,
			"1 of 3 periods have no rate, the first starting " + testWindow.Start().Add(testWindow.Step).UTC().Format(time.RFC3339)},
		{"a negative rate is a gap", [2]func(int) string{constant("-1"), constant("10")}, nil, "3 of 3 periods have no rate"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			srv := fakeProm(t, []rule{{"http_requests_total", []fakeSeries{{value: c.values[0]}, {value: c.values[1]}}}})
			defer srv.Close()
			p, err := NewPrometheus(PrometheusOptions{Address: srv.URL, Queries: Queries{Preset: PresetHTTP, Namespace: "shop", Target: "web", CPUSource: CPUNone}})
			if err != nil {
				t.Fatal(err)
			}
			s, err := p.RateSeries(context.Background(), testWindow)
			if c.err != "" {
				if err == nil || !strings.Contains(err.Error(), c.err) || !strings.Contains(err.Error(), "http_requests_total") {
					t.Fatalf("error %v, want one containing %q and the query", err, c.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !s.Start.Equal(testWindow.Start()) || s.Step != testWindow.Step || len(s.Values) != len(c.want) {
				t.Fatalf("series start %v step %v len %d", s.Start, s.Step, len(s.Values))
			}
			for i, v := range c.want {
				if s.Values[i] != v {
					t.Errorf("period %d: %g, want %g", i, s.Values[i], v)
				}
			}
			if q := p.RateQuery(testWindow.Step); !strings.HasPrefix(s.Name, "prometheus:") || !strings.Contains(q, "[10s]") {
				t.Errorf("name %q, query %q", s.Name, q)
			}
		})
	}
}
