package sim

import (
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/retrain"
)

// TestRetrainRoundCost measures what one in-process retrain round costs the process that
// runs it, the controller's way: sim.Evaluate (the function the controller's retrain calls)
// on 14 days + 1 of per-minute history, with the policy built as a controller builds it.
// It reports wall time, CPU time (user + system, getrusage), the heap's peak above the
// heap before the round (runtime/metrics sampled every 5 ms), bytes allocated, and the
// process's peak RSS. Runs only with BASCALER_RETRAIN_COST=1 (bench/mlops.md):
//
//	BASCALER_RETRAIN_COST=1 go test -count=1 -run TestRetrainRoundCost -v ./internal/sim/
func TestRetrainRoundCost(t *testing.T) {
	if os.Getenv("BASCALER_RETRAIN_COST") != "1" {
		t.Skip("set BASCALER_RETRAIN_COST=1 to measure one retrain round's CPU and memory")
	}
	sched := retrain.Schedule{Every: 24 * time.Hour, TrainWindow: 14 * 24 * time.Hour, EvalWindow: 24 * time.Hour}
	for _, kind := range []string{"arima", "holt-winters"} {
		s, build, p := retrainFixture(t, kind)
		runtime.GC()
		base := heapBytes()
		var peak uint64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			tick := time.NewTicker(5 * time.Millisecond)
			defer tick.Stop()
			for {
				select {
				case <-stop:
					return
				case <-tick.C:
					peak = max(peak, heapBytes())
				}
			}
		}()
		var ms0, ms1 runtime.MemStats
		runtime.ReadMemStats(&ms0)
		cpu0, t0 := cpuTime(t), time.Now()
		ev, _, err := Evaluate(DefaultConfig(), p.(policy.Retrainable), sched, s, build, 1, false)
		wall, cpu := time.Since(t0), cpuTime(t)-cpu0
		runtime.ReadMemStats(&ms1)
		close(stop)
		wg.Wait()
		if err != nil || ev.Skipped != "" {
			t.Fatalf("%s: round: %v %s", kind, err, ev.Skipped)
		}
		peak = max(peak, heapBytes())
		var ru syscall.Rusage
		_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
		fmt.Printf("| %s | %.2f s | %.2f s | %.0f MB | %.0f MB | %.0f MB |\n", kind, wall.Seconds(), cpu.Seconds(),
			float64(peak-min(base, peak))/1e6, float64(ms1.TotalAlloc-ms0.TotalAlloc)/1e6, float64(ru.Maxrss)/1e3)
	}
}

// heapBytes is the live and not yet swept heap (runtime/metrics /memory/classes/heap/objects:bytes).
func heapBytes() uint64 {
	m := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(m)
	return m[0].Value.Uint64()
}

// cpuTime is the process's user + system CPU time so far.
func cpuTime(t *testing.T) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
