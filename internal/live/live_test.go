package live

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/driver"

	"github.com/bascaler/bascaler/internal/testenv"
)

// TestTargetReadsPrometheusAndAnswersFromItsTick: a live target over a real Prometheus
// holding a known workload reads exactly its rates (not the unrelated pod's), and a second
// answer within the same tick comes from the step taken, without building or stepping again.
func TestTargetReadsPrometheusAndAnswersFromItsTick(t *testing.T) {
	start, rates, c := knownTarget(t)
	tg, err := New(c, Options{})
	if err != nil {
		t.Fatal(err)
	}
	reads := &countingSource{Source: tg.src}
	tg.src = reads
	ctx := context.Background()
	if pts, err := tg.src.Range(ctx, driver.Window{End: start.Add(100 * time.Minute), Step: time.Minute, Count: 60}); err != nil || len(pts) == 0 {
		t.Fatalf("source read: %d points, %v", len(pts), err)
	}
	now := start.Add(100*time.Minute + 5*time.Second)
	st := tg.Current(ctx, now)
	if !st.Valid || st.Err != nil || st.Built.IsZero() {
		t.Fatalf("first step: %+v", st)
	}
	h := tg.History()
	if h.Len() == 0 {
		t.Fatalf("no history read: %+v", st)
	}
	first := int(h.Start.Sub(start) / time.Minute)
	for i, v := range h.Values {
		if want := rates[first+i]; v != want {
			t.Fatalf("history[%d] (period %d) = %v req/s, Prometheus holds %v", i, first+i, v, want)
		}
	}
	// The kpa policy ticks every 2 s: half a second later is the same tick, answered from it.
	n := reads.n.Load()
	again := tg.Current(ctx, now.Add(500*time.Millisecond))
	if m := reads.n.Load(); m != n {
		t.Fatalf("an answer within the tick read Prometheus again (%d -> %d reads)", n, m)
	}
	if !again.Step.At.Equal(st.Step.At) || again.Step.Index != st.Step.Index || !again.Built.Equal(st.Built) {
		t.Fatalf("second answer in the same tick re-stepped: %v -> %v", st.Step.At, again.Step.At)
	}
	// A later tick steps again on the policy built once: no refit.
	later := tg.Current(ctx, now.Add(20*time.Second))
	if !later.Step.At.After(st.Step.At) || !later.Built.Equal(st.Built) {
		t.Fatalf("later tick: at %v (first %v), built %v (first %v): want a new step on the same policy", later.Step.At, st.Step.At, later.Built, st.Built)
	}
	if st.Desired() < 1 || st.Desired() > 20 {
		t.Fatalf("desired %d outside 1..20 (%s)", st.Desired(), st.Step.Why)
	}
}

// knownTarget starts a real Prometheus holding testenv's known workload (120 one-minute
// periods from its start, 8 ms latency) and returns a kpa target "web" over it.
func knownTarget(tb testing.TB) (start time.Time, rates []float64, c TargetConfig) {
	start = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rates = testenv.KnownRates(120)
	lat := make([]float64, len(rates))
	for i := range lat {
		lat[i] = 8
	}
	srv := testenv.BackfilledPrometheus(tb, testenv.KnownWorkload{Start: start, Rates: rates, LatencyMS: lat})
	min := 1
	c = TargetConfig{Name: "web", Namespace: "shop", Workload: "web", Interval: "60s", Min: &min, Max: 20,
		HistoryIntervals: 60, PerPodRPS: 20, Preset: "http"}
	c.SLO.Metric, c.SLO.Target = "p95", "50ms"
	c.Policy.Name = "kpa"
	c.Prometheus.Address = srv.URL
	c.CPU.Source = "none"
	return start, rates, c
}

// countingSource counts the reads of a real source.
type countingSource struct {
	driver.Source
	n atomic.Int64
}

func (c *countingSource) Range(ctx context.Context, w driver.Window) ([]driver.Point, error) {
	c.n.Add(1)
	return c.Source.Range(ctx, w)
}

// BenchmarkCurrentCached is an answer within a tick already stepped (what a recommend or
// GetMetrics request costs once the tick is decided): no Prometheus read, no refit.
func BenchmarkCurrentCached(b *testing.B) {
	start, _, c := knownTarget(b)
	tg, err := New(c, Options{})
	if err != nil {
		b.Fatal(err)
	}
	now := start.Add(100*time.Minute + 5*time.Second)
	ctx := context.Background()
	b.Run("first-step", func(b *testing.B) {
		// The first step of a fresh target: warm history read and policy build.
		for i := 0; i < b.N; i++ {
			t, _ := New(c, Options{})
			if st := t.Current(ctx, now); st.Err != nil {
				b.Fatal(st.Err)
			}
		}
	})
	tg.Current(ctx, now)
	b.Run("cached", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			tg.Current(ctx, now)
		}
	})
}

// TestSampleTargetsFileParses: deploy/samples/serve-targets.yaml is a valid targets file.
func TestSampleTargetsFileParses(t *testing.T) {
	ts, err := ReadFile("../../deploy/samples/serve-targets.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 1 || ts[0].Name != "web" {
		t.Fatalf("targets %+v", ts)
	}
}
