package sim

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
)

// stepTap records the driver's stepTap of a run.
type stepTap struct{ all []driver.Step }

func (s *stepTap) Step(st driver.Step)                            { s.all = append(s.all, st) }
func (s *stepTap) Reported(time.Duration, driver.Point, int, int) {}

// TestMemoryBoundWorkloadScalesOnMemory: a pod's working set is 100 MiB + 10 MiB per req/s,
// so at 300 req/s a memory target of 400 MiB per pod (30 req/s per pod) needs about 10 pods
// while CPU at 70% (77 req/s per pod on the fft profile) needs 4. The HPA with both metrics
// follows memory and says so; without a memory model the run reports no memory.
func TestMemoryBoundWorkloadScalesOnMemory(t *testing.T) {
	const mib = 1 << 20
	rates := make([]float64, 20)
	for i := range rates {
		rates[i] = 300
	}
	run := func(mem perf.Memory, params ...string) (Result, *stepTap) {
		t.Helper()
		cfg := DefaultConfig()
		prof := *perf.FFT()
		prof.Memory = mem
		cfg.Profile = &prof
		cfg.Initial = 4
		tap := &stepTap{}
		cfg.Tap = tap
		env := policy.Env{Interval: cfg.Interval, SLO: cfg.SLO, Min: cfg.Min, Max: cfg.Max, Startup: cfg.Startup, Profile: cfg.Profile, Params: map[string]string{}}
		for _, kv := range params {
			k, v, _ := strings.Cut(kv, "=")
			env.Params[k] = v
		}
		p, err := policy.New("hpa", env)
		if err != nil {
			t.Fatal(err)
		}
		res, err := Run(cfg, rates, t0, p)
		if err != nil {
			t.Fatal(err)
		}
		return res, tap
	}
	model := perf.Memory{BaseBytes: 100 * mib, BytesPerRPS: 10 * mib}
	res, tap := run(model, "memory-target=419430400")
	last := res.Records[len(res.Records)-1]
	t.Logf("memory-bound: last interval %.1f replicas, %.0f MiB per ready pod", last.Interval.Replicas, last.Interval.MemoryBytes/last.Interval.Ready/mib)
	if r := last.Interval.Replicas; r < 9 || r > 11 {
		t.Errorf("memory-bound run ends with %.1f replicas, want about 10 (300 req/s at 30 req/s per pod)", r)
	}
	if perPod := last.Interval.MemoryBytes / last.Interval.Ready; math.IsNaN(perPod) || perPod > 1.1*400*mib {
		t.Errorf("memory per ready pod %.0f MiB, want at most 440 (the target plus the tolerance)", perPod/mib)
	}
	memDecided := false
	for _, st := range tap.all {
		if strings.HasPrefix(st.Decision.Explanation.Reason, "memory: ") && st.Desired > 4 {
			memDecided = true
		}
	}
	if !memDecided {
		t.Error("no scale-up explained by memory")
	}

	cpuOnly, _ := run(model)
	if r := cpuOnly.Records[len(cpuOnly.Records)-1].Interval.Replicas; r > 5 {
		t.Errorf("CPU-only HPA ends with %.1f replicas, want about 4 (memory must be what scaled the first run)", r)
	}
	plain, _ := run(perf.Memory{}, "memory-target=419430400")
	for i, r := range plain.Records {
		if !math.IsNaN(r.Interval.MemoryBytes) {
			t.Fatalf("interval %d: memory %g reported without a memory model, want NaN", i, r.Interval.MemoryBytes)
		}
	}
}
