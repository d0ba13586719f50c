package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/series"
)

var (
	builtinOnce sync.Once
	builtin     *Model
	builtinErr  error
)

// newTestServer serves the built-in model on a real loopback HTTP server.
func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	builtinOnce.Do(func() { builtin, builtinErr = Builtin() })
	if builtinErr != nil {
		t.Fatal(builtinErr)
	}
	s := New()
	if err := s.SetModels([]*Model{builtin}); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, ts *httptest.Server, method, path, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, ts.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := ts.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, b
}

// workload is the embedded synthetic workload in req/s at one-minute intervals.
func workload(t *testing.T) series.Series {
	t.Helper()
	s, err := series.Synthetic(series.DefaultSynthetic())
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func jsonOf(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var now0 = time.Date(2026, 12, 2, 5, 0, 0, 0, time.UTC)

// observationOf builds a recommend request from the workload's first n intervals, with
// per-pod latency and CPU from the fft profile at the given replicas.
func observationOf(t *testing.T, n, replicas int, pol string, tick time.Duration) RecommendRequest {
	t.Helper()
	w := workload(t)
	prof := perf.FFT()
	period := func(rate float64) Period {
		pt := prof.At(rate / float64(replicas))
		return Period{Rate: rate, LatencyMeanMS: pt.MeanMS, LatencyP95MS: pt.P95MS, LatencyP99MS: pt.P99MS, CPU: pt.CPU}
	}
	req := RecommendRequest{Now: now0, Interval: "60s", Replicas: replicas, Ready: replicas, Min: 1, Max: 40,
		SLO: SLOSpec{Metric: "p95", TargetMS: 200}, Policy: PolicySpec{Name: pol}, Seed: 7}
	for i := 0; i < n; i++ {
		req.History = append(req.History, period(w.Values[i]))
	}
	for k := int(time.Minute / tick); k > 0; k-- {
		req.Recent = append(req.Recent, period(w.Values[n-1]*(1+0.01*float64(k))))
	}
	return req
}

// TestServeContract checks answers against api/openapi/serve.yaml and their content.
func TestServeContract(t *testing.T) {
	ts := newTestServer(t)
	sp := loadSpec(t)
	w := workload(t)
	start := now0.Add(-1000 * time.Minute)
	fc := ForecastRequest{Step: "60s", History: w.Values[:1000], Horizon: 10}
	fcStart := fc
	fcStart.Start = &start
	for _, c := range []struct {
		name, method, path, body string
		code                     int
		check                    func(t *testing.T, body []byte)
	}{
		{"forecast", "POST", "/v1/forecast", jsonOf(t, fc), 200, func(t *testing.T, b []byte) {
			var r ForecastResponse
			_ = json.Unmarshal(b, &r)
			if len(r.Quantiles) != 10 || r.Version != builtin.Version || r.Model != DefaultModel {
				t.Errorf("want 10 steps of %s, got %d steps of %s/%s", builtin.Version, len(r.Quantiles), r.Model, r.Version)
			}
			for h, row := range r.Quantiles {
				for k := 1; k < len(row); k++ {
					if row[k] < row[k-1] {
						t.Errorf("step %d: quantiles decrease: %v", h, row)
					}
				}
			}
		}},
		{"forecast with start", "POST", "/v1/forecast", jsonOf(t, fcStart), 200, func(t *testing.T, b []byte) {
			var r ForecastResponse
			_ = json.Unmarshal(b, &r)
			if r.Start == nil || !r.Start.Equal(now0) {
				t.Errorf("first forecast step at %v, want %v", r.Start, now0)
			}
		}},
		{"forecast by alias-free name", "POST", "/v1/forecast", `{"model":"default","step":"1m","history":[1,2,3,4],"horizon":1}`, 200, nil},
		{"recommend hpa", "POST", "/v1/recommend", jsonOf(t, observationOf(t, 30, 4, "hpa", 15*time.Second)), 200, func(t *testing.T, b []byte) {
			var r RecommendResponse
			_ = json.Unmarshal(b, &r)
			if r.Tick != "15s" || r.Mode != "steady" || r.Replicas < 1 || r.Index != 30 {
				t.Errorf("hpa: want tick 15s, mode steady, index 30, got %+v", r)
			}
		}},
		{"recommend bascaler", "POST", "/v1/recommend", jsonOf(t, observationOf(t, 300, 4, "bascaler", time.Minute)), 200, func(t *testing.T, b []byte) {
			var r RecommendResponse
			_ = json.Unmarshal(b, &r)
			if r.Forecast == nil || !(r.Forecast.P50 > 0) || r.CapacityRPS <= 0 {
				t.Errorf("bascaler: want a forecast and a capacity, got %s", b)
			}
		}},
		{"models", "GET", "/v1/models", "", 200, func(t *testing.T, b []byte) {
			var r ModelsResponse
			_ = json.Unmarshal(b, &r)
			if len(r.Models) != 1 || r.Models[0].Name != DefaultModel || r.Models[0].Step != "1m0s" {
				t.Errorf("models: %s", b)
			}
		}},
		{"healthz", "GET", "/healthz", "", 200, nil},
		{"readyz", "GET", "/readyz", "", 200, nil},
		{"bad forecast", "POST", "/v1/forecast", `{"step":"60s","history":[-1],"horizon":1}`, 400, nil},
		{"bad recommend", "POST", "/v1/recommend", `{}`, 400, nil},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := do(t, ts, c.method, c.path, c.body)
			if code != c.code {
				t.Fatalf("status %d, want %d: %s", code, c.code, body)
			}
			sc, err := sp.response(c.method, c.path, code)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			if err := json.Unmarshal(body, &v); err != nil {
				t.Fatalf("answer is not JSON: %v: %s", err, body)
			}
			if err := sp.validate(sc, v, "$"); err != nil {
				t.Errorf("answer does not match the spec: %v\n%s", err, body)
			}
			if c.check != nil {
				c.check(t, body)
			}
		})
	}
	// The metrics count what was answered, per endpoint.
	_, m := do(t, ts, "GET", "/metrics", "")
	for _, want := range []string{`bascaler_serve_requests_total{code="200",endpoint="forecast"} 3`,
		`bascaler_serve_requests_total{code="400",endpoint="recommend"} 1`,
		`bascaler_serve_request_duration_seconds_count{endpoint="recommend"} 3`,
		`bascaler_serve_model_info{kind="holt-winters",model="default",step="1m0s",version="builtin:holt-winters:bursty-day-seed1"} 1`} {
		if !strings.Contains(string(m), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
}

// TestServeBadInput: every bad request is a 4xx naming the field; nothing panics.
func TestServeBadInput(t *testing.T) {
	ts := newTestServer(t)
	sp := loadSpec(t)
	good := observationOf(t, 30, 4, "hpa", 15*time.Second)
	rec := func(edit func(r *RecommendRequest)) string {
		r := good
		r.History = append([]Period(nil), good.History...)
		edit(&r)
		return jsonOf(t, r)
	}
	huge := `{"step":"60s","horizon":1,"history":[` + strings.Repeat("1,", MaxBody/2) + `1]}`
	for _, c := range []struct {
		name, path, body string
		code             int
		field            string
	}{
		{"malformed JSON", "/v1/forecast", `{"step":"60s",`, 400, "body"},
		{"empty body", "/v1/forecast", ``, 400, "body"},
		{"trailing data", "/v1/forecast", `{"step":"60s","history":[1,2,3],"horizon":1} {}`, 400, "body"},
		{"NaN literal", "/v1/forecast", `{"step":"60s","history":[1,NaN,3],"horizon":1}`, 400, "body"},
		{"NaN as string", "/v1/forecast", `{"step":"60s","history":[1,"NaN",3],"horizon":1}`, 400, "history"},
		{"negative rate", "/v1/forecast", `{"step":"60s","history":[1,2,-3,4],"horizon":1}`, 400, "history[2]"},
		{"unknown model", "/v1/forecast", `{"model":"gru9","step":"60s","history":[1,2,3],"horizon":1}`, 400, "model"},
		{"history too short", "/v1/forecast", `{"step":"60s","history":[1,2],"horizon":1}`, 400, "history"},
		{"no history", "/v1/forecast", `{"step":"60s","horizon":1}`, 400, "history"},
		{"step mismatch", "/v1/forecast", `{"step":"30s","history":[1,2,3],"horizon":1}`, 400, "step"},
		{"bad step", "/v1/forecast", `{"step":"soon","history":[1,2,3],"horizon":1}`, 400, "step"},
		{"horizon 0", "/v1/forecast", `{"step":"60s","history":[1,2,3],"horizon":0}`, 400, "horizon"},
		{"horizon too far", "/v1/forecast", `{"step":"60s","history":[1,2,3],"horizon":1000}`, 400, "horizon"},
		{"unknown field", "/v1/forecast", `{"step":"60s","history":[1,2,3],"horizon":1,"colour":"red"}`, 400, "body"},
		{"wrong type", "/v1/forecast", `{"step":"60s","history":[1,2,3],"horizon":"two"}`, 400, "horizon"},
		{"body too big", "/v1/forecast", huge, 413, ""},
		{"unknown policy", "/v1/recommend", rec(func(r *RecommendRequest) { r.Policy.Name = "magic" }), 400, "policy.name"},
		{"no policy", "/v1/recommend", rec(func(r *RecommendRequest) { r.Policy.Name = "" }), 400, "policy.name"},
		{"clairvoyant policy", "/v1/recommend", rec(func(r *RecommendRequest) { r.Policy.Name = "oracle" }), 400, "policy"},
		{"model param", "/v1/recommend", rec(func(r *RecommendRequest) { r.Policy.Params = map[string]string{"model": "/etc"} }), 400, "policy.params.model"},
		{"bad policy param", "/v1/recommend", rec(func(r *RecommendRequest) { r.Policy.Params = map[string]string{"nonsense": "1"} }), 400, "policy"},
		{"history too short for the policy", "/v1/recommend", rec(func(r *RecommendRequest) { r.Policy.Name = "bascaler"; r.History = r.History[:3] }), 400, "policy"},
		{"negative rate in history", "/v1/recommend", rec(func(r *RecommendRequest) { r.History[5].Rate = -2 }), 400, "history[5].rate"},
		{"share above 1", "/v1/recommend", rec(func(r *RecommendRequest) { r.History[1].OverSLO = 2 }), 400, "history[1].over_slo"},
		{"negative tick cpu", "/v1/recommend", rec(func(r *RecommendRequest) { r.Recent = []Period{{Rate: 1, CPU: -1}} }), 400, "recent[0].cpu"},
		{"bad interval", "/v1/recommend", rec(func(r *RecommendRequest) { r.Interval = "-1s" }), 400, "interval"},
		{"no now", "/v1/recommend", rec(func(r *RecommendRequest) { r.Now = time.Time{} }), 400, "now"},
		{"min above max", "/v1/recommend", rec(func(r *RecommendRequest) { r.Min = 50 }), 400, "min"},
		{"max 0", "/v1/recommend", rec(func(r *RecommendRequest) { r.Max = 0 }), 400, "max"},
		{"ready above replicas", "/v1/recommend", rec(func(r *RecommendRequest) { r.Ready = 9 }), 400, "ready"},
		{"bad slo metric", "/v1/recommend", rec(func(r *RecommendRequest) { r.SLO.Metric = "p42" }), 400, "slo.metric"},
		{"slo target 0", "/v1/recommend", rec(func(r *RecommendRequest) { r.SLO.TargetMS = 0 }), 400, "slo.target_ms"},
		{"negative capacity", "/v1/recommend", rec(func(r *RecommendRequest) { r.PerPodRPS = -5 }), 400, "per_pod_rps"},
		{"bad startup", "/v1/recommend", rec(func(r *RecommendRequest) { r.Startup = "later" }), 400, "startup"},
		{"bad time", "/v1/recommend", `{"now":"yesterday"}`, 400, "body"},
		{"unknown target (recommend)", "/v1/recommend", `{"target":"nope"}`, 400, "target"},
		{"unknown target (forecast)", "/v1/forecast", `{"target":"nope","horizon":3}`, 400, "target"},
		{"target with an observation", "/v1/recommend", `{"target":"nope","replicas":3}`, 400, "target"},
	} {
		t.Run(c.name, func(t *testing.T) {
			code, body := do(t, ts, "POST", c.path, c.body)
			if code != c.code {
				t.Fatalf("status %d, want %d: %s", code, c.code, body)
			}
			var e ErrorResponse
			if err := json.Unmarshal(body, &e); err != nil || e.Error == "" {
				t.Fatalf("want a JSON error, got %q", body)
			}
			if e.Field != c.field || !strings.Contains(e.Error, c.field) {
				t.Errorf("want field %q named in the message, got field %q: %s", c.field, e.Field, e.Error)
			}
			sc, err := sp.response("POST", c.path, code)
			if err != nil {
				t.Fatal(err)
			}
			var v any
			_ = json.Unmarshal(body, &v)
			if err := sp.validate(sc, v, "$"); err != nil {
				t.Error(err)
			}
		})
	}
	// The server is still up and answering after all that.
	if code, _ := do(t, ts, "GET", "/healthz", ""); code != 200 {
		t.Fatalf("healthz after bad input: %d", code)
	}
}

// TestServeNotReady: before the models are set, readiness and the model endpoints say 503.
func TestServeNotReady(t *testing.T) {
	ts := httptest.NewServer(New().Handler())
	defer ts.Close()
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/readyz", ""}, {"GET", "/v1/models", ""}, {"POST", "/v1/forecast", `{"step":"60s","history":[1,2,3],"horizon":1}`}} {
		if code, b := do(t, ts, c.method, c.path, c.body); code != http.StatusServiceUnavailable {
			t.Errorf("%s %s: %d, want 503: %s", c.method, c.path, code, b)
		}
	}
	if code, _ := do(t, ts, "GET", "/healthz", ""); code != 200 {
		t.Errorf("healthz before ready: %d", code)
	}
}

// pointsSource is a driver.Source over fixed per-interval and per-tick values, as a
// Prometheus would answer them.
type pointsSource struct {
	interval time.Duration
	byStep   map[time.Duration]map[time.Time]driver.Point
}

func (s *pointsSource) Range(_ context.Context, w driver.Window) ([]driver.Point, error) {
	pts := s.byStep[w.Step]
	out := make([]driver.Point, w.Count)
	for i := range out {
		st := w.Start().Add(time.Duration(i) * w.Step)
		p, ok := pts[st]
		if !ok {
			p = driver.Point{Start: st, Rate: math.NaN(), Errors: math.NaN(), LatencyMeanMS: math.NaN(), LatencyP95MS: math.NaN(),
				LatencyP99MS: math.NaN(), OverSLO: math.NaN(), CPU: math.NaN(), MemoryBytes: math.NaN(), Held: math.NaN()}
		}
		out[i] = p
	}
	return out, nil
}

func (p Period) at(start time.Time) driver.Point {
	return driver.Point{Start: start, Rate: p.Rate, Errors: p.Errors, LatencyMeanMS: p.LatencyMeanMS, LatencyP95MS: p.LatencyP95MS,
		LatencyP99MS: p.LatencyP99MS, OverSLO: p.OverSLO, CPU: p.CPU, Held: p.Held}
}

// controllerStep decides req the way internal/controller does: a driver.Feed over a
// metrics source with the warm history, the intervals read first, the policy built on
// them and bound, then the Feed's step (read the Recent window, decide).
func controllerStep(t *testing.T, req RecommendRequest) driver.Step {
	t.Helper()
	iv := time.Minute
	slo := policy.SLO{Metric: perf.P95, TargetMS: req.SLO.TargetMS}
	loop, err := driver.New(driver.Config{Interval: iv, Min: req.Min, Max: req.Max, SLO: slo})
	if err != nil {
		t.Fatal(err)
	}
	src := &pointsSource{interval: iv, byStep: map[time.Duration]map[time.Time]driver.Point{}}
	add := func(step time.Duration, ps []Period) {
		m := src.byStep[step]
		if m == nil {
			m = map[time.Time]driver.Point{}
			src.byStep[step] = m
		}
		for i, p := range ps {
			st := req.Now.Add(-time.Duration(len(ps)-i) * step)
			m[st] = p.at(st)
		}
	}
	add(iv, req.History)
	feed := &driver.Feed{Source: src, Interval: iv, Start: req.Now, Warm: len(req.History)}
	ctx := context.Background()
	ivs, err := feed.Intervals(ctx, req.Now, req.Replicas, req.Ready)
	if err != nil {
		t.Fatal(err)
	}
	hist := series.Series{Name: "ns/name", Step: iv, Start: ivs[0].Start}
	for _, x := range ivs {
		loop.AddInterval(x)
		hist.Values = append(hist.Values, x.Rate)
	}
	env := policy.Env{Interval: iv, SLO: slo, Min: req.Min, Max: req.Max, Startup: 30 * time.Second,
		Profile: perf.FFT(), History: hist, Seed: req.Seed, Params: req.Policy.Params}
	pol, err := policy.New(req.Policy.Name, env)
	if err != nil {
		t.Fatal(err)
	}
	if err := loop.Bind(pol); err != nil {
		t.Fatal(err)
	}
	add(loop.Tick(), req.Recent)
	return feed.Step(ctx, loop, req.Now, req.Replicas, req.Ready, nil)
}

// TestServeRecommendEqualsController: for the same observation, recommend answers what the
// controller's driver path decides, for policies of every kind (reactive, per-tick,
// forecasting, serverless).
func TestServeRecommendEqualsController(t *testing.T) {
	ts := newTestServer(t)
	for _, c := range []struct {
		pol      string
		tick     time.Duration
		n        int
		replicas int
		params   map[string]string
	}{
		{"hpa", 15 * time.Second, 40, 3, nil},
		{"hpa", 15 * time.Second, 40, 9, nil},
		{"kpa", 2 * time.Second, 40, 4, nil},
		{"bascaler", time.Minute, 300, 4, nil},
		{"bascaler", time.Minute, 400, 2, map[string]string{"quantile": "0.95"}},
		{"threshold", time.Minute, 60, 5, nil},
		{"keda", 30 * time.Second, 60, 1, nil},
		{"static:6", time.Minute, 10, 3, nil},
	} {
		t.Run(fmt.Sprintf("%s-%d-%d", c.pol, c.n, c.replicas), func(t *testing.T) {
			req := observationOf(t, c.n, c.replicas, c.pol, c.tick)
			req.Policy.Params = c.params
			want := controllerStep(t, req)
			if !want.Decided {
				t.Fatalf("the controller path did not decide: %s", want.Why)
			}
			code, body := do(t, ts, "POST", "/v1/recommend", jsonOf(t, req))
			if code != 200 {
				t.Fatalf("status %d: %s", code, body)
			}
			var got RecommendResponse
			if err := json.NewDecoder(bytes.NewReader(body)).Decode(&got); err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d replicas (%s): %s", c.pol, got.Replicas, got.Mode, got.Explanation)
			if got.Replicas != want.Desired || got.Recommendation != want.Decision.Replicas ||
				got.Mode != want.Mode().String() || got.Explanation != want.Explanation() || got.Index != want.Index {
				t.Errorf("recommend %d (raw %d, %s, index %d: %s)\ncontroller %d (raw %d, %s, index %d: %s)",
					got.Replicas, got.Recommendation, got.Mode, got.Index, got.Explanation,
					want.Desired, want.Decision.Replicas, want.Mode(), want.Index, want.Explanation())
			}
		})
	}
}
