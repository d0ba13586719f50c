package testbed

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/testbed/loadgen"
)

// Calibration is what the testbed measured on one replica before the policy runs. It sets
// the SLO (when none is given), the load scale and the profile policies plan with.
type Calibration struct {
	// Limiter says how replicas are held to their CPU share.
	Limiter string `json:"cpu_limiter"`
	// CPUShare is each replica's CPU share, cores (1 under the gomaxprocs fallback).
	CPUShare float64 `json:"cpu_share_cores"`
	// CPUPerRequestMS is the replica's CPU time per request, from process_cpu_seconds_total
	// over spaced single requests: the median of Config.Calibrations probes, whose values
	// are CPUPerRequestRunsMS and whose spread ((max − min) / median) is
	// CPUPerRequestSpread.
	CPUPerRequestMS     float64   `json:"cpu_per_request_ms"`
	CPUPerRequestRunsMS []float64 `json:"cpu_per_request_runs_ms"`
	CPUPerRequestSpread float64   `json:"cpu_per_request_spread"`
	// UnloadedMeanMS is the mean client-side latency of those spaced single requests (sent
	// to the replica directly, without the load balancer's hop).
	UnloadedMeanMS float64 `json:"unloaded_mean_ms"`
	// ReplicaCapacity is CPUShare / CPU per request: the CPU estimate of the most requests
	// per second one replica can serve, which sets the profiling loads.
	ReplicaCapacity float64 `json:"replica_capacity_rps"`
	// ReplicaSaturation is the measured saturation throughput: the completions per second of
	// the first profiling step past the estimate the replica did not keep up with (at least
	// the heaviest step it did). The profile policies and the simulator get it as MaxLoad.
	ReplicaSaturation float64 `json:"replica_saturation_rps"`
	// Overload is that step's measurement (absent when every step kept up).
	Overload *perf.ProfilingSample `json:"overload,omitempty"`
	// SaturationRunsRPS are the replica's completions per second over Config.
	// SaturationRepeats intervals offered 1.2x ReplicaSaturation; CapacityCV is their
	// coefficient of variation (sample standard deviation over mean): how much a replica's
	// capacity moves from one interval to the next. The simulator of --compare-sim draws
	// its per-interval capacity with this spread (sim.Config.CapacityJitter).
	SaturationRunsRPS []float64 `json:"saturation_runs_rps"`
	CapacityCV        float64   `json:"capacity_cv"`
	// ReplicaCapacityAtSLO is the highest per-replica load at which the measured profile
	// meets the SLO (linear between profiled points).
	ReplicaCapacityAtSLO float64 `json:"replica_capacity_at_slo_rps"`
	// MachineCapacity is NumCPU / CPU per request: the whole machine's throughput were it
	// free of everything else.
	MachineCapacity float64 `json:"machine_capacity_rps"`
	// PeakRate is the rate the trace's maximum is mapped to: PeakFraction of the smaller
	// of Max replicas' capacity at the SLO and 75% of the machine's capacity.
	PeakRate float64 `json:"peak_rate_rps"`
	// Profile are the measured operating points of one replica (load in req/s).
	Profile []perf.ProfilingSample `json:"profile"`
}

