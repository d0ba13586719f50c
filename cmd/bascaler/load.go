package main

import (
	"fmt"
	"math"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/load"
	"github.com/bascaler/bascaler/internal/series"
)

// loadFlags are the flags of `bascaler load`.
type loadFlags struct {
	urls                  []string
	rate, scale, peak     float64
	trace, ramp, step     string
	interval              time.Duration
	arrivals              string
	seed                  uint64
	users                 int
	think                 time.Duration
	duration              time.Duration
	maxRequests           uint64
	timeout, maxLag       time.Duration
	maxInFlight           int
	out, format           string
	quiet                 bool
	arrivalsSet, thinkSet bool
	rateSet               bool
}

func newLoadCmd() *cobra.Command {
	var f loadFlags
	cmd := &cobra.Command{
		Use:   "load",
		Short: "Send HTTP load to your service: replay a trace, a rate, a ramp or steps, open or closed loop",
		Long: `load sends GET requests to the --url targets (repeatable; URL=weight splits traffic by
weight, default 1) and reports what came back.

Open loop (the rate does not wait for answers, as independent users arrive):
  --rate R          R req/s for --duration (or until --max-requests)
  --ramp FROM:TO    linearly from FROM to TO req/s over --duration
  --step R1,R2,...  each rate held for --interval
  --trace FILE      a CSV timestamp,value of requests per trace step; each point is sent at
                    its rate (value / trace step) for --interval of wall time
  --scale F / --peak R multiply the rates by F, or scale them so the highest is R req/s.
  --arrivals uniform spaces requests evenly; poisson draws exponential gaps (--seed).
  Requests that cannot be sent within --max-lag of their due time (every connection busy,
  the target too slow) are dropped and reported as shortfall, never sent in a catch-up burst.
Closed loop: --users N each send a request, wait for the answer, then wait --think.

The run stops at the schedule's end, after --duration, after --max-requests, or on Ctrl-C.
The summary (sent, ok, failed, achieved rate, latency mean/p50/p95/p99, shortfall) goes to
stdout as a table or JSON; --out DIR also writes load.csv (per second: scheduled, sent, ok,
failed, shortfall, rates, latency percentiles), summary.json, SVG plots and index.html.`,
		Example: `  bascaler serve-fft --addr 127.0.0.1:8080 &
  bascaler load --url http://127.0.0.1:8080/fft --rate 200 --duration 30s --arrivals poisson --out load-out
  bascaler load --url http://127.0.0.1:8080/a=3 --url http://127.0.0.1:8080/b=1 --ramp 50:500 --duration 1m
  bascaler load --url http://127.0.0.1:8080/fft --trace trace.csv --interval 1s --peak 300 --duration 5m
  bascaler load --url http://127.0.0.1:8080/fft --users 20 --think 100ms --duration 30s --format json`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.arrivalsSet, f.thinkSet = cmd.Flags().Changed("arrivals"), cmd.Flags().Changed("think")
			f.rateSet = cmd.Flags().Changed("rate")
			o, err := f.options()
			if err != nil {
				return err
			}
			if f.format != "table" && f.format != "json" {
				return fmt.Errorf("--format %q: want table or json", f.format)
			}
			if !f.quiet {
				o.Progress = loadProgress(progressBar(cmd.ErrOrStderr(), "load"))
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			run, err := load.Generate(ctx, o)
			if err != nil {
				return err
			}
			if f.out != "" {
				page, err := load.WriteReport(f.out, run, "bascaler load")
				if err != nil {
					return err
				}
				fmt.Fprintln(cmd.ErrOrStderr(), "load: wrote", page)
			}
			sum := run.Summarize()
			if f.format == "json" {
				return load.WriteJSON(cmd.OutOrStdout(), sum)
			}
			return load.WriteTable(cmd.OutOrStdout(), sum)
		},
	}
	fl := cmd.Flags()
	fl.StringArrayVar(&f.urls, "url", nil, "target URL, optionally URL=weight (repeatable)")
	fl.Float64Var(&f.rate, "rate", 0, "constant open-loop rate, req/s")
	fl.StringVar(&f.ramp, "ramp", "", "open-loop ramp FROM:TO req/s over --duration")
	fl.StringVar(&f.step, "step", "", "open-loop steps R1,R2,... req/s, each held for --interval")
	fl.StringVar(&f.trace, "trace", "", "trace CSV (timestamp,value = requests per trace step) to replay open loop")
	fl.DurationVar(&f.interval, "interval", time.Second, "wall time of one trace point or step")
	fl.Float64Var(&f.scale, "scale", 1, "multiply every scheduled rate by this")
	fl.Float64Var(&f.peak, "peak", 0, "scale the schedule so its highest rate is this many req/s (instead of --scale)")
	fl.StringVar(&f.arrivals, "arrivals", "uniform", "open-loop arrivals: uniform or poisson")
	fl.Uint64Var(&f.seed, "seed", 1, "seed of the Poisson arrivals")
	fl.IntVar(&f.users, "users", 0, "closed loop: number of users, each waiting for its answer")
	fl.DurationVar(&f.think, "think", 0, "closed loop: pause of a user between an answer and its next request")
	fl.DurationVar(&f.duration, "duration", 0, "stop after this long (0: at the schedule's end)")
	fl.Uint64Var(&f.maxRequests, "max-requests", 0, "stop after this many requests (0: no limit)")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Second, "timeout of one request (counted as failed)")
	fl.DurationVar(&f.maxLag, "max-lag", time.Second, "open loop: a request this late is not sent and counts as shortfall")
	fl.IntVar(&f.maxInFlight, "max-in-flight", 2000, "open loop: requests in flight at most")
	fl.StringVar(&f.out, "out", "", "directory for load.csv, summary.json, plots and index.html")
	fl.StringVar(&f.format, "format", "table", "summary format: table or json")
	fl.BoolVar(&f.quiet, "quiet", false, "no progress bar")
	return cmd
}

