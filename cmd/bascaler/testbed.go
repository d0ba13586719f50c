package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/testbed"
	"github.com/bascaler/bascaler/internal/testbed/lb"
)

// newTestbedCmd groups the local end-to-end testbed's subcommands.
func newTestbedCmd() *cobra.Command {
	tb := &cobra.Command{Use: "testbed", Short: "Local end-to-end testbed: real replicas, load and Prometheus"}
	tb.AddCommand(newTestbedRunCmd(), testbedProfileCmd(), newTestbedBurstsCmd())
	return tb
}

// testbedRunFlags are the options of "testbed run"; cfg receives the ones testbed.Config
// holds as they are.
type testbedRunFlags struct {
	tracePath, policies, format, sloMetric string
	duration                               time.Duration
	historyN                               int
	start                                  string
	params                                 []string
	rlModel                                string
	quiet, compareSim                      bool
	fit                                    string
	cfg                                    testbed.Config
}

func newTestbedRunCmd() *cobra.Command {
	var f testbedRunFlags
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Run policies on real replicas under real load, scraped by a real Prometheus",
		Long: `testbed run replays a trace window against serve-fft replicas on this machine and lets
each policy scale them, one policy after the other on the same window.

Set-up: Prometheus must be installed (Debian/Ubuntu: apt-get install -y prometheus).
Replicas get a cgroup CPU quota of --cpu-share cores when a cgroup cpu controller is
writable (run as root); otherwise they run with GOMAXPROCS=1 and share the machine's cores.

Steps: (1) calibrate one replica: CPU per request and unloaded latency from spaced single
requests, then a 5-point load profile; the SLO defaults to twice the unloaded latency;
(2) map the trace window's maximum to --peak-fraction of the usable capacity (the smaller
of --max replicas and 75% of the machine); (3) per policy: start --min
replicas (0: none; the load balancer's activator holds requests until one is ready), replay the window with an open-loop load generator, and every decision period
read Prometheus through the http metric preset, call the policy and start or stop replicas.
Forecasting policies (bascaler) train on --history points before the window, scaled like
it; for a trace file, pick --start at least that far in.

Output: the simulator's JSON shape (trace, intervals, results[]) plus slo_ms and the
calibration; with --out, per-interval and per-decision CSVs, the profiling CSV and replica
logs. Every process started is stopped on exit, error, SIGINT or SIGTERM.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTestbed(cmd, &f) },
	}
	f.register(cmd)
	return cmd
}

func (f *testbedRunFlags) register(cmd *cobra.Command) {
	fl, cfg := cmd.Flags(), &f.cfg
	fl.StringVar(&f.tracePath, "trace", "", `trace CSV (timestamp,value), or "synthetic" for a quiet-burst-quiet window`)
	fl.StringVar(&f.start, "start", "0", "index of the trace point the window starts at, or burst:K for the window around the trace's K-th largest burst (see testbed bursts)")
	fl.IntVar(&f.historyN, "history", 200, "points of training history for forecasting policies: the trace points before --start (synthetic: quiet-level noise)")
	fl.StringVar(&f.policies, "policy", "hpa", "comma-separated policies to run in turn")
	fl.DurationVar(&f.duration, "duration", 10*time.Minute, "length of each policy's run (one trace point per interval)")
	fl.DurationVar(&cfg.Interval, "interval", 15*time.Second, "control interval")
	fl.IntVar(&cfg.Min, "min", 1, "minimum replicas; 0 lets the scale-to-zero policies (keepalive:D, keda, hybrid-histogram, kpa, bascaler) scale to zero, the load balancer's activator holding requests meanwhile")
	fl.IntVar(&cfg.Max, "max", 8, "maximum replicas")
	// The long names of the first version keep working.
	fl.IntVar(&cfg.Min, "min-replicas", 1, "minimum replicas (old name of --min)")
	fl.IntVar(&cfg.Max, "max-replicas", 8, "maximum replicas (old name of --max)")
	_ = fl.MarkDeprecated("min-replicas", "use --min")
	_ = fl.MarkDeprecated("max-replicas", "use --max")
	fl.DurationVar(&cfg.HoldTimeout, "hold-timeout", lb.DefaultHoldTimeout, "with no ready replica the activator holds a request this long before it fails (503)")
	fl.IntVar(&cfg.HoldQueue, "hold-queue", lb.DefaultHoldQueue, "requests the activator holds at most (further ones get 503); -1 means unbounded")
	fl.DurationVar(&cfg.StartupDelay, "startup-delay", 10*time.Second, "replica start-up delay before ready")
	fl.Float64Var(&cfg.CPUShare, "cpu-share", 0.25, "CPU quota per replica, cores")
	fl.DurationVar(&cfg.CFSPeriod, "cfs-period", 100*time.Millisecond, "cgroup CFS period of the quota")
	fl.Float64Var(&cfg.SLOMS, "slo", 0, "latency SLO in ms (0: twice the measured unloaded latency)")
	fl.StringVar(&f.sloMetric, "slo-metric", "mean", "SLO statistic: mean, p95 or p99")
	fl.Float64Var(&cfg.PeakFraction, "peak-fraction", 0.8, "trace maximum as a fraction of the usable capacity")
	fl.IntVar(&cfg.FFTSize, "fft-size", 0, "samples per FFT in the replicas (0: serve-fft default)")
	fl.IntVar(&cfg.Rounds, "rounds", 0, "FFTs per request in the replicas (0: serve-fft default)")
	fl.DurationVar(&cfg.ScrapeInterval, "scrape-interval", time.Second, "Prometheus scrape interval")
	fl.StringVar(&cfg.Prometheus, "prometheus", "", "prometheus binary (default: from PATH)")
	fl.StringArrayVar(&f.params, "param", nil, "policy parameter key=value or policy.key=value (repeatable)")
	fl.StringVar(&f.rlModel, "rl-model", "", "trained RL agent for bascaler and bascaler-paper: a directory or a registry reference DIR@champion, DIR@<digest prefix> (a ppo version)")
	fl.StringVar(&f.format, "format", "table", "output format: table or json")
	fl.StringVar(&cfg.OutDir, "out", "", "folder for per-interval CSVs, decision logs, profiling CSV and replica logs")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress lines on stderr")
	fl.BoolVar(&f.compareSim, "compare-sim", false, "also replay the same window in the simulator with the measured profile and report their agreement per policy (needs --out; JSON: top-level \"agreement\" list)")
	fl.StringVar(&f.fit, "fit", "refuse", "when --max x --cpu-share + --reserve-cores exceed the machine's measured idle CPU: refuse, scale-down (lower --max to fit) or ignore")
	fl.Float64Var(&cfg.ReserveCores, "reserve-cores", 0.5, "CPU kept for the load generator, load balancer and Prometheus in the fit check, cores")
	fl.IntVar(&cfg.Calibrations, "calibrations", 3, "repeats of the single-replica CPU-per-request probe (median used, spread reported)")
	fl.IntVar(&cfg.ProfileRepeats, "profile-repeats", 3, "measurements of each single-replica profiling load in calibration (the profile takes their median)")
	fl.IntVar(&cfg.SaturationRepeats, "saturation-repeats", 4, "intervals at 1.2x the replica's saturation in calibration; their throughput's spread sizes the simulator's --capacity-jitter under --compare-sim")
	fl.Float64Var(&cfg.MaxCalibrationSpread, "max-calibration-spread", 0.2, "refuse the run when the probes' (max-min)/median exceeds this")
	fl.Float64Var(&cfg.MaxShortfall, "max-shortfall", 0.01, "stop the run as invalid when the load generator fails to send more than this share of a policy's requests on time")
	fl.Float64Var(&cfg.MaxDrift, "max-drift", 0.25, "stop the run as invalid when the CPU per request under load during a policy's run (Prometheus) moves more than this from the profiled replica's at calibration")
	fl.IntVar(&cfg.Repeats, "repeats", 1, "runs of every policy (order rotated each round); the agreement reports their spread")
}

// config checks the flags and turns them into the testbed's configuration: the trace
// window (and the history before it), the SLO metric, the policies and their parameters.
func (f *testbedRunFlags) config() (testbed.Config, error) {
	cfg := f.cfg
	cfg.ScaleToZero = cfg.Min == 0
	if cfg.HoldTimeout <= 0 {
		return cfg, fmt.Errorf("--hold-timeout must be positive, got %s", cfg.HoldTimeout)
	}
	if cfg.HoldQueue == 0 || cfg.HoldQueue < -1 {
		return cfg, fmt.Errorf("--hold-queue must be positive or -1 (unbounded), got %d", cfg.HoldQueue)
	}
	if cfg.Interval <= 0 {
		return cfg, fmt.Errorf("--interval must be positive, got %s", cfg.Interval)
	}
	if f.duration < 2*cfg.Interval {
		return cfg, fmt.Errorf("--duration %s must cover at least two intervals of %s", f.duration, cfg.Interval)
	}
	n := int(f.duration / cfg.Interval)
	switch f.tracePath {
	case "synthetic":
		cfg.TraceName = "synthetic:testbed-burst"
		cfg.Shape = testbed.Synthetic(n)
		cfg.History = testbed.SyntheticHistory(f.historyN, 1)
	case "":
		return cfg, fmt.Errorf("--trace is required: a CSV path (timestamp,value) or \"synthetic\"")
	default:
		s, err := series.Load(f.tracePath)
		if err != nil {
			return cfg, err
		}
		start, err := testbed.ParseStart(f.start, s.Values, n, f.historyN)
		if err != nil {
			return cfg, err
		}
		if start < 0 || start+n > s.Len() {
			return cfg, fmt.Errorf("trace %s has %d points; the window [%d, %d) (--start, --duration/--interval) does not fit", f.tracePath, s.Len(), start, start+n)
		}
		cfg.TraceName = fmt.Sprintf("%s[%d:%d]", s.Name, start, start+n)
		cfg.Shape = append([]float64(nil), s.Values[start:start+n]...)
		from := max(0, start-f.historyN)
		cfg.History = append([]float64(nil), s.Values[from:start]...)
	}
	m, err := perf.ParseLatencyMetric(f.sloMetric)
	if err != nil {
		return cfg, err
	}
	cfg.SLOMetric = m
	cfg.Policies = splitList(f.policies)
	if cfg.Params, err = policy.ParseParams(f.params); err != nil {
		return cfg, fmt.Errorf("--param: %w", err)
	}
	if f.rlModel != "" {
		if err := applyRLModel(f.rlModel, cfg.Policies, cfg.Params); err != nil {
			return cfg, err
		}
	}
	if f.format != "json" && f.format != "table" {
		return cfg, fmt.Errorf("--format %q: want table or json", f.format)
	}
	if cfg.Fit, err = testbed.ParseFitMode(f.fit); err != nil {
		return cfg, fmt.Errorf("--fit: %w", err)
	}
	if f.compareSim && cfg.OutDir == "" {
		return cfg, fmt.Errorf("--compare-sim needs --out: the simulator replays the inputs the testbed writes there")
	}
	return cfg, nil
}

func runTestbed(cmd *cobra.Command, f *testbedRunFlags) error {
	cfg, err := f.config()
	if err != nil {
		return err
	}
	if !f.quiet {
		cfg.Log = cmd.ErrOrStderr()
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	rep, runErr := testbed.Run(ctx, cfg)
	var invalid *testbed.InvalidRunError
	if runErr != nil && !errors.As(runErr, &invalid) {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted (every replica and Prometheus were stopped): %w", runErr)
		}
		return runErr
	}
	// An invalid run still prints what it measured, then fails with the reason.
	out := struct {
		*testbed.Report
		Simulator *traceReport        `json:"simulator,omitempty"`
		Agreement []testbed.Agreement `json:"agreement,omitempty"`
		Rankings  *testbed.Rankings   `json:"rankings,omitempty"`
		Invalid   string              `json:"invalid,omitempty"`
	}{Report: rep}
	if invalid != nil {
		out.Invalid = invalid.Error()
	}
	if f.compareSim && invalid == nil {
		sim, replicas, err := simulateLikeTestbed(cfg.OutDir)
		if err != nil {
			return err
		}
		out.Simulator = sim
		agree, rk, err := testbed.Agree(rep.Results, sim.Results)
		if err != nil {
			return err
		}
		out.Agreement, out.Rankings = agree, &rk
		if err := testbed.WriteTrajectories(cfg.OutDir, rep.Runs, replicas); err != nil {
			return err
		}
	}
	if f.format == "json" {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		if err := enc.Encode(out); err != nil {
			return err
		}
		return runErr
	}
	if err := printTestbedTable(cmd.OutOrStdout(), rep); err != nil {
		return err
	}
	if out.Agreement != nil {
		printAgreement(cmd.OutOrStdout(), out.Agreement, *out.Rankings)
	}
	return runErr
}

// printAgreement prints the testbed-against-simulator table.
func printAgreement(w io.Writer, as []testbed.Agreement, rk testbed.Rankings) {
	fmt.Fprintf(w, "\nthe simulator on the same window, measured profile, SLO and bounds (agrees: pod-hours within %.0f%%, violations within %.0f points):\n",
		100*testbed.AgreePodHours, testbed.AgreeViolationPoints)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\trepeats\tviolations testbed\tsimulator\tpod-hours testbed\tsimulator\tratio\tagrees\t")
	for _, a := range as {
		fmt.Fprintf(tw, "%s\t%d\t%.1f%% (%.1f-%.1f)\t%.1f%%\t%.4f (%.4f-%.4f)\t%.4f\t%.2f\t%v\t\n", a.Policy, a.Testbed.Seeds,
			100*a.Testbed.SLOViolationRate, 100*a.TestbedViolationRange[0], 100*a.TestbedViolationRange[1], 100*a.Simulator.SLOViolationRate,
			a.Testbed.CostPodHours, a.TestbedPodHoursRange[0], a.TestbedPodHoursRange[1], a.Simulator.CostPodHours, a.PodHoursRatio, a.Agrees)
	}
	_ = tw.Flush()
	fmt.Fprintf(w, "ranking by violations: testbed %v, simulator %v (same: %v)\n", rk.ByViolations.Testbed, rk.ByViolations.Simulator, rk.ByViolations.Same)
	fmt.Fprintf(w, "ranking by cost:       testbed %v, simulator %v (same: %v)\n", rk.ByCost.Testbed, rk.ByCost.Simulator, rk.ByCost.Same)
}

func printTestbedTable(w io.Writer, rep *testbed.Report) error {
	fmt.Fprintf(w, "trace %s, %d intervals of %gs, SLO %s %.1f ms, replica capacity %.1f req/s, peak %.1f req/s, cpu limit %s\n",
		rep.Trace, rep.Intervals, rep.IntervalS, rep.SLOMetric, rep.SLOMS, rep.Calibration.ReplicaCapacity, rep.Calibration.PeakRate, rep.Calibration.Limiter)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\tviolations\treq>SLO\tfailed\tnot sent\tpod-hours\tmean pods\tactions\tmean ms\tcold starts\theld p99 ms\tidle pod-h\t")
	for _, s := range rep.Results {
		fmt.Fprintf(tw, "%s\t%.1f%%\t%.2f%%\t%.0f\t%.0f\t%.4f\t%.2f\t%d\t%.1f\t%.0f\t%.0f\t%.4f\t\n", s.Policy, 100*s.SLOViolationRate,
			100*s.RequestsOverSLO, s.FailedRequests, s.RequestsNotSent, s.CostPodHours, s.MeanReplicas, s.ScalingActions, s.MeanLatencyMS,
			s.ColdStarts, s.HeldLatencyP99MS, s.IdlePodHours)
	}
	return tw.Flush()
}

func testbedProfileCmd() *cobra.Command {
	var (
		cfg      testbed.Config
		o        testbed.ProfileOptions
		out      string
		replicas []int
		quiet    bool
	)
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Profile real replicas: balanced per-pod load at several replica counts -> profiling CSV",
		Long: `testbed profile runs the BAScaler paper's profiling procedure on serve-fft replicas: for
each replica count it scales first, then applies each per-pod load (fractions of one
replica's measured saturation throughput) through the load balancer for --step, and records
per-pod load, CPU (% of the replica's CPU share), latency mean/p95/p99 and error rate.
The CSV (columns load_per_pod,replicas,cpu_pct,latency_mean_ms,latency_p95_ms,
latency_p99_ms,error_rate) feeds the SVR: bascaler profile --in FILE --fit, and the
simulator: bascaler simulate --profile FILE.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return fmt.Errorf("--out is required: the profiling CSV to write (- for standard output)")
			}
			o.Replicas = replicas
			if !quiet {
				cfg.Log = cmd.ErrOrStderr()
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			samples, _, err := testbed.Profile(ctx, cfg, o)
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			if out != "-" {
				f, err := os.Create(out)
				if err != nil {
					return err
				}
				defer f.Close()
				w = f
			}
			return perf.WriteProfilingCSV(w, samples)
		},
	}
	f := cmd.Flags()
	f.IntSliceVar(&replicas, "replicas", []int{1, 2}, "replica counts to profile at")
	f.Float64SliceVar(&o.Loads, "loads", []float64{0.1, 0.3, 0.5, 0.7, 0.9}, "per-pod loads as fractions of one replica's saturation throughput")
	f.DurationVar(&o.Step, "step", 10*time.Second, "time at each operating point")
	f.StringVar(&out, "out", "", "profiling CSV to write (- for standard output)")
	f.DurationVar(&cfg.StartupDelay, "startup-delay", time.Second, "replica start-up delay")
	f.Float64Var(&cfg.CPUShare, "cpu-share", 0.25, "CPU quota per replica, cores")
	f.IntVar(&cfg.ProfileRepeats, "profile-repeats", 3, "measurements of each single-replica profiling load in calibration (median used)")
	f.IntVar(&cfg.SaturationRepeats, "saturation-repeats", 4, "intervals at 1.2x the replica's saturation in calibration (their throughput's spread is reported)")
	f.DurationVar(&cfg.CFSPeriod, "cfs-period", 100*time.Millisecond, "cgroup CFS period of the quota")
	f.IntVar(&cfg.FFTSize, "fft-size", 0, "samples per FFT in the replicas (0: serve-fft default)")
	f.IntVar(&cfg.Rounds, "rounds", 0, "FFTs per request in the replicas (0: serve-fft default)")
	f.StringVar(&cfg.Prometheus, "prometheus", "", "prometheus binary (default: from PATH)")
	f.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	return cmd
}

