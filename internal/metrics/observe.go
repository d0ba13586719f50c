package metrics

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/bascaler/bascaler/internal/policy"
)

// ObserveInput is what a real backend (the Kubernetes controller, the local testbed) knows
// at a decision instant.
type ObserveInput struct {
	// Now is the decision instant. History's and Recent's last periods end exactly at Now.
	Now time.Time
	// Interval is the control interval (History's step); Tick is Recent's step.
	Interval, Tick time.Duration
	// Index is the number of the interval that starts at Now, counted from the run's start.
	Index int
	// History are completed intervals and Recent completed ticks, oldest first.
	History, Recent []Point
	// Replicas and Ready are the target's counts now.
	Replicas, Ready int
	// Min and Max bound the decision.
	Min, Max int
	SLO      policy.SLO
	// Log gives the replica counts of past periods; nil means "the current counts".
	Log *ReplicaLog
}

// ObserveReport says how BuildObservation repaired the data, for logs and status.
type ObserveReport struct {
	// Trimmed is the number of leading periods dropped because they had no rate (the
	// workload had no metrics yet).
	Trimmed int
	// Filled is the number of values copied from the previous period to close a gap.
	Filled int
}

// ErrStale means the most recent period has no measured rate: deciding on older data would
// be deciding blind.
var ErrStale = errors.New("no rate measured for the last completed period")

// BuildObservation fills obs from measured periods, the one way every real backend turns
// metrics into what a policy sees (the simulator builds the same fields from its own
// bookkeeping). Causality is by construction: only periods that ended at or before Now are
// accepted.
//
// Gaps: leading periods without a rate are dropped (History starts later); a missing value
// inside the window is copied from the previous period (a scrape that failed once should
// not look like zero traffic). The last period must have a rate, else ErrStale.
// Concurrency is derived with Little's law: requests in system = rate x mean latency.
// The replica counts of past periods come from the backend's ReplicaLog (the count recorded
// at or before the period's end); before the first record the current counts stand in.
func BuildObservation(in ObserveInput, obs *policy.Observation) (ObserveReport, error) {
	var rep ObserveReport
	if in.Interval <= 0 || in.Tick <= 0 {
		return rep, fmt.Errorf("build observation: interval %v and tick %v must be positive", in.Interval, in.Tick)
	}
	for name, ps := range map[string]struct {
		p    []Point
		step time.Duration
	}{"history": {in.History, in.Interval}, "recent": {in.Recent, in.Tick}} {
		if n := len(ps.p); n > 0 {
			if end := ps.p[n-1].Start.Add(ps.step); end.After(in.Now) {
				return rep, fmt.Errorf("build observation: %s period ending %s is after now %s: it is not complete", name, end.Format(time.RFC3339), in.Now.Format(time.RFC3339))
			}
		}
	}
	hist, t1, f1, err := repair(in.History)
	if err != nil {
		return rep, fmt.Errorf("build observation: history: %w", err)
	}
	recent, t2, f2, err := repair(in.Recent)
	if err != nil {
		return rep, fmt.Errorf("build observation: recent ticks: %w", err)
	}
	rep.Trimmed, rep.Filled = t1+t2, f1+f2

	*obs = policy.Observation{
		Now: in.Now, Interval: in.Interval, Index: in.Index, Tick: in.Tick,
		Replicas: in.Replicas, Ready: in.Ready, Min: in.Min, Max: in.Max, SLO: in.SLO,
		History: obs.History[:0], Recent: obs.Recent[:0],
	}
	if obs.Index < len(hist) {
		obs.Index = len(hist)
	}
	for _, p := range hist {
		r, rd := in.Log.at(p.Start.Add(in.Interval), in.Replicas, in.Ready)
		obs.History = append(obs.History, policy.Interval{
			Start: p.Start, Rate: p.Rate, Served: math.Max(p.Rate-p.Errors, 0), Failed: p.Errors,
			LatencyMeanMS: p.LatencyMeanMS, LatencyP95MS: p.LatencyP95MS, LatencyP99MS: p.LatencyP99MS,
			OverSLO: p.OverSLO, CPU: p.CPU, Replicas: float64(r), Ready: float64(rd),
		})
	}
	for _, p := range recent {
		r, rd := in.Log.at(p.Start.Add(in.Tick), in.Replicas, in.Ready)
		obs.Recent = append(obs.Recent, policy.Sample{
			Start: p.Start, Rate: p.Rate, Concurrency: p.Rate * p.LatencyMeanMS / 1000,
			CPU: p.CPU, LatencyMeanMS: p.LatencyMeanMS, Ready: rd, Replicas: r,
		})
	}
	return rep, nil
}

// repair trims leading periods without a rate and fills inner gaps from the previous period.
func repair(in []Point) (out []Point, trimmed, filled int, err error) {
	if len(in) == 0 {
		return nil, 0, 0, nil
	}
	if !finite(in[len(in)-1].Rate) {
		return nil, 0, 0, fmt.Errorf("%w (period starting %s)", ErrStale, in[len(in)-1].Start.Format(time.RFC3339))
	}
	first := 0
	for first < len(in) && !finite(in[first].Rate) {
		first++
	}
	out = make([]Point, 0, len(in)-first)
	for i, p := range in[first:] {
		fields := []*float64{&p.Rate, &p.Errors, &p.LatencyMeanMS, &p.LatencyP95MS, &p.LatencyP99MS, &p.OverSLO, &p.CPU, &p.MemoryBytes}
		var prev []float64
		if i > 0 {
			q := out[i-1]
			prev = []float64{q.Rate, q.Errors, q.LatencyMeanMS, q.LatencyP95MS, q.LatencyP99MS, q.OverSLO, q.CPU, q.MemoryBytes}
		}
		for k, f := range fields {
			if finite(*f) {
				continue
			}
			if prev != nil {
				*f = prev[k]
			} else {
				*f = 0 // first kept period: nothing earlier to copy; memory/latency unknown
			}
			filled++
		}
		out = append(out, p)
	}
	return out, first, filled, nil
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// ReplicaLog records the replica counts a backend saw over time, so past periods can be
// labelled with the replicas that served them. Safe for concurrent use.
type ReplicaLog struct {
	mu      sync.Mutex
	entries []replicaEntry
	keep    time.Duration
}

type replicaEntry struct {
	t               time.Time
	replicas, ready int
}

// NewReplicaLog returns a log that forgets entries older than keep (0: keep all).
func NewReplicaLog(keep time.Duration) *ReplicaLog { return &ReplicaLog{keep: keep} }

// Record notes the counts seen at t. Records must come in time order; an older one is ignored.
func (l *ReplicaLog) Record(t time.Time, replicas, ready int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if n := len(l.entries); n > 0 && t.Before(l.entries[n-1].t) {
		return
	}
	l.entries = append(l.entries, replicaEntry{t, replicas, ready})
	if l.keep > 0 {
		cut := sort.Search(len(l.entries), func(i int) bool { return !l.entries[i].t.Before(t.Add(-l.keep)) })
		// Keep one entry before the horizon: it holds the counts at the horizon.
		if cut > 1 {
			l.entries = append(l.entries[:0], l.entries[cut-1:]...)
		}
	}
}

// at returns the counts recorded at or before t, or the defaults when none is.
func (l *ReplicaLog) at(t time.Time, defReplicas, defReady int) (int, int) {
	if l == nil {
		return defReplicas, defReady
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	i := sort.Search(len(l.entries), func(i int) bool { return l.entries[i].t.After(t) })
	if i == 0 {
		return defReplicas, defReady
	}
	e := l.entries[i-1]
	return e.replicas, e.ready
}
