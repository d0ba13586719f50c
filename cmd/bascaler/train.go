package main

import (
	"encoding/csv"
	"fmt"
	"image/color"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/spf13/cobra"
	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/rl"
	"github.com/bascaler/bascaler/internal/rltrain"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/sim"
)

// rlTrainFlags are the options of "train rl".
type rlTrainFlags struct {
	trace, out, pol, reward, normalize, split, forecaster string
	profile                                               string
	steps, rollout, segment, evalEvery                    int
	seed                                                  int64
	scaleToMean, lr                                       float64
	slo                                                   time.Duration
	sloMetric                                             string
	interval, startup                                     time.Duration
	params                                                []string
	prom                                                  promSource    // training data from Prometheus instead of --trace
	reg                                                   registerFlags // --registry, --promote
}

// newTrainCmd groups the training subcommands ("train rl"; other trainers may join it).
func newTrainCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "train", Short: "Train models used by the policies",
		Long: `Train models used by the policies. Each trainer reads a trace file or Prometheus (the
controller's presets over --start..--end) and can write a registry version with lineage
(--registry DIR [--promote]):

  forecaster            bascaler forecast train
  PPO corrector         bascaler train rl
  SVR performance model bascaler profile --fit

The burst detector's calibration is not trained ahead: every backend derives it from the
served forecaster and the recent history when it builds the policy (bascaler burst --help).`}
	cmd.AddCommand(newTrainRLCmd())
	return cmd
}

