package testbed

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/metrics"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/testbed/loadgen"
)

// Report is the outcome of a testbed run: the same top-level shape as `bascaler simulate
// --format json` (trace, intervals, results), plus what the testbed measured to set up.
type Report struct {
	Trace       string      `json:"trace"`
	Intervals   int         `json:"intervals"`
	Results     []Summary   `json:"results"`
	IntervalS   float64     `json:"interval_s"`
	SLOMetric   string      `json:"slo_metric"`
	SLOMS       float64     `json:"slo_ms"`
	Calibration Calibration `json:"calibration"`
	// Machine is the idle CPU measured before the run and the replicas it allowed.
	Machine MachineFit `json:"machine"`
	// Runs holds each policy's per-interval records (not in the JSON; see WriteCSVs).
	Runs []*PolicyRun `json:"-"`
}

// Run calibrates the rig on one replica, then runs every policy in turn over the same
// trace window, each from Min fresh replicas, and returns the measured results. Every
// process it started is stopped before it returns, whatever happens.
func Run(ctx context.Context, cfg Config) (rep *Report, err error) {
	if err := cfg.defaults(); err != nil {
		return nil, err
	}
	for _, name := range cfg.Policies {
		if policy.Help(name) == "" {
			return nil, fmt.Errorf("unknown policy %q (valid: %s)", name, strings.Join(policy.Names(), ", "))
		}
		if policy.NeedsFuture(name) {
			return nil, fmt.Errorf("policy %s is clairvoyant: it runs only in the simulator", name)
		}
	}
	// The machine is measured before anything of the run's own starts.
	idle, err := idleCores(ctx, fitWindow)
	if err != nil {
		return nil, err
	}
	r, err := startRig(ctx, &cfg)
	if err != nil {
		return nil, err
	}
	defer func() {
		if cerr := r.close(); cerr != nil && err == nil {
			err = fmt.Errorf("testbed cleanup: %w", cerr)
		}
	}()
	fit, err := fitMachine(&cfg, r.share, idle)
	if err != nil {
		return nil, err
	}
	if fit.Max != cfg.Max {
		fmt.Fprintf(cfg.Log, "testbed: %.2f idle cores: maximum replicas lowered from %d to %d (--fit scale-down)\n", idle, cfg.Max, fit.Max)
		cfg.Max = fit.Max
	}
	if !fit.Fits {
		fmt.Fprintf(cfg.Log, "testbed: warning: %d replicas need %.2f cores and the machine has %.2f idle (--fit ignore): the numbers measure the other load too\n", cfg.Max, fit.NeededCores, idle)
	}
	fmt.Fprintf(cfg.Log, "testbed: prometheus %s, load balancer %s, cpu limit %s\n", r.prom.URL, r.lbSrv.Addr, r.limiter)

	cal, prof, slo, err := calibrate(ctx, r)
	if err != nil {
		return nil, err
	}
	rep = &Report{Trace: cfg.TraceName, Intervals: len(cfg.Shape), IntervalS: cfg.Interval.Seconds(),
		SLOMetric: slo.Metric.String(), SLOMS: slo.TargetMS, Calibration: cal, Machine: fit}
	fmt.Fprintf(cfg.Log, "testbed: cpu/request %.2f ms, unloaded mean %.2f ms, SLO %s %.1f ms, replica capacity %.1f req/s by CPU, %.1f measured at saturation (%.1f at the SLO), peak %.1f req/s\n",
		cal.CPUPerRequestMS, cal.UnloadedMeanMS, slo.Metric, slo.TargetMS, cal.ReplicaCapacity, cal.ReplicaSaturation, cal.ReplicaCapacityAtSLO, cal.PeakRate)

	rates := make([]float64, len(cfg.Shape))
	peak := 0.0
	for _, v := range cfg.Shape {
		peak = math.Max(peak, v)
	}
	for i, v := range cfg.Shape {
		rates[i] = v / peak * cal.PeakRate
	}
	// History (training data for forecasting policies) is scaled like the window.
	history := make([]float64, len(cfg.History))
	for i, v := range cfg.History {
		history[i] = v / peak * cal.PeakRate
	}
	for rep0 := range cfg.Repeats {
		for i := range cfg.Policies {
			// Round k starts k policies further on: slow drift of the machine spreads over
			// every policy instead of always favouring the first.
			name := cfg.Policies[(i+rep0)%len(cfg.Policies)]
			pr, err := runChecked(ctx, r, name, rep0, rates, history, slo, prof, cal)
			if pr != nil {
				rep.Runs = append(rep.Runs, pr)
				rep.Results = append(rep.Results, pr.Summary)
				if cfg.OutDir != "" {
					if werr := pr.WriteCSVs(cfg.OutDir); werr != nil && err == nil {
						err = werr
					}
				}
			}
			if err != nil {
				return rep, err
			}
		}
	}
	if cfg.OutDir != "" {
		if err := writeSimInputs(cfg.OutDir, rates, history, &cfg, slo, prof, cal.CapacityCV, measuredStartup(rep.Runs, cfg.StartupDelay)); err != nil {
			return rep, err
		}
		if err := writeProfiling(filepath.Join(cfg.OutDir, "profiling.csv"), cal.Profile); err != nil {
			return rep, err
		}
		if err := writePlots(cfg.OutDir, rep.Runs, slo); err != nil {
			return rep, err
		}
	}
	return rep, nil
}

