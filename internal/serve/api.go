package serve

import (
	"fmt"
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/series"
)

// Request limits. They bound the work one request can cause.
const (
	// MaxBody is the largest request body accepted, bytes.
	MaxBody = 4 << 20
	// MaxForecastHistory is the most history points a forecast request may carry.
	MaxForecastHistory = 100_000
	// MaxRecommendHistory is the most completed intervals a recommend request may carry
	// (the controller's largest warm history).
	MaxRecommendHistory = 10_000
	// MaxReplicas bounds the replica counts of a request.
	MaxReplicas = 100_000
)

// ForecastRequest is the body of POST /v1/forecast.
type ForecastRequest struct {
	// Target, when set, names a live target (serve --targets): its history is the
	// completed intervals the target's loop holds, and Step, Start and History must be
	// empty.
	Target string `json:"target,omitempty"`
	// Model selects the model: a name, an alias or a version id prefix ("" = default).
	Model string `json:"model,omitempty"`
	// Step is the spacing of History (a Go duration, "60s"); it must be the model's step.
	Step string `json:"step"`
	// Start is the time of History[0] (optional; time features and the answer's times).
	Start *time.Time `json:"start,omitempty"`
	// History holds arrival rates, requests per second, oldest first.
	History []float64 `json:"history"`
	// Horizon is the number of steps to forecast.
	Horizon int `json:"horizon"`
}

// ForecastResponse is the answer of POST /v1/forecast.
type ForecastResponse struct {
	// Target is the live target forecast (requests with a target).
	Target  string    `json:"target,omitempty"`
	Model   string    `json:"model"`
	Version string    `json:"version"`
	Kind    string    `json:"kind"`
	Step    string    `json:"step"`
	Levels  []float64 `json:"levels"`
	// Start is the time of the first forecast step (when the request gave Start).
	Start *time.Time `json:"start,omitempty"`
	// Quantiles[h][k] is the Levels[k] quantile of the rate h+1 steps after the history.
	Quantiles [][]float64 `json:"quantiles"`
}

// Period is one completed period (a control interval or a tick) as a backend measured it;
// the fields are driver.Point's. Replicas and Ready, when given, label the period with the
// counts that served it (else the request's current counts, as the controller does
// without a replica log).
type Period struct {
	Rate          float64 `json:"rate"`
	Errors        float64 `json:"errors,omitempty"`
	LatencyMeanMS float64 `json:"latency_mean_ms,omitempty"`
	LatencyP95MS  float64 `json:"latency_p95_ms,omitempty"`
	LatencyP99MS  float64 `json:"latency_p99_ms,omitempty"`
	OverSLO       float64 `json:"over_slo,omitempty"`
	CPU           float64 `json:"cpu,omitempty"`
	Held          float64 `json:"held,omitempty"`
	Replicas      *int    `json:"replicas,omitempty"`
	Ready         *int    `json:"ready,omitempty"`
}

// SLOSpec is the latency objective of a recommend request.
type SLOSpec struct {
	// Metric is mean, p95 or p99.
	Metric   string  `json:"metric"`
	TargetMS float64 `json:"target_ms"`
}

// PolicySpec names the policy and its key=value parameters.
type PolicySpec struct {
	Name   string            `json:"name"`
	Params map[string]string `json:"params,omitempty"`
}

// RecommendRequest is the body of POST /v1/recommend: one observation of one workload.
type RecommendRequest struct {
	// Target, when set, names a live target (serve --targets): the answer is its loop's
	// decision at the last tick, and every other field must be empty.
	Target string `json:"target,omitempty"`
	// Now is the decision instant; History's last interval ends at Now, and so does
	// Recent's last tick.
	Now time.Time `json:"now"`
	// Interval is the control interval (a Go duration).
	Interval string `json:"interval"`
	// History holds the completed intervals, oldest first. The policy trains on them (its
	// Env.History) and sees the last driver.HistoryIntervals of them, as in the controller.
	History []Period `json:"history"`
	// Recent holds the completed ticks (the policy's period), oldest first; only the last
	// driver.RecentTicks are used. Empty: the policy sees no ticks.
	Recent   []Period   `json:"recent,omitempty"`
	Replicas int        `json:"replicas"`
	Ready    int        `json:"ready"`
	Min      int        `json:"min"`
	Max      int        `json:"max"`
	SLO      SLOSpec    `json:"slo"`
	Policy   PolicySpec `json:"policy"`
	// PerPodRPS, when set, gives the per-pod capacity at the SLO (a linear profile, as the
	// controller's spec.policy.capacity.perPodRPS); else the fft profile.
	PerPodRPS float64 `json:"per_pod_rps,omitempty"`
	// Startup is the pod start-up delay policies may plan for (a Go duration; "" = 30s,
	// the controller's default).
	Startup string `json:"startup,omitempty"`
	// Seed seeds the policy's random draws (0: a fixed default).
	Seed int64 `json:"seed,omitempty"`
}

