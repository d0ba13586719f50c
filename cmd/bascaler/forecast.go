package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/schollz/progressbar/v3"
	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/sim"
)

func newForecastCmd() *cobra.Command {
	fc := &cobra.Command{
		Use:   "forecast",
		Short: "Train, evaluate and run workload forecasters",
	}
	fc.AddCommand(newForecastBacktestCmd(), newForecastTrainCmd(), newForecastPredictCmd())
	return fc
}

// fcTraceFlags are the data options shared by the forecast subcommands.
type fcTraceFlags struct {
	trace     string
	normalize string
	split     string
	seed      int64
	horizon   int
	prom      promSource // training from Prometheus instead of a trace (forecast train only)
}

func (t *fcTraceFlags) register(cmd *cobra.Command) {
	cmd.Flags().StringVar(&t.trace, "trace", "", "trace CSV path, or synthetic[:NAME] ("+strings.Join(series.SyntheticNames(), ", ")+")")
	cmd.Flags().StringVar(&t.normalize, "normalize", "", "none or paper (mean 500, std 175, fitted on train); default paper for files, none for synthetic")
	cmd.Flags().StringVar(&t.split, "split", "0.6,0.2,0.2", "chronological train,validation,test fractions")
	cmd.Flags().Int64Var(&t.seed, "seed", 1, "random seed (synthetic traces and model training)")
	cmd.Flags().IntVar(&t.horizon, "horizon", 24, "forecast horizon in steps")
}

// fcData is a trace loaded the way the simulator loads it (sim.LoadWorkload: counts per
// step turned into req/s, then normalised with parameters fitted on the training split), so
// a forecaster trained or scored here sees the same numbers as one inside a policy.
type fcData struct {
	name             string
	train, val, test series.Series
	norm             *series.Normalizer // nil for none (identity)
	raw              series.Series      // the history and evaluation in req/s, before normalisation
}

func (t *fcTraceFlags) load() (fcData, error) {
	var p fcData
	if t.trace == "" && t.prom.address == "" {
		return p, errors.New("--trace is required (a CSV path or synthetic[:NAME])")
	}
	if t.horizon < 1 {
		return p, fmt.Errorf("--horizon %d: want >= 1", t.horizon)
	}
	if t.normalize != "" && t.normalize != "none" && t.normalize != "paper" {
		return p, fmt.Errorf("--normalize %q: want none or paper", t.normalize)
	}
	fr, err := series.ParseSplit(t.split)
	if err != nil {
		return p, fmt.Errorf("--split: %w", err)
	}
	opts := sim.WorkloadOptions{Trace: t.trace, Normalize: t.normalize, Split: fr, Seed: t.seed, AllowEmptyEval: true}
	var w sim.Workload
	if t.prom.address != "" {
		// Rates read from Prometheus are req/s already; they are not normalised unless asked.
		s, err := t.prom.load(t.trace)
		if err != nil {
			return p, err
		}
		if opts.Normalize == "" {
			opts.Normalize = "none"
		}
		w, err = sim.WorkloadOf(s, opts)
		if err != nil {
			return p, err
		}
	} else if w, err = sim.LoadWorkload(opts); err != nil {
		return p, err
	}
	p.name = w.Name
	p.train, p.val, p.test = w.History.Slice(0, w.Train), w.History.Slice(w.Train, w.Train+w.Val), w.Eval
	if w.Normalizer.Kind != series.Identity().Kind {
		p.norm = &w.Normalizer
	}
	p.raw = w.Rates
	if p.raw.Len() == 0 { // synthetic: generated in req/s, history then evaluation
		p.raw = w.History
		p.raw.Values = append(append([]float64(nil), w.History.Values...), w.Eval.Values...)
	}
	return p, nil
}

