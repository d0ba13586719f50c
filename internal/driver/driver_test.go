package driver

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/hpa"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// memSource serves fixed periods of one step; anything else is NaN (unmeasured). It fails
// on windows that end after now (data from the future).
type memSource struct {
	t     *testing.T
	now   *time.Time
	step  map[time.Duration]map[time.Time]Point // by step, by period start
	err   error
	reads int
}

func (m *memSource) Range(_ context.Context, w Window) ([]Point, error) {
	m.reads++
	if w.End.After(*m.now) {
		m.t.Errorf("window ending %v read at %v: the future", w.End, *m.now)
	}
	if m.err != nil {
		return nil, m.err
	}
	out := make([]Point, w.Count)
	any := false
	for i := range out {
		s := w.Start().Add(time.Duration(i) * w.Step)
		p, ok := m.step[w.Step][s]
		if !ok {
			nan := math.NaN()
			p = Point{Start: s, Rate: nan, Errors: nan, LatencyMeanMS: nan, LatencyP95MS: nan, LatencyP99MS: nan, OverSLO: nan, CPU: nan, MemoryBytes: nan}
		} else {
			any = true
		}
		out[i] = p
	}
	if !any {
		return nil, ErrNoData
	}
	return out, nil
}

func (m *memSource) put(step time.Duration, p Point) {
	if m.step == nil {
		m.step = map[time.Duration]map[time.Time]Point{}
	}
	if m.step[step] == nil {
		m.step[step] = map[time.Time]Point{}
	}
	m.step[step][p.Start] = p
}

func pt(start time.Time, rate float64) Point {
	return Point{Start: start, Rate: rate, LatencyMeanMS: 10, LatencyP95MS: 20, LatencyP99MS: 30, CPU: 0.5}
}

// recorder is a policy that remembers what it saw.
type recorder struct {
	period time.Duration
	seen   []policy.Observation
	want   int
}

func (r *recorder) Name() string          { return "recorder" }
func (r *recorder) Period() time.Duration { return r.period }
func (r *recorder) Decide(o *policy.Observation) policy.Decision {
	c := *o
	c.History = append([]policy.Interval(nil), o.History...)
	c.Recent = append([]policy.Sample(nil), o.Recent...)
	r.seen = append(r.seen, c)
	return policy.Decision{Replicas: r.want, Explanation: policy.Explanation{Mode: policy.ModeSteady}}
}