func newTrainRLCmd() *cobra.Command {
	var f rlTrainFlags
	cmd := &cobra.Command{
		Use:   "rl",
		Short: "Train the PPO corrector of a burst-aware policy in the simulator",
		Long: `Train the PPO agent that corrects a burst-aware policy's replica estimate outside bursts.

Episodes replay stretches of the trace's training split through the simulator (the same one
'simulate' uses) under the policy, whose corrector is the learning agent. The forecaster used
in training episodes is fitted on the first half of the training split; episodes come from
its second half. Snapshots are scored on the validation split and the best one is kept; the
test split is never read. DIR receives manifest.json, actor.bin, critic.bin (the agent),
curve.csv and curve.svg (the training curve).

--registry DIR writes the agent (manifest.json, actor.bin, critic.bin) as a new version of
kind ppo into a model registry, with its lineage: params, code version, seed, the data (the
trace and its SHA-256, or the Prometheus query and range, and in both cases the digest of
the training and validation series), the validation scores and the parent (the registry's
champion when it is a ppo version too); --promote makes it the champion. Keep agents in a
registry of their own (or promote them under their own alias): a registry has one champion.

--prometheus URL --preset --namespace --target --start --end --step reads the training
workload from Prometheus instead of --trace: the request rate the controller reads with the
same preset (every period must have a rate). Rates read from Prometheus are req/s and are
not normalised unless --normalize paper is given.

The burst detector's calibration is not trained here or stored anywhere: the policy fits it
when it is built (and after each forecaster swap) on the history the backend holds, with the
forecaster it serves (see 'bascaler burst --help').

Use the result with: bascaler simulate --policy bascaler --rl-model DIR (or REGISTRY@champion)`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTrainRL(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.trace, "trace", "", "trace CSV path or synthetic[:NAME] (or --prometheus)")
	fl.StringVar(&f.out, "out", "", "output directory for the agent and its training curve (this and/or --registry)")
	fl.IntVar(&f.steps, "steps", rltrain.DefaultSteps, "training budget in corrected decisions (environment steps)")
	fl.Int64Var(&f.seed, "seed", 1, "random seed (network initialisation, sampling, segments)")
	fl.StringVar(&f.pol, "policy", "bascaler", "policy to correct: bascaler or bascaler-paper")
	fl.StringVar(&f.reward, "reward", "slo-cost", "reward: slo-cost (pod cost and SLO violations, γ 0.8) or paper (BAScaler's CPU/latency reward, γ 0.5)")
	fl.IntVar(&f.rollout, "rollout", 2048, "steps collected per PPO update")
	fl.Float64Var(&f.lr, "lr", rl.DefaultConfig().LR, "Adam learning rate")
	fl.IntVar(&f.segment, "segment", 240, "intervals replayed per training segment")
	fl.IntVar(&f.evalEvery, "eval-every", 4, "PPO updates between validation replays")
	fl.StringVar(&f.normalize, "normalize", "", "paper or none (default: paper for trace files, none for synthetic)")
	fl.Float64Var(&f.scaleToMean, "scale-to-mean", 0, "scale the trace so its training mean is this many req/s (replaces --normalize)")
	fl.StringVar(&f.split, "split", "0.6,0.2,0.2", "chronological train,validation,test fractions")
	fl.DurationVar(&f.slo, "slo", 16*time.Millisecond, "latency SLO")
	fl.StringVar(&f.sloMetric, "slo-metric", "mean", "SLO statistic: mean, p95 or p99")
	fl.DurationVar(&f.interval, "interval", time.Minute, "control interval (one trace point)")
	fl.DurationVar(&f.startup, "startup", 30*time.Second, "pod start-up delay")
	fl.StringArrayVar(&f.params, "param", nil, "policy parameter key=value (repeatable)")
	fl.StringVar(&f.profile, "profile", "fft", "performance profile of the simulated pods: fft, a profile CSV (load,mean_ms,p95_ms,p99_ms,cpu_pct), a fitted model directory or a registry reference DIR@champion (as simulate --profile)")
	f.prom.register(cmd)
	f.reg.register(cmd)
	return cmd
}

// minReliableValidation is the validation length below which train warns that model
// selection is noise-driven (one violated interval moves the score by more than the agents
// differ).
const minReliableValidation = 1000

func runTrainRL(cmd *cobra.Command, f *rlTrainFlags) error {
	if f.trace == "" && f.prom.address == "" {
		return fmt.Errorf("train rl: --trace (or --prometheus) is required")
	}
	if f.out == "" && f.reg.dir == "" {
		return fmt.Errorf("train rl: --out or --registry is required (where to write the agent)")
	}
	if f.steps < 1 {
		return fmt.Errorf("--steps must be at least 1, got %d", f.steps)
	}
	if f.rollout < 64 {
		return fmt.Errorf("--rollout must be at least 64, got %d", f.rollout)
	}
	if f.evalEvery < 1 {
		return fmt.Errorf("--eval-every must be at least 1, got %d", f.evalEvery)
	}
	metric, err := perf.ParseLatencyMetric(f.sloMetric)
	if err != nil {
		return err
	}
	split, err := series.ParseSplit(f.split)
	if err != nil {
		return fmt.Errorf("--split: %w", err)
	}
	params, err := policy.ParseParams(f.params)
	if err != nil {
		return fmt.Errorf("--param: %w", err)
	}
	cfg := sim.DefaultConfig()
	cfg.Interval, cfg.Startup = f.interval, f.startup
	cfg.SLO = policy.SLO{Metric: metric, TargetMS: float64(f.slo) / float64(time.Millisecond)}
	if cfg.Profile, err = loadProfile(f.profile); err != nil {
		return fmt.Errorf("--profile: %w", err)
	}
	// The test split is never read: a split without one (0.8,0.2,0) is fine.
	opts := sim.WorkloadOptions{Trace: f.trace, Normalize: f.normalize, ScaleToMean: f.scaleToMean,
		Split: split, Seed: f.seed, AllowEmptyEval: true}
	var w sim.Workload
	if f.prom.address != "" {
		s, err := f.prom.load(f.trace)
		if err != nil {
			return err
		}
		if opts.Normalize == "" {
			opts.Normalize = "none" // req/s as the controller reads them
		}
		if w, err = sim.WorkloadOf(s, opts); err != nil {
			return err
		}
	} else if w, err = sim.LoadWorkload(opts); err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	began := time.Now()
	env, err := rltrain.New(rltrain.Options{Workload: w, Config: cfg, Policy: f.pol, Params: params,
		Reward: f.reward, Segment: f.segment, Seed: f.seed})
	if err != nil {
		return fmt.Errorf("train rl: %w", err)
	}
	defer env.Close()
	res, err := env.Train(rltrain.TrainOptions{Steps: f.steps, Rollout: f.rollout, EvalEvery: f.evalEvery,
		Config: rl.Config{LR: f.lr}, Seed: uint64(f.seed), Progress: progressBar(cmd.ErrOrStderr(), "training PPO")})
	if err != nil {
		return fmt.Errorf("train rl: %w", err)
	}
	elapsed := time.Since(began)
	m := rl.Manifest{Seed: uint64(f.seed), Steps: res.Curve[len(res.Curve)-1].Steps,
		ValidationScore: res.BestVal.Score,
		Validation: map[string]float64{
			"best_at_steps":                float64(res.BestSteps),
			"slo_violation_rate":           res.BestVal.Summary.SLOViolationRate,
			"cost_pod_hours":               res.BestVal.Summary.CostPodHours,
			"corrected_intervals":          float64(res.BestVal.Corrected),
			"baseline_score":               res.Baseline.Score,
			"baseline_slo_violation_rate":  res.Baseline.Summary.SLOViolationRate,
			"baseline_cost_pod_hours":      res.Baseline.Summary.CostPodHours,
			"validation_intervals":         float64(res.BestVal.Summary.Intervals),
			"validation_requests_over_slo": res.BestVal.Summary.RequestsOverSLO,
			"baseline_requests_over_slo":   res.Baseline.Summary.RequestsOverSLO,
		},
		Meta: map[string]string{"policy": f.pol, "features": policy.RLFeatureSet, "reward": env.Reward().Name,
			"trace": w.Name, "slo": f.slo.String() + " " + f.sloMetric, "interval": f.interval.String(),
			"actions": fmt.Sprintf("%d: (a-%d) steps of max(1, round(estimate/20)) pods", policy.RLActions, policy.RLMaxStep)},
	}
	// The manifest describes the agent, not the run (no wall-clock time in it), so the
	// same training on the same data gives the same registry version.
	if f.out != "" {
		if err := rl.Save(f.out, res.Best, m); err != nil {
			return err
		}
		if err := writeCurve(f.out, res.Curve); err != nil {
			return err
		}
	}
	fmt.Fprintf(out, "trained %d steps in %s; best validation score %.4f at %d steps (uncorrected policy: %.4f)\n",
		m.Steps, elapsed.Round(time.Second), res.BestVal.Score, res.BestSteps, res.Baseline.Score)
	fmt.Fprintf(out, "validation split: SLO violations %.2f%% (uncorrected %.2f%%), cost %.1f pod-hours (uncorrected %.1f)\n",
		100*res.BestVal.Summary.SLOViolationRate, 100*res.Baseline.Summary.SLOViolationRate,
		res.BestVal.Summary.CostPodHours, res.Baseline.Summary.CostPodHours)
	if n := res.BestVal.Summary.Intervals; n < minReliableValidation {
		fmt.Fprintf(out, "warning: the validation split has only %d intervals; model selection on so few is unreliable (bench/rl.md: on the 96-interval Azure split the selected agents multiplied test violations)\n", n)
	}
	if res.BestVal.Score <= res.Baseline.Score {
		fmt.Fprintf(out, "warning: no snapshot scored above the uncorrected policy on the validation split; the agent is not expected to help on this trace\n")
	}
	if f.out != "" {
		fmt.Fprintf(out, "agent written to %s; use it with --rl-model %s\n", f.out, f.out)
	}
	return f.reg.publish(out, []string{rl.Kind}, func() (registry.Lineage, error) { return f.lineage(w, params, m) },
		func(d string) error { return rl.Save(d, res.Best, m) })
}

// lineage describes the agent's training for the registry: what it corrects and how it was
// trained (params), and the workload (seriesData over the training and validation splits).
func (f *rlTrainFlags) lineage(w sim.Workload, policyParams map[string]string, m rl.Manifest) (registry.Lineage, error) {
	raw := w.Rates
	if raw.Len() == 0 { // synthetic: generated in req/s
		raw = w.History
	}
	var norm *series.Normalizer
	if w.Normalizer.Kind != series.Identity().Kind {
		norm = &w.Normalizer
	}
	d, err := seriesData(f.trace, &f.prom, f.split, raw, w.History.Slice(0, w.Train), w.History.Slice(w.Train, w.Train+w.Val), norm)
	if err != nil {
		return registry.Lineage{}, err
	}
	p := map[string]string{"policy": f.pol, "reward": f.reward, "steps": strconv.Itoa(f.steps), "rollout": strconv.Itoa(f.rollout),
		"segment": strconv.Itoa(f.segment), "eval-every": strconv.Itoa(f.evalEvery), "lr": strconv.FormatFloat(f.lr, 'g', -1, 64),
		"profile": f.profile,
		"slo":     f.slo.String() + " " + f.sloMetric, "interval": f.interval.String(), "startup": f.startup.String(),
		"features": policy.RLFeatureSet}
	for k, v := range policyParams {
		p["param."+k] = v
	}
	// The agent's manifest keeps its scores under its own names; the lineage lists them
	// as every version's validation_scores.
	val := map[string]float64{"validation_score": m.ValidationScore}
	for k, v := range m.Validation {
		val[k] = v
	}
	return registry.Lineage{Kind: rl.Kind, Params: p, Data: d, Validation: val, Seed: f.seed, CodeVersion: registry.CodeVersion(version),
		CreatedBy: "bascaler train rl " + dataSource(f.trace, &f.prom)}, nil
}

// writeCurve writes curve.csv and curve.svg (reward per step and validation score against
// training steps).
func writeCurve(dir string, curve []rltrain.CurvePoint) error {
	fh, err := os.Create(filepath.Join(dir, "curve.csv"))
	if err != nil {
		return err
	}
	if err := writeCurveCSV(fh, curve); err != nil {
		fh.Close()
		return err
	}
	if err := fh.Close(); err != nil {
		return err
	}
	p := plot.New()
	p.Title.Text = "PPO training"
	p.X.Label.Text = "environment steps"
	p.Y.Label.Text = "mean reward per step"
	var train, val plotter.XYs
	for _, c := range curve {
		train = append(train, plotter.XY{X: float64(c.Steps), Y: c.MeanReward})
		if !math.IsNaN(c.ValScore) {
			val = append(val, plotter.XY{X: float64(c.Steps), Y: c.ValScore})
		}
	}
	for i, s := range []struct {
		name string
		xy   plotter.XYs
		c    color.RGBA
	}{{"training rollouts", train, color.RGBA{31, 119, 180, 255}}, {"validation split", val, color.RGBA{214, 39, 40, 255}}} {
		if len(s.xy) == 0 {
			continue
		}
		l, pts, err := plotter.NewLinePoints(s.xy)
		if err != nil {
			return err
		}
		l.Color, pts.Color = s.c, s.c
		l.Width = vg.Points(1)
		if i == 1 {
			pts.Radius = vg.Points(2.5)
		} else {
			pts.Radius = vg.Points(1)
		}
		p.Add(l, pts)
		p.Legend.Add(s.name, l, pts)
	}
	p.Legend.Top = false
	return p.Save(16*vg.Centimeter, 10*vg.Centimeter, filepath.Join(dir, "curve.svg"))
}

func writeCurveCSV(w io.Writer, curve []rltrain.CurvePoint) error {
	cw := csv.NewWriter(w)
	_ = cw.Write([]string{"steps", "mean_reward", "validation_score", "policy_loss", "value_loss", "entropy", "approx_kl"})
	g := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	for _, c := range curve {
		_ = cw.Write([]string{strconv.Itoa(c.Steps), g(c.MeanReward), g(c.ValScore), g(c.PolicyLoss),
			g(c.ValueLoss), g(c.Entropy), g(c.ApproxKL)})
	}
	cw.Flush()
	return cw.Error()
}
