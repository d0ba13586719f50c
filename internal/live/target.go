package live

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"

	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/metrics"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/series"
)

// Counts reads a workload's allocated and ready replicas at a step's instant.
type Counts interface {
	Counts(ctx context.Context, at time.Time) (replicas, ready int, err error)
}

// Options replace a target's parts (tests, other backends); nil fields come from the
// configuration.
type Options struct {
	// Source, when set, replaces the Prometheus source the configuration names.
	Source driver.Source
	// Counts, when set, replaces the configured replica counts (queries or following).
	Counts Counts
}

// Target is one live workload: a driver.Loop fed by a driver.Feed over its metric source,
// stepped on the loop's own tick grid like the controller's, its policy built once from the
// warm history and kept (a forecasting policy fits at that build and then updates itself
// from each completed interval, never per request). Safe for concurrent use: a step holds
// the target's mutex; answers between steps come from the last one.
type Target struct {
	cfg    settings
	src    driver.Source
	counts Counts // nil: follow the target's own decisions

	mu      sync.Mutex
	drv     *driver.Loop
	feed    *driver.Feed
	log     *driver.ReplicaLog
	train   []policy.Interval
	state   State
	built   time.Time // when the policy was built (zero: not yet)
	retryAt time.Time // a failed build is retried from here
	changed chan struct{}
}

// State is a target's last step.
type State struct {
	// Valid is false before the first step.
	Valid bool
	// Step is the driver's step (Decided false: a failed read held the replicas).
	Step driver.Step
	// Err is why the step could not decide: a failed read (also in Step) or a policy that
	// could not be built.
	Err error
	// Built is when the policy in service was built from the warm history.
	Built time.Time
}

// Desired is the replicas the workload should have (0 before the first step).
func (s State) Desired() int { return s.Step.Desired }

// Active says whether the workload should run at all: a desired count above zero. With
// min 0 and the bascaler policy this follows the forecast: zero only while the forecast
// says the idle gap pays, one pod again a start-up delay before forecast traffic.
func (s State) Active() bool { return s.Step.Desired > 0 }

// ErrUnknownTarget is returned for a name no target has.
var ErrUnknownTarget = errors.New("unknown live target")

// New builds a target from a validated configuration.
func New(c TargetConfig, o Options) (*Target, error) {
	s, err := c.settings()
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", c.Name, err)
	}
	t := &Target{cfg: s, src: o.Source, counts: o.Counts, changed: make(chan struct{})}
	if t.src == nil {
		if t.src, err = metrics.NewPrometheus(metrics.PrometheusOptions{Address: s.address, Timeout: s.timeout, Queries: s.queries, SLOMS: s.slo.TargetMS}); err != nil {
			return nil, fmt.Errorf("target %s: %w", c.Name, err)
		}
	}
	if t.counts == nil && s.replicasQuery != "" {
		if t.counts, err = newPromCounts(s); err != nil {
			return nil, fmt.Errorf("target %s: %w", c.Name, err)
		}
	}
	if t.drv, err = driver.New(driver.Config{Interval: s.interval, Min: s.min, Max: s.max, SLO: s.slo}); err != nil {
		return nil, fmt.Errorf("target %s: %w", c.Name, err)
	}
	t.log = driver.NewReplicaLog(time.Duration(s.historyIntervals+1) * s.interval)
	return t, nil
}

// Name is the target's name.
func (t *Target) Name() string { return t.cfg.name }

// Ref is NAMESPACE/WORKLOAD.
func (t *Target) Ref() string { return t.cfg.namespace + "/" + t.cfg.workload }

// Interval is the control interval.
func (t *Target) Interval() time.Duration { return t.cfg.interval }

// PolicyName is the configured policy.
func (t *Target) PolicyName() string { return t.cfg.policyName }

// Profile is the per-pod performance profile the policy plans with.
func (t *Target) Profile() *perf.Profile { return t.cfg.profile }

// SLO is the target's latency objective.
func (t *Target) SLO() policy.SLO { return t.cfg.slo }

// Tick is the loop's decision tick (the interval until the policy is built).
func (t *Target) Tick() time.Duration {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.drv.Tick()
}

// Changed returns a channel that is closed at the target's next step.
func (t *Target) Changed() <-chan struct{} {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.changed
}

// Last returns the last step without stepping.
func (t *Target) Last() State {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.state
}

// History returns the arrival rates of the completed intervals the loop holds (at most
// driver.HistoryIntervals), as of the last step.
func (t *Target) History() series.Series {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := t.drv.History()
	s := series.Series{Name: t.cfg.name, Step: t.cfg.interval, Values: make([]float64, len(h))}
	if len(h) > 0 {
		s.Start = h[0].Start
	}
	for i := range h {
		s.Values[i] = h[i].Rate
	}
	return s
}

// Current brings the target up to now (one step at the last tick at or before now, unless
// that tick has been stepped already) and returns its state.
func (t *Target) Current(ctx context.Context, now time.Time) State {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.step(ctx, now)
	return t.state
}

