package serve

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/live"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/series"
)

// Server answers the HTTP API. Models are set once (SetModels); until then /readyz and the
// model endpoints answer 503.
type Server struct {
	models atomic.Pointer[modelSet]
	// targets are the live targets (SetTargets); nil: requests must carry observations.
	targets atomic.Pointer[live.Set]
	// now is the clock live targets are stepped at (time.Now).
	now  func() time.Time
	reg  *prometheus.Registry
	reqs *prometheus.CounterVec
	dur  *prometheus.HistogramVec
	info *prometheus.GaugeVec
}

// New returns a server without models.
func New() *Server {
	s := &Server{reg: prometheus.NewRegistry(), now: time.Now}
	s.reqs = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bascaler_serve_requests_total",
		Help: "Requests answered, by endpoint and HTTP status code."}, []string{"endpoint", "code"})
	s.dur = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bascaler_serve_request_duration_seconds",
		Help:    "Time to answer a request, by endpoint.",
		Buckets: []float64{0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5}}, []string{"endpoint"})
	s.info = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_serve_model_info",
		Help: "A served model (value 1): its name, version, kind and step."}, []string{"model", "version", "kind", "step"})
	s.reg.MustRegister(s.reqs, s.dur, s.info, prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return s
}

// SetModels makes ms the served models and the server ready.
func (s *Server) SetModels(ms []*Model) error {
	set, err := newModelSet(ms)
	if err != nil {
		return err
	}
	s.info.Reset()
	for _, m := range set.order {
		s.info.WithLabelValues(m.Name, m.Version, m.Kind, m.Step.String()).Set(1)
	}
	s.models.Store(set)
	return nil
}

// Ready reports whether models are loaded.
func (s *Server) Ready() bool { return s.models.Load() != nil }

// Handler returns the HTTP API: /v1/forecast, /v1/recommend, /v1/models, /healthz,
// /readyz and /metrics.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("POST /v1/forecast", s.instrument("forecast", s.forecast))
	mux.Handle("POST /v1/recommend", s.instrument("recommend", s.recommend))
	mux.Handle("GET /v1/models", s.instrument("models", s.listModels))
	mux.Handle("GET /healthz", s.instrument("healthz", func(w http.ResponseWriter, _ *http.Request) error {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
		return nil
	}))
	mux.Handle("GET /readyz", s.instrument("readyz", func(w http.ResponseWriter, _ *http.Request) error {
		if !s.Ready() {
			return &httpError{http.StatusServiceUnavailable, "models are still loading"}
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
		return nil
	}))
	mux.Handle("GET /metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	return mux
}

// httpError is an error with its status code.
type httpError struct {
	code int
	msg  string
}

func (e *httpError) Error() string { return e.msg }

// ErrorResponse is the body of every 4xx/5xx answer.
type ErrorResponse struct {
	Error string `json:"error"`
	// Field names the offending request field, when one does.
	Field string `json:"field,omitempty"`
}

type statusWriter struct {
	http.ResponseWriter
	code int
}

func (w *statusWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }

// instrument counts and times h, turns its error into a JSON answer and a panic into a 500
// (a bad model must not take the server down).
func (s *Server) instrument(endpoint string, h func(http.ResponseWriter, *http.Request) error) http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		began := time.Now()
		w := &statusWriter{ResponseWriter: rw, code: http.StatusOK}
		defer func() {
			if v := recover(); v != nil {
				writeError(w, &httpError{http.StatusInternalServerError, fmt.Sprintf("internal error: %v", v)})
			}
			s.reqs.WithLabelValues(endpoint, strconv.Itoa(w.code)).Inc()
			s.dur.WithLabelValues(endpoint).Observe(time.Since(began).Seconds())
		}()
		if err := h(w, r); err != nil {
			writeError(w, err)
		}
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func writeError(w http.ResponseWriter, err error) {
	var fe *FieldError
	var he *httpError
	switch {
	case errors.As(err, &fe):
		writeJSON(w, http.StatusBadRequest, ErrorResponse{Error: fe.Error(), Field: fe.Field})
	case errors.As(err, &he):
		writeJSON(w, he.code, ErrorResponse{Error: he.msg})
	default:
		writeJSON(w, http.StatusInternalServerError, ErrorResponse{Error: err.Error()})
	}
}

// decode reads a bounded JSON body into v, refusing unknown fields and trailing data.
func decode(w http.ResponseWriter, r *http.Request, v any) error {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, MaxBody))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var mbe *http.MaxBytesError
		var te *json.UnmarshalTypeError
		var se *json.SyntaxError
		switch {
		case errors.As(err, &mbe):
			return &httpError{http.StatusRequestEntityTooLarge, fmt.Sprintf("body: larger than %d bytes", MaxBody)}
		case errors.As(err, &te):
			return bad(te.Field, "want a JSON %s, got %s", te.Type, te.Value)
		case errors.As(err, &se):
			return bad("body", "malformed JSON at byte %d: %v", se.Offset, err)
		case errors.Is(err, io.EOF):
			return bad("body", "empty")
		}
		return bad("body", "%v", err)
	}
	if dec.More() {
		return bad("body", "data after the JSON object")
	}
	return nil
}

