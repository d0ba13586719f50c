package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
)

// t0 is the start of every test timeline.
var t0 = time.Date(2026, 7, 1, 12, 0, 0, 0, time.UTC)

// feed builds Observations tick by tick, the way a backend does: each step closes one tick
// with the given sample, appends it to Recent (at most 64 kept) and returns the observation
// at the end of that tick. Replicas and ready pods are whatever the test says they are.
type feed struct {
	now      time.Time
	tick     time.Duration
	recent   []Sample
	history  []Interval
	min, max int
	slo      SLO
}

func newFeed(tick time.Duration, min, max int) *feed {
	return &feed{now: t0, tick: tick, min: min, max: max, slo: SLO{Metric: perf.Mean, TargetMS: 16}}
}

// step closes a tick in which ready pods ran at cpu (fraction of request) and rate req/s
// arrived, and returns the observation at its end with the given replica counts.
func (f *feed) step(replicas, ready int, cpu, rate float64) *Observation {
	return f.stepSample(replicas, ready, Sample{CPU: cpu, Rate: rate})
}

// stepSample is step with a full sample (Start, Ready and Replicas are filled in).
func (f *feed) stepSample(replicas, ready int, s Sample) *Observation {
	s.Start, s.Ready, s.Replicas = f.now, ready, replicas
	f.now = f.now.Add(f.tick)
	f.recent = append(f.recent, s)
	if len(f.recent) > 64 {
		f.recent = f.recent[1:]
	}
	return f.obs(replicas, ready)
}

// obs returns the observation now without closing a tick.
func (f *feed) obs(replicas, ready int) *Observation {
	return &Observation{
		Now: f.now, Interval: time.Minute, Index: len(f.history), History: f.history,
		Recent: f.recent, Tick: f.tick, Replicas: replicas, Ready: ready,
		Min: f.min, Max: f.max, SLO: f.slo,
	}
}

// testEnv returns an Env with bounds [1, 100], the fft profile, a 16 ms mean SLO and the
// given "key=value" params.
func testEnv(kv ...string) Env {
	env := Env{
		Interval: time.Minute, SLO: SLO{Metric: perf.Mean, TargetMS: 16},
		Min: 1, Max: 100, Startup: 30 * time.Second, Profile: perf.FFT(),
		Params: map[string]string{},
	}
	for _, s := range kv {
		k, v, _ := strings.Cut(s, "=")
		env.Params[k] = v
	}
	return env
}

func mustNew(t testing.TB, name string, env Env) Policy {
	t.Helper()
	p, err := New(name, env)
	if err != nil {
		t.Fatalf("New(%q): %v", name, err)
	}
	return p
}
