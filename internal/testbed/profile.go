package testbed

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/testbed/loadgen"
)

// ProfileOptions configure a profiling run on real replicas (the BAScaler paper's
// procedure: scale first, then change the load, and record per-pod load, CPU, latency and
// errors at every operating point).
type ProfileOptions struct {
	// Replicas lists the replica counts to profile at (default 1, 2).
	Replicas []int
	// Loads are per-replica loads as fractions of one replica's measured saturation
	// throughput (default 0.1, 0.3, 0.5, 0.7, 0.9).
	Loads []float64
	// Step is how long each operating point is held (default 10 s); the first second of
	// each step is sent but not measured, so the queue reaches its steady state.
	Step time.Duration
}

// Profile measures profiling samples on real replicas. cfg supplies the rig settings
// (replica CPU share, start-up delay, work per request, binaries); its trace and policy
// fields are ignored. The load balancer spreads each point's total load evenly (least
// outstanding), so the per-pod load is total / replicas: the balanced sampling the SVR is
// trained on.
func Profile(ctx context.Context, cfg Config, o ProfileOptions) (samples []perf.ProfilingSample, cal Calibration, err error) {
	if len(o.Replicas) == 0 {
		o.Replicas = []int{1, 2}
	}
	if len(o.Loads) == 0 {
		o.Loads = []float64{0.1, 0.3, 0.5, 0.7, 0.9}
	}
	if o.Step == 0 {
		o.Step = 10 * time.Second
	}
	if o.Step < 2*time.Second || o.Step > 5*time.Minute {
		return nil, cal, fmt.Errorf("profile step %s out of range [2s, 5m]", o.Step)
	}
	for _, n := range o.Replicas {
		if n < 1 || n > MaxReplicasCap {
			return nil, cal, fmt.Errorf("profile replicas %d out of range [1, %d]", n, MaxReplicasCap)
		}
	}
	for _, f := range o.Loads {
		if !(f > 0) || f > 1.5 {
			return nil, cal, fmt.Errorf("profile load %g out of range (0, 1.5] of a replica's saturation throughput", f)
		}
	}
	// Only the rig settings matter here; satisfy the run validation with a dummy window.
	cfg.Shape, cfg.Policies = []float64{1, 1}, []string{"profile"}
	if cfg.Interval == 0 {
		cfg.Interval = 15 * time.Second
	}
	if err := cfg.defaults(); err != nil {
		return nil, cal, err
	}
	r, err := startRig(ctx, &cfg)
	if err != nil {
		return nil, cal, err
	}
	defer func() {
		if cerr := r.close(); cerr != nil && err == nil {
			err = fmt.Errorf("testbed cleanup: %w", cerr)
		}
	}()
	cal, _, _, err = calibrate(ctx, r)
	if err != nil {
		return nil, cal, err
	}
	for _, n := range o.Replicas {
		if err := r.scaler.Scale(ctx, n); err != nil {
			return nil, cal, err
		}
		if err := r.waitReplicas(ctx, n, cfg.StartupDelay+30*time.Second); err != nil {
			return nil, cal, err
		}
		for _, f := range o.Loads {
			s, err := profilePoint(ctx, r, n, f*cal.ReplicaCapacity, o.Step)
			if err != nil {
				return nil, cal, fmt.Errorf("profile %d replicas at %.1f req/s each: %w", n, f*cal.ReplicaCapacity, err)
			}
			fmt.Fprintf(cfg.Log, "testbed: profile %d replicas, %.1f req/s each: mean %.1f ms, p95 %.1f ms, cpu %.0f%%, errors %.1f%%\n",
				n, s.LoadPerPod, s.MeanMS, s.P95MS, s.CPUPct, 100*s.ErrorRate)
			samples = append(samples, s)
		}
	}
	return samples, cal, nil
}

// profilePoint holds n replicas at perPod req/s each for step and measures the point.
func profilePoint(ctx context.Context, r *rig, n int, perPod float64, step time.Duration) (perf.ProfilingSample, error) {
	var s perf.ProfilingSample
	warm := time.Second
	sched, err := loadgen.NewSchedule([]float64{perPod * float64(n), perPod * float64(n)}, step/2)
	if err != nil {
		return s, err
	}
	reps := r.mgr.Replicas()
	cpu0 := make([]float64, len(reps))
	for i, x := range reps {
		if cpu0[i], err = scrapeCPU(ctx, x.Addr); err != nil {
			return s, err
		}
	}
	t0 := time.Now()
	run, err := loadgen.Generate(ctx, loadgen.Options{Target: r.target(), Schedule: sched, Timeout: 5 * time.Second})
	if err != nil {
		return s, err
	}
	if run.Cancelled {
		return s, ctx.Err()
	}
	elapsed := time.Since(t0).Seconds()
	cpu := 0.0
	for i, x := range reps {
		c, err := scrapeCPU(ctx, x.Addr)
		if err != nil {
			return s, err
		}
		cpu += c - cpu0[i]
	}
	// Measure requests sent after the warm-up.
	var lat []float64
	var ok, failed int
	for _, rec := range run.Records {
		if rec.Sent < warm {
			continue
		}
		if rec.Failed() {
			failed++
			continue
		}
		ok++
		lat = append(lat, float64(rec.Latency)/float64(time.Millisecond))
	}
	if ok == 0 {
		return s, fmt.Errorf("no request succeeded (%d failed)", failed)
	}
	mean, p95, p99 := loadgen.LatencyStats(lat)
	measured := (step - warm).Seconds()
	return perf.ProfilingSample{
		LoadPerPod: float64(ok+failed) / measured / float64(n),
		Replicas:   n,
		CPUPct:     100 * cpu / elapsed / float64(n) / r.share,
		MeanMS:     mean, P95MS: math.Max(p95, mean/2), P99MS: math.Max(p99, p95),
		ErrorRate: float64(failed) / float64(ok+failed),
	}, nil
}