// ForecastOut is the forecast a decision used.
type ForecastOut struct {
	P50           float64 `json:"p50"`
	Upper         float64 `json:"upper"`
	UpperQuantile float64 `json:"upper_quantile"`
}

// RecommendResponse is the answer of POST /v1/recommend.
type RecommendResponse struct {
	// Replicas is what the controller would write: the recommendation after bounds.
	Replicas int `json:"replicas"`
	// Recommendation is the policy's own number before bounds.
	Recommendation int    `json:"recommendation"`
	Limit          string `json:"limit,omitempty"`
	Policy         string `json:"policy"`
	Mode           string `json:"mode"`
	// Burst is true when the policy's regime is a burst (mode burst or panic).
	Burst       bool               `json:"burst"`
	Reason      string             `json:"reason,omitempty"`
	Explanation string             `json:"explanation"`
	Forecast    *ForecastOut       `json:"forecast,omitempty"`
	Values      map[string]float64 `json:"values,omitempty"`
	// CapacityRPS is one pod's capacity at the SLO under the profile used.
	CapacityRPS float64 `json:"capacity_rps"`
	Tick        string  `json:"tick"`
	Index       int     `json:"index"`
	// Target, At and Failure are set for a live target: its name, the tick the decision
	// was made at, and the kind of failed read when the step held instead of deciding.
	Target  string     `json:"target,omitempty"`
	At      *time.Time `json:"at,omitempty"`
	Failure string     `json:"failure,omitempty"`
}

// FieldError is a bad request naming the field.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

func bad(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)}
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func parseStep(field, s string) (time.Duration, error) {
	if s == "" {
		return 0, bad(field, "missing (a duration such as \"60s\")")
	}
	d, err := time.ParseDuration(s)
	if err != nil || d <= 0 {
		return 0, bad(field, "%q is not a positive duration", s)
	}
	return d, nil
}

// forecastHistory validates a forecast request against m and returns its history series.
func (r *ForecastRequest) series(m *Model) (series.Series, error) {
	step, err := parseStep("step", r.Step)
	if err != nil {
		return series.Series{}, err
	}
	if step != m.Step {
		return series.Series{}, bad("step", "%s does not match model %s's step %s", step, m.Name, m.Step)
	}
	if r.Horizon < 1 || r.Horizon > m.Horizon {
		return series.Series{}, bad("horizon", "%d is outside 1..%d (model %s)", r.Horizon, m.Horizon, m.Name)
	}
	if len(r.History) > MaxForecastHistory {
		return series.Series{}, bad("history", "%d points, at most %d", len(r.History), MaxForecastHistory)
	}
	if need := m.MinHistory(); len(r.History) < need || len(r.History) == 0 {
		return series.Series{}, bad("history", "%d points, model %s needs at least %d", len(r.History), m.Name, max(need, 1))
	}
	for i, v := range r.History {
		if !finite(v) || v < 0 {
			return series.Series{}, bad(fmt.Sprintf("history[%d]", i), "%v is not a non-negative rate", v)
		}
	}
	s := series.Series{Name: "request", Step: step, Values: r.History}
	if r.Start != nil {
		s.Start = *r.Start
	}
	return s, nil
}

// observation is a validated recommend request.
type observation struct {
	interval time.Duration
	startup  time.Duration
	slo      policy.SLO
	profile  *perf.Profile
	params   map[string]string
}