// step is the controller's step for one autoscaler (internal/controller, Reconciler.step)
// without the Kubernetes parts: the grid instant, the replica counts, the warm history and
// the policy built on it at the first step, then the driver's Feed.Step. The caller holds mu.
func (t *Target) step(ctx context.Context, now time.Time) {
	tick := t.drv.Tick()
	at := now.Truncate(tick)
	if t.state.Valid && !at.After(t.state.Step.At) {
		return // this tick is decided: answer from it
	}
	if t.drv.Policy() == nil && !t.retryAt.IsZero() && at.Before(t.retryAt) {
		return // a failed build is retried at the next interval, as in the controller
	}
	replicas, ready, err := t.currentCounts(ctx, at)
	if err != nil {
		t.finish(t.drv.Fail(at, replicas, ready, fmt.Errorf("replica counts: %w", err), nil), err)
		return
	}
	t.log.Record(at, replicas, ready)
	if t.feed == nil {
		t.feed = &driver.Feed{Source: t.src, Interval: t.cfg.interval, Start: at, Warm: t.cfg.historyIntervals, Log: t.log,
			Resume: t.cfg.historyIntervals}
	}
	if t.drv.Policy() == nil {
		ivs, err := t.feed.Intervals(ctx, at, replicas, ready)
		if err != nil {
			st := t.drv.Fail(at, replicas, ready, err, nil)
			t.finish(st, err)
			return
		}
		for _, iv := range ivs {
			t.drv.AddInterval(iv)
		}
		t.train = append(t.train, ivs...)
		if extra := len(t.train) - t.cfg.historyIntervals; extra > 0 {
			t.train = append(t.train[:0], t.train[extra:]...)
		}
		if err := t.build(); err != nil {
			t.retryAt = at.Add(t.cfg.interval)
			t.finish(driver.Step{At: at, Replicas: replicas, Ready: ready, Desired: replicas,
				Why: "hold: the policy could not be built: " + err.Error()}, err)
			return
		}
		t.built, t.retryAt, t.train = now, time.Time{}, nil
		if tick = t.drv.Tick(); tick < t.cfg.interval {
			at = now.Truncate(tick)
		}
	}
	st := t.feed.Step(ctx, t.drv, at, replicas, ready, nil)
	t.finish(st, st.Err)
}

// finish records a step and wakes those waiting for it.
func (t *Target) finish(st driver.Step, err error) {
	t.state = State{Valid: true, Step: st, Err: err, Built: t.built}
	close(t.changed)
	t.changed = make(chan struct{})
}

// currentCounts reads the counts, or follows the last decision (all ready) without a reader.
func (t *Target) currentCounts(ctx context.Context, at time.Time) (int, int, error) {
	last := t.cfg.initial
	if t.state.Valid {
		last = t.state.Step.Desired
	}
	if t.counts == nil {
		return last, last, nil
	}
	r, rd, err := t.counts.Counts(ctx, at)
	if err != nil {
		return t.state.Step.Replicas, t.state.Step.Ready, err
	}
	return r, min(rd, r), nil
}

// build builds the policy on the warm history, as the controller does (seed from the
// autoscaler's namespace/name, so both draw the same numbers).
func (t *Target) build() error {
	c := t.cfg
	hist := series.Series{Name: c.namespace + "/" + c.seedName, Step: c.interval}
	if len(t.train) > 0 {
		hist.Start = t.train[0].Start
	}
	for _, iv := range t.train {
		hist.Values = append(hist.Values, iv.Rate)
	}
	env := policy.Env{Interval: c.interval, SLO: c.slo, Min: c.min, Max: c.max, Startup: c.startup,
		Profile: c.profile, History: hist, Seed: policy.SeedOf(c.namespace, c.seedName), Params: c.params}
	p, err := newPolicy(c.policyName, env)
	if err != nil {
		return err
	}
	return t.drv.Bind(p)
}

// newPolicy builds a policy and turns a panicking factory into an error.
func newPolicy(name string, env policy.Env) (p policy.Policy, err error) {
	defer func() {
		if v := recover(); v != nil {
			p, err = nil, fmt.Errorf("policy %s: building it failed: %v", name, v)
		}
	}()
	return policy.New(name, env)
}

// promCounts reads the replica counts with instant PromQL queries (kube-state-metrics:
// kube_deployment_status_replicas and kube_deployment_status_replicas_ready, say).
type promCounts struct {
	api                    promv1.API
	timeout                time.Duration
	replicasQ, readyQ, url string
}

func newPromCounts(s settings) (*promCounts, error) {
	c, err := api.NewClient(api.Config{Address: s.address})
	if err != nil {
		return nil, fmt.Errorf("prometheus address %q: %w", s.address, err)
	}
	rq := s.readyQuery
	if rq == "" {
		rq = s.replicasQuery
	}
	return &promCounts{api: promv1.NewAPI(c), timeout: s.timeout, replicasQ: s.replicasQuery, readyQ: rq, url: s.address}, nil
}

func (p *promCounts) Counts(ctx context.Context, at time.Time) (int, int, error) {
	r, err := p.one(ctx, p.replicasQ, at)
	if err != nil {
		return 0, 0, err
	}
	rd := r
	if p.readyQ != p.replicasQ {
		if rd, err = p.one(ctx, p.readyQ, at); err != nil {
			return 0, 0, err
		}
	}
	return r, rd, nil
}

func (p *promCounts) one(ctx context.Context, q string, at time.Time) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	v, _, _, err := p.api.Query(ctx, q, at)
	if err != nil {
		return 0, fmt.Errorf("prometheus %s: query %q: %w: %v", p.url, q, metrics.ErrUnavailable, err)
	}
	vec, ok := v.(model.Vector)
	switch {
	case !ok:
		return 0, fmt.Errorf("prometheus %s: query %q: %w: want a vector", p.url, q, metrics.ErrBadResponse)
	case len(vec) == 0:
		return 0, fmt.Errorf("prometheus %s: query %q: %w", p.url, q, metrics.ErrNoData)
	case len(vec) > 1:
		return 0, fmt.Errorf("prometheus %s: query %q: %w (%d)", p.url, q, metrics.ErrManySeries, len(vec))
	}
	f := float64(vec[0].Value)
	if math.IsNaN(f) || f < 0 || f > 1e6 {
		return 0, fmt.Errorf("prometheus %s: query %q: %v is not a replica count", p.url, q, f)
	}
	return int(math.Round(f)), nil
}