// calibrate measures one replica: CPU per request and unloaded latency, then a five-point
// load profile; from these it sets the SLO (unless given) and the peak rate.
func calibrate(ctx context.Context, r *rig) (Calibration, *perf.Profile, policy.SLO, error) {
	cfg := r.cfg
	cal := Calibration{Limiter: r.limiter, CPUShare: r.share}
	slo := policy.SLO{Metric: cfg.SLOMetric, TargetMS: cfg.SLOMS}
	fail := func(err error) (Calibration, *perf.Profile, policy.SLO, error) {
		return cal, nil, slo, fmt.Errorf("calibration: %w", err)
	}
	if err := r.scaler.Scale(ctx, 1); err != nil {
		return fail(err)
	}
	if err := r.waitReplicas(ctx, 1, cfg.StartupDelay+30*time.Second); err != nil {
		return fail(err)
	}
	addr := r.mgr.Replicas()[0].Addr
	var cpus, means []float64
	for range cfg.Calibrations {
		mean, cpu, err := probeSingle(ctx, addr, cfg.CalibrationRequests, r.share)
		if err != nil {
			return fail(err)
		}
		cpus, means = append(cpus, cpu), append(means, mean)
		cal.CPUPerRequestRunsMS = append(cal.CPUPerRequestRunsMS, round2(cpu*1000))
	}
	cpu, mean := series.Median(cpus), series.Median(means)
	cal.CPUPerRequestMS = cpu * 1000
	cal.UnloadedMeanMS = mean
	cal.CPUPerRequestSpread = spread(cpus)
	// Each probe's CPU per request is known to ±cpuTick/n (two readings of a counter in
	// clock ticks): the bound is on the spread beyond that resolution.
	if res := 2 * cpuTick.Seconds() / float64(cfg.CalibrationRequests); spread(cpus)*cpu > cfg.MaxCalibrationSpread*cpu+res {
		return fail(fmt.Errorf("CPU per request varied by %.0f%% of its median over %d probes (%v ms), above the bound of %.0f%%: the machine is too busy for the testbed to measure policies; wait until it is idler",
			100*cal.CPUPerRequestSpread, cfg.Calibrations, cal.CPUPerRequestRunsMS, 100*cfg.MaxCalibrationSpread))
	}
	cal.ReplicaCapacity = r.share / cpu
	cal.MachineCapacity = float64(machineCPUs()) / cpu
	fmt.Fprintf(cfg.Log, "testbed: profiling one replica at %v of %.1f req/s, then past it (%v) until it stops keeping up, %d x %s each (median)\n",
		profileLoads, cal.ReplicaCapacity, overloadLoads, cfg.ProfileRepeats, cfg.ProfileStep)
	var err error
	cal.Profile, cal.Overload, cal.ReplicaSaturation, err = profileReplica(ctx, r.target(), addr, cal.ReplicaCapacity, r.share, cfg.ProfileStep, cfg.ProfileRepeats)
	if err != nil {
		return fail(err)
	}
	if cal.Overload == nil {
		fmt.Fprintf(cfg.Log, "testbed: warning: the replica kept up with %.1f req/s (%.1fx the CPU estimate); its saturation is at least that\n", cal.ReplicaSaturation, cal.ReplicaSaturation/cal.ReplicaCapacity)
	}
	runs, cv, err := saturationSpread(ctx, r.target(), addr, 1.2*cal.ReplicaSaturation, r.share, cfg.Interval, cfg.SaturationRepeats)
	if err != nil {
		return fail(fmt.Errorf("saturation repeats: %w", err))
	}
	for _, x := range runs {
		cal.SaturationRunsRPS = append(cal.SaturationRunsRPS, round2(x))
	}
	cal.CapacityCV = cv
	fmt.Fprintf(cfg.Log, "testbed: throughput at 1.2x saturation over %d intervals of %s: %v req/s (CV %.1f%%)\n",
		len(runs), cfg.Interval, cal.SaturationRunsRPS, 100*cv)
	prof, err := profileOf(cal.Profile, cal.ReplicaSaturation)
	if err != nil {
		return fail(fmt.Errorf("measured profile: %w", err))
	}
	if slo.TargetMS == 0 {
		// Twice the lightest profiled point's latency statistic: the paper's 16 ms SLO is
		// 1.6x its service's 10 ms floor; this service's floor differs, so the SLO is
		// derived from it.
		slo.TargetMS = math.Round(20*prof.At(0).Latency(slo.Metric)) / 10
	}
	cal.ReplicaCapacityAtSLO, err = prof.CapacityAt(slo.Metric, slo.TargetMS)
	if err != nil {
		return fail(err)
	}
	// The peak is set against capacity at the SLO, not saturation: a trace whose peak
	// needs more than Max replicas at the SLO would measure only overload.
	usable := math.Min(float64(cfg.Max)*cal.ReplicaCapacityAtSLO, 0.75*cal.MachineCapacity)
	cal.PeakRate = cfg.PeakFraction * usable
	return cal, prof, slo, nil
}

