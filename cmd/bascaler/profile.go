package main

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/testbed"
)

func newProfileCmd() *cobra.Command {
	var (
		profile, out, in, sloMetric, kernel string
		samples                             int
		seed                                uint64
		highShare, headroom, workload       float64
		fit, cv, onTestbed                  bool
		slo                                 time.Duration
	)
	cmd := &cobra.Command{
		Use:   "profile",
		Short: "Generate profiling data from a performance profile and fit the SVR capacity model",
		Long: `profile simulates a profiling campaign against a performance profile and writes the samples
as CSV (load_per_pod,replicas,cpu_pct,latency_mean_ms,latency_p95_ms,latency_p99_ms,error_rate).
Loads follow the BAScaler paper's balanced sampling: --high-share of the samples (75%) at 50-100%
of the profile's saturation load, the rest below. Each sample carries measurement noise: the
statistical error of a 60 s measurement at its request count (mean m/sqrt(N), quantiles
m*sqrt(q/((1-q)N)) for the profile's shifted-exponential response time), a shared 3% slowdown
factor, and 1 percentage point of CPU noise.

With --fit it fits the ε-SVR performance model (per-pod load -> latency for --slo-metric, and
load -> CPU) on the samples (or on --in FILE) and prints the per-pod capacity at the SLO.`,
		Example: `  bascaler profile --profile fft --samples 500 --out fft-profiling.csv --seed 1
  bascaler profile --profile fft --samples 500 --fit --slo 16ms --slo-metric mean
  bascaler profile --in fft-profiling.csv --fit --slo 40ms --slo-metric p95 --cv`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			if out == "" && !fit {
				return fmt.Errorf("nothing to do: give --out FILE to write profiling data and/or --fit to fit the capacity model")
			}
			var data []perf.ProfilingSample
			var source string
			var prof *perf.Profile
			switch {
			case onTestbed:
				if in != "" {
					return fmt.Errorf("--testbed and --in together: --testbed measures new profiling data on real replicas")
				}
				// The paper's procedure on real replicas, with the testbed's defaults (see
				// `bascaler testbed profile` for every knob).
				cfg := testbed.Config{StartupDelay: time.Second, CPUShare: 0.25, CFSPeriod: 100 * time.Millisecond, Log: cmd.ErrOrStderr()}
				ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
				defer stop()
				var err error
				if data, _, err = testbed.Profile(ctx, cfg, testbed.ProfileOptions{}); err != nil {
					return err
				}
				source = "real serve-fft replicas (testbed)"
			case in != "":
				if out != "" {
					return fmt.Errorf("--in and --out together: --in reads existing profiling data, --out writes generated data")
				}
				var err error
				if data, err = perf.LoadProfilingCSV(in); err != nil {
					return err
				}
				source = in
			default:
				var err error
				if prof, err = loadProfile(profile); err != nil {
					return err
				}
				data, err = perf.SampleProfile(prof, perf.SamplingOptions{Samples: samples, Seed: seed, HighShare: highShare})
				if err != nil {
					return err
				}
				source = fmt.Sprintf("%d samples of profile %s (seed %d)", samples, prof.Name, seed)
			}
			if out != "" {
				if err := writeProfilingFile(out, w, data); err != nil {
					return err
				}
				if out != "-" {
					fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s to %s\n", source, out)
				}
			}
			if !fit {
				return nil
			}
			metric, err := perf.ParseLatencyMetric(sloMetric)
			if err != nil {
				return err
			}
			k, err := perf.ParseKernel(kernel)
			if err != nil {
				return err
			}
			opts := perf.CapacityOptions{Metric: metric, Params: perf.DefaultSVRParams()}
			opts.Params.Kernel = k
			if cv {
				g := perf.DefaultGrid()
				g.Kernel, g.Seed = k, seed
				opts.Grid = &g
			}
			m, err := perf.FitCapacityModel(data, opts)
			if err != nil {
				return err
			}
			return printCapacity(w, source, m, prof, metric, float64(slo)/float64(time.Millisecond), headroom, workload)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&profile, "profile", "fft", "performance profile to sample: fft or a profile CSV (load,mean_ms,p95_ms,p99_ms,cpu_pct)")
	fl.IntVar(&samples, "samples", 500, "number of profiling samples to generate")
	fl.Uint64Var(&seed, "seed", 1, "random seed (sampling, noise, cross-validation folds)")
	fl.Float64Var(&highShare, "high-share", 0.75, "share of samples at 50-100% of the saturation load")
	fl.StringVar(&out, "out", "", "write the generated profiling CSV here (- for standard output)")
	fl.StringVar(&in, "in", "", "fit this profiling CSV instead of generating data")
	fl.BoolVar(&onTestbed, "testbed", false, "measure the profiling data on real serve-fft replicas (needs prometheus; as root for CPU quotas) instead of sampling --profile")
	fl.BoolVar(&fit, "fit", false, "fit the SVR capacity model and print the capacity at the SLO")
	fl.BoolVar(&cv, "cv", false, "choose C, ε, γ by 5-fold cross-validated grid search (else the paper's C=100, ε=0.1)")
	fl.StringVar(&kernel, "kernel", "rbf", "SVR kernel: rbf or linear")
	fl.DurationVar(&slo, "slo", 16*time.Millisecond, "latency SLO")
	fl.StringVar(&sloMetric, "slo-metric", "mean", "SLO statistic: mean, p95 or p99")
	fl.Float64Var(&headroom, "headroom", perf.DefaultHeadroom, "share of the SLO capacity to plan with, in (0, 1]")
	fl.Float64Var(&workload, "workload", 0, "also print the replicas this workload (req/s) needs")
	return cmd
}