func newLoop(t *testing.T, cfg Config, p policy.Policy) *Loop {
	t.Helper()
	l, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Bind(p); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestTickRule(t *testing.T) {
	cases := []struct {
		period, interval, want time.Duration
		fails                  bool
	}{
		{0, time.Minute, time.Minute, false},
		{15 * time.Second, time.Minute, 15 * time.Second, false},
		{time.Minute, time.Minute, time.Minute, false},
		{2 * time.Minute, time.Minute, time.Minute, false},
		{7 * time.Second, time.Minute, 0, true},
	}
	for _, c := range cases {
		got, err := Tick("p", c.period, c.interval)
		if (err != nil) != c.fails || got != c.want {
			t.Errorf("Tick(%v, %v) = %v, %v; want %v (fails %v)", c.period, c.interval, got, err, c.want, c.fails)
		}
	}
}

func TestWindowIsTheLastValuesWithoutRoomToReachPast(t *testing.T) {
	w := newWindow[int](3)
	for i := 1; i <= 7; i++ {
		w.push(i)
		v := w.view()
		wantLen := min(i, 3)
		if len(v) != wantLen || v[len(v)-1] != i || v[0] != i-wantLen+1 || cap(v) != len(v) {
			t.Fatalf("after %d pushes: view %v (cap %d)", i, v, cap(v))
		}
	}
	w.reset()
	if len(w.view()) != 0 {
		t.Error("reset left values")
	}
}

func TestFeedCopiesCompletedPeriodsAndLabelsReplicas(t *testing.T) {
	now := t0
	src := &memSource{t: t, now: &now}
	for i, r := range []float64{100, 200, 300} {
		p := pt(t0.Add(time.Duration(i-3)*time.Minute), r)
		if i == 2 {
			p.Errors = 50
		}
		src.put(time.Minute, p)
	}
	src.put(15*time.Second, pt(t0.Add(-30*time.Second), 80))
	src.put(15*time.Second, pt(t0.Add(-15*time.Second), 120))
	log := NewReplicaLog(0)
	log.Record(t0.Add(-150*time.Second), 2, 2)
	log.Record(t0.Add(-30*time.Second), 4, 3)
	rec := &recorder{period: 15 * time.Second, want: 4}
	l := newLoop(t, Config{Interval: time.Minute, Min: 1, Max: 10, SLO: policy.SLO{Metric: perf.Mean, TargetMS: 16}}, rec)
	f := &Feed{Source: src, Interval: time.Minute, Start: t0, Warm: 3, Log: log}
	st := f.Step(context.Background(), l, now, 5, 4, nil)
	if !st.Decided || st.Desired != 4 {
		t.Fatalf("step %+v", st)
	}
	obs := rec.seen[0]
	if len(obs.History) != 3 || len(obs.Recent) != 2 || obs.Index != 3 || obs.Tick != 15*time.Second {
		t.Fatalf("observation shape: %d history, %d recent, index %d", len(obs.History), len(obs.Recent), obs.Index)
	}
	last := obs.History[2]
	if last.Rate != 300 || last.Served != 250 || last.Failed != 50 {
		t.Errorf("last interval rate/served/failed = %g/%g/%g, want 300/250/50", last.Rate, last.Served, last.Failed)
	}
	// The intervals ending at now-120s and now-60s: the record at now-150s (2 replicas) is
	// the latest before their ends; the last one ends at now, after the record of 4/3 at
	// now-30s.
	if obs.History[0].Replicas != 2 || obs.History[1].Replicas != 2 || obs.History[2].Replicas != 4 || obs.History[2].Ready != 3 {
		t.Errorf("replicas per interval: %v %v %v", obs.History[0].Replicas, obs.History[1].Replicas, obs.History[2].Replicas)
	}
	// Little's law: 120 req/s x 10 ms = 1.2 requests in the system.
	if c := obs.Recent[1].Concurrency; math.Abs(c-1.2) > 1e-12 {
		t.Errorf("concurrency %g, want 1.2", c)
	}
	// The next step within the same interval reads no interval again.
	reads := src.reads
	src.put(15*time.Second, pt(t0, 90))
	now = t0.Add(15 * time.Second)
	f.Step(context.Background(), l, now, 5, 4, nil)
	if src.reads != reads+1 || len(rec.seen[1].History) != 3 {
		t.Errorf("second tick: %d reads (want 1: Recent only), history %d", src.reads-reads, len(rec.seen[1].History))
	}
}

func TestFeedGapsAndNoDataYet(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name      string
		rates     []float64
		wantRates []float64
		wantErr   error
	}{
		{"leading gaps are trimmed", []float64{nan, nan, 5, 6}, []float64{5, 6}, nil},
		{"inner gap carries the previous value", []float64{5, nan, 7}, []float64{5, 5, 7}, nil},
		{"missing last period is stale", []float64{5, 6, nan}, nil, ErrStale},
		{"no series at all is no data yet: empty, not a failure", []float64{nan, nan}, nil, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			now := t0
			src := &memSource{t: t, now: &now}
			for i, r := range c.rates {
				if !math.IsNaN(r) {
					src.put(time.Minute, pt(t0.Add(time.Duration(i-len(c.rates))*time.Minute), r))
				}
			}
			f := &Feed{Source: src, Interval: time.Minute, Start: t0, Warm: len(c.rates)}
			ivs, err := f.Intervals(context.Background(), now, 1, 1)
			if !errors.Is(err, c.wantErr) || (c.wantErr == nil && err != nil) {
				t.Fatalf("error %v, want %v", err, c.wantErr)
			}
			if len(ivs) != len(c.wantRates) {
				t.Fatalf("%d intervals, want %d", len(ivs), len(c.wantRates))
			}
			for i, w := range c.wantRates {
				if ivs[i].Rate != w {
					t.Errorf("interval %d rate %g, want %g", i, ivs[i].Rate, w)
				}
			}
		})
	}
}