func (s *Server) set() (*modelSet, error) {
	set := s.models.Load()
	if set == nil {
		return nil, &httpError{http.StatusServiceUnavailable, "models are still loading"}
	}
	return set, nil
}

func (s *Server) forecast(w http.ResponseWriter, r *http.Request) error {
	var req ForecastRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	set, err := s.set()
	if err != nil {
		return err
	}
	m, err := set.find(req.Model)
	if err != nil {
		return &FieldError{Field: "model", Reason: err.Error()}
	}
	if req.Target != "" {
		return s.forecastTarget(w, r, m, &req)
	}
	resp, err := Forecast(m, &req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// Forecast answers a forecast request with model m.
func Forecast(m *Model, req *ForecastRequest) (*ForecastResponse, error) {
	hist, err := req.series(m)
	if err != nil {
		return nil, err
	}
	f, err := m.f.Predict(hist, req.Horizon)
	if err != nil {
		return nil, &FieldError{Field: "history", Reason: fmt.Sprintf("model %s cannot forecast it: %v", m.Name, err)}
	}
	resp := &ForecastResponse{Model: m.Name, Version: m.Version, Kind: m.Kind, Step: m.Step.String(), Levels: f.Levels, Quantiles: f.Q}
	if req.Start != nil {
		t := hist.Time(hist.Len())
		resp.Start = &t
	}
	return resp, nil
}

func (s *Server) recommend(w http.ResponseWriter, r *http.Request) error {
	var req RecommendRequest
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if req.Target != "" {
		return s.recommendTarget(w, r, &req)
	}
	resp, err := Recommend(&req)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}

// Step runs one observation through the controller's control step: a driver.Loop with the
// request's bounds and SLO, the history pushed with driver.IntervalOf (it is also the
// policy's training history, as the controller's warm start), the policy built by name and
// bound, the ticks pushed with driver.SampleOf, then Decide at Now. Behavior (rate limits
// over time) is not applied: a request has no past decisions.
func Step(req *RecommendRequest) (driver.Step, *driver.Loop, error) {
	o, err := req.validate()
	if err != nil {
		return driver.Step{}, nil, err
	}
	st, loop, err := o.step(req)
	return st, loop, err
}

func (o *observation) step(req *RecommendRequest) (driver.Step, *driver.Loop, error) {
	loop, err := driver.New(driver.Config{Interval: o.interval, Min: req.Min, Max: req.Max, SLO: o.slo})
	if err != nil {
		return driver.Step{}, nil, bad("max", "%v", err)
	}
	n := len(req.History)
	hist := series.Series{Name: "request", Step: o.interval, Start: req.Now.Add(-time.Duration(n) * o.interval), Values: make([]float64, 0, n)}
	for i := range req.History {
		p := &req.History[i]
		rp, rd := p.counts(req.Replicas, req.Ready)
		iv := driver.IntervalOf(p.point(i, n, o.interval, req.Now), float64(rp), float64(rd))
		loop.AddInterval(iv)
		hist.Values = append(hist.Values, iv.Rate)
	}
	if n == 0 {
		loop.SetEpoch(req.Now)
	}
	env := policy.Env{Interval: o.interval, SLO: o.slo, Min: req.Min, Max: req.Max, Startup: o.startup,
		Profile: o.profile, History: hist, Seed: req.Seed, Params: o.params}
	pol, err := newPolicy(req.Policy.Name, env)
	if err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return driver.Step{}, nil, fe
		}
		return driver.Step{}, nil, bad("policy", "%v", err)
	}
	if err := loop.Bind(pol); err != nil {
		return driver.Step{}, nil, bad("policy", "%v", err)
	}
	tick := loop.Tick()
	recent := req.Recent[max(0, len(req.Recent)-driver.RecentTicks):]
	for i := range recent {
		p := &recent[i]
		rp, rd := p.counts(req.Replicas, req.Ready)
		loop.AddSample(driver.SampleOf(p.point(i, len(recent), tick, req.Now), rp, rd))
	}
	return loop.Decide(req.Now, req.Replicas, req.Ready), loop, nil
}

