package main

import (
	"encoding/json"
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
	"github.com/bascaler/bascaler/internal/report"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/testbed"
	"github.com/bascaler/bascaler/internal/testbed/lb"
)

// newTestbedCmd groups the local end-to-end testbed's subcommands.
func newTestbedCmd() *cobra.Command {
	tb := &cobra.Command{Use: "testbed", Short: "Local end-to-end testbed: real replicas, load and Prometheus"}
	tb.AddCommand(newTestbedRunCmd(), testbedProfileCmd())
	return tb
}

// testbedRunFlags are the options of "testbed run"; cfg receives the ones testbed.Config
// holds as they are.
type testbedRunFlags struct {
	tracePath, policies, format, sloMetric string
	duration                               time.Duration
	start, historyN                        int
	params                                 []string
	quiet, compareSim                      bool
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
	fl.IntVar(&f.start, "start", 0, "index of the trace point the window starts at")
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
	fl.StringVar(&f.format, "format", "table", "output format: table or json")
	fl.StringVar(&cfg.OutDir, "out", "", "folder for per-interval CSVs, decision logs, profiling CSV and replica logs")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress lines on stderr")
	fl.BoolVar(&f.compareSim, "compare-sim", false, "also replay the same window in the simulator with the measured profile and print its results beside (needs --out)")
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
		if f.start < 0 || f.start+n > s.Len() {
			return cfg, fmt.Errorf("trace %s has %d points; the window [%d, %d) (--start, --duration/--interval) does not fit", f.tracePath, s.Len(), f.start, f.start+n)
		}
		cfg.TraceName = s.Name
		cfg.Shape = append([]float64(nil), s.Values[f.start:f.start+n]...)
		from := max(0, f.start-f.historyN)
		cfg.History = append([]float64(nil), s.Values[from:f.start]...)
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
	if f.format != "json" && f.format != "table" {
		return cfg, fmt.Errorf("--format %q: want table or json", f.format)
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
	rep, err := testbed.Run(ctx, cfg)
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted (every replica and Prometheus were stopped): %w", err)
		}
		return err
	}
	out := struct {
		*testbed.Report
		Simulator *traceReport `json:"simulator,omitempty"`
	}{Report: rep}
	if f.compareSim {
		if out.Simulator, err = simulateLikeTestbed(cfg.OutDir); err != nil {
			return err
		}
	}
	if f.format == "json" {
		enc := json.NewEncoder(cmd.OutOrStdout())
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	if err := printTestbedTable(cmd.OutOrStdout(), rep); err != nil {
		return err
	}
	if out.Simulator != nil {
		fmt.Fprintln(cmd.OutOrStdout(), "\nthe simulator on the same window, measured profile, SLO and bounds:")
		return report.Table(cmd.OutOrStdout(), out.Simulator.Trace, out.Simulator.Intervals, out.Simulator.Results)
	}
	return nil
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
	f.DurationVar(&cfg.CFSPeriod, "cfs-period", 100*time.Millisecond, "cgroup CFS period of the quota")
	f.IntVar(&cfg.FFTSize, "fft-size", 0, "samples per FFT in the replicas (0: serve-fft default)")
	f.IntVar(&cfg.Rounds, "rounds", 0, "FFTs per request in the replicas (0: serve-fft default)")
	f.StringVar(&cfg.Prometheus, "prometheus", "", "prometheus binary (default: from PATH)")
	f.BoolVar(&quiet, "quiet", false, "no progress lines on stderr")
	return cmd
}