// InvalidRunError stops a run whose numbers cannot be trusted: the load generator fell
// behind the schedule, or the machine's speed drifted from the calibration, past the
// configured bounds. The report returned beside it holds every run up to and including the
// invalid one.
type InvalidRunError struct {
	Policy string
	Repeat int
	Reason string
}

func (e *InvalidRunError) Error() string {
	return fmt.Sprintf("testbed: run invalid: policy %s (repeat %d): %s", e.Policy, e.Repeat, e.Reason)
}

// runChecked runs one policy and judges the run: the load generator's shortfall and the
// CPU per request probed again afterwards must stay within the configured bounds. Its
// throttling is the limiter's account over the run.
func runChecked(ctx context.Context, r *rig, name string, repeat int, rates, history []float64, slo policy.SLO, prof *perf.Profile, cal Calibration) (*PolicyRun, error) {
	cfg := r.cfg
	th0, hasTh, err := r.mgr.Throttling()
	if err != nil {
		return nil, err
	}
	pr, err := runPolicy(ctx, r, name, rates, history, slo, prof, cal.ReplicaCapacityAtSLO)
	if err != nil {
		if !strings.HasPrefix(err.Error(), "policy "+name) {
			err = fmt.Errorf("policy %s: %w", name, err)
		}
		return nil, err
	}
	s := &pr.Summary
	s.Repeat = repeat
	if hasTh {
		th1, _, err := r.mgr.Throttling()
		if err != nil {
			return pr, err
		}
		d := th1.Sub(th0)
		s.ThrottledPeriodFraction, s.ThrottledSeconds = d.ThrottledFraction(), d.ThrottledTime.Seconds()
	}
	if scheduled := s.Requests + s.RequestsNotSent; scheduled > 0 {
		s.Shortfall = s.RequestsNotSent / scheduled
	}
	addr, err := r.readyReplica()
	if err != nil {
		return pr, err
	}
	_, cpu, err := probeSingle(ctx, addr, max(10, cfg.CalibrationRequests/2), r.share)
	if err != nil {
		return pr, fmt.Errorf("policy %s: probe after the run: %w", name, err)
	}
	s.CPUPerRequestAfterMS = round2(cpu * 1000)
	if s.Shortfall > cfg.MaxShortfall {
		return pr, &InvalidRunError{Policy: name, Repeat: repeat, Reason: fmt.Sprintf(
			"the load generator could not send %.1f%% of the scheduled requests on time (bound %.1f%%): the machine could not generate the load; lower --peak-fraction or run on an idler machine",
			100*s.Shortfall, 100*cfg.MaxShortfall)}
	}
	// The machine's speed is judged under load: the CPU per request the replicas used
	// during the run against what the profiled replica used under load at calibration.
	// Spaced single probes (CPUPerRequestAfterMS, reported) moved by up to 45% after runs
	// whose loaded cost had not moved (bench/testbed.md), so they judge only a run whose
	// CPU Prometheus did not report.
	run, loaded := runCPUPerRequest(pr.Records, r.share, cfg.Interval), loadedCPUPerRequest(cal.Profile, r.share, cal.ReplicaCapacity)
	s.CPUPerRequestRunMS = round2(run * 1000)
	if run > 0 && loaded > 0 {
		if drift := math.Abs(run/loaded - 1); drift > cfg.MaxDrift {
			return pr, &InvalidRunError{Policy: name, Repeat: repeat, Reason: fmt.Sprintf(
				"CPU per request under load moved from %.2f ms at calibration to %.2f ms during the run (%.0f%%, bound %.0f%%): the machine's speed changed under the run",
				loaded*1000, run*1000, 100*drift, 100*cfg.MaxDrift)}
		}
		return pr, nil
	}
	res := 2 * cpuTick.Seconds() * 1000 / float64(max(10, cfg.CalibrationRequests/2))
	if drift := math.Abs(cpu*1000/cal.CPUPerRequestMS - 1); math.Abs(cpu*1000-cal.CPUPerRequestMS) > cfg.MaxDrift*cal.CPUPerRequestMS+res {
		return pr, &InvalidRunError{Policy: name, Repeat: repeat, Reason: fmt.Sprintf(
			"CPU per request moved from %.2f ms at calibration to %.2f ms after the run (%.0f%%, bound %.0f%%): the machine's speed changed under the run",
			cal.CPUPerRequestMS, cpu*1000, 100*drift, 100*cfg.MaxDrift)}
	}
	return pr, nil
}