// scrapeCPU reads process_cpu_seconds_total from a replica's /metrics.
func scrapeCPU(ctx context.Context, addr string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+addr+"/metrics", nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, fmt.Errorf("scrape %s: %w", addr, err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_cpu_seconds_total "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("scrape %s: no process_cpu_seconds_total", addr)
}

// probeSingle sends n requests one at a time straight to the replica at replicaAddr (not
// through the load balancer, which spreads them over every ready replica while only this
// one's CPU is read), spaced so that the replica's CPU share is never the bottleneck, and
// returns the mean latency (ms) and the replica's CPU seconds per request.
func probeSingle(ctx context.Context, replicaAddr string, n int, share float64) (meanMS, cpuPerReq float64, err error) {
	client := &http.Client{Timeout: 10 * time.Second}
	url := "http://" + replicaAddr + "/fft"
	get := func() (time.Duration, error) {
		start := time.Now()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return 0, err
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("calibration request answered %s", resp.Status)
		}
		return time.Since(start), nil
	}
	// Warm-up: connections, page faults, the Go runtime's first GC cycles.
	for range 5 {
		if _, err := get(); err != nil {
			return 0, 0, err
		}
	}
	cpu0, err := scrapeCPU(ctx, replicaAddr)
	if err != nil {
		return 0, 0, err
	}
	var total time.Duration
	for range n {
		d, err := get()
		if err != nil {
			return 0, 0, err
		}
		total += d
		// Idle long enough to keep the replica's use at a fifth of its share: the quota
		// (or the core) is then never exhausted, so no request waits for CPU.
		pause := time.Duration(float64(d) * 4 / share)
		select {
		case <-ctx.Done():
			return 0, 0, ctx.Err()
		case <-time.After(max(pause, 10*time.Millisecond)):
		}
	}
	cpu1, err := scrapeCPU(ctx, replicaAddr)
	if err != nil {
		return 0, 0, err
	}
	meanMS = float64(total) / float64(n) / float64(time.Millisecond)
	cpuPerReq = (cpu1 - cpu0) / float64(n)
	if !(cpuPerReq > 0) {
		return 0, 0, fmt.Errorf("replica %s used no measurable CPU over %d requests (process_cpu_seconds_total %g -> %g)", replicaAddr, n, cpu0, cpu1)
	}
	return meanMS, cpuPerReq, nil
}

// profileLoads are the per-replica loads, as fractions of the CPU estimate of the replica's
// saturation throughput, at which a single replica is profiled.
var profileLoads = []float64{0.1, 0.3, 0.5, 0.7, 0.9}

// overloadLoads continue the profile past the CPU estimate until the replica stops keeping
// up: its saturation throughput is measured, not inferred. The spaced probes charge the
// process's background work (scrapes, GC, timers) to the few requests they send, so the
// estimate errs low: on NASA's first burst the real replicas served 29.5 req/s against an
// estimate of 21.05 (bench/testbed.md), and a simulator given the estimate saturated where
// the real replicas did not.
var overloadLoads = []float64{1.1, 1.25, 1.4, 1.6, 1.8, 2.0, 2.4, 2.8}

// keptUpSlack is how long after a profiling step a request may finish and still count as
// served within it: one CFS period (a throttled request waits at most that long).
const keptUpSlack = 100 * time.Millisecond

// keptUp says whether a profiling step was served: at least 97% of the offered requests
// answered within the step (and keptUpSlack), none failed. A step past saturation builds a
// queue that is still draining when the step ends: 5% over capacity for a 4 s step leaves
// 0.2 s of work queued, the last ~5% of its requests, and fails this.
func keptUp(s perf.ProfilingSample, offered float64) bool {
	return s.ErrorRate == 0 && s.LoadPerPod >= 0.97*offered
}

// profileReplica drives one replica at each of profileLoads of capacity (the CPU estimate)
// for step, then at overloadLoads until a step is not kept up, and measures latency (client
// side), errors and CPU (from the replica). Each operating point is measured repeats times
// and summarised by its median (repeatedStep). It returns the kept-up points (the profile's
// operating points), the point that was not (nil when every point kept up) and the
// saturation throughput: the completions per second of that point, at least the heaviest
// kept-up load. Loads rise monotonically and the first point not kept up ends the profile,
// so no step inherits another's queue.
func profileReplica(ctx context.Context, url, replicaAddr string, capacity, share float64, step time.Duration, repeats int) (kept []perf.ProfilingSample, over *perf.ProfilingSample, saturation float64, err error) {
	for i, f := range append(append([]float64(nil), profileLoads...), overloadLoads...) {
		rate := f * capacity
		s, served, err := repeatedStep(ctx, url, replicaAddr, rate, share, step, repeats)
		if err != nil {
			return nil, nil, 0, err
		}
		if i < len(profileLoads) || keptUp(s, rate) {
			kept = append(kept, s)
			saturation = math.Max(saturation, s.LoadPerPod)
			continue
		}
		over = &s
		saturation = math.Max(saturation, served)
		break
	}
	return kept, over, saturation, nil
}