func (r *RecommendRequest) validate() (*observation, error) {
	o := &observation{}
	var err error
	if o.interval, err = parseStep("interval", r.Interval); err != nil {
		return nil, err
	}
	o.startup = 30 * time.Second
	if r.Startup != "" {
		if o.startup, err = time.ParseDuration(r.Startup); err != nil || o.startup < 0 {
			return nil, bad("startup", "%q is not a non-negative duration", r.Startup)
		}
	}
	if r.Now.IsZero() {
		return nil, bad("now", "missing (an RFC 3339 time)")
	}
	if r.Policy.Name == "" {
		return nil, bad("policy.name", "missing")
	}
	for k := range r.Policy.Params {
		if k == "model" {
			// A request must not make the server read files; served models go by name.
			return nil, bad("policy.params.model", "model directories are not loaded per request")
		}
	}
	o.params = r.Policy.Params
	switch {
	case r.Max < 1 || r.Max > MaxReplicas:
		return nil, bad("max", "%d is outside 1..%d", r.Max, MaxReplicas)
	case r.Min < 0 || r.Min > r.Max:
		return nil, bad("min", "%d is outside 0..max (%d)", r.Min, r.Max)
	case r.Replicas < 0 || r.Replicas > MaxReplicas:
		return nil, bad("replicas", "%d is outside 0..%d", r.Replicas, MaxReplicas)
	case r.Ready < 0 || r.Ready > r.Replicas:
		return nil, bad("ready", "%d is outside 0..replicas (%d)", r.Ready, r.Replicas)
	}
	m, err := perf.ParseLatencyMetric(r.SLO.Metric)
	if err != nil {
		return nil, bad("slo.metric", "%v", err)
	}
	if !finite(r.SLO.TargetMS) || r.SLO.TargetMS <= 0 {
		return nil, bad("slo.target_ms", "%v must be a positive number of milliseconds", r.SLO.TargetMS)
	}
	o.slo = policy.SLO{Metric: m, TargetMS: r.SLO.TargetMS}
	if len(r.History) > MaxRecommendHistory {
		return nil, bad("history", "%d intervals, at most %d", len(r.History), MaxRecommendHistory)
	}
	if err := checkPeriods("history", r.History, r.Replicas); err != nil {
		return nil, err
	}
	if len(r.Recent) > MaxRecommendHistory {
		return nil, bad("recent", "%d ticks, at most %d", len(r.Recent), MaxRecommendHistory)
	}
	if err := checkPeriods("recent", r.Recent, r.Replicas); err != nil {
		return nil, err
	}
	if r.PerPodRPS != 0 {
		if !finite(r.PerPodRPS) || r.PerPodRPS < 0 {
			return nil, bad("per_pod_rps", "%v must be a positive number", r.PerPodRPS)
		}
		s := r.SLO.TargetMS
		rps := r.PerPodRPS
		pt := func(load, lat float64) perf.Point {
			return perf.Point{Load: load, MeanMS: lat, P95MS: lat, P99MS: lat, CPU: load / (1.2 * rps)}
		}
		if o.profile, err = perf.NewProfile("perPodRPS", []perf.Point{pt(0, s/2), pt(rps, s), pt(1.2*rps, 3*s)}, 1.2*rps); err != nil {
			return nil, bad("per_pod_rps", "%v", err)
		}
	} else {
		o.profile = perf.FFT()
	}
	return o, nil
}

func checkPeriods(field string, ps []Period, replicas int) error {
	for i := range ps {
		p := &ps[i]
		for _, f := range []struct {
			name string
			v    float64
		}{{"rate", p.Rate}, {"errors", p.Errors}, {"latency_mean_ms", p.LatencyMeanMS}, {"latency_p95_ms", p.LatencyP95MS},
			{"latency_p99_ms", p.LatencyP99MS}, {"over_slo", p.OverSLO}, {"cpu", p.CPU}, {"held", p.Held}} {
			if !finite(f.v) || f.v < 0 {
				return bad(fmt.Sprintf("%s[%d].%s", field, i, f.name), "%v must be a finite non-negative number", f.v)
			}
		}
		if p.OverSLO > 1 {
			return bad(fmt.Sprintf("%s[%d].over_slo", field, i), "%v is a share and must be at most 1", p.OverSLO)
		}
		if p.Replicas != nil && (*p.Replicas < 0 || *p.Replicas > MaxReplicas) {
			return bad(fmt.Sprintf("%s[%d].replicas", field, i), "%d is outside 0..%d", *p.Replicas, MaxReplicas)
		}
		if p.Ready != nil && (*p.Ready < 0 || *p.Ready > MaxReplicas) {
			return bad(fmt.Sprintf("%s[%d].ready", field, i), "%d is outside 0..%d", *p.Ready, MaxReplicas)
		}
	}
	return nil
}

// point is the driver.Point of the i-th of n periods of length d ending at end.
func (p *Period) point(i, n int, d time.Duration, end time.Time) driver.Point {
	return driver.Point{Start: end.Add(-time.Duration(n-i) * d), Rate: p.Rate, Errors: p.Errors,
		LatencyMeanMS: p.LatencyMeanMS, LatencyP95MS: p.LatencyP95MS, LatencyP99MS: p.LatencyP99MS,
		OverSLO: p.OverSLO, CPU: p.CPU, Held: p.Held}
}

func (p *Period) counts(replicas, ready int) (int, int) {
	if p.Replicas != nil {
		replicas = *p.Replicas
	}
	if p.Ready != nil {
		ready = *p.Ready
	}
	return replicas, ready
}
