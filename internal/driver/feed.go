package driver

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sort"
	"sync"
	"time"

	"github.com/bascaler/bascaler/internal/policy"
)

// IntervalOf turns a measured control interval into the Observation's Interval: what every
// backend reports (the simulator from its bookkeeping, real backends from a Source). Served
// is the rate that did not fail; replicas and ready label the interval.
func IntervalOf(p Point, replicas, ready float64) policy.Interval {
	return policy.Interval{
		Start: p.Start, Rate: p.Rate, Served: math.Max(p.Rate-p.Errors, 0), Failed: p.Errors,
		LatencyMeanMS: p.LatencyMeanMS, LatencyP95MS: p.LatencyP95MS, LatencyP99MS: p.LatencyP99MS,
		OverSLO: p.OverSLO, CPU: p.CPU, MemoryBytes: p.MemoryBytes, Replicas: replicas, Ready: ready, Held: p.Held,
	}
}

// SampleOf turns a measured tick into the Observation's Sample. Concurrency follows from
// Little's law: requests in the system = rate x mean latency.
func SampleOf(p Point, replicas, ready int) policy.Sample {
	return policy.Sample{Start: p.Start, Rate: p.Rate, Concurrency: p.Rate * p.LatencyMeanMS / 1000,
		CPU: p.CPU, LatencyMeanMS: p.LatencyMeanMS, MemoryBytes: p.MemoryBytes, Ready: ready, Replicas: replicas, Held: p.Held}
}

// Feed reads completed periods from a Source into a Loop, for backends whose metrics live in
// a metrics store (the controller, the testbed). The grid: intervals end at Origin + k x
// Interval (Origin zero: multiples of Interval since the zero time, as time.Truncate), ticks
// likewise at the Loop's tick.
//
// What it reads: completed intervals incrementally (each once, at the first step after it
// ends), and the whole Recent window every step (late scrapes may revise recent ticks). It
// never reads before Start - Warm intervals, so a testbed run (Warm 0) sees only its own
// traffic, as the simulator does, and a controller (Warm = its history window) resumes
// with the workload's recent past.
//
// Gaps: leading periods without a rate are dropped (the workload had no metrics yet); a
// missing value inside the data is copied from the previous period (a scrape that failed
// once should not look like zero traffic). The newest period must have a rate, else
// ErrStale. A Source answering ErrNoData (no series at all) is "no data yet": empty windows.
type Feed struct {
	Source   Source
	Interval time.Duration
	// Origin fixes the grid (see above).
	Origin time.Time
	// Start is the first step's instant; Warm the number of intervals before it to read.
	Start time.Time
	Warm  int
	// Log labels past periods with the replica counts recorded at their end; nil means the
	// current counts.
	Log *ReplicaLog
	// Record, when set, persists the intervals the Feed reads and gives them back after a
	// restart: at the first step the intervals it holds from Start - Resume intervals on (the
	// newest contiguous run) are taken from it, and only the later ones are read from the
	// Source (never before Start - Warm), so a source without a past (the metrics API)
	// resumes with history too. Every interval read from the Source is appended.
	Record Record
	// Resume is how many intervals before Start the Record may give back (0: Warm).
	Resume int

	histEnd time.Time         // end of the last interval read
	resumed bool              // the Record was consulted
	pending []policy.Interval // intervals from the Record not yet returned
	last    *Point            // the last interval kept, for filling gaps
	noData  bool              // the last Sync found no series at all
}

// NoData reports whether the last Sync found no series at all (the source has no data yet,
// or the queries match nothing): the policy then decided on what it had.
func (f *Feed) NoData() bool { return f.noData }

// Boundary returns the last grid instant of step d at or before now.
func (f *Feed) Boundary(now time.Time, d time.Duration) time.Time {
	if f.Origin.IsZero() {
		return now.Truncate(d)
	}
	since := now.Sub(f.Origin)
	k := since / d
	if since < 0 && since%d != 0 {
		k--
	}
	return f.Origin.Add(k * d)
}

func (f *Feed) floor() time.Time {
	return f.Boundary(f.Start, f.Interval).Add(-time.Duration(f.Warm) * f.Interval)
}

// Intervals returns the intervals completed since the last call, as of now.
func (f *Feed) Intervals(ctx context.Context, now time.Time, replicas, ready int) ([]policy.Interval, error) {
	end := f.Boundary(now, f.Interval)
	if f.Record != nil && !f.resumed {
		f.resumed = true
		f.resume(end)
	}
	from := f.histEnd
	if from.IsZero() {
		from = f.floor()
	}
	limit := max(f.Warm, HistoryIntervals)
	n := int(end.Sub(from) / f.Interval)
	if n > limit {
		n = limit
	}
	if n <= 0 {
		return f.takePending(nil), nil
	}
	pts, err := f.Source.Range(ctx, Window{End: end, Step: f.Interval, Count: n})
	if errors.Is(err, ErrNoData) {
		f.noData = true
		return f.takePending(nil), nil // no data yet: read again next time
	}
	if err != nil {
		return nil, err
	}
	kept, err := repair(pts, f.last)
	if err != nil {
		return nil, fmt.Errorf("history: %w", err)
	}
	out := make([]policy.Interval, 0, len(kept))
	rec := make([]Recorded, 0, len(kept))
	for i := range kept {
		r, rd := f.Log.At(kept[i].Start.Add(f.Interval), replicas, ready)
		out = append(out, IntervalOf(kept[i], float64(r), float64(rd)))
		rec = append(rec, Recorded{Point: kept[i], Replicas: float64(r), Ready: float64(rd)})
	}
	if len(kept) > 0 {
		p := kept[len(kept)-1]
		f.last = &p
		f.histEnd = end
		if f.Record != nil {
			f.Record.Append(rec)
		}
	}
	return f.takePending(out), nil
}

