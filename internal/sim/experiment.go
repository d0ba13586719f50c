package sim

import (
	"context"
	"fmt"
	"runtime"
	"sync"

	"github.com/bascaler/bascaler/internal/drift"
	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/measure"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/retrain"
	"github.com/bascaler/bascaler/internal/series"
)

// Experiment is a grid of runs: every workload under every policy for every seed, all on
// the same simulated cluster.
type Experiment struct {
	Workloads []Workload
	Policies  []string
	Seeds     []int64
	Config    Config
	// Params are handed to every policy (policy-specific options, "key" -> "value").
	Params map[string]string
	// Variants are further runs of registered policies with their own parameters (one
	// setting of a sweep each), reported under their labels after the plain Policies.
	Variants []Variant
	// Workers bounds the parallel runs; 0 means GOMAXPROCS.
	Workers int
	// Retrain, when set, retrains every policy that supports it (policy.Retrainable) on this
	// schedule (RunRetrained); other policies run as they are.
	Retrain *retrain.Schedule
	// Drift, when set, scores the forecasts of forecasting policies per interval
	// (Record.Drift) against each workload's History as the training inputs.
	Drift *drift.Options
	// Progress, when set, is called after each run (from the collecting goroutine).
	Progress func(done, total int)
}

// Variant is one setting of a policy: Policy built with Params on top of the experiment's
// parameters for it, reported as Label.
type Variant struct {
	Label  string
	Policy string
	// Params are the policy's own keys (no "policy." prefix), e.g. "target" -> "0.6".
	Params map[string]string
}

// variants lists every run specification: the plain policies, then the variants.
func (e Experiment) variants() []Variant {
	out := make([]Variant, 0, len(e.Policies)+len(e.Variants))
	for _, name := range e.Policies {
		out = append(out, Variant{Label: name, Policy: name})
	}
	return append(out, e.Variants...)
}

// RunOutcome is one cell of the grid. Policy is the variant's label (the policy's name for
// plain policies).
type RunOutcome struct {
	Workload string
	Policy   string
	Seed     int64
	Result   Result
	// Retrains lists the run's retrains (with Experiment.Retrain, for retrainable policies).
	Retrains []retrain.Event
}

// Run executes the grid in parallel and returns the outcomes in grid order (workload,
// policy, seed). The first failing run stops the experiment with its error.
func (e Experiment) Run(ctx context.Context) ([]RunOutcome, error) {
	if len(e.Seeds) == 0 {
		e.Seeds = []int64{1}
	}
	if _, err := e.Config.Validate(); err != nil {
		return nil, err
	}
	if len(e.Workloads) == 0 {
		return nil, fmt.Errorf("experiment without workloads")
	}
	specs := e.variants()
	// Build every policy once up front so that a bad name or parameter fails before any run.
	for _, v := range specs {
		if _, err := e.newPolicy(v, e.Workloads[0], e.Seeds[0]); err != nil {
			return nil, err
		}
	}
	type job struct {
		idx  int
		w    *Workload
		v    Variant
		seed int64
	}
	var jobs []job
	for wi := range e.Workloads {
		for _, v := range specs {
			for _, seed := range e.Seeds {
				jobs = append(jobs, job{len(jobs), &e.Workloads[wi], v, seed})
			}
		}
	}
	workers := e.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	out := make([]RunOutcome, len(jobs))
	type done struct {
		idx int
		err error
	}
	queue := make(chan job)
	results := make(chan done)
	var wg sync.WaitGroup
	for range min(workers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range queue {
				res, evs, err := e.runOne(j.w, j.v, j.seed)
				if err == nil {
					out[j.idx] = RunOutcome{Workload: j.w.Name, Policy: j.v.Label, Seed: j.seed, Result: res, Retrains: evs}
				}
				results <- done{j.idx, err}
			}
		}()
	}
	go func() {
		defer close(queue)
		for _, j := range jobs {
			select {
			case queue <- j:
			case <-ctx.Done():
				return
			}
		}
	}()
	go func() { wg.Wait(); close(results) }()
	var firstErr error
	n := 0
	for d := range results {
		n++
		if d.err != nil && firstErr == nil {
			firstErr = d.err
			cancel()
		}
		if e.Progress != nil {
			e.Progress(n, len(jobs))
		}
	}
	if firstErr != nil {
		return nil, firstErr
	}
	if err := ctx.Err(); err != nil && n < len(jobs) {
		return nil, err
	}
	return out, nil
}

func (e Experiment) newPolicy(v Variant, w Workload, seed int64) (policy.Policy, error) {
	return e.buildPolicy(v, w, seed, w.History, nil)
}

// buildPolicy builds a policy on history h, serving forecaster f when it is not nil.
func (e Experiment) buildPolicy(v Variant, w Workload, seed int64, h series.Series, f forecast.Forecaster) (policy.Policy, error) {
	name := v.Policy
	params := policy.ParamsFor(name, e.Params)
	for k, val := range v.Params {
		params[k] = val
	}
	env := policy.Env{
		Interval: e.Config.Interval, SLO: e.Config.SLO, Min: e.Config.Min, Max: e.Config.Max,
		Startup: e.Config.Startup + e.Config.StartupJitter, Profile: e.Config.Profile,
		History: h, Normalizer: w.Normalizer, Seed: seed, Params: params, Forecaster: f,
	}
	if policy.NeedsFuture(name) {
		env.Future = w.Eval.Values
	}
	p, err := policy.New(name, env)
	if err != nil {
		return nil, fmt.Errorf("policy %s on %s: %w", v.Label, w.Name, err)
	}
	return p, nil
}

func (e Experiment) runOne(w *Workload, v Variant, seed int64) (Result, []retrain.Event, error) {
	p, err := e.newPolicy(v, *w, seed)
	if err != nil {
		return Result{}, nil, err
	}
	cfg := e.Config
	cfg.Seed = seed
	if e.Drift != nil {
		cfg.Drift = &DriftConfig{Options: *e.Drift, History: w.History.Values}
	}
	var res Result
	var evs []retrain.Event
	if _, ok := p.(policy.Retrainable); ok && e.Retrain != nil {
		rt := Retrainer{Schedule: *e.Retrain, Seed: seed, Build: func(h series.Series, f forecast.Forecaster) (policy.Policy, error) {
			return e.buildPolicy(v, *w, seed, h, f)
		}}
		res, evs, err = RunRetrained(cfg, w.History, w.Eval.Values, w.Eval.Start, p, rt)
	} else {
		res, err = Run(cfg, w.Eval.Values, w.Eval.Start, p)
	}
	if err != nil {
		return Result{}, nil, fmt.Errorf("%s on %s (seed %d): %w", v.Label, w.Name, seed, err)
	}
	res.Policy = v.Label
	return res, evs, nil
}

// Aggregate is a policy's summary over seeds (package measure).
type Aggregate = measure.Aggregate

// Aggregates groups outcomes of one workload by policy (in first-seen order) and averages
// over seeds (measure.Combine).
func Aggregates(outs []RunOutcome, workload string) []Aggregate {
	var order []string
	groups := map[string][]Summary{}
	for _, o := range outs {
		if o.Workload != workload {
			continue
		}
		if _, ok := groups[o.Policy]; !ok {
			order = append(order, o.Policy)
		}
		groups[o.Policy] = append(groups[o.Policy], o.Result.Summary)
	}
	aggs := make([]Aggregate, 0, len(order))
	for _, name := range order {
		aggs = append(aggs, measure.Combine(name, groups[name]))
	}
	return aggs
}