func TestFeedNeverReadsBeforeItsStart(t *testing.T) {
	now := t0.Add(90 * time.Second)
	src := &memSource{t: t, now: &now}
	// Traffic before the run (calibration, an earlier policy) must not reach the run.
	src.put(time.Minute, pt(t0.Add(-time.Minute), 999))
	src.put(15*time.Second, pt(t0.Add(-15*time.Second), 999))
	src.put(time.Minute, pt(t0, 10))
	for k := 0; k < 6; k++ {
		src.put(15*time.Second, pt(t0.Add(time.Duration(k)*15*time.Second), 10))
	}
	f := &Feed{Source: src, Interval: time.Minute, Origin: t0, Start: t0}
	ivs, err := f.Intervals(context.Background(), now, 1, 1)
	if err != nil || len(ivs) != 1 || ivs[0].Rate != 10 {
		t.Fatalf("intervals %+v, %v; want the one run interval", ivs, err)
	}
	s, err := f.Recent(context.Background(), now, 15*time.Second, 1, 1)
	if err != nil || len(s) != 6 {
		t.Fatalf("%d ticks (%v), want the 6 since the start", len(s), err)
	}
	for _, x := range s {
		if x.Rate == 999 {
			t.Fatal("a tick from before the start was read")
		}
	}
}

func TestLoopBehaviorAndBounds(t *testing.T) {
	rec := &recorder{want: 40}
	b, err := hpa.NewBehavior(hpa.DefaultScaleUp(), hpa.DefaultScaleDown(), time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	l := newLoop(t, Config{Interval: time.Minute, Min: 1, Max: 30, Behavior: b}, rec)
	// From 2 pods, the default scale-up allows max(2+4, 2x2) = 6.
	if st := l.Decide(t0, 2, 2); st.Desired != 6 || st.Limit != hpa.LimitUpRate {
		t.Fatalf("desired %d limited by %v, want 6 by the scale-up rate", st.Desired, st.Limit)
	}
	l.Applied(t0, 2, 6)
	// Without behavior only the bounds apply.
	l2 := newLoop(t, Config{Interval: time.Minute, Min: 1, Max: 30}, &recorder{want: 40})
	if st := l2.Decide(t0, 2, 2); st.Desired != 30 || st.Limit != hpa.LimitMax {
		t.Fatalf("desired %d limited by %v, want 30 by max", st.Desired, st.Limit)
	}
}

func TestFallbackNeverScalesDown(t *testing.T) {
	fail := errors.Join(ErrUnavailable, errors.New("connection refused"))
	cpu := func(u float64) func() (float64, error) { return func() (float64, error) { return u, nil } }
	cases := []struct {
		name   string
		fb     Fallback
		cpu    func() (float64, error)
		cur    int
		want   []int // desired after each failed read
		wantFB []bool
	}{
		{"hold", Fallback{After: 2}, nil, 5, []int{5, 5, 5}, []bool{false, true, true}},
		{"fixed above", Fallback{After: 2, Action: FallbackFixed, Replicas: 8}, nil, 5, []int{5, 8, 8}, []bool{false, true, true}},
		{"fixed below: not down", Fallback{After: 1, Action: FallbackFixed, Replicas: 2}, nil, 5, []int{5}, []bool{true}},
		// 4 pods at 140% of a 70% target: the HPA rule gives ceil(2 x 4) = 8.
		{"cpu up", Fallback{After: 1, Action: FallbackCPU, CPUTarget: 0.7}, cpu(1.4), 4, []int{8}, []bool{true}},
		{"cpu down: not down", Fallback{After: 1, Action: FallbackCPU, CPUTarget: 0.7}, cpu(0.1), 4, []int{4}, []bool{true}},
		{"cpu unreadable: hold", Fallback{After: 1, Action: FallbackCPU}, nil, 4, []int{4}, []bool{true}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l := newLoop(t, Config{Interval: time.Minute, Min: 1, Max: 20, Fallback: c.fb}, &recorder{want: 1})
			for i, w := range c.want {
				st := l.Fail(t0.Add(time.Duration(i)*time.Minute), c.cur, c.cur, fail, c.cpu)
				if st.Desired != w || st.Fallback != c.wantFB[i] || st.Decided || st.Failure != FailureUnavailable || st.Failures != i+1 {
					t.Fatalf("failure %d: %+v, want desired %d fallback %v", i+1, st, w, c.wantFB[i])
				}
			}
			st := l.Decide(t0.Add(time.Hour), c.cur, c.cur)
			if st.Recovered != len(c.want) || !st.Decided {
				t.Errorf("recovery step: recovered %d, want %d", st.Recovered, len(c.want))
			}
		})
	}
}