// resume takes the newest contiguous run of recorded intervals before end as the start of
// the history; the Source is then read from the end of that run (or Start - Warm).
func (f *Feed) resume(end time.Time) {
	back := f.Resume
	if back <= 0 {
		back = f.Warm
	}
	from := f.Boundary(f.Start, f.Interval).Add(-time.Duration(back) * f.Interval)
	rec := f.Record.Load(from, end)
	if len(rec) == 0 {
		return
	}
	first := len(rec) - 1
	for first > 0 && rec[first-1].Start.Add(f.Interval).Equal(rec[first].Start) {
		first--
	}
	rec = rec[first:]
	f.pending = make([]policy.Interval, 0, len(rec))
	for _, r := range rec {
		f.pending = append(f.pending, IntervalOf(r.Point, r.Replicas, r.Ready))
	}
	last := rec[len(rec)-1].Point
	f.last = &last
	f.histEnd = last.Start.Add(f.Interval)
	if fl := f.floor(); f.histEnd.Before(fl) {
		f.histEnd = fl
	}
}

// takePending returns the recorded intervals not yet handed out, followed by out.
func (f *Feed) takePending(out []policy.Interval) []policy.Interval {
	if len(f.pending) == 0 {
		return out
	}
	all := append(f.pending, out...)
	f.pending = nil
	return all
}

// Recent returns the completed ticks of the Recent window as of now (at most RecentTicks).
func (f *Feed) Recent(ctx context.Context, now time.Time, tick time.Duration, replicas, ready int) ([]policy.Sample, error) {
	end := f.Boundary(now, tick)
	n := min(RecentTicks, int(end.Sub(f.floor())/tick))
	if n <= 0 {
		return nil, nil
	}
	pts, err := f.Source.Range(ctx, Window{End: end, Step: tick, Count: n})
	if errors.Is(err, ErrNoData) {
		f.noData = true
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	kept, err := repair(pts, nil)
	if err != nil {
		return nil, fmt.Errorf("recent ticks: %w", err)
	}
	out := make([]policy.Sample, 0, len(kept))
	for i := range kept {
		r, rd := f.Log.At(kept[i].Start.Add(tick), replicas, ready)
		out = append(out, SampleOf(kept[i], r, rd))
	}
	return out, nil
}

// Sync brings l up to now: new intervals into History, the Recent window replaced.
func (f *Feed) Sync(ctx context.Context, l *Loop, now time.Time, replicas, ready int) error {
	f.noData = false
	ivs, err := f.Intervals(ctx, now, replicas, ready)
	if err != nil {
		return err
	}
	for _, iv := range ivs {
		l.AddInterval(iv)
	}
	samples, err := f.Recent(ctx, now, l.Tick(), replicas, ready)
	if err != nil {
		return err
	}
	l.ResetRecent()
	for _, s := range samples {
		l.AddSample(s)
	}
	return nil
}

// Step is the whole control step of a real backend: read, then decide, or count the
// failure (cpu feeds FallbackCPU; nil if there is none).
func (f *Feed) Step(ctx context.Context, l *Loop, now time.Time, replicas, ready int, cpu func() (float64, error)) Step {
	if err := f.Sync(ctx, l, now, replicas, ready); err != nil {
		return l.Fail(now, replicas, ready, err, cpu)
	}
	return l.Decide(now, replicas, ready)
}

// repair trims leading periods without a rate (unless prev, the period before them, is
// known) and fills inner gaps from the previous period.
func repair(in []Point, prev *Point) ([]Point, error) {
	if len(in) == 0 {
		return nil, nil
	}
	if !finite(in[len(in)-1].Rate) {
		return nil, fmt.Errorf("%w (period starting %s)", ErrStale, in[len(in)-1].Start.Format(time.RFC3339))
	}
	first := 0
	if prev == nil {
		for first < len(in) && !finite(in[first].Rate) {
			first++
		}
	}
	out := make([]Point, 0, len(in)-first)
	for _, p := range in[first:] {
		fill(&p, prev)
		out = append(out, p)
		prev = &out[len(out)-1]
	}
	return out, nil
}

// fill copies p's missing values from prev (0 where there is no prev: nothing to copy),
// except memory, an optional metric: with no prev it stays NaN, "not measured", as the
// Observation documents it (a 0 would read as a measured empty working set).
func fill(p, prev *Point) {
	fields := [...]*float64{&p.Rate, &p.Errors, &p.LatencyMeanMS, &p.LatencyP95MS, &p.LatencyP99MS, &p.OverSLO, &p.CPU, &p.MemoryBytes, &p.Held}
	var from [len(fields)]float64
	if prev != nil {
		from = [...]float64{prev.Rate, prev.Errors, prev.LatencyMeanMS, prev.LatencyP95MS, prev.LatencyP99MS, prev.OverSLO, prev.CPU, prev.MemoryBytes, prev.Held}
	}
	for k, f := range fields {
		if !finite(*f) && (prev != nil || f != &p.MemoryBytes) {
			*f = from[k]
		}
	}
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

// At returns the counts recorded at or before t, or the defaults when none is.
func (l *ReplicaLog) At(t time.Time, defReplicas, defReady int) (int, int) {
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
