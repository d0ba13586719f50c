package driver

import (
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/hpa"
	"github.com/bascaler/bascaler/internal/policy"
)

// RecentTicks is how many completed ticks Observation.Recent holds, in every backend.
const RecentTicks = 64

// HistoryIntervals is how many completed intervals Observation.History holds, in every
// backend. Models keep their own memory of the workload (they train on the policy's
// Env.History and append each completed interval), so the window only bounds what a
// decision may scan.
const HistoryIntervals = 512

// Tick returns the decision tick of a policy with the given period under a control
// interval: the period itself when it is shorter than the interval and divides it, the
// interval when the period is 0 or not shorter. A shorter period that does not divide the
// interval is an error: ticks would straddle interval boundaries.
func Tick(name string, period, interval time.Duration) (time.Duration, error) {
	if interval <= 0 {
		return 0, fmt.Errorf("control interval %v must be positive", interval)
	}
	if period <= 0 || period >= interval {
		return interval, nil
	}
	if interval%period != 0 {
		return 0, fmt.Errorf("policy %s: period %s does not divide the interval %s", name, period, interval)
	}
	return period, nil
}

// FallbackAction is what the Loop does once metrics have failed too often.
type FallbackAction uint8

// Fallback actions. None of them scales down: without metrics a scale-down is blind.
const (
	// FallbackHold keeps the current replicas.
	FallbackHold FallbackAction = iota
	// FallbackFixed scales up to a fixed count (never down).
	FallbackFixed
	// FallbackCPU applies the HPA's rule to CPU read from a second source, upwards only.
	FallbackCPU
)

var fallbackNames = [...]string{"hold", "fixed", "cpu"}

func (a FallbackAction) String() string {
	if int(a) < len(fallbackNames) {
		return fallbackNames[a]
	}
	return "unknown"
}

// Fallback configures the Loop's behaviour after failed reads.
type Fallback struct {
	// After is the number of consecutive failed reads before the action takes over
	// (0 means 3). Before that the Loop holds.
	After  int
	Action FallbackAction
	// Replicas is FallbackFixed's count.
	Replicas int
	// CPUTarget is FallbackCPU's utilisation target (0.7 = 70%; 0 means 0.7).
	CPUTarget float64
}

// Config is what a Loop is built with.
type Config struct {
	Interval time.Duration
	Min, Max int
	SLO      policy.SLO
	// Behavior, when set, brakes every recommendation (the controller's spec.behavior).
	Behavior *hpa.Behavior
	Fallback Fallback
}

// Step is the outcome of one tick.
type Step struct {
	// At is the tick's instant; Index the control interval that contains it.
	At    time.Time
	Index int
	// Replicas and Ready are the counts the step saw.
	Replicas, Ready int
	// Decided is true when the policy decided (false: failed read, hold or fallback).
	Decided bool
	// Decision is the policy's answer (its Replicas is the recommendation).
	Decision policy.Decision
	// Desired is what the backend should set: the recommendation after behavior and
	// bounds, or the hold/fallback count.
	Desired int
	// Limit names what changed the recommendation into Desired (hpa.LimitNone if nothing).
	Limit hpa.Limit
	// Failure and Err describe a failed read; Failures counts consecutive ones (including
	// this step's). Fallback is true when the fallback action decided.
	Failure  Failure
	Err      error
	Failures int
	Fallback bool
	// Recovered is the number of failed reads that preceded this successful step (0 if
	// the previous step succeeded).
	Recovered int
	// Why explains a hold or fallback (empty when the policy decided).
	Why string
}

// Mode is the regime the step ran in: the policy's, or ModeFallback.
func (s *Step) Mode() policy.Mode {
	if !s.Decided {
		return policy.ModeFallback
	}
	return s.Decision.Explanation.Mode
}

// Explanation renders why Desired came out as it did.
func (s *Step) Explanation() string {
	if !s.Decided {
		return s.Why
	}
	return s.Decision.Explanation.String()
}

// Loop is one autoscaler's control state: the policy, the observation windows, behavior
// and the failure count. It is not safe for concurrent use; each backend drives one Loop
// per autoscaled workload from one goroutine.
type Loop struct {
	cfg      Config
	pol      policy.Policy
	tick     time.Duration
	hist     window[policy.Interval]
	recent   window[policy.Sample]
	epoch    time.Time
	failures int
	obs      policy.Observation
	health   *podHealth // pod detail for the next Decide; nil: derived from the counts
}