// runCPUPerRequest is the CPU seconds per request the ready replicas used over a run: per
// interval Prometheus' CPU (a fraction of each ready replica's share) x ready replicas x
// share x interval, over the requests answered, summed over the intervals where Prometheus
// reported CPU. 0 when it reported none.
func runCPUPerRequest(recs []IntervalRecord, share float64, interval time.Duration) float64 {
	var cpu, served float64
	for _, r := range recs {
		if math.IsNaN(r.PromCPU) || r.OK == 0 {
			continue
		}
		cpu += r.PromCPU * r.Ready * share * interval.Seconds()
		served += float64(r.OK)
	}
	if served == 0 {
		return 0
	}
	return cpu / served
}

// loadedCPUPerRequest is the profiled replica's CPU seconds per request under load: the
// median over the profile's points at half the CPU estimate (capacity) or more of CPU x
// share / load. 0 without such points.
func loadedCPUPerRequest(points []perf.ProfilingSample, share, capacity float64) float64 {
	var xs []float64
	for _, p := range points {
		if p.LoadPerPod >= 0.5*capacity && p.LoadPerPod > 0 {
			xs = append(xs, p.CPUPct/100*share/p.LoadPerPod)
		}
	}
	if len(xs) == 0 {
		return 0
	}
	return series.Median(xs)
}

// measuredStartup is the median start-up of the replicas the runs asked for, to 0.1 s, or
// configured when none started.
func measuredStartup(runs []*PolicyRun, configured time.Duration) time.Duration {
	var all []float64
	for _, pr := range runs {
		for _, d := range pr.startups {
			all = append(all, d.Seconds())
		}
	}
	if len(all) == 0 {
		return configured
	}
	return time.Duration(math.Round(series.Median(all)*10)) * time.Second / 10
}

