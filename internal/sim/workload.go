package sim

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

// WorkloadOptions say how to turn a trace into the request rates of a run.
type WorkloadOptions struct {
	// Trace is a CSV path, or "synthetic" / "synthetic:NAME" for a generated workload.
	Trace string
	// Normalize is "paper" (BAScaler's preprocessing, fitted on the training split), "none"
	// (counts per trace step turned into req/s) or "" (paper for files, none for synthetic).
	Normalize string
	// ScaleToMean, when positive, scales the trace (in req/s) so the training split's mean
	// is this many req/s; it replaces Normalize.
	ScaleToMean float64
	// Split is the chronological train/validation/test split of a file trace.
	Split [3]float64
	// Eval is "test" (the default) or "all".
	Eval string
	// Seed picks the synthetic workload's random draws.
	Seed int64
	// AllowEmptyEval accepts a split without an evaluated window (training commands that
	// use only the history).
	AllowEmptyEval bool
}

// Workload is a prepared run input: request rates per control interval.
type Workload struct {
	Name string
	// History is what precedes the evaluated window (train and validation splits of a file
	// trace, or the previous week of a synthetic one): models may train on it.
	History series.Series
	// Eval is the window every policy is judged on.
	Eval series.Series
	// Normalizer is what was fitted on the training split and applied to everything.
	Normalizer series.Normalizer
	// Train and Val are the lengths of the training and validation parts of History.
	Train, Val int
	// Rates is the whole series in req/s before normalisation (file traces and series
	// given to WorkloadOf; empty for synthetic workloads, which are generated in req/s).
	Rates series.Series
}

// LoadWorkload reads and prepares a workload. File traces are split chronologically and
// normalised with parameters fitted on the training split only; synthetic workloads are
// evaluated whole, with a previous week generated from another seed as their history.
func LoadWorkload(o WorkloadOptions) (Workload, error) {
	if o.Eval == "" {
		o.Eval = "test"
	}
	if o.Eval != "test" && o.Eval != "all" {
		return Workload{}, fmt.Errorf("unknown --eval %q (valid: test, all)", o.Eval)
	}
	if o.Split == ([3]float64{}) {
		o.Split = [3]float64{0.6, 0.2, 0.2}
	}
	if o.Trace == "" || o.Trace == "synthetic" || strings.HasPrefix(o.Trace, "synthetic:") {
		return syntheticWorkload(o)
	}
	raw, err := series.Load(o.Trace)
	if err != nil {
		return Workload{}, err
	}
	return WorkloadOf(raw.PerSecond(), o)
}

// WorkloadOf prepares a workload from rates already in requests per second (a trace file's
// counts turned into rates, or a series read from a metrics server): split chronologically
// and normalised with parameters fitted on the training split only, as LoadWorkload does.
func WorkloadOf(rates series.Series, o WorkloadOptions) (Workload, error) {
	if o.Eval == "" {
		o.Eval = "test"
	}
	if o.Eval != "test" && o.Eval != "all" {
		return Workload{}, fmt.Errorf("unknown --eval %q (valid: test, all)", o.Eval)
	}
	if o.Split == ([3]float64{}) {
		o.Split = [3]float64{0.6, 0.2, 0.2}
	}
	if o.Trace == "" {
		o.Trace = rates.Name
	}
	train, val, _, err := series.Split(rates, o.Split)
	if err != nil {
		return Workload{}, fmt.Errorf("trace %s: %w", o.Trace, err)
	}
	norm := series.Identity()
	switch {
	case o.ScaleToMean > 0:
		norm, err = series.ScaleToMean(train.Values, o.ScaleToMean)
	case o.Normalize == "" || o.Normalize == "paper":
		norm, err = series.FitPaper(train.Values)
	case o.Normalize == "none":
	default:
		err = fmt.Errorf("unknown normalisation %q (valid: paper, none)", o.Normalize)
	}
	if err != nil {
		return Workload{}, fmt.Errorf("trace %s: %w", o.Trace, err)
	}
	all := norm.Apply(rates)
	nh := train.Len() + val.Len()
	w := Workload{Name: rates.Name, Normalizer: norm, Train: train.Len(), Val: val.Len(),
		History: all.Slice(0, nh), Eval: all.Slice(nh, all.Len()), Rates: rates}
	if o.Eval == "all" {
		w.History = all.Slice(0, 0)
		w.Eval = all
	}
	if w.Eval.Len() == 0 && !o.AllowEmptyEval {
		return Workload{}, fmt.Errorf("trace %s: the evaluated window is empty (split %v)", o.Trace, o.Split)
	}
	return w, nil
}

func syntheticWorkload(o WorkloadOptions) (Workload, error) {
	name := series.DefaultSyntheticName
	if i := strings.IndexByte(o.Trace, ':'); i >= 0 {
		name = o.Trace[i+1:]
	}
	eval, err := series.SyntheticByName(name, o.Seed)
	if err != nil {
		return Workload{}, err
	}
	hopts, err := series.PresetOptions(name)
	if err != nil {
		return Workload{}, err
	}
	const days = 7
	hopts.Points = eval.Len() * days
	hopts.Bursts *= days
	hopts.Start = eval.Start.Add(-eval.Step * time.Duration(hopts.Points))
	hopts.Seed = o.Seed + 1_000_003 // another draw of the same process
	hist, err := series.Synthetic(hopts)
	if err != nil {
		return Workload{}, err
	}
	norm := series.Identity()
	if o.ScaleToMean > 0 {
		if norm, err = series.ScaleToMean(hist.Values, o.ScaleToMean); err != nil {
			return Workload{}, err
		}
		hist, eval = norm.Apply(hist), norm.Apply(eval)
	} else if o.Normalize == "paper" {
		return Workload{}, fmt.Errorf("synthetic workloads are generated in req/s already; use --normalize none or --scale-to-mean")
	}
	eval.Name = "synthetic:" + name
	hist.Name = eval.Name
	ntrain := int(math.Round(float64(hist.Len()) * 0.75))
	return Workload{Name: eval.Name, History: hist, Eval: eval, Normalizer: norm, Train: ntrain, Val: hist.Len() - ntrain}, nil
}