// fcShowProgress reports whether a progress bar is wanted: stdout is a terminal and not CI.
func fcShowProgress(out io.Writer) bool {
	if os.Getenv("CI") == "true" {
		return false
	}
	f, ok := out.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

func fcBar(out io.Writer, total int, what string) *progressbar.ProgressBar {
	if !fcShowProgress(out) {
		return nil
	}
	return progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr),
		progressbar.OptionSetDescription(what), progressbar.OptionClearOnFinish(),
		progressbar.OptionShowCount())
}

// fcFloat encodes NaN and infinities as null: JSON has no such numbers.
type fcFloat float64

func (f fcFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return json.Marshal(v)
}

// backtestRow is one model's line of `forecast backtest` output.
type backtestRow struct {
	Model       string  `json:"model"`
	MAE         fcFloat `json:"mae"`
	RMSE        fcFloat `json:"rmse"`
	SMAPE       fcFloat `json:"smape"`
	MASE        fcFloat `json:"mase"`
	PinballMean fcFloat `json:"pinball_mean"`
	QRisk50     fcFloat `json:"qrisk_50"`
	QRisk90     fcFloat `json:"qrisk_90"`
	Coverage80  fcFloat `json:"coverage_80"`
	Coverage98  fcFloat `json:"coverage_98"`
	Width80     fcFloat `json:"width_80"`
	Width98     fcFloat `json:"width_98"`
	AsymMAE     fcFloat `json:"asym_mae"`
	ValScore    fcFloat `json:"val_pinball"`
	FitSeconds  fcFloat `json:"fit_seconds"`
	PredictMs   fcFloat `json:"predict_ms"`
	Selected    string  `json:"selected,omitempty"`
	Error       string  `json:"error,omitempty"`
}

func rowOf(r forecast.Scored) backtestRow {
	if r.Err != nil {
		nan := fcFloat(math.NaN())
		return backtestRow{Model: r.Kind, MAE: nan, RMSE: nan, SMAPE: nan, MASE: nan, PinballMean: nan, QRisk50: nan,
			QRisk90: nan, Coverage80: nan, Coverage98: nan, Width80: nan, Width98: nan, AsymMAE: nan, ValScore: nan,
			FitSeconds: nan, PredictMs: nan, Selected: r.Selected, Error: r.Err.Error()}
	}
	t := r.Test
	return backtestRow{Model: r.Kind, MAE: fcFloat(t.MAE), RMSE: fcFloat(t.RMSE), SMAPE: fcFloat(t.SMAPE),
		MASE: fcFloat(t.MASE), PinballMean: fcFloat(t.PinballMean), QRisk50: fcFloat(t.QRisk50),
		QRisk90: fcFloat(t.QRisk90), Coverage80: fcFloat(t.Coverage80), Coverage98: fcFloat(t.Coverage98),
		Width80: fcFloat(t.Width80), Width98: fcFloat(t.Width98), AsymMAE: fcFloat(t.AsymMAE),
		ValScore: fcFloat(r.ValScore), FitSeconds: fcFloat(r.FitSeconds), PredictMs: fcFloat(t.PredictMs),
		Selected: r.Selected}
}

// backtestReport is the JSON document `forecast backtest` prints.
type backtestReport struct {
	Trace   string `json:"trace"`
	Horizon int    `json:"horizon"`
	Origins int    `json:"origins"`
	// OnlineCalibration is the online rule the bands were served with (none, aci, pid).
	OnlineCalibration string        `json:"online_calibration"`
	Results           []backtestRow `json:"results"`
}

// fcParseModels expands --models into registered kinds (without auto, which is always added).
func fcParseModels(list string) ([]string, error) {
	var kinds []string
	if list == "all" {
		for _, k := range forecast.Kinds() {
			if k != "auto" {
				kinds = append(kinds, k)
			}
		}
		return kinds, nil
	}
	known := map[string]bool{}
	for _, k := range forecast.Kinds() {
		known[k] = true
	}
	for _, k := range strings.Split(list, ",") {
		k = strings.TrimSpace(k)
		if k == "" || k == "auto" {
			continue
		}
		if !known[k] {
			return nil, fmt.Errorf("--models: unknown model %q (valid: all, %s)", k, strings.Join(forecast.Kinds(), ", "))
		}
		kinds = append(kinds, k)
	}
	if len(kinds) == 0 {
		return nil, errors.New("--models: no model named")
	}
	return kinds, nil
}