// runPolicy replays rates once under the named policy.
func runPolicy(ctx context.Context, r *rig, name string, rates, history []float64, slo policy.SLO, prof *perf.Profile, capAtSLO float64) (*PolicyRun, error) {
	cfg := r.cfg
	// Every run starts as the simulator's replay of the window does (driver.StartReplicas:
	// sized for the intervals before a pod created at the first decision is ready), except a
	// scale-to-zero run, which starts cold at zero.
	initial := cfg.Min
	if cfg.Min > 0 {
		initial = driver.StartReplicas(rates, capAtSLO, cfg.Interval, cfg.StartupDelay, cfg.Min, cfg.Max)
	}
	asked := time.Now()
	if err := r.scaler.Scale(ctx, initial); err != nil {
		return nil, err
	}
	if err := r.waitReplicas(ctx, initial, cfg.StartupDelay+30*time.Second); err != nil {
		return nil, err
	}
	// The history ends where the run starts (give or take the policy's training time).
	hist := series.Series{Name: cfg.TraceName + " (history)", Step: cfg.Interval, Values: history,
		Start: time.Now().Add(-time.Duration(len(history)) * cfg.Interval)}
	pol, err := policy.New(name, policy.Env{
		Interval: cfg.Interval, SLO: slo, Min: cfg.Min, Max: cfg.Max, Startup: cfg.StartupDelay,
		Profile: prof, Seed: 1, Params: policy.ParamsFor(name, cfg.Params), History: hist,
	})
	if err != nil {
		return nil, err
	}
	loop, err := driver.New(driver.Config{Interval: cfg.Interval, Min: cfg.Min, Max: cfg.Max, SLO: slo})
	if err != nil {
		return nil, err
	}
	if err := loop.Bind(pol); err != nil {
		return nil, err
	}
	tick := loop.Tick()
	src, err := metrics.NewPrometheus(metrics.PrometheusOptions{
		Address: r.prom.URL,
		Timeout: 5 * time.Second,
		SLOMS:   slo.TargetMS,
		Queries: metrics.Queries{
			Preset: metrics.PresetHTTP, Namespace: promNamespace, Target: promTarget,
			CPUSource: metrics.CPUCadvisor, RequestMillicores: int(math.Round(r.share * 1000)),
			// The load balancer's activator counts the requests that found no ready
			// replica: the wake-up signal after a scale to zero (Point.Held).
			WakeUp: metrics.WakeUpTestbed,
		},
	})
	if err != nil {
		return nil, err
	}
	sched, err := loadgen.NewSchedule(rates, cfg.Interval)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(cfg.Log, "testbed: policy %s: %d intervals of %s, decisions every %s, starting at %d ready replicas\n", name, len(rates), cfg.Interval, tick, initial)

	runCtx, cancel := context.WithCancel(ctx)
	defer cancel()
	pr := &PolicyRun{Policy: name, Interval: cfg.Interval, SLO: slo, rates: rates, capAtSLO: capAtSLO}
	samp := newSampler(len(rates), cfg.Interval)
	log := driver.NewReplicaLog(0)

	r.bal.TakeHeld() // forget what calibration or the previous run left behind
	start := time.Now()
	genDone := make(chan struct{})
	var genRun *loadgen.Run
	var genErr error
	// A held request may wait the activator's whole hold timeout: the client waits longer,
	// so that the activator, not the client, decides when a cold start failed.
	timeout := max(10*time.Second, r.holdTimeout()+5*time.Second)
	go func() {
		defer close(genDone)
		genRun, genErr = loadgen.Generate(runCtx, loadgen.Options{Target: r.target(), Schedule: sched, Timeout: timeout})
	}()
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		samp.run(runCtx, start, r.scaler.Counts, log)
	}()

	loopErr := decideLoop(runCtx, r, loop, src, log, start, sched.Duration(), pr)
	if loopErr != nil {
		cancel()
	}
	<-genDone
	cancel()
	wg.Wait()
	if loopErr != nil {
		return nil, loopErr
	}
	if genErr != nil {
		return nil, genErr
	}
	if genRun.Cancelled {
		return nil, ctx.Err()
	}
	// Let the last scrape land, then read what Prometheus saw per interval, for the CSV.
	time.Sleep(cfg.ScrapeInterval + 200*time.Millisecond)
	seen, promErr := src.Range(ctx, metrics.Window{End: start.Add(sched.Duration()), Step: cfg.Interval, Count: len(rates)})
	if promErr != nil {
		pr.PromError = promErr.Error()
	}
	pr.finish(genRun, samp, seen, coldStarts(r.bal.TakeHeld(), start, cfg.Interval, len(rates)))
	pr.startups = r.mgr.StartupTimes(asked)
	if n := len(pr.startups); n > 0 {
		secs := make([]float64, n)
		for i, d := range pr.startups {
			secs[i] = d.Seconds()
		}
		pr.Summary.Startups, pr.Summary.StartupMedianS, pr.Summary.StartupMaxS = n, round2(series.Median(secs)), round2(slices.Max(secs))
	}
	return pr, nil
}

