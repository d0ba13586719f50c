package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bascaler/bascaler/api/v1alpha1"
)

// The Grafana dashboards in deploy/grafana are checked against a real Prometheus scraping
// the shared manager's /metrics (controller-runtime's metrics server, as deployed): every
// panel target and every template variable's series selector, with the template variables
// substituted, must parse and return at least one series with a number.

// dashboardQuery is one PromQL expression of a dashboard: a panel target or the selector of
// a template variable's label_values().
type dashboardQuery struct {
	where string // "panel \"Replicas\" target A" or "variable autoscaler"
	expr  string
}

// labelValues matches Grafana's label_values(selector, label) variable query.
var labelValues = regexp.MustCompile(`^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$`)

// grafanaVar matches a template variable reference: $name, ${name} or [[name]].
var grafanaVar = regexp.MustCompile(`\$\{(\w+)\}|\$(\w+)|\[\[(\w+)\]\]`)

// dashboardQueries reads a dashboard file and returns its queries with the variables in
// vars substituted; a reference to any other variable is an error naming it.
func dashboardQueries(path string, vars map[string]string) ([]dashboardQuery, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var d struct {
		Panels     []json.RawMessage `json:"panels"`
		Templating struct {
			List []struct {
				Name  string          `json:"name"`
				Type  string          `json:"type"`
				Query json.RawMessage `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(raw, &d); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out []dashboardQuery
	var walk func(panels []json.RawMessage) error
	walk = func(panels []json.RawMessage) error {
		for _, pr := range panels {
			var p struct {
				Title   string            `json:"title"`
				Panels  []json.RawMessage `json:"panels"` // a row's collapsed panels
				Targets []struct {
					RefID string `json:"refId"`
					Expr  string `json:"expr"`
				} `json:"targets"`
			}
			if err := json.Unmarshal(pr, &p); err != nil {
				return err
			}
			for _, tg := range p.Targets {
				out = append(out, dashboardQuery{where: fmt.Sprintf("panel %q target %s", p.Title, tg.RefID), expr: tg.Expr})
			}
			if err := walk(p.Panels); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(d.Panels); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	for _, v := range d.Templating.List {
		if v.Type != "query" {
			continue
		}
		var q struct {
			Query string `json:"query"`
		}
		if err := json.Unmarshal(v.Query, &q); err != nil {
			if err := json.Unmarshal(v.Query, &q.Query); err != nil {
				return nil, fmt.Errorf("%s: variable %s: query is neither an object nor a string", path, v.Name)
			}
		}
		m := labelValues.FindStringSubmatch(q.Query)
		if m == nil {
			return nil, fmt.Errorf("%s: variable %s: %q is not label_values(selector, label)", path, v.Name, q.Query)
		}
		out = append(out, dashboardQuery{where: "variable " + v.Name, expr: m[1]})
	}
	for i, q := range out {
		if strings.TrimSpace(q.expr) == "" {
			return nil, fmt.Errorf("%s: %s has no expression", path, q.where)
		}
		var unknown []string
		out[i].expr = grafanaVar.ReplaceAllStringFunc(q.expr, func(ref string) string {
			m := grafanaVar.FindStringSubmatch(ref)
			name := m[1] + m[2] + m[3]
			v, ok := vars[name]
			if !ok {
				unknown = append(unknown, name)
			}
			return v
		})
		if len(unknown) > 0 {
			return nil, fmt.Errorf("%s: %s uses variables %v the test does not set (%s)", path, q.where, unknown, q.expr)
		}
	}
	return out, nil
}

// errNoSeries means a query parsed and ran but returned no series with a number.
var errNoSeries = errors.New("no series with a number")

// checkQuery runs expr as an instant query on the Prometheus at base: a parse or execution
// error is returned with Prometheus's message, an empty result (or one of NaNs only) is
// errNoSeries.
func checkQuery(ctx context.Context, base, expr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/api/v1/query?query="+url.QueryEscape(expr), nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var body struct {
		Status    string `json:"status"`
		ErrorType string `json:"errorType"`
		Error     string `json:"error"`
		Data      struct {
			ResultType string `json:"resultType"`
			Result     []struct {
				Value  []any   `json:"value"`  // vector: [time, "value"]
				Values [][]any `json:"values"` // matrix
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return fmt.Errorf("decode answer (HTTP %d): %w", resp.StatusCode, err)
	}
	if body.Status != "success" {
		return fmt.Errorf("%s: %s", body.ErrorType, body.Error)
	}
	if t := body.Data.ResultType; t != "vector" && t != "matrix" {
		return fmt.Errorf("result type %s, want a vector", t)
	}
	number := func(pair []any) bool {
		if len(pair) != 2 {
			return false
		}
		s, ok := pair[1].(string)
		if !ok {
			return false
		}
		v, err := strconv.ParseFloat(s, 64)
		return err == nil && !math.IsNaN(v)
	}
	for _, r := range body.Data.Result {
		if number(r.Value) {
			return nil
		}
		for _, p := range r.Values {
			if number(p) {
				return nil
			}
		}
	}
	return fmt.Errorf("%w (%d series)", errNoSeries, len(body.Data.Result))
}

// deadPrometheus returns the URL of a loopback port nothing listens on.
func deadPrometheus(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

func TestDashboardQueriesAnswerForARunningController(t *testing.T) {
	t.Parallel()
	c := cluster(t)
	sharedManager(t)
	p := prom(t)
	ns := namespace(t, c, "dashboards")

	// shop: bascaler with a registry model, 200 req/s for pods of 50 req/s: it forecasts,
	// scales up and reports everything the workload dashboard draws (memory too).
	regDir, _ := publishedCountsModel(t, "arima", 2*time.Second)
	deployment(t, c, ns, "shop", 1)
	exp.setRate(ns, "shop", 200)
	shop := autoscaler(ns, "shop", "shop", p.URL)
	shop.Spec.Policy = v1alpha1.PolicySpec{Name: "bascaler", HistoryIntervals: 30,
		Forecaster: &v1alpha1.ModelRef{Kind: "arima", Path: regDir + "@champion"},
		Capacity:   &v1alpha1.CapacitySpec{PerPodRPS: "50"},
		Params:     map[string]string{"guard-period": "0", "detector": "none"},
		// A season of 4 intervals instead of a day (43,200 intervals at 2 s), so that the
		// seasonal drift score (its panel) answers within the test.
		Drift: &v1alpha1.DriftSpec{Season: &metav1.Duration{Duration: 8 * time.Second}, SeasonalWindow: 2}}
	// broken: its Prometheus is gone, so read errors count and the fallback holds.
	deployment(t, c, ns, "broken", 2)
	exp.setRate(ns, "broken", 10)
	broken := autoscaler(ns, "broken", "broken", deadPrometheus(t))
	broken.Spec.Fallback = &v1alpha1.Fallback{AfterFailures: 1, Action: v1alpha1.FallbackHold}
	for _, b := range []*v1alpha1.BurstAwareAutoscaler{shop, broken} {
		if err := c.Create(context.Background(), b); err != nil {
			t.Fatal(err)
		}
	}

	dir := filepath.Join("..", "..", "deploy", "grafana")
	var queries []dashboardQuery
	for _, d := range []struct {
		file string
		vars map[string]string
	}{
		// The controller dashboard with "All" autoscalers of the namespace.
		{"bascaler-dashboard.json", map[string]string{"namespace": ns, "autoscaler": ".+"}},
		{"bascaler-workload-dashboard.json", map[string]string{"namespace": ns, "autoscaler": "shop"}},
	} {
		qs, err := dashboardQueries(filepath.Join(dir, d.file), d.vars)
		if err != nil {
			t.Fatal(err)
		}
		for i := range qs {
			qs[i].where = d.file + ": " + qs[i].where
		}
		queries = append(queries, qs...)
	}
	if len(queries) < 20 {
		t.Fatalf("%d queries in the two dashboards; the reader misses panels", len(queries))
	}

	// The checker itself fails on a misspelt metric name and on a query that does not parse.
	ctx := context.Background()
	if err := checkQuery(ctx, p.URL, `bascaler_desired_replica{namespace="`+ns+`"}`); !errors.Is(err, errNoSeries) {
		t.Errorf("misspelt metric: %v, want %v", err, errNoSeries)
	}
	if err := checkQuery(ctx, p.URL, `sum(bascaler_desired_replicas{namespace="`+ns+`"}`); err == nil || !strings.Contains(err.Error(), "bad_data") {
		t.Errorf("unparsable query: %v, want a bad_data error", err)
	}

	// Poll until every query answers (the controller must decide, scale and fail a few
	// times, and Prometheus scrape it twice for rates), then report each one that does not.
	failing := map[string]error{}
	deadline := time.Now().Add(60 * time.Second)
	for {
		clear(failing)
		for _, q := range queries {
			if err := checkQuery(ctx, p.URL, q.expr); err != nil {
				failing[q.where] = fmt.Errorf("%s: %w", q.expr, err)
			}
		}
		if len(failing) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(time.Second)
	}
	for where, err := range failing {
		t.Errorf("%s: %v", where, err)
	}
	t.Logf("%d dashboard queries checked", len(queries))
}
