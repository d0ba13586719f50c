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

	"github.com/bascaler/bascaler/internal/metrics"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/registry"
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
		modelOut                            string
		reg                                 registerFlags
		prom                                promSource
		cpuRequest                          int
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
load -> CPU) on the samples (or on --in FILE) and prints the per-pod capacity at the SLO.

Saving the fit. --model-out DIR and/or --registry DIR [--promote] save the performance model
the backends use: the profile tabulated from one SVR per statistic (mean, p95, p99 latency and
CPU against per-pod load; perf.FitProfile with --kernel or --cv), as a model directory of kind
svr-profile (manifest.json, profile.json). The registry version's lineage records the SVR
parameters, the fit scores (capacity at --slo, cross-validated RMSE with --cv), the code
version, the data (the --in file and its SHA-256, the sampled profile and seed, the testbed,
or the Prometheus range) with the digest of the samples, and the parent (the champion when it
is an svr-profile). Load it with simulate --profile DIR or REGISTRY@champion, or in the
controller with spec.policy.capacity.model. Keep profiles in a registry of their own: a
registry has one champion.

From Prometheus (passive profiling). --prometheus URL --preset --namespace --target --start
--end --step reads, per period, the preset's request rate, latency (mean from the histogram's
sum and count, p95/p99 from its buckets) and errors, the pods' CPU against their request
(cAdvisor; --cpu-request-millicores, else kube-state-metrics' requests), and the serving pods
(the pods cAdvisor reports on), and turns each period into a sample at rate/pods per pod.
Periods without requests, pods, latency or CPU are skipped. This fits what production saw,
which is not what the paper's profiling measures: the samples cover only the per-pod loads
the service ran at (an autoscaled service rarely runs near saturation), so the fitted curve
stops at the heaviest observed load, which becomes its saturation load, and capacity beyond
it is unknown (the command warns when the SLO was met at every observed load); each sample
is a period's average over pods that may be loaded unevenly or starting. Use it to check or
refresh a profile from live data; to find the capacity at the SLO, profile under controlled
load (--testbed, or 'bascaler load' against one replica) up to saturation.`,
		Example: `  bascaler profile --profile fft --samples 500 --out fft-profiling.csv --seed 1
  bascaler profile --profile fft --samples 500 --fit --slo 16ms --slo-metric mean
  bascaler profile --in fft-profiling.csv --fit --slo 40ms --slo-metric p95 --cv
  bascaler profile --in fft-profiling.csv --fit --registry models/profile --promote
  bascaler profile --prometheus http://127.0.0.1:9090 --preset http --namespace shop --target web \
      --start 2026-11-01T00:00:00Z --end 2026-11-02T00:00:00Z --step 1m --fit --registry models/profile`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			w := cmd.OutOrStdout()
			if out == "" && !fit {
				return fmt.Errorf("nothing to do: give --out FILE to write profiling data and/or --fit to fit the capacity model")
			}
			if (modelOut != "" || reg.dir != "") && !fit {
				return fmt.Errorf("--model-out and --registry save the fitted model: add --fit")
			}
			var data0 registry.Data // where the samples came from, for the lineage
			var createdBy string
			var data []perf.ProfilingSample
			var source string
			var prof *perf.Profile
			switch {
			case prom.address != "":
				if in != "" || onTestbed {
					return fmt.Errorf("--prometheus with --in or --testbed: pick one source of profiling data")
				}
				src, win, err := prom.open("", metrics.CPUCadvisor, cpuRequest)
				if err != nil {
					return err
				}
				pr, err := src.ProfilingSamples(cmd.Context(), win)
				if err != nil {
					return err
				}
				data = pr.Samples
				source = fmt.Sprintf("%d periods read from %s (%s)", len(data), prom.address, prom.target)
				if pr.Skipped > 0 {
					fmt.Fprintf(cmd.ErrOrStderr(), "profile: %d of %d periods skipped (the first: %s)\n", pr.Skipped, win.Count, pr.FirstSkip)
				}
				createdBy = dataSource("", &prom)
				data0 = registry.Data{Source: "prometheus", Prometheus: &registry.PromRange{Address: prom.address,
					Query: src.RateQuery(prom.step) + " ; pods: " + pr.PodsQuery, Start: win.Start().UTC(), End: win.End.UTC(), Step: prom.step.String()}}
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
				data0, createdBy = registry.Data{Source: "testbed"}, "--testbed"
			case in != "":
				if out != "" {
					return fmt.Errorf("--in and --out together: --in reads existing profiling data, --out writes generated data")
				}
				var err error
				if data, err = perf.LoadProfilingCSV(in); err != nil {
					return err
				}
				source = in
				sum, err := registry.FileSHA256(in)
				if err != nil {
					return err
				}
				data0, createdBy = registry.Data{Source: "trace", Trace: in, TraceDigest: sum}, "--in "+in
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
				data0 = registry.Data{Source: "synthetic", Trace: "profile:" + prof.Name}
				createdBy = fmt.Sprintf("--profile %s --samples %d --seed %d", profile, samples, seed)
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
			sloMS := float64(slo) / float64(time.Millisecond)
			if err := printCapacity(w, source, m, prof, metric, sloMS, headroom, workload); err != nil {
				return err
			}
			if c, err := m.CapacityAt(metric, sloMS); err == nil && c >= m.MaxLoad && prom.address != "" {
				fmt.Fprintf(w, "warning: the SLO was met at every observed per-pod load (up to %.3g req/s); the fitted profile saturates there and the capacity beyond it is unknown\n", m.MaxLoad)
			}
			if modelOut == "" && reg.dir == "" {
				return nil
			}
			return saveProfileModel(w, profileSave{data: data, opts: opts, model: m, metric: metric, sloMS: sloMS, modelOut: modelOut,
				reg: &reg, lineage: data0, seed: seed, createdBy: "bascaler profile " + createdBy + " --fit"})
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
	fl.StringVar(&modelOut, "model-out", "", "with --fit: save the fitted performance model (svr-profile) in this directory")
	fl.IntVar(&cpuRequest, "cpu-request-millicores", 0, "with --prometheus: one pod's CPU request (0: read kube_pod_container_resource_requests)")
	reg.register(cmd)
	prom.register(cmd)
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

// profileSave is what saving a fitted performance model needs.
type profileSave struct {
	data      []perf.ProfilingSample
	opts      perf.CapacityOptions
	model     *perf.CapacityModel // the fit printed, for its scores
	metric    perf.LatencyMetric
	sloMS     float64
	modelOut  string
	reg       *registerFlags
	lineage   registry.Data
	seed      uint64
	createdBy string
}

// saveProfileModel fits the tabulated profile (every statistic) on the samples and writes it
// to --model-out and/or the registry.
func saveProfileModel(w io.Writer, ps profileSave) error {
	prof, err := perf.FitProfileWith("svr", ps.data, ps.opts)
	if err != nil {
		return err
	}
	val := map[string]float64{}
	slo := strconv.FormatFloat(ps.sloMS, 'g', -1, 64) + "ms"
	if c, err := prof.CapacityAt(ps.metric, ps.sloMS); err == nil {
		val["capacity_rps_"+ps.metric.String()+"_"+slo] = c
	}
	if cv := ps.model.LatencyCV; cv != nil {
		val["cv_rmse_latency_"+ps.metric.String()+"_ms"] = cv.RMSE
	}
	if cv := ps.model.CPUCV; cv != nil {
		val["cv_rmse_cpu"] = cv.RMSE
	}
	// The manifest holds no command line: the same fit on the same samples is the same
	// version, whichever source they were read from (the lineage says where).
	man := perf.ProfileManifest{Params: perf.FitParams(ps.opts), Validation: val}
	save := func(dir string) error { return perf.SaveProfileModel(dir, prof, ps.data, man) }
	if ps.modelOut != "" {
		if err := save(ps.modelOut); err != nil {
			return err
		}
		fmt.Fprintf(w, "saved the svr-profile model to %s\n", ps.modelOut)
	}
	return ps.reg.publish(w, []string{perf.ProfileKind}, func() (registry.Lineage, error) {
		d := ps.lineage
		d.SeriesDigest = perf.DigestSamples(ps.data)
		d.Train = registry.Window{Points: len(ps.data)}
		return registry.Lineage{Data: d, Seed: int64(ps.seed), CreatedBy: ps.createdBy, CodeVersion: registry.CodeVersion(version)}, nil
	}, save)
}