func writeProfilingFile(path string, stdout io.Writer, data []perf.ProfilingSample) error {
	if path == "-" {
		return perf.WriteProfilingCSV(stdout, data)
	}
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write profiling data: %w", err)
	}
	if err := perf.WriteProfilingCSV(f, data); err != nil {
		f.Close()
		return fmt.Errorf("write profiling data %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write profiling data %s: %w", path, err)
	}
	return nil
}

func printCapacity(w io.Writer, source string, m *perf.CapacityModel, prof *perf.Profile, metric perf.LatencyMetric, sloMS, headroom, workload float64) error {
	if sloMS <= 0 {
		return fmt.Errorf("--slo must be positive, got %gms", sloMS)
	}
	describe := func(name string, s *perf.SVR, cv *perf.CVResult) {
		p := s.Params()
		gamma := ""
		if p.Kernel == perf.RBF {
			gamma = fmt.Sprintf(", γ=%g", p.Gamma)
		}
		fmt.Fprintf(w, "  load -> %-12s %s kernel, C=%g, ε=%g%s: %d support vectors, %d SMO iterations",
			name, p.Kernel, p.C, p.Epsilon, gamma, s.SupportVectors(), s.Iterations())
		if !s.Converged() {
			fmt.Fprint(w, " (iteration cap reached)")
		}
		if cv != nil {
			fmt.Fprintf(w, ", cross-validated RMSE %.3g", cv.RMSE)
		}
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "SVR performance model fitted on %s (per-pod load %.3g to %.3g req/s)\n", source, m.MinLoad, m.MaxLoad)
	describe(metric.String()+" latency", m.Latency, m.LatencyCV)
	describe("cpu", m.CPU, m.CPUCV)
	fmt.Fprintln(w)
	fmt.Fprintf(w, "%10s  %14s  %8s\n", "load req/s", metric.String()+" latency ms", "cpu %")
	for i := 0; i <= 10; i++ {
		l := m.MinLoad + (m.MaxLoad-m.MinLoad)*float64(i)/10
		fmt.Fprintf(w, "%10.1f  %14.2f  %8.1f\n", l, m.LatencyAt(l), 100*m.CPUAt(l))
	}
	fmt.Fprintln(w)
	c, err := m.CapacityAt(metric, sloMS)
	if err != nil {
		return err
	}
	slo := strconv.FormatFloat(sloMS, 'g', -1, 64) + "ms"
	fmt.Fprintf(w, "capacity at %s latency <= %s: %.2f req/s per pod (CPU %.0f%%)", metric, slo, c, 100*m.CPUAt(c))
	if prof != nil {
		if pc, err := prof.CapacityAt(metric, sloMS); err == nil {
			fmt.Fprintf(w, "; the %s profile itself says %.2f", prof.Name, pc)
		}
	}
	fmt.Fprintln(w)
	plan, err := perf.PodCapacity(m, metric, sloMS, headroom)
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "planning capacity with headroom %g: %.2f req/s per pod\n", headroom, plan)
	if workload != 0 {
		r, err := perf.Replicas(workload, plan)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "replicas for %s req/s: %d\n", strings.TrimRight(strings.TrimRight(strconv.FormatFloat(workload, 'f', 2, 64), "0"), "."), r)
	}
	return nil
}