// New returns a Loop without a policy (Bind adds it). Intervals may be added before, so a
// backend can read the warm history its policy trains on first.
func New(cfg Config) (*Loop, error) {
	if cfg.Interval <= 0 {
		return nil, fmt.Errorf("driver: control interval %v must be positive", cfg.Interval)
	}
	if cfg.Min < 0 || cfg.Max < 1 || cfg.Min > cfg.Max {
		return nil, fmt.Errorf("driver: replica bounds must satisfy 0 <= min <= max and max >= 1 (got min %d, max %d)", cfg.Min, cfg.Max)
	}
	if cfg.Fallback.After <= 0 {
		cfg.Fallback.After = 3
	}
	if cfg.Fallback.CPUTarget <= 0 {
		cfg.Fallback.CPUTarget = 0.7
	}
	return &Loop{cfg: cfg, tick: cfg.Interval, hist: newWindow[policy.Interval](HistoryIntervals),
		recent: newWindow[policy.Sample](RecentTicks)}, nil
}

// Bind sets the policy and the decision tick (see Tick).
func (l *Loop) Bind(p policy.Policy) error {
	tick, err := Tick(p.Name(), p.Period(), l.cfg.Interval)
	if err != nil {
		return err
	}
	l.pol, l.tick = p, tick
	return nil
}

// Policy returns the bound policy (nil before Bind).
func (l *Loop) Policy() policy.Policy { return l.pol }

// Tick returns the decision tick.
func (l *Loop) Tick() time.Duration { return l.tick }

// Interval returns the control interval.
func (l *Loop) Interval() time.Duration { return l.cfg.Interval }

// SetEpoch fixes the start of interval 0 (Observation.Index counts from it). Without it the
// epoch is the start of the first interval added, or the first step's instant.
func (l *Loop) SetEpoch(t time.Time) { l.epoch = t }

// AddInterval appends a completed interval to History. Intervals must come in time order.
func (l *Loop) AddInterval(iv policy.Interval) {
	if l.epoch.IsZero() {
		l.epoch = iv.Start
	}
	l.hist.push(iv)
}

// History returns the completed intervals the Observation holds (valid until the next Add).
func (l *Loop) History() []policy.Interval { return l.hist.view() }

// AddSample appends a completed tick to Recent.
func (l *Loop) AddSample(s policy.Sample) { l.recent.push(s) }

// ResetRecent empties Recent (a real backend re-reads the whole Recent window every tick,
// since late scrapes may revise recent periods).
func (l *Loop) ResetRecent() { l.recent.reset() }

// podHealth is what a backend with pod detail knows of the pods that do not serve.
type podHealth struct{ notReady, unschedulable int }

// SetPodHealth gives the next Decide the scale target's not-ready (scheduled, starting)
// and unschedulable (pending, not placeable) pod counts. Without it the Observation has
// NotReady = replicas - ready and Unschedulable = 0.
func (l *Loop) SetPodHealth(notReady, unschedulable int) {
	l.health = &podHealth{notReady: max(notReady, 0), unschedulable: max(unschedulable, 0)}
}

// Decide runs the policy at now with the current replica counts and returns the step.
// It must not be called before Bind.
func (l *Loop) Decide(now time.Time, replicas, ready int) Step {
	if l.epoch.IsZero() {
		l.epoch = now
	}
	st := Step{At: now, Index: l.index(now), Replicas: replicas, Ready: ready, Decided: true, Recovered: l.failures}
	l.failures = 0
	o := &l.obs
	*o = policy.Observation{Now: now, Interval: l.cfg.Interval, Index: st.Index, Tick: l.tick,
		History: l.hist.view(), Recent: l.recent.view(), Replicas: replicas, Ready: ready,
		Min: l.cfg.Min, Max: l.cfg.Max, SLO: l.cfg.SLO, NotReady: max(replicas-ready, 0)}
	if h := l.health; h != nil {
		o.NotReady, o.Unschedulable = h.notReady, h.unschedulable
		l.health = nil // pod detail is of this tick only
	}
	st.Decision = l.pol.Decide(o)
	rec := st.Decision.Replicas
	if b := l.cfg.Behavior; b != nil {
		st.Desired, st.Limit = b.Apply(now, replicas, rec, l.cfg.Min, l.cfg.Max)
	} else {
		st.Desired, st.Limit = clampLimit(rec, l.cfg.Min, l.cfg.Max)
	}
	return st
}

// Applied tells the Loop that the backend changed the replicas from -> to at now (behavior
// rate limits count applied changes only).
func (l *Loop) Applied(now time.Time, from, to int) {
	if b := l.cfg.Behavior; b != nil && from != to {
		b.Record(now, to-from)
	}
}

