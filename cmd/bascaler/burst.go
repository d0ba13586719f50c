package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/burst"
	"github.com/bascaler/bascaler/internal/series"
)

func newBurstCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "burst",
		Short: "Burst detection: evaluate the detectors on labelled workloads",
		Long: `Burst detection: evaluate the detectors on labelled workloads.

A detector's calibration is not a trained model of its own, and there is no 'train burst':
it is a few statistics (cusum: the median and IQR of the conformally standardised one-step
errors; paper: the q-risk threshold) of the served forecaster's own errors, so it belongs to
that forecaster and to the recent workload. Every backend recomputes it, causally, when it
builds the policy (on the last 1,500 intervals of the history it holds, through the loaded
forecaster, a registry version or freshly fitted) and after a retrained forecaster is swapped
in. A registry version therefore fixes it given the history: the forecaster's manifest holds
its conformal band calibration, and the detector is calibrated on those bands.`,
	}
	cmd.AddCommand(burstEvalCmd())
	return cmd
}

func burstEvalCmd() *cobra.Command {
	var (
		workload, forecaster, detectors, format string
		seeds, horizon                          int
		peak                                    []float64
		seed                                    int64
		trainShare                              float64
	)
	cmd := &cobra.Command{
		Use:   "eval",
		Short: "Precision, recall, detection delay and false alarms of each burst detector on synthetic workloads with labelled bursts",
		Long: `eval generates synthetic workloads with labelled bursts, fits the forecaster and calibrates
each detector on the first part of every series (--train-share), runs the detectors causally
over the series and scores them on the rest.

A labelled burst counts as detected when a detector raises burst mode after observing one of
the burst's intervals; the delay is the number of burst intervals observed before that
(0 = right after the first one; the burst state then governs the second). An episode of burst
mode that overlaps no labelled burst is a false alarm. Precision is the share of episodes
that overlap a labelled burst.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if format != "table" && format != "json" {
				return fmt.Errorf("--format %q: want table or json", format)
			}
			if seeds < 1 {
				return fmt.Errorf("--seeds must be >= 1, got %d", seeds)
			}
			o := burst.EvalOptions{Forecaster: forecaster, Horizon: horizon, TrainShare: trainShare}
			if o.Workloads = splitList(workload); len(o.Workloads) == 1 && o.Workloads[0] == "synthetic" {
				o.Workloads = burst.DefaultEvalWorkloads
			}
			for _, w := range o.Workloads {
				if series.SyntheticDescription(w) == "" {
					return fmt.Errorf("--workload %q: want synthetic (all of %s) or a synthetic preset (%s)",
						w, strings.Join(burst.DefaultEvalWorkloads, ", "), strings.Join(series.SyntheticNames(), ", "))
				}
			}
			o.Detectors = splitList(detectors)
			switch len(peak) {
			case 0:
			case 2:
				o.Peak = [2]float64{peak[0], peak[1]}
			default:
				return fmt.Errorf("--peak wants two numbers low,high, got %v", peak)
			}
			for i := range seeds {
				o.Seeds = append(o.Seeds, seed+int64(i))
			}
			res, err := burst.Evaluate(o, progressBar(cmd.ErrOrStderr(), "burst eval"))
			if err != nil {
				return err
			}
			if format == "json" {
				return writeBurstJSON(cmd.OutOrStdout(), res)
			}
			return writeBurstTable(cmd.OutOrStdout(), res)
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&workload, "workload", "synthetic", "synthetic (all presets with labelled bursts) or comma-separated preset names")
	fl.IntVar(&seeds, "seeds", 5, "number of seeds per workload (seed, seed+1, ...)")
	fl.Int64Var(&seed, "seed", 1, "first seed")
	fl.StringVar(&forecaster, "forecaster", "arima", "forecast model kind the detectors judge against")
	fl.IntVar(&horizon, "horizon", 24, "steps per forecast (the paper's 24; the paper rule needs at least 3)")
	fl.Float64Var(&trainShare, "train-share", 0.4, "leading share of each series used to fit the forecaster and calibrate the detectors")
	fl.StringVar(&detectors, "detectors", strings.Join(burst.Names(), ","), "comma-separated detectors")
	fl.Float64SliceVar(&peak, "peak", nil, "low,high: replace the presets' burst peak multipliers (2-5x) with this range")
	fl.StringVar(&format, "format", "table", "table or json")
	return cmd
}

// burstRow is one detector's line of the report.
type burstRow struct {
	Detector           string   `json:"detector"`
	Labels             int      `json:"labels"`
	Detected           int      `json:"detected"`
	Recall             *float64 `json:"recall"`
	Precision          *float64 `json:"precision"`
	DelayMedian        *float64 `json:"delay_median"`
	DelayP90           *float64 `json:"delay_p90"`
	FalseAlarmsPer1000 *float64 `json:"false_alarms_per_1000"`
	Episodes           int      `json:"episodes"`
	FalseAlarms        int      `json:"false_alarms"`
	Intervals          int      `json:"intervals"`
}

// num maps NaN (nothing measured) to JSON null.
func num(v float64) *float64 {
	if math.IsNaN(v) {
		return nil
	}
	return &v
}

func burstRows(res burst.EvalResult) []burstRow {
	rows := make([]burstRow, len(res.Scores))
	for i, s := range res.Scores {
		rows[i] = burstRow{
			Detector: res.Options.Detectors[i], Labels: s.Labels, Detected: s.Detected,
			Recall: num(s.Recall()), Precision: num(s.Precision()),
			DelayMedian: num(s.DelayQuantile(0.5)), DelayP90: num(s.DelayQuantile(0.9)),
			FalseAlarmsPer1000: num(s.FalseAlarmsPer1000()), Episodes: s.Episodes,
			FalseAlarms: s.Episodes - s.Overlaps, Intervals: s.Intervals,
		}
	}
	return rows
}

func writeBurstJSON(w io.Writer, res burst.EvalResult) error {
	o := res.Options
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(struct {
		Workloads  []string    `json:"workloads"`
		Seeds      []int64     `json:"seeds"`
		Series     int         `json:"series"`
		Forecaster string      `json:"forecaster"`
		Horizon    int         `json:"horizon"`
		TrainShare float64     `json:"train_share"`
		Peak       *[2]float64 `json:"peak,omitempty"`
		Detectors  []burstRow  `json:"detectors"`
	}{o.Workloads, o.Seeds, res.Series, o.Forecaster, o.Horizon, o.TrainShare, peakOf(o), burstRows(res)})
}

func peakOf(o burst.EvalOptions) *[2]float64 {
	if o.Peak == [2]float64{} {
		return nil
	}
	return &o.Peak
}

func writeBurstTable(w io.Writer, res burst.EvalResult) error {
	o := res.Options
	peak := ""
	if o.Peak != [2]float64{} {
		peak = fmt.Sprintf(", burst peaks %g-%gx", o.Peak[0], o.Peak[1])
	}
	fmt.Fprintf(w, "%d series (%s; seeds %d..%d%s), forecaster %s, horizon %d, scored on the last %.0f%% of each\n\n",
		res.Series, strings.Join(o.Workloads, ", "), o.Seeds[0], o.Seeds[len(o.Seeds)-1], peak, o.Forecaster, o.Horizon, 100*(1-o.TrainShare))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "detector\tlabels\tdetected\trecall\tprecision\tdelay p50\tdelay p90\tfalse alarms/1000\tepisodes\t")
	f := func(p *float64, prec int) string {
		if p == nil {
			return "-"
		}
		return fmt.Sprintf("%.*f", prec, *p)
	}
	for _, r := range burstRows(res) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%d\t\n", r.Detector, r.Labels, r.Detected,
			f(r.Recall, 3), f(r.Precision, 3), f(r.DelayMedian, 1), f(r.DelayP90, 1), f(r.FalseAlarmsPer1000, 2), r.Episodes)
	}
	return tw.Flush()
}