// repeatedStep measures one operating point repeats times (profileStep) and returns the
// median of each field over the repeats, and the median completion rate. A replica's
// capacity moves from one stretch of seconds to the next (Calibration.CapacityCV: 6-13% on
// this machine): one step near the knee is one draw of it, and a profile built from single
// draws measured the knee twice as slow as the run on one window and twice as fast on
// another (bench/testbed.md). The median of three is the typical replica.
func repeatedStep(ctx context.Context, url, replicaAddr string, rate, share float64, step time.Duration, repeats int) (perf.ProfilingSample, float64, error) {
	var ss []perf.ProfilingSample
	var served []float64
	for range max(repeats, 1) {
		s, sv, err := profileStep(ctx, url, replicaAddr, rate, share, step)
		if err != nil {
			return s, 0, err
		}
		ss, served = append(ss, s), append(served, sv)
	}
	return medianSample(ss), series.Median(served), nil
}

// medianSample is the field-wise median of samples of one operating point.
func medianSample(ss []perf.ProfilingSample) perf.ProfilingSample {
	med := func(f func(perf.ProfilingSample) float64) float64 {
		xs := make([]float64, len(ss))
		for i, s := range ss {
			xs[i] = f(s)
		}
		return series.Median(xs)
	}
	return perf.ProfilingSample{
		LoadPerPod: med(func(s perf.ProfilingSample) float64 { return s.LoadPerPod }),
		Replicas:   ss[0].Replicas,
		CPUPct:     med(func(s perf.ProfilingSample) float64 { return s.CPUPct }),
		MeanMS:     med(func(s perf.ProfilingSample) float64 { return s.MeanMS }),
		P95MS:      med(func(s perf.ProfilingSample) float64 { return s.P95MS }),
		P99MS:      med(func(s perf.ProfilingSample) float64 { return s.P99MS }),
		ErrorRate:  med(func(s perf.ProfilingSample) float64 { return s.ErrorRate }),
	}
}

// saturationSpread offers the replica rate req/s (past its saturation) for step, n times,
// and returns its completions per second in each and their coefficient of variation. Each
// step's queue drains before the next starts (profileStep waits for every answer), so the
// steps are alike. A count of completions over a step of seconds is exact to one request,
// far below the spread it measures.
func saturationSpread(ctx context.Context, url, replicaAddr string, rate, share float64, step time.Duration, n int) (runs []float64, cv float64, err error) {
	for range n {
		_, served, err := profileStep(ctx, url, replicaAddr, rate, share, step)
		if err != nil {
			return nil, 0, err
		}
		runs = append(runs, served)
	}
	return runs, coefficientOfVariation(runs), nil
}

// coefficientOfVariation is the sample standard deviation of xs over their mean (0 for
// fewer than two values or a zero mean).
func coefficientOfVariation(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	if mean == 0 {
		return 0
	}
	ss := 0.0
	for _, x := range xs {
		ss += (x - mean) * (x - mean)
	}
	return math.Sqrt(ss/float64(len(xs)-1)) / mean
}