func newForecastBacktestCmd() *cobra.Command {
	var tf fcTraceFlags
	var models, format, online string
	var maxOrigins, calOrigins int
	cmd := &cobra.Command{
		Use:   "backtest",
		Short: "Score forecasters on a trace by rolling origins over its test split",
		Long: `Fits every model on the training split, calibrates its intervals on the validation
split (split-conformal), and scores rolling-origin forecasts over the test split with the
bands as they would be served: --online-calibration adapts them as each test
interval completes (the model then forecasts at every test interval); default aci. A row
"auto" repeats the row of the model with the best validation pinball loss and names it in
"selected"; its fit_seconds is the time to fit all candidates.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("--format %q: want table or json", format)
			}
			kinds, err := fcParseModels(models)
			if err != nil {
				return err
			}
			method, err := forecast.ParseOnlineMethod(online)
			if err != nil {
				return fmt.Errorf("--online-calibration: %w", err)
			}
			p, err := tf.load()
			if err != nil {
				return err
			}
			rep, err := runBacktest(p, kinds, tf, maxOrigins, calOrigins, method, cmd.OutOrStdout())
			if err != nil {
				return err
			}
			return writeBacktest(cmd.OutOrStdout(), rep, format)
		},
	}
	tf.register(cmd)
	cmd.Flags().StringVar(&models, "models", "all", "comma-separated model kinds, or all ("+strings.Join(forecast.Kinds(), ", ")+")")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().IntVar(&maxOrigins, "max-origins", forecast.DefaultBacktestOrigins, "at most this many rolling origins over the test split")
	cmd.Flags().IntVar(&calOrigins, "cal-origins", forecast.DefaultCalibrationOrigins, "at most this many origins over the validation split for calibration and selection")
	cmd.Flags().StringVar(&online, "online-calibration", string(forecast.DefaultOnlineMethod), "adapt the bands over the test split as they would be served: aci, pid or none (split-conformal only)")
	return cmd
}

// runBacktest scores the kinds with forecast.Compare and shapes its rows for output; the
// bands are scored as served with the online calibration method.
func runBacktest(p fcData, kinds []string, tf fcTraceFlags, maxOrigins, calOrigins int, online forecast.OnlineMethod, out io.Writer) (backtestReport, error) {
	bar := fcBar(out, len(kinds), "backtest "+p.name)
	o := forecast.CompareOptions{
		Fit:        forecast.FitOptions{Horizon: tf.horizon, Seed: tf.seed},
		Backtest:   forecast.BacktestOptions{Horizon: tf.horizon, MaxOrigins: maxOrigins, Online: &forecast.OnlineOptions{Method: online}},
		CalOrigins: calOrigins,
	}
	if bar != nil {
		fitted := 0
		o.Each = func(kind string) {
			if fitted > 0 {
				_ = bar.Add(1)
			}
			fitted++
			bar.Describe("backtest " + p.name + ": " + kind)
		}
	}
	cmp, err := forecast.Compare(kinds, p.train, p.val, p.test, o)
	if bar != nil {
		_ = bar.Finish()
	}
	if err != nil {
		return backtestReport{}, fmt.Errorf("%s: %w", p.name, err)
	}
	rep := backtestReport{Trace: p.name, Horizon: tf.horizon, Origins: cmp.Origins, OnlineCalibration: string(online)}
	for _, r := range cmp.Models {
		rep.Results = append(rep.Results, rowOf(r))
	}
	rep.Results = append(rep.Results, rowOf(cmp.Auto))
	return rep, nil
}

func writeBacktest(w io.Writer, rep backtestReport, format string) error {
	if format == "json" {
		enc := json.NewEncoder(w)
		return enc.Encode(rep)
	}
	fmt.Fprintf(w, "trace %s, horizon %d, %d test origins\n", rep.Trace, rep.Horizon, rep.Origins)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "model\tMAE\tRMSE\tSMAPE%\tMASE\tpinball\tqrisk50\tqrisk90\tcov80\tcov98\twidth80\tasymMAE\tfit s\tpredict ms\tselected\t")
	f := func(v fcFloat) string {
		if math.IsNaN(float64(v)) {
			return "-"
		}
		return fmt.Sprintf("%.4g", float64(v))
	}
	for _, r := range rep.Results {
		if r.Error != "" {
			fmt.Fprintf(tw, "%s\terror: %s\t\n", r.Model, r.Error)
			continue
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%.3f\t%.3f\t%s\t%s\t%.2f\t%.3f\t%s\t\n", r.Model,
			f(r.MAE), f(r.RMSE), f(r.SMAPE), f(r.MASE), f(r.PinballMean), f(r.QRisk50), f(r.QRisk90),
			float64(r.Coverage80), float64(r.Coverage98), f(r.Width80), f(r.AsymMAE), float64(r.FitSeconds),
			float64(r.PredictMs), r.Selected)
	}
	return tw.Flush()
}

func newForecastTrainCmd() *cobra.Command {
	var tf fcTraceFlags
	var kind, outDir string
	var params map[string]string
	var reg registerFlags
	cmd := &cobra.Command{
		Use:   "train",
		Short: "Fit a forecaster on a trace's training split, calibrate it on validation, save it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if outDir == "" && reg.dir == "" {
				return errors.New("--out or --registry is required (where to write the model)")
			}
			p, err := tf.load()
			if err != nil {
				return err
			}
			base, err := forecast.New(kind, params)
			if err != nil {
				return err
			}
			opts := forecast.FitOptions{Horizon: tf.horizon, Seed: tf.seed}
			var bar *progressbar.ProgressBar
			if fcShowProgress(cmd.OutOrStdout()) {
				opts.Progress = func(done, total int) {
					if bar == nil {
						bar = fcBar(cmd.OutOrStdout(), total, "train "+kind)
					}
					_ = bar.Set(done)
				}
			}
			model, val, err := forecast.Train(base, p.train, p.val, opts)
			if err != nil {
				return err
			}
			if bar != nil {
				_ = bar.Finish()
			}
			meta := forecast.Manifest{Params: params, Levels: forecast.DefaultLevels, Horizon: tf.horizon,
				Training: forecast.WindowOf(p.train), Validation: map[string]float64{"pinball_mean": val},
				CreatedBy: "bascaler forecast train " + tf.source(), Normalizer: p.norm,
				// sim.LoadWorkload (and WorkloadOf) turn every trace into req/s before the split.
				RateUnit: forecast.UnitPerSecond}
			if a, ok := model.(*forecast.Auto); ok {
				meta.Params = nil
				meta.CreatedBy += " --model auto (selected " + a.Selected + ")"
			}
			if outDir != "" {
				if err := forecast.Save(outDir, model, meta); err != nil {
					return err
				}
				fmt.Fprintf(cmd.OutOrStdout(), "saved %s model to %s (validation pinball %.4g)\n", model.Kind(), outDir, val)
			}
			return reg.publish(cmd.OutOrStdout(), forecast.Kinds(), func() (registry.Lineage, error) { return tf.lineage(p, meta.CreatedBy) },
				func(d string) error { return forecast.Save(d, model, meta) })
		},
	}
	tf.register(cmd)
	tf.prom.register(cmd)
	cmd.Flags().StringVar(&kind, "model", "", "model kind ("+strings.Join(forecast.Kinds(), ", ")+")")
	cmd.Flags().StringVar(&outDir, "out", "", "directory to save the model in")
	reg.register(cmd)
	cmd.Flags().StringToStringVar(&params, "param", nil, "model parameter key=value (repeatable)")
	return cmd
}

// predictOutput is the JSON document `forecast predict` prints.
type predictOutput struct {
	Model   string      `json:"model"`
	Trace   string      `json:"trace"`
	Origin  time.Time   `json:"origin"` // start of the first forecast interval
	Step    string      `json:"step"`
	Levels  []float64   `json:"levels"`
	Q       [][]fcFloat `json:"q"`
	Units   string      `json:"units"`
	Horizon int         `json:"horizon"`
}

func newForecastPredictCmd() *cobra.Command {
	var trace, modelDir, format string
	var horizon int
	var seed int64
	cmd := &cobra.Command{
		Use:   "predict",
		Short: "Forecast the steps that follow a trace with a saved model",
		Long: `Loads a model saved by "forecast train", maps the whole trace with the model's saved
normaliser (if any) and forecasts the horizon steps after its last point. The trace is read
in req/s (counts per step divided by the step), as the simulator reads it; values are in the
units the model was trained in (normalised req/s when it was trained with --normalize paper).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("--format %q: want table or json", format)
			}
			if modelDir == "" || trace == "" {
				return errors.New("--model DIR and --trace are required")
			}
			if horizon < 1 {
				return fmt.Errorf("--horizon %d: want >= 1", horizon)
			}
			dir, _, err := registry.ResolveKind(modelDir, "--model", forecast.Kinds()...)
			if err != nil {
				return err
			}
			m, man, err := forecast.LoadModel(dir)
			if err != nil {
				return err
			}
			// The whole trace in req/s, as the simulator and the controller feed a model (for a
			// synthetic workload, its week of history and its day); the model's own normaliser
			// (saved with it) maps it to the units it was trained in.
			wl, err := sim.LoadWorkload(sim.WorkloadOptions{Trace: trace, Normalize: "none", Eval: "all", Seed: seed})
			if err != nil {
				return err
			}
			hist := forecast.Concat(wl.History, wl.Eval)
			units := "req/s"
			if man.Normalizer != nil {
				hist = man.Normalizer.Apply(hist)
				units = "normalised req/s (" + man.Normalizer.Kind + ")"
			}
			fc, err := m.Predict(hist, horizon)
			if err != nil {
				return err
			}
			out := predictOutput{Model: man.Kind, Trace: wl.Name, Origin: hist.Time(hist.Len()), Step: hist.Step.String(),
				Levels: fc.Levels, Units: units, Horizon: horizon}
			for _, row := range fc.Q {
				r := make([]fcFloat, len(row))
				for k, v := range row {
					r[k] = fcFloat(v)
				}
				out.Q = append(out.Q, r)
			}
			w := cmd.OutOrStdout()
			if format == "json" {
				return json.NewEncoder(w).Encode(out)
			}
			fmt.Fprintf(w, "model %s, trace %s, %s\n", out.Model, out.Trace, units)
			tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
			fmt.Fprint(tw, "step\ttime\t")
			for _, q := range fc.Levels {
				fmt.Fprintf(tw, "q%g\t", q)
			}
			fmt.Fprintln(tw)
			for s, row := range fc.Q {
				fmt.Fprintf(tw, "%d\t%s\t", s+1, hist.Time(hist.Len()+s).UTC().Format(time.RFC3339))
				for _, v := range row {
					fmt.Fprintf(tw, "%.4g\t", v)
				}
				fmt.Fprintln(tw)
			}
			return tw.Flush()
		},
	}
	cmd.Flags().StringVar(&trace, "trace", "", "trace CSV path, or synthetic[:NAME]: the history to forecast from")
	cmd.Flags().StringVar(&modelDir, "model", "", "model directory written by forecast train, or a registry reference DIR@champion, DIR@<digest prefix>")
	cmd.Flags().IntVar(&horizon, "horizon", 24, "forecast horizon in steps")
	cmd.Flags().StringVar(&format, "format", "table", "table or json")
	cmd.Flags().Int64Var(&seed, "seed", 1, "seed of a synthetic trace")
	return cmd
}