// options turns the flags into the generator's options, with an error naming the flag.
func (f *loadFlags) options() (load.Options, error) {
	o := load.Options{Users: f.users, Think: f.think, Duration: f.duration, MaxRequests: f.maxRequests,
		Timeout: f.timeout, MaxLag: f.maxLag, MaxInFlight: f.maxInFlight, Seed: f.seed}
	if len(f.urls) == 0 {
		return o, fmt.Errorf("--url is required (e.g. --url http://127.0.0.1:8080/ or URL=weight, repeatable)")
	}
	for _, u := range f.urls {
		t, err := load.ParseTarget(u)
		if err != nil {
			return o, fmt.Errorf("--url: %w", err)
		}
		o.Targets = append(o.Targets, t)
	}
	if f.duration < 0 {
		return o, fmt.Errorf("--duration %s is negative", f.duration)
	}
	if f.timeout <= 0 || f.maxLag <= 0 {
		return o, fmt.Errorf("--timeout %s and --max-lag %s must be positive", f.timeout, f.maxLag)
	}
	shapes := 0
	for _, set := range []bool{f.rateSet || f.rate != 0, f.ramp != "", f.step != "", f.trace != ""} {
		if set {
			shapes++
		}
	}
	if f.users != 0 {
		if f.users < 0 {
			return o, fmt.Errorf("--users %d is negative", f.users)
		}
		if shapes > 0 || f.arrivalsSet {
			return o, fmt.Errorf("--users (closed loop) excludes --rate, --ramp, --step, --trace and --arrivals (open loop)")
		}
		if f.duration == 0 && f.maxRequests == 0 {
			return o, fmt.Errorf("--users needs --duration or --max-requests to stop")
		}
		return o, nil
	}
	if f.thinkSet {
		return o, fmt.Errorf("--think needs --users (closed loop)")
	}
	if shapes != 1 {
		return o, fmt.Errorf("give exactly one of --rate, --ramp, --step, --trace (open loop) or --users (closed loop); got %d", shapes)
	}
	a, err := load.ParseArrivals(f.arrivals)
	if err != nil {
		return o, fmt.Errorf("--arrivals: %w", err)
	}
	o.Arrivals = a
	s, err := f.schedule()
	if err != nil {
		return o, err
	}
	switch {
	case f.peak != 0 && f.scale != 1:
		return o, fmt.Errorf("--peak and --scale are exclusive")
	case f.peak != 0:
		s, err = s.WithPeak(f.peak)
		if err != nil {
			return o, fmt.Errorf("--peak: %w", err)
		}
	case f.scale != 1:
		s, err = s.Scaled(f.scale)
		if err != nil {
			return o, fmt.Errorf("--scale: %w", err)
		}
	}
	o.Schedule = s
	return o, nil
}

// schedule builds the open-loop schedule of the one shape flag given.
func (f *loadFlags) schedule() (*load.Schedule, error) {
	switch {
	case f.rateSet || f.rate != 0:
		if math.IsNaN(f.rate) || math.IsInf(f.rate, 0) || f.rate <= 0 {
			return nil, fmt.Errorf("--rate %g: want a positive number of req/s", f.rate)
		}
		d := f.duration
		if d == 0 {
			if f.maxRequests == 0 {
				return nil, fmt.Errorf("--rate needs --duration or --max-requests to stop")
			}
			d = time.Duration(math.Ceil(float64(f.maxRequests) / f.rate * float64(time.Second)))
		}
		return load.Constant(f.rate, d)
	case f.ramp != "":
		from, to, ok := strings.Cut(f.ramp, ":")
		a, errA := strconv.ParseFloat(from, 64)
		b, errB := strconv.ParseFloat(to, 64)
		if !ok || errA != nil || errB != nil {
			return nil, fmt.Errorf("--ramp %q: want FROM:TO in req/s, e.g. 10:500", f.ramp)
		}
		if f.duration == 0 {
			return nil, fmt.Errorf("--ramp needs --duration (the ramp's length)")
		}
		s, err := load.Ramp(a, b, f.duration)
		if err != nil {
			return nil, fmt.Errorf("--ramp %q: %w", f.ramp, err)
		}
		return s, nil
	case f.step != "":
		var rates []float64
		for i, part := range strings.Split(f.step, ",") {
			r, err := strconv.ParseFloat(strings.TrimSpace(part), 64)
			if err != nil {
				return nil, fmt.Errorf("--step %q: item %d %q is not a number", f.step, i+1, part)
			}
			rates = append(rates, r)
		}
		s, err := load.NewSchedule(rates, f.interval)
		if err != nil {
			return nil, fmt.Errorf("--step %q: %w", f.step, err)
		}
		return s, nil
	default:
		tr, err := series.Load(f.trace)
		if err != nil {
			return nil, fmt.Errorf("--trace: %w", err)
		}
		s, err := load.FromSeries(tr, f.interval)
		if err != nil {
			return nil, fmt.Errorf("--trace: %w", err)
		}
		return s, nil
	}
}

// loadProgress adapts a progress bar to the generator's reports: by time when the run has
// a planned length, else by requests.
func loadProgress(bar func(done, total int)) func(load.Progress) {
	if bar == nil {
		return nil
	}
	return func(p load.Progress) {
		if p.Planned > 0 {
			bar(int(min(p.Elapsed, p.Planned)/(100*time.Millisecond)), int(p.Planned/(100*time.Millisecond)))
			return
		}
		if p.PlannedRequests > 0 {
			bar(int(min(p.Done, p.PlannedRequests)), int(p.PlannedRequests))
		}
	}
}