func TestClassify(t *testing.T) {
	for _, k := range []struct {
		err  error
		want Failure
	}{{nil, FailureNone}, {ErrTimeout, FailureTimeout}, {errors.Join(errors.New("x"), ErrStale), FailureStale}, {errors.New("other"), FailureOther}} {
		if got := Classify(k.err); got != k.want {
			t.Errorf("Classify(%v) = %v, want %v", k.err, got, k.want)
		}
	}
}

func TestReplicaLogForgetsButKeepsHorizonValue(t *testing.T) {
	l := NewReplicaLog(time.Minute)
	l.Record(t0, 1, 1)
	l.Record(t0.Add(30*time.Second), 2, 2)
	l.Record(t0.Add(2*time.Minute), 3, 3)
	if r, _ := l.At(t0.Add(70*time.Second), 9, 9); r != 2 {
		t.Errorf("count at the horizon = %d, want 2 (kept as the value in force)", r)
	}
	l.Record(t0, 7, 7) // out of order: ignored
	if r, _ := l.At(t0.Add(3*time.Minute), 9, 9); r != 3 {
		t.Errorf("latest count = %d, want 3", r)
	}
}

// TestServerlessHeldPassesThrough: the activator's held-request rate reaches the
// Observation from a measured point (IntervalOf, SampleOf), and a missing value inside the
// data is filled from the previous period like the others.
func TestServerlessHeldPassesThrough(t *testing.T) {
	p := Point{Start: t0, Rate: 3, Held: 2.5, MemoryBytes: math.NaN()}
	if iv := IntervalOf(p, 0, 0); iv.Held != 2.5 {
		t.Errorf("interval held %g, want 2.5", iv.Held)
	}
	if s := SampleOf(p, 0, 0); s.Held != 2.5 {
		t.Errorf("sample held %g, want 2.5", s.Held)
	}
	prev := Point{Held: 1.5}
	gap := Point{Rate: 1, Held: math.NaN()}
	fill(&gap, &prev)
	if gap.Held != 1.5 {
		t.Errorf("a missing held value became %g, want the previous 1.5", gap.Held)
	}
}

// TestUnmeasuredMemoryStaysNaN: memory is optional, so a first period without it is "not
// measured" (NaN), never 0; a gap after a measured period is filled like the others.
func TestUnmeasuredMemoryStaysNaN(t *testing.T) {
	first := Point{Rate: 1, CPU: math.NaN(), MemoryBytes: math.NaN()}
	fill(&first, nil)
	if !math.IsNaN(first.MemoryBytes) || first.CPU != 0 {
		t.Errorf("first period: memory %g, cpu %g; want NaN and 0", first.MemoryBytes, first.CPU)
	}
	gap := Point{Rate: 1, MemoryBytes: math.NaN()}
	fill(&gap, &Point{MemoryBytes: 4e8})
	if gap.MemoryBytes != 4e8 {
		t.Errorf("a missing memory value became %g, want the previous 4e8", gap.MemoryBytes)
	}
}

// TestPodHealthReachesTheObservation: without pod detail the not-serving pods count as
// starting; with SetPodHealth the unschedulable ones are told apart, for that tick only.
func TestPodHealthReachesTheObservation(t *testing.T) {
	r := &recorder{want: 5}
	l := newLoop(t, Config{Interval: time.Minute, Min: 1, Max: 10, SLO: policy.SLO{Metric: perf.Mean, TargetMS: 16}}, r)
	l.Decide(t0, 5, 2)
	l.SetPodHealth(1, 2)
	l.Decide(t0.Add(time.Minute), 5, 2)
	l.Decide(t0.Add(2*time.Minute), 5, 2)
	want := []struct{ notReady, unschedulable int }{{3, 0}, {1, 2}, {3, 0}}
	for i, w := range want {
		o := r.seen[i]
		if o.NotReady != w.notReady || o.Unschedulable != w.unschedulable || o.PodsCannotCome() != (w.unschedulable > 0) {
			t.Errorf("decision %d: not ready %d, unschedulable %d, want %d and %d", i, o.NotReady, o.Unschedulable, w.notReady, w.unschedulable)
		}
	}
}
