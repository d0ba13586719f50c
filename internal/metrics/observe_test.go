package metrics

import (
	"errors"
	"math"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func pointsEvery(step time.Duration, end time.Time, rates ...float64) []Point {
	pts := make([]Point, len(rates))
	for i, r := range rates {
		pts[i] = Point{Start: end.Add(time.Duration(i-len(rates)) * step), Rate: r, Errors: 0,
			LatencyMeanMS: 10, LatencyP95MS: 20, LatencyP99MS: 30, CPU: 0.5}
	}
	return pts
}

func TestBuildObservationCopiesCompletedPeriods(t *testing.T) {
	now := t0
	log := NewReplicaLog(0)
	log.Record(now.Add(-150*time.Second), 2, 2)
	log.Record(now.Add(-30*time.Second), 4, 3)
	hist := pointsEvery(time.Minute, now, 100, 200, 300)
	hist[2].Errors = 50
	in := ObserveInput{Now: now, Interval: time.Minute, Tick: 15 * time.Second, Index: 7,
		History: hist, Recent: pointsEvery(15*time.Second, now, 80, 120),
		Replicas: 5, Ready: 4, Min: 1, Max: 10, SLO: policy.SLO{Metric: perf.Mean, TargetMS: 16}, Log: log}
	var obs policy.Observation
	if _, err := BuildObservation(in, &obs); err != nil {
		t.Fatal(err)
	}
	if len(obs.History) != 3 || len(obs.Recent) != 2 || obs.Index != 7 || !obs.Now.Equal(now) || obs.Tick != 15*time.Second {
		t.Fatalf("observation shape: %d history, %d recent, index %d", len(obs.History), len(obs.Recent), obs.Index)
	}
	last := obs.History[2]
	if last.Rate != 300 || last.Served != 250 || last.Failed != 50 {
		t.Errorf("last interval rate/served/failed = %g/%g/%g, want 300/250/50", last.Rate, last.Served, last.Failed)
	}
	// The intervals end at now-120s, now-60s and now: the record at now-150s (2 replicas) is
	// in force at the first two ends, the one at now-30s (4 replicas, 3 ready) at the last.
	if obs.History[0].Replicas != 2 || obs.History[1].Replicas != 2 || obs.History[2].Replicas != 4 || obs.History[2].Ready != 3 {
		t.Errorf("replicas per interval: %v %v %v, want 2 2 4 (ready %v, want 3)",
			obs.History[0].Replicas, obs.History[1].Replicas, obs.History[2].Replicas, obs.History[2].Ready)
	}
	// Before the first record, the current counts (5 replicas, 4 ready) stand in: with the log
	// starting at now-90s, the interval ending at now-120s has no record yet.
	late := NewReplicaLog(0)
	late.Record(now.Add(-90*time.Second), 3, 3)
	in.Log = late
	var lobs policy.Observation
	if _, err := BuildObservation(in, &lobs); err != nil {
		t.Fatal(err)
	}
	if h := lobs.History; h[0].Replicas != 5 || h[0].Ready != 4 || h[1].Replicas != 3 || h[2].Replicas != 3 {
		t.Errorf("log from now-90s: replicas %v %v %v (first ready %v), want 5 3 3 (ready 4)",
			h[0].Replicas, h[1].Replicas, h[2].Replicas, h[0].Ready)
	}
	// Little's law: 120 req/s x 10 ms = 1.2 requests in the system.
	if c := obs.Recent[1].Concurrency; math.Abs(c-1.2) > 1e-12 {
		t.Errorf("concurrency %g, want 1.2", c)
	}
}

func TestBuildObservationIndexAtLeastHistory(t *testing.T) {
	var obs policy.Observation
	in := ObserveInput{Now: t0, Interval: time.Minute, Tick: time.Minute, History: pointsEvery(time.Minute, t0, 1, 2, 3), Min: 1, Max: 2}
	if _, err := BuildObservation(in, &obs); err != nil {
		t.Fatal(err)
	}
	if obs.Index != 3 {
		t.Errorf("index %d after a warm start of 3 intervals, want 3", obs.Index)
	}
}

func TestBuildObservationRejectsIncompletePeriods(t *testing.T) {
	var obs policy.Observation
	// The last interval ends one minute after now: it is the interval being decided.
	in := ObserveInput{Now: t0, Interval: time.Minute, Tick: time.Minute, History: pointsEvery(time.Minute, t0.Add(time.Minute), 1, 2)}
	if _, err := BuildObservation(in, &obs); err == nil {
		t.Fatal("an interval that ends after now was accepted: the policy would see the future")
	}
}

func TestBuildObservationGaps(t *testing.T) {
	nan := math.NaN()
	cases := []struct {
		name         string
		rates        []float64
		wantRates    []float64
		wantTrim     int
		wantErrStale bool
	}{
		{"leading gaps are trimmed", []float64{nan, nan, 5, 6}, []float64{5, 6}, 2, false},
		{"inner gap carries the previous value", []float64{5, nan, 7}, []float64{5, 5, 7}, 0, false},
		{"missing last period is stale", []float64{5, 6, nan}, nil, 0, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var obs policy.Observation
			in := ObserveInput{Now: t0, Interval: time.Minute, Tick: time.Minute, History: pointsEvery(time.Minute, t0, c.rates...)}
			rep, err := BuildObservation(in, &obs)
			if c.wantErrStale {
				if !errors.Is(err, ErrStale) {
					t.Fatalf("error %v, want ErrStale", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if rep.Trimmed != c.wantTrim {
				t.Errorf("trimmed %d, want %d", rep.Trimmed, c.wantTrim)
			}
			if len(obs.History) != len(c.wantRates) {
				t.Fatalf("history %d long, want %d", len(obs.History), len(c.wantRates))
			}
			for i, w := range c.wantRates {
				if obs.History[i].Rate != w {
					t.Errorf("history[%d].Rate = %g, want %g", i, obs.History[i].Rate, w)
				}
			}
		})
	}
}

func TestReplicaLogForgetsButKeepsHorizonValue(t *testing.T) {
	l := NewReplicaLog(time.Minute)
	l.Record(t0, 1, 1)
	l.Record(t0.Add(30*time.Second), 2, 2)
	l.Record(t0.Add(2*time.Minute), 3, 3)
	if r, _ := l.at(t0.Add(70*time.Second), 9, 9); r != 2 {
		t.Errorf("count at the horizon = %d, want 2 (kept as the value in force)", r)
	}
	l.Record(t0, 7, 7) // out of order: ignored
	if r, _ := l.at(t0.Add(3*time.Minute), 9, 9); r != 3 {
		t.Errorf("latest count = %d, want 3", r)
	}
}
