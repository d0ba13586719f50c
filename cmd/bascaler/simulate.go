package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/drift"
	"github.com/bascaler/bascaler/internal/measure"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/report"
	"github.com/bascaler/bascaler/internal/retrain"
	"github.com/bascaler/bascaler/internal/rl"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/sim"
)

// simFlags are the options shared by simulate and demo.
type simFlags struct {
	traces      string
	policies    string
	slo         time.Duration
	sloMetric   string
	interval    time.Duration
	startup     time.Duration
	jitter      time.Duration
	timeout     time.Duration
	holdTimeout time.Duration
	holdQueue   int
	cpuLimit    float64
	capJitter   float64
	queueLimit  int
	arrivals    bool
	undiluted   bool
	startupCPU  float64
	startupFor  time.Duration
	profile     string
	normalize   string
	scaleToMean float64
	split       string
	eval        string
	seed        int64
	seeds       int
	min, max    int
	format      string
	out         string
	params      []string
	rlModel     string
	retrain     retrain.Schedule
	drift       bool
	driftOpts   drift.Options
}

func (f *simFlags) register(cmd *cobra.Command, defaultPolicies string) {
	fl := cmd.Flags()
	fl.StringVar(&f.traces, "trace", "synthetic", "trace CSV path(s), comma-separated, or synthetic[:NAME] ("+strings.Join(series.SyntheticNames(), ", ")+")")
	fl.StringVar(&f.policies, "policy", defaultPolicies, "comma-separated policies ("+strings.Join(policy.Names(), ", ")+")")
	fl.DurationVar(&f.slo, "slo", 16*time.Millisecond, "latency SLO")
	fl.StringVar(&f.sloMetric, "slo-metric", "mean", "SLO statistic: mean, p95 or p99")
	fl.DurationVar(&f.interval, "interval", time.Minute, "control interval (one trace point)")
	fl.DurationVar(&f.startup, "startup", 30*time.Second, "pod start-up delay")
	fl.DurationVar(&f.jitter, "startup-jitter", 0, "extra random start-up delay per pod, uniform in [0, jitter)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "queued requests fail after this wait")
	fl.DurationVar(&f.holdTimeout, "hold-timeout", sim.DefaultHoldTimeout, "with no ready pod (after a scale to zero) the activator holds requests this long before they fail")
	fl.IntVar(&f.holdQueue, "hold-queue", sim.DefaultHoldQueue, "requests the activator holds at most (further ones are refused); -1 means unbounded")
	fl.Float64Var(&f.cpuLimit, "cpu-limit", sim.DefaultCPULimit, "pod CPU limit as a multiple of its request (1: guaranteed QoS); reported CPU and throughput are capped at it")
	fl.Float64Var(&f.capJitter, "capacity-jitter", 0, "coefficient of variation of a per-interval lognormal factor (mean 1) on every pod's throughput, seeded and the same for every policy (0: fixed capacity); the testbed's replicas near their knee vary so")
	fl.IntVar(&f.queueLimit, "queue-limit", sim.DefaultQueueLimit, "requests waiting per ready pod before further ones get 503 at once (the testbed replica's); -1 means unbounded")
	fl.BoolVar(&f.arrivals, "observe-arrivals", false, "policies observe the arrival rate (a gateway or client-side metric) instead of the pods' answered-request rate")
	fl.BoolVar(&f.undiluted, "undiluted-cpu", false, "average CPU over each pod's ready time only (no dilution by pods that became ready during the period)")
	fl.Float64Var(&f.startupCPU, "startup-cpu", 0, "extra CPU (multiple of the request) a pod uses for --startup-cpu-for after readiness (a warm-up burst; 0: none, as the fft replica)")
	fl.DurationVar(&f.startupFor, "startup-cpu-for", 0, "length of the start-up CPU burst")
	fl.StringVar(&f.profile, "profile", "fft", "performance profile: fft, a CSV path (load,mean_ms,p95_ms,p99_ms,cpu_pct, or profiling data to fit), a fitted model directory (profile --fit --model-out) or a registry reference DIR@champion, DIR@<digest prefix> (an svr-profile version)")
	fl.StringVar(&f.normalize, "normalize", "", "paper or none (default: paper for trace files, none for synthetic)")
	fl.Float64Var(&f.scaleToMean, "scale-to-mean", 0, "scale the trace so its training mean is this many req/s (replaces --normalize)")
	fl.StringVar(&f.split, "split", "0.6,0.2,0.2", "chronological train,validation,test fractions")
	fl.StringVar(&f.eval, "eval", "test", "evaluated window of a trace file: test or all")
	fl.Int64Var(&f.seed, "seed", 1, "random seed (synthetic workload, start-up jitter, stochastic policies)")
	fl.IntVar(&f.seeds, "seeds", 1, "number of seeds (seed, seed+1, ...); results are averaged")
	fl.IntVar(&f.min, "min", 1, "minimum replicas; 0 lets the scale-to-zero policies (keepalive:D, keda, hybrid-histogram, kpa, bascaler) scale to zero")
	fl.IntVar(&f.max, "max", 100, "maximum replicas")
	fl.StringVar(&f.format, "format", "table", "output: table, json or csv")
	fl.StringVar(&f.out, "out", "", "also write per-interval CSVs, SVG plots and index.html into this folder")
	fl.StringVar(&f.rlModel, "rl-model", "", "trained RL agent for bascaler and bascaler-paper: a directory (bascaler train rl --out) or a registry reference DIR@champion, DIR@<digest prefix> (a ppo version)")
	fl.DurationVar(&f.retrain.Every, "retrain-every", 0, "retrain retrainable policies (bascaler) every this much simulated time; 0 keeps the models frozen")
	fl.DurationVar(&f.retrain.TrainWindow, "retrain-window", retrain.DefaultTrainWindow, "with --retrain-every: completed history a challenger is fitted on (before the evaluation window)")
	fl.DurationVar(&f.retrain.EvalWindow, "eval-window", retrain.DefaultEvalWindow, "with --retrain-every: most recent completed stretch champion and challenger are replayed on; the challenger serves if better (fewer violating intervals; on a tie more than 1% fewer pod-hours, or the champion drifting: retrain.Judge)")
	fl.BoolVar(&f.retrain.OnDrift, "retrain-on-drift", false, "also retrain when the drift monitor finds the model drifting (at most once per --eval-window); implies --drift")
	fl.BoolVar(&f.drift, "drift", false, "score forecasting policies' forecasts per interval (band coverage, pinball loss, error against the naive forecast, input PSI): drift_* columns of the per-interval CSVs and the JSON's drift[]")
	fl.IntVar(&f.driftOpts.Window, "drift-window", drift.DefaultWindow, "rolling window of the forecast scores, intervals")
	fl.IntVar(&f.driftOpts.PSIWindow, "drift-psi-window", drift.DefaultPSIWindow, "recent inputs compared with the training inputs (PSI), intervals")
	fl.StringArrayVar(&f.params, "param", nil, "policy parameter key=value for every policy, or policy.key=value for one (repeatable)")
}

// loadProfile loads --profile: the built-in fft, a fitted performance model (a directory
// written by profile --fit --model-out, or a registry reference DIR@ALIAS / DIR@<digest
// prefix> naming an svr-profile version), or a profile or profiling CSV file.
func loadProfile(name string) (*perf.Profile, error) {
	if name == "" || name == "fft" {
		return perf.FFT(), nil
	}
	if _, ok := registry.ParseRef(name); ok {
		dir, _, err := registry.ResolveKind(name, "--profile", perf.ProfileKind)
		if err != nil {
			return nil, err
		}
		p, _, err := perf.LoadProfileModel(dir)
		return p, err
	}
	st, err := os.Stat(name)
	if err != nil {
		return nil, fmt.Errorf("unknown profile %q: not a built-in profile (fft), a registry reference or a readable file", name)
	}
	if st.IsDir() {
		p, _, err := perf.LoadProfileModel(name)
		return p, err
	}
	return perf.LoadProfileCSV(name)
}

func (f *simFlags) experiment() (sim.Experiment, error) {
	var e sim.Experiment
	metric, err := perf.ParseLatencyMetric(f.sloMetric)
	if err != nil {
		return e, err
	}
	if f.slo <= 0 {
		return e, fmt.Errorf("--slo must be positive, got %s", f.slo)
	}
	if f.min < 0 || f.max < 1 || f.min > f.max {
		return e, fmt.Errorf("--min %d and --max %d: need 0 <= min <= max and max >= 1", f.min, f.max)
	}
	if f.seeds < 1 {
		return e, fmt.Errorf("--seeds must be at least 1")
	}
	switch f.format {
	case "table", "json", "csv":
	default:
		return e, fmt.Errorf("unknown --format %q (valid: table, json, csv)", f.format)
	}
	prof, err := loadProfile(f.profile)
	if err != nil {
		return e, err
	}
	split, err := series.ParseSplit(f.split)
	if err != nil {
		return e, fmt.Errorf("--split: %w", err)
	}
	cfg := sim.DefaultConfig()
	cfg.Interval, cfg.Startup, cfg.StartupJitter, cfg.Timeout = f.interval, f.startup, f.jitter, f.timeout
	if f.holdTimeout <= 0 {
		return e, fmt.Errorf("--hold-timeout must be positive, got %s", f.holdTimeout)
	}
	if f.holdQueue == 0 || f.holdQueue < -1 {
		return e, fmt.Errorf("--hold-queue must be positive or -1 (unbounded), got %d", f.holdQueue)
	}
	cfg.HoldTimeout, cfg.HoldQueue = f.holdTimeout, f.holdQueue
	if !(f.cpuLimit > 0) {
		return e, fmt.Errorf("--cpu-limit must be a positive multiple of the CPU request, got %g", f.cpuLimit)
	}
	if f.queueLimit == 0 || f.queueLimit < -1 {
		return e, fmt.Errorf("--queue-limit must be positive or -1 (unbounded), got %d", f.queueLimit)
	}
	cfg.CPULimit, cfg.QueueLimit, cfg.ObserveArrivals, cfg.UndilutedCPU = f.cpuLimit, f.queueLimit, f.arrivals, f.undiluted
	if !(f.capJitter >= 0 && f.capJitter <= sim.MaxCapacityJitter) {
		return e, fmt.Errorf("--capacity-jitter must be a coefficient of variation in [0, %g], got %g", sim.MaxCapacityJitter, f.capJitter)
	}
	cfg.CapacityJitter = f.capJitter
	if f.startupCPU < 0 || f.startupFor < 0 {
		return e, fmt.Errorf("--startup-cpu %g and --startup-cpu-for %s must not be negative", f.startupCPU, f.startupFor)
	}
	cfg.StartupCPU, cfg.StartupCPUFor = f.startupCPU, f.startupFor
	cfg.Profile = prof
	cfg.SLO = policy.SLO{Metric: metric, TargetMS: float64(f.slo) / float64(time.Millisecond)}
	cfg.Min, cfg.Max = f.min, f.max
	if _, err := cfg.Validate(); err != nil {
		return e, err
	}
	params, err := policy.ParseParams(f.params)
	if err != nil {
		return e, fmt.Errorf("--param: %w", err)
	}
	names := splitList(f.policies)
	if f.rlModel != "" {
		if err := applyRLModel(f.rlModel, names, params); err != nil {
			return e, err
		}
	}
	if len(names) == 0 {
		return e, fmt.Errorf("--policy: no policy given (valid: %s)", strings.Join(policy.Names(), ", "))
	}
	for _, t := range splitList(f.traces) {
		w, err := sim.LoadWorkload(sim.WorkloadOptions{Trace: t, Normalize: f.normalize, ScaleToMean: f.scaleToMean,
			Split: split, Eval: f.eval, Seed: f.seed})
		if err != nil {
			return e, err
		}
		e.Workloads = append(e.Workloads, w)
	}
	for s := range f.seeds {
		e.Seeds = append(e.Seeds, f.seed+int64(s))
	}
	e.Policies, e.Config, e.Params = names, cfg, params
	if f.retrain.Every != 0 || f.retrain.OnDrift {
		if err := f.retrain.Validate(cfg.Interval); err != nil {
			return e, err
		}
		s := f.retrain
		e.Retrain = &s
	}
	if f.drift || f.retrain.OnDrift {
		if f.driftOpts.Window < 1 || f.driftOpts.PSIWindow < 1 {
			return e, fmt.Errorf("--drift-window %d and --drift-psi-window %d must be at least 1", f.driftOpts.Window, f.driftOpts.PSIWindow)
		}
		o := f.driftOpts
		o.Season = drift.DailySeason(f.interval)
		e.Drift = &o
	}
	return e, nil
}

// rlPolicies are the policies with an RL correction hook.
var rlPolicies = []string{"bascaler", "bascaler-paper"}

// applyRLModel turns --rl-model into "<policy>.rl-model" parameters: for the policy the model
// was trained for (its manifest says), or else for every selected policy with the hook. An
// explicit --param <policy>.rl-model wins.
//
// ref is a model directory or a registry reference DIR@ALIAS / DIR@<digest prefix>, which
// must name a ppo version; the parameter keeps the reference (the policy resolves it again).
func applyRLModel(ref string, names []string, params map[string]string) error {
	dir, _, err := registry.ResolveKind(ref, "--rl-model", rl.Kind)
	if err != nil {
		return err
	}
	m, err := rl.ReadManifest(dir)
	if err != nil {
		return fmt.Errorf("--rl-model: %w", err)
	}
	applied := 0
	for _, n := range names {
		if !slices.Contains(rlPolicies, n) {
			continue
		}
		if trained := m.Meta["policy"]; trained != "" && trained != n {
			continue
		}
		if _, explicit := params[n+".rl-model"]; !explicit {
			params[n+".rl-model"] = ref
		}
		applied++
	}
	if applied == 0 {
		return fmt.Errorf("--rl-model %s (trained for %q): none of the selected policies (%s) can use it; RL-corrected policies are %s",
			ref, m.Meta["policy"], strings.Join(names, ", "), strings.Join(rlPolicies, ", "))
	}
	return nil
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

// traceReport is the JSON shape of one workload's results.
type traceReport struct {
	Trace      string              `json:"trace"`
	Intervals  int                 `json:"intervals"`
	Normalizer string              `json:"normalizer"`
	SLOms      float64             `json:"slo_ms"`
	SLOMetric  string              `json:"slo_metric"`
	Results    []measure.Aggregate `json:"results"`
	// Retrains summarises each retrained run (with --retrain-every).
	Retrains []retrainReport `json:"retrains,omitempty"`
	// Drift summarises each run's drift scores (with --drift).
	Drift []driftReport `json:"drift,omitempty"`
}

// driftReport is one run's drift scores in brief (the per-interval ones are in the CSVs).
type driftReport struct {
	Policy string `json:"policy"`
	Seed   int64  `json:"seed"`
	drift.Summary
}

func driftReports(outs []sim.RunOutcome, workload string) []driftReport {
	var out []driftReport
	for _, o := range outs {
		if o.Workload != workload || len(o.Result.Records) == 0 || o.Result.Records[0].Drift == nil {
			continue
		}
		rates := make([]float64, len(o.Result.Records))
		scores := make([]drift.Scores, len(o.Result.Records))
		for i, rec := range o.Result.Records {
			rates[i], scores[i] = rec.Rate, *rec.Drift
		}
		out = append(out, driftReport{Policy: o.Policy, Seed: o.Seed, Summary: drift.Summarise(rates, scores)})
	}
	return out
}

// retrainReport is one run's retraining: how many retrains, how many promoted, the events.
type retrainReport struct {
	Policy   string          `json:"policy"`
	Seed     int64           `json:"seed"`
	Retrains int             `json:"retrains"`
	Promoted int             `json:"promoted"`
	Events   []retrain.Event `json:"events"`
}

func retrainReports(outs []sim.RunOutcome, workload string) []retrainReport {
	var out []retrainReport
	for _, o := range outs {
		if o.Workload != workload || o.Retrains == nil {
			continue
		}
		r := retrainReport{Policy: o.Policy, Seed: o.Seed, Events: o.Retrains}
		for _, e := range o.Retrains {
			if e.Skipped == "" {
				r.Retrains++
			}
			if e.Promoted {
				r.Promoted++
			}
		}
		out = append(out, r)
	}
	return out
}

func runSimulation(cmd *cobra.Command, f *simFlags, title string) error {
	e, err := f.experiment()
	if err != nil {
		return err
	}
	e.Progress = progressBar(cmd.ErrOrStderr(), "simulating")
	outs, err := e.Run(context.Background())
	if err != nil {
		return err
	}
	stdout := cmd.OutOrStdout()
	var reports []traceReport
	var pages []report.Workload
	var overall []string
	for _, w := range e.Workloads {
		aggs := sim.Aggregates(outs, w.Name)
		reports = append(reports, traceReport{Trace: w.Name, Intervals: w.Eval.Len(), Normalizer: w.Normalizer.String(),
			SLOms: e.Config.SLO.TargetMS, SLOMetric: e.Config.SLO.Metric.String(), Results: aggs,
			Retrains: retrainReports(outs, w.Name), Drift: driftReports(outs, w.Name)})
		var table strings.Builder
		if err := report.Table(&table, w.Name, w.Eval.Len(), aggs); err != nil {
			return err
		}
		switch f.format {
		case "table":
			fmt.Fprintln(stdout, table.String())
			for _, r := range retrainReports(outs, w.Name) {
				fmt.Fprintf(stdout, "%s (seed %d): %d retrains, %d challengers promoted\n", r.Policy, r.Seed, r.Retrains, r.Promoted)
			}
			for _, d := range driftReports(outs, w.Name) {
				fmt.Fprintf(stdout, "%s (seed %d): drift: %d of %d scored intervals drifting (first %d), band coverage %.3f, pinball %.2f, error %.2fx naive, max PSI %.3f\n",
					d.Policy, d.Seed, d.Drifting, d.Scored, d.FirstDrifting, d.Coverage, d.Pinball, d.RelError, d.MaxPSI)
			}
		case "csv":
			if err := report.CSVSummary(stdout, w.Name, aggs); err != nil {
				return err
			}
		}
		if f.out != "" {
			pw, err := writeRunFiles(f.out, w, outs, e)
			if err != nil {
				return err
			}
			pw.Aggregates = aggs
			pages = append(pages, pw)
		}
	}
	if f.format == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if len(reports) == 1 {
			return enc.Encode(reports[0])
		}
		return enc.Encode(map[string]any{"traces": reports})
	}
	if f.out != "" && e.Config.Min == 0 && len(e.Workloads) > 1 {
		file, err := writeOverallPlane(f.out, e, outs)
		if err != nil {
			return err
		}
		overall = append(overall, file)
	}
	if f.out != "" {
		if err := report.WriteReport(filepath.Join(f.out, "index.html"), title, overall, pages); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", filepath.Join(f.out, "index.html"))
	}
	return nil
}

// writeRunFiles writes the first seed's per-interval CSV per policy and the plots, and
// returns the workload's part of the HTML report (without its aggregates).
func writeRunFiles(out string, w sim.Workload, outs []sim.RunOutcome, e sim.Experiment) (report.Workload, error) {
	capacity, err := e.Config.Validate()
	if err != nil {
		return report.Workload{}, err
	}
	sec := report.Workload{Name: w.Name, Intervals: w.Eval.Len(), SLO: e.Config.SLO.TargetMS, Metric: e.Config.SLO.Metric, PodCapacity: capacity}
	dir := filepath.Join(out, safeName(w.Name))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return sec, err
	}
	var firsts []measure.Result
	for _, o := range outs {
		if o.Workload != w.Name || o.Seed != e.Seeds[0] {
			continue
		}
		firsts = append(firsts, o.Result)
		name := safeName(o.Policy) + ".csv"
		if err := writeFile(filepath.Join(dir, name), func(wr io.Writer) error { return report.Intervals(wr, o.Result) }); err != nil {
			return sec, err
		}
		sec.CSVs = append(sec.CSVs, filepath.Join(safeName(w.Name), name))
	}
	sec.Runs = firsts
	// The static SVGs stay for scripts that read them; the page draws its own plots.
	if _, err := report.Plots(dir, firsts, e.Config.SLO.TargetMS, e.Config.SLO.Metric); err != nil {
		return sec, err
	}
	var imgs []string
	if e.Config.Min == 0 {
		if err := report.ColdStartPlane(filepath.Join(dir, "coldstart_idle.svg"), "Cold starts vs idle time: "+w.Name,
			planePoints(sim.Aggregates(outs, w.Name))); err != nil {
			return sec, err
		}
		imgs = append(imgs, "coldstart_idle.svg")
	}
	for _, img := range imgs {
		sec.Images = append(sec.Images, filepath.Join(safeName(w.Name), img))
	}
	return sec, nil
}