// profileStep offers rate req/s to url for step and measures the replica at replicaAddr:
// the sample's load is the requests answered per second of the step; served is the
// completions per second over the whole run (the step and its drain), the throughput of a
// replica that could not keep up.
func profileStep(ctx context.Context, url, replicaAddr string, rate, share float64, step time.Duration) (perf.ProfilingSample, float64, error) {
	var s perf.ProfilingSample
	sched, err := loadgen.NewSchedule([]float64{rate}, step)
	if err != nil {
		return s, 0, err
	}
	cpu0, err := scrapeCPU(ctx, replicaAddr)
	if err != nil {
		return s, 0, err
	}
	run, err := loadgen.Generate(ctx, loadgen.Options{Target: url, Schedule: sched, Timeout: 5 * time.Second})
	if err != nil {
		return s, 0, err
	}
	if run.Cancelled {
		return s, 0, ctx.Err()
	}
	cpu1, err := scrapeCPU(ctx, replicaAddr)
	if err != nil {
		return s, 0, err
	}
	elapsed := step.Seconds()
	inStep := 0 // answered by the end of the step, give or take one CFS period
	limit := step + keptUpSlack
	for _, rec := range run.Records {
		end := rec.Sent + rec.Latency
		elapsed = math.Max(elapsed, end.Seconds())
		if !rec.Failed() && end <= limit {
			inStep++
		}
	}
	st := run.Summarize(math.Inf(1))[0]
	if st.OK == 0 {
		return s, 0, fmt.Errorf("profiling at %.1f req/s: no request succeeded (%d failed, %d not sent)", rate, st.Failed, st.NotSent)
	}
	s = perf.ProfilingSample{
		LoadPerPod: float64(inStep) / step.Seconds(),
		Replicas:   1,
		CPUPct:     100 * (cpu1 - cpu0) / elapsed / share,
		MeanMS:     st.MeanMS,
		P95MS:      st.P95MS,
		P99MS:      st.P99MS,
		ErrorRate:  float64(st.Failed) / float64(max(st.Sent, 1)),
	}
	return s, float64(st.OK) / elapsed, nil
}

// profileOf turns the measured points into a Profile: piecewise linear between them, the
// heaviest measured load taken as saturation (which errs on the safe side). Latencies and
// CPU are replaced by their running maximum over load (a monotone envelope): on a shared
// machine a heavier step can measure faster than a lighter one by chance, and a curve that
// dips would let CapacityAt report a capacity beyond a point that missed the SLO.
//
// saturation is the replica's measured throughput (0: the heaviest point's load).
func profileOf(samples []perf.ProfilingSample, saturation float64) (*perf.Profile, error) {
	ss := append([]perf.ProfilingSample(nil), samples...)
	sort.SliceStable(ss, func(i, j int) bool { return ss[i].LoadPerPod < ss[j].LoadPerPod })
	var pts []perf.Point
	var env perf.Point
	for _, s := range ss {
		if n := len(pts); n > 0 && pts[n-1].Load == s.LoadPerPod {
			continue // the replica could not keep up with both steps; keep the first
		}
		env.MeanMS = math.Max(env.MeanMS, s.MeanMS)
		env.P95MS = math.Max(env.P95MS, math.Max(s.P95MS, s.MeanMS/2))
		env.P99MS = math.Max(env.P99MS, math.Max(s.P99MS, env.P95MS))
		env.CPU = math.Max(env.CPU, s.CPUPct/100)
		p := env
		p.Load = s.LoadPerPod
		pts = append(pts, p)
	}
	if n := len(pts); n > 0 {
		saturation = math.Max(saturation, pts[n-1].Load)
	}
	return perf.NewProfile("testbed", pts, saturation)
}

// cpuTick is the resolution of process_cpu_seconds_total (Linux reports process CPU time
// in clock ticks of 1/USER_HZ = 10 ms): a probe of n requests knows the CPU per request to
// about ±cpuTick/n per reading, which the spread and drift bounds allow for.
const cpuTick = 10 * time.Millisecond

// machineCPUs is the number of cores the machine offers (a variable for tests).
var machineCPUs = runtime.NumCPU

// spread is (max − min) / median of xs: 0 for one value.
func spread(xs []float64) float64 {
	lo, hi := xs[0], xs[0]
	for _, x := range xs {
		lo, hi = math.Min(lo, x), math.Max(hi, x)
	}
	m := series.Median(xs)
	if m == 0 {
		return 0
	}
	return (hi - lo) / m
}