// newPolicy builds a policy, turning a panicking factory into an error.
func newPolicy(name string, env policy.Env) (p policy.Policy, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, fmt.Errorf("policy %s: building it failed: %v", name, v)
		}
	}()
	p, err = policy.New(name, env)
	if errors.Is(err, policy.ErrUnknownPolicy) {
		return nil, &FieldError{Field: "policy.name", Reason: err.Error()}
	}
	return p, err
}

// Recommend answers a recommend request (Step, rendered).
func Recommend(req *RecommendRequest) (*RecommendResponse, error) {
	o, err := req.validate()
	if err != nil {
		return nil, err
	}
	st, loop, err := o.step(req)
	if err != nil {
		return nil, err
	}
	return render(st, loop.Tick(), req.Policy.Name, o.profile, o.slo), nil
}

// render is the answer for a step of the driver: the request's observation decided, or a
// live target's last tick.
func render(st driver.Step, tick time.Duration, policyName string, prof *perf.Profile, slo policy.SLO) *RecommendResponse {
	d := st.Decision
	ex := d.Explanation
	resp := &RecommendResponse{Replicas: st.Desired, Recommendation: d.Replicas, Limit: st.Limit.String(),
		Policy: policyName, Mode: st.Mode().String(), Burst: ex.Mode.InBurst() || ex.Mode == policy.ModePanic,
		Reason: ex.Reason, Explanation: st.Explanation(), Tick: tick.String(), Index: st.Index}
	if !st.Decided {
		resp.Recommendation = st.Desired
	}
	if ex.Forecast.Set {
		resp.Forecast = &ForecastOut{P50: ex.Forecast.P50, Upper: ex.Forecast.Upper, UpperQuantile: ex.Forecast.UpperQuantile}
	}
	if len(ex.Values) > 0 {
		resp.Values = map[string]float64{}
		for _, kv := range ex.Values {
			if finite(kv.Value) {
				resp.Values[kv.Key] = kv.Value
			}
		}
	}
	if c, err := prof.CapacityAt(slo.Metric, slo.TargetMS); err == nil {
		resp.CapacityRPS = c
	}
	return resp
}

// ModelInfo is one entry of GET /v1/models.
type ModelInfo struct {
	Name       string    `json:"name"`
	Version    string    `json:"version"`
	Kind       string    `json:"kind"`
	Step       string    `json:"step"`
	Horizon    int       `json:"horizon"`
	MinHistory int       `json:"min_history"`
	Levels     []float64 `json:"levels"`
	Aliases    []string  `json:"aliases"`
	Source     string    `json:"source"`
}

// ModelsResponse is the answer of GET /v1/models.
type ModelsResponse struct {
	Models []ModelInfo `json:"models"`
	// Aliases maps each alias to the name of the model it points at.
	Aliases map[string]string `json:"aliases"`
}

func (s *Server) listModels(w http.ResponseWriter, _ *http.Request) error {
	set, err := s.set()
	if err != nil {
		return err
	}
	resp := ModelsResponse{Models: []ModelInfo{}, Aliases: map[string]string{}}
	for _, m := range set.order {
		al := append([]string{}, m.Aliases...)
		sort.Strings(al)
		for _, a := range al {
			resp.Aliases[a] = m.Name
		}
		resp.Models = append(resp.Models, ModelInfo{Name: m.Name, Version: m.Version, Kind: m.Kind, Step: m.Step.String(),
			Horizon: m.Horizon, MinHistory: m.MinHistory(), Levels: m.Levels, Aliases: al, Source: m.Source})
	}
	writeJSON(w, http.StatusOK, resp)
	return nil
}