// planePoints places each policy in the cold-start vs idle-time plane.
func planePoints(aggs []measure.Aggregate) []report.PlanePoint {
	pts := make([]report.PlanePoint, len(aggs))
	for i, a := range aggs {
		pts[i] = report.PlanePoint{Policy: a.Policy, IdlePodHours: a.IdlePodHours, ColdStartsPer1000: a.ColdStartsPer1000}
	}
	return pts
}

// writeOverallPlane writes the plane over all workloads together: each policy's cold starts
// per 1,000 of all requests, and its idle pod-hours summed.
func writeOverallPlane(out string, e sim.Experiment, outs []sim.RunOutcome) (string, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return "", err
	}
	var pts []report.PlanePoint
	for _, name := range e.Policies {
		var cold, req, idle float64
		for _, w := range e.Workloads {
			for _, a := range sim.Aggregates(outs, w.Name) {
				if a.Policy == name {
					cold, req, idle = cold+a.ColdStarts, req+a.Requests, idle+a.IdlePodHours
				}
			}
		}
		pt := report.PlanePoint{Policy: name, IdlePodHours: idle}
		if req > 0 {
			pt.ColdStartsPer1000 = 1000 * cold / req
		}
		pts = append(pts, pt)
	}
	const file = "coldstart_idle_all.svg"
	if err := report.ColdStartPlane(filepath.Join(out, file), fmt.Sprintf("Cold starts vs idle time, %d workloads together", len(e.Workloads)), pts); err != nil {
		return "", err
	}
	return file, nil
}

func writeFile(path string, fill func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := fill(f); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ':' || r == '\\' || r == ' ' {
			return '_'
		}
		return r
	}, s)
}

func newSimulateCmd() *cobra.Command {
	var f simFlags
	cmd := &cobra.Command{
		Use:   "simulate",
		Short: "Replay a workload through the simulated cluster under one or more policies",
		Long: `Replays a trace (or a synthetic workload) through the simulated cluster under each policy and
prints the evaluation protocol's numbers: SLO violations, requests over the SLO, failures,
pod-hours, over/under-provisioning against the hindsight need.

Trace files are split chronologically (--split) and normalised with parameters fitted on the
training split (--normalize paper, the default); the test split is evaluated (--eval).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runSimulation(cmd, &f, "bascaler simulate") },
	}
	f.register(cmd, "hpa,kpa,threshold,oracle")
	return cmd
}