func newTestbedBurstsCmd() *cobra.Command {
	var (
		trace              string
		duration, interval time.Duration
		history, top       int
	)
	cmd := &cobra.Command{
		Use:   "bursts",
		Short: "List a trace's largest bursts as testbed windows (for testbed run --start burst:K)",
		Long: `testbed bursts ranks the trace's points by their value over the median of the hour
before, and lists the best non-overlapping windows of --duration/--interval points with the
peak a third of the way in and --history points before the window (the training data of
forecasting policies). testbed run --start burst:K runs the K-th of them.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if trace == "" {
				return fmt.Errorf("--trace is required")
			}
			if interval <= 0 || duration < 2*interval {
				return fmt.Errorf("--duration %s must cover at least two intervals of %s", duration, interval)
			}
			s, err := series.Load(trace)
			if err != nil {
				return err
			}
			n := int(duration / interval)
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprintln(tw, "K\tstart\tpeak\tpeak time\tratio\t")
			for i, b := range testbed.Bursts(s.Values, n, history, top) {
				fmt.Fprintf(tw, "%d\t%d\t%d\t%s\t%.2f\t\n", i+1, b.Start, b.Peak, s.Time(b.Peak).UTC().Format(time.RFC3339), b.Ratio)
			}
			return tw.Flush()
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&trace, "trace", "", "trace CSV (timestamp,value)")
	fl.DurationVar(&duration, "duration", 25*time.Minute, "window length (as testbed run --duration)")
	fl.DurationVar(&interval, "interval", 15*time.Second, "control interval: one trace point per interval (as testbed run --interval)")
	fl.IntVar(&history, "history", 200, "points of history needed before the window (as testbed run --history)")
	fl.IntVar(&top, "top", 5, "windows to list")
	return cmd
}