// ErrNoCPU is returned by a CPU reader that has no value.
var ErrNoCPU = errors.New("no CPU measurement")

// Fail records a failed read at now and returns the hold or fallback step. cpu reads the
// utilisation for FallbackCPU (nil: not available).
func (l *Loop) Fail(now time.Time, replicas, ready int, err error, cpu func() (float64, error)) Step {
	l.failures++
	st := Step{At: now, Index: l.index(now), Replicas: replicas, Ready: ready, Desired: replicas,
		Failure: Classify(err), Err: err, Failures: l.failures}
	fb := l.cfg.Fallback
	if l.failures < fb.After {
		st.Why = fmt.Sprintf("hold: %d of %d failed metric reads before the fallback; holding %d replicas", l.failures, fb.After, replicas)
		return st
	}
	st.Fallback = true
	st.Why = "fallback hold: metrics unavailable, keeping replicas"
	switch fb.Action {
	case FallbackFixed:
		if f := clamp(fb.Replicas, l.cfg.Min, l.cfg.Max); f > replicas {
			st.Desired, st.Why = f, fmt.Sprintf("fallback fixed: metrics unavailable, scaling up to %d", f)
		} else {
			st.Why = fmt.Sprintf("fallback fixed: metrics unavailable, already at or above %d, not scaling down blind", fb.Replicas)
		}
	case FallbackCPU:
		var u float64
		cerr := ErrNoCPU
		if cpu != nil {
			u, cerr = cpu()
		}
		if cerr == nil && !math.IsNaN(u) && replicas > 0 {
			// The HPA's rule on all current pods, upwards only.
			want, _ := hpa.Replicas(replicas, replicas, 0, 0, u, math.Round(fb.CPUTarget*100), 0.1)
			if f := clamp(want, l.cfg.Min, l.cfg.Max); f > replicas {
				st.Desired = f
			}
			st.Why = fmt.Sprintf("fallback cpu: utilisation %.2f against target %.2f -> %d (never down without metrics)", u, fb.CPUTarget, st.Desired)
		} else {
			st.Why = fmt.Sprintf("fallback cpu: CPU unreadable too (%v), holding", cerr)
		}
	}
	return st
}

func (l *Loop) index(now time.Time) int {
	if l.epoch.IsZero() || now.Before(l.epoch) {
		return 0
	}
	return int(now.Sub(l.epoch) / l.cfg.Interval)
}

func clamp(n, lo, hi int) int { return min(max(n, lo), hi) }

func clampLimit(n, lo, hi int) (int, hpa.Limit) {
	switch {
	case n > hi:
		return hi, hpa.LimitMax
	case n < lo:
		return lo, hpa.LimitMin
	}
	return n, hpa.LimitNone
}

// window keeps the last w values pushed as one contiguous slice. Values are appended to a
// buffer that grows as they come, up to w + w/8; when it is full, the last w-1 are moved to
// its front. A push costs O(1) amortised (one copy of w values per w/8 pushes), and a full
// window takes 1.125 w values of memory, where writing each value twice (at k%w and
// k%w+w of a 2w buffer) took 2 w: at 1,000 autoscalers, 512 intervals of 128 bytes, that
// was 131 MB of the controller's heap instead of 74 MB (bench/controller-scale.md).
type window[T any] struct {
	buf []T
	w   int
}

func newWindow[T any](w int) window[T] { return window[T]{w: w} }

func (r *window[T]) limit() int { return r.w + max(r.w/8, 1) }

func (r *window[T]) push(v T) {
	if len(r.buf) == cap(r.buf) {
		if lim := r.limit(); cap(r.buf) < lim {
			grown := make([]T, len(r.buf), min(max(2*cap(r.buf), 16), lim))
			copy(grown, r.buf)
			r.buf = grown
		} else {
			r.buf = append(r.buf[:0], r.buf[len(r.buf)-r.w+1:]...)
		}
	}
	r.buf = append(r.buf, v)
}

func (r *window[T]) reset() { r.buf = r.buf[:0] }

// view returns the last min(n, w) values, oldest first, with capacity ending at the last.
func (r *window[T]) view() []T {
	n := len(r.buf)
	return r.buf[max(n-r.w, 0):n:n]
}

// Observation returns the observation of the last Decide (valid until the next one): what
// the policy saw, for explanations and tests.
func (l *Loop) Observation() *policy.Observation { return &l.obs }
