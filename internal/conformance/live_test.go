package conformance

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/live"
)

// scriptedCounts reports the simulator's replica counts at each tick (as scripted does for
// the controller).
type scriptedCounts struct {
	mu              sync.Mutex
	replicas, ready int
}

func (s *scriptedCounts) Counts(context.Context, time.Time) (int, int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.replicas, s.ready, nil
}

// liveTarget is the live-target configuration equal to replayController's autoscaler.
func liveTarget(prom, name, run string) live.TargetConfig {
	q := queries(run)
	c := live.TargetConfig{Name: "conf", Namespace: namespace, Workload: "conf", Autoscaler: objName(name),
		Interval: interval.String(), Max: 50, Startup: "30s", HistoryIntervals: historyLen, Preset: q.Preset}
	one := 1
	c.Min = &one
	c.SLO.Metric, c.SLO.Target = "mean", "16ms"
	c.Policy.Name = name
	c.Prometheus.Address, c.Prometheus.Timeout = prom, "10s"
	c.Custom.Rate, c.Custom.Latency, c.Custom.Errors, c.Custom.CPU = q.CustomRate, q.CustomLatency, q.CustomErrors, q.CustomCPU
	return c
}

// replayLive decides at the simulator's ticks through a live target of bascaler serve.
func replayLive(t *testing.T, prom, name, run string, steps []driver.Step) []decision {
	t.Helper()
	counts := &scriptedCounts{}
	tg, err := live.New(liveTarget(prom, name, run), live.Options{Counts: counts})
	if err != nil {
		t.Fatal(err)
	}
	var out []decision
	for _, st := range steps {
		counts.mu.Lock()
		counts.replicas, counts.ready = st.Replicas, st.Ready
		counts.mu.Unlock()
		got := tg.Current(context.Background(), st.At)
		if !got.Valid || !got.Step.Decided || !got.Step.At.Equal(st.At) {
			t.Fatalf("live %s at %s: no decision at this tick (%+v, err %v)", name, st.At, got.Step, got.Err)
		}
		// A second request within the tick is answered from the step taken: same answer.
		if again := tg.Current(context.Background(), st.At.Add(time.Millisecond)); again.Step.At != got.Step.At || again.Desired() != got.Desired() {
			t.Fatalf("live %s at %s: a second request in the tick stepped again", name, st.At)
		}
		out = append(out, simDecision(got.Step))
	}
	return out
}

// TestConformanceLiveTargetEqualsController: a live target of `bascaler serve` reading the
// same Prometheus series as a BurstAwareAutoscaler (same queries, bounds, SLO, history
// window, seed and replica counts) makes the controller's decisions at every tick, and so
// the simulator's.
func TestConformanceLiveTargetEqualsController(t *testing.T) {
	wl := loadWorkload(t)
	pols := []string{"hpa", "kpa", "keda", "threshold", "bascaler"}
	runs := map[string]*tap{}
	for _, name := range pols {
		runs[name+"/warm"] = simulate(t, wl, name, true)
	}
	prom := startProm(t, openMetrics(runs, wl))
	c := startEnvtest(t)
	for _, name := range pols {
		t.Run(name, func(t *testing.T) {
			run := runs[name+"/warm"]
			ctrl := replayController(t, c, prom.URL, name, name+"/warm", run.steps)
			got := replayLive(t, prom.URL, name, name+"/warm", run.steps)
			if len(got) != len(ctrl) {
				t.Fatalf("live %d decisions, controller %d", len(got), len(ctrl))
			}
			for i := range got {
				if got[i] != ctrl[i] {
					t.Fatalf("tick %d (%s): live %s, controller %s", i, run.steps[i].At.Format("15:04:05"), got[i], ctrl[i])
				}
			}
			compare(t, "live", name, run.steps, got)
			t.Logf("%s: %d ticks equal (%d changes of replicas)", name, len(got), changes(run.steps))
		})
	}
}