// NewFeed is how a testbed run reads its metrics: on a grid anchored at the run's start,
// nothing before it (the run sees only its own traffic, as in the simulator), past periods
// labelled by the rig's replica log.
func NewFeed(src driver.Source, interval time.Duration, start time.Time, log *driver.ReplicaLog) *driver.Feed {
	return &driver.Feed{Source: src, Interval: interval, Origin: start, Start: start, Log: log}
}

// decideLoop runs the driver's step every tick from start until the schedule ends. A step
// at tick boundary t reads Prometheus for periods ending at or before t, once a scrape
// interval (plus a margin) has passed so that the last period's samples have landed. The
// run sees only its own traffic (the feed reads nothing before start), as in the simulator.
func decideLoop(ctx context.Context, r *rig, loop *driver.Loop, src driver.Source, log *driver.ReplicaLog,
	start time.Time, total time.Duration, pr *PolicyRun) error {
	cfg := r.cfg
	settle := cfg.ScrapeInterval + 250*time.Millisecond
	tick := loop.Tick()
	feed := NewFeed(src, cfg.Interval, start, log)
	name := loop.Policy().Name()
	for j := 0; time.Duration(j)*tick < total; j++ {
		boundary := start.Add(time.Duration(j) * tick)
		wake := boundary
		if j > 0 {
			wake = boundary.Add(settle)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-r.mgr.Failed():
			return r.mgr.Err()
		case <-time.After(time.Until(wake)):
		}
		elapsed := time.Duration(j) * tick
		replicas, ready := r.scaler.Counts()
		st := feed.Step(ctx, loop, boundary, replicas, ready, nil)
		d := Decision{At: elapsed, Index: st.Index, Before: replicas, Ready: ready, After: st.Desired, Decided: st.Decided}
		if !st.Decided {
			// No usable metrics: hold (the driver's rule, as in the controller).
			d.Err = st.Err.Error()
			pr.Decisions = append(pr.Decisions, d)
			fmt.Fprintf(cfg.Log, "testbed: %s t=%s: hold at %d: %v\n", name, elapsed, replicas, st.Err)
			continue
		}
		if h := loop.History(); len(h) > 0 {
			last := h[len(h)-1]
			d.SeenRate, d.SeenLatencyMS, d.SeenCPU = last.Rate, last.Latency(pr.SLO.Metric), last.CPU
		}
		d.Explanation = st.Explanation()
		if st.Desired != replicas {
			// Asked for at the boundary the decision is for: the settle and the metric
			// read before it count in the replicas' measured start-up, as the simulator,
			// which decides at the boundary, must see them.
			if err := r.scaler.ScaleAt(ctx, st.Desired, boundary); err != nil {
				return err
			}
			loop.Applied(boundary, replicas, st.Desired)
			fmt.Fprintf(cfg.Log, "testbed: %s t=%s: %d -> %d (%s)\n", name, elapsed, replicas, st.Desired, d.Explanation)
		}
		pr.Decisions = append(pr.Decisions, d)
	}
	return nil
}

// sampler integrates the allocated and ready replica counts over each interval: the
// testbed's cost meter.
type sampler struct {
	interval     time.Duration
	mu           sync.Mutex
	alloc, ready []float64 // replica-seconds per interval
	seconds      []float64 // seconds sampled per interval
	endAlloc     []int     // allocated at the last sample of each interval
}

func newSampler(n int, interval time.Duration) *sampler {
	return &sampler{interval: interval, alloc: make([]float64, n), ready: make([]float64, n), seconds: make([]float64, n), endAlloc: make([]int, n)}
}

// run samples every 100 ms until ctx ends or the schedule is over.
func (s *sampler) run(ctx context.Context, start time.Time, counts func() (int, int), log *driver.ReplicaLog) {
	const every = 100 * time.Millisecond
	t := time.NewTicker(every)
	defer t.Stop()
	last := start
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			a, rd := counts()
			log.Record(now, a, rd)
			k := int(now.Sub(start) / s.interval)
			if k >= len(s.alloc) {
				return
			}
			dt := now.Sub(last).Seconds()
			last = now
			s.mu.Lock()
			s.alloc[k] += float64(a) * dt
			s.ready[k] += float64(rd) * dt
			s.seconds[k] += dt
			s.endAlloc[k] = a
			s.mu.Unlock()
		}
	}
}
