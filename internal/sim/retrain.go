package sim

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/drift"
	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/retrain"
	"github.com/bascaler/bascaler/internal/series"
)

// Retrainer retrains a policy's forecaster during a simulated run (package retrain's
// schedule and promotion rule). The champion and the challenger are each replayed over the
// evaluation window through this simulator (Run: the same driver, profile and SLO as the
// run), in a policy built by Build with that forecaster.
type Retrainer struct {
	Schedule retrain.Schedule
	// Build returns a fresh policy on history h that serves forecaster f (Env.Forecaster).
	Build func(h series.Series, f forecast.Forecaster) (policy.Policy, error)
	// Seed seeds the challengers' fits.
	Seed int64

	leak int // tests only: intervals past the completed ones handed to the fit (a leak)
}

// RunRetrained is Run with retraining: at the start of every interval the schedule marks
// due, before any decision for it, the challenger is fitted on completed intervals only
// (history, then the run's intervals before the current one), judged on the newest
// evaluation window, and swapped in when retrain.Judge says so. p must be
// policy.Retrainable. The events are returned in order.
func RunRetrained(cfg Config, history series.Series, rates []float64, start time.Time, p policy.Policy, rt Retrainer) (Result, []retrain.Event, error) {
	rp, ok := p.(policy.Retrainable)
	if !ok {
		return Result{}, nil, fmt.Errorf("policy %s cannot be retrained (only forecasting policies such as bascaler can)", p.Name())
	}
	if err := rt.Schedule.Validate(cfg.Interval); err != nil {
		return Result{}, nil, err
	}
	if rt.Build == nil {
		return Result{}, nil, fmt.Errorf("retrain: no policy builder")
	}
	// One point per interval, as the simulator replays a trace (whatever the trace's own
	// step): the history continues into the run's intervals.
	hist := history.Values
	origin := start.Add(-time.Duration(len(hist)) * cfg.Interval)
	// A challenger is fitted as the champion was: on a trace recorded at another step than
	// the interval (the hourly Wikipedia traces, one point per interval here), the champion
	// counted its seasons in the trace's points, so the challenger's training points carry
	// the trace's step too (a day is 24 points, not 1,440).
	judged := policy.Retrainable(rp)
	if history.Step > 0 && history.Step != cfg.Interval {
		judged = fitAt{rp, history.Step}
	}
	var events []retrain.Event
	var failure error
	last := -1 // interval of the previous retrain
	hook := func(i int, done []Record, mon *drift.Monitor) {
		if failure != nil {
			return
		}
		drifting := i > 0 && done[i-1].Drift != nil && done[i-1].Drift.Drifting
		due, why := rt.Schedule.DueAt(i, cfg.Interval, drifting, last)
		if !due {
			return
		}
		last = i
		// Completed intervals only: the history, then the run's intervals before i.
		vals := make([]float64, 0, len(hist)+len(done)+rt.leak)
		vals = append(vals, hist...)
		for k := range done {
			vals = append(vals, done[k].Interval.Rate)
		}
		for k := i; k < i+rt.leak && k < len(rates); k++ {
			vals = append(vals, rates[k])
		}
		s := series.Series{Name: "completed", Start: origin, Step: cfg.Interval, Values: vals}
		ev, chall, err := Evaluate(cfg, judged, rt.Schedule, s, rt.Build, rt.Seed+int64(i), drifting)
		ev.Interval, ev.At, ev.Trigger = i, start.Add(time.Duration(i)*cfg.Interval), why
		if err == nil && ev.Promoted {
			// The detector recalibrates on the newest completed stretch with the new model.
			from, to, _ := rt.Schedule.Windows(s.Len(), cfg.Interval, 0)
			recent := s.Slice(max(s.Len()-(to-from), 0), s.Len())
			if err = rp.Swap(chall, recent); err != nil {
				err = fmt.Errorf("swap in the challenger: %w", err)
			} else if mon != nil {
				mon.Reset(s.Values[from:to]) // the new model's training inputs
			}
		}
		if err != nil {
			failure = fmt.Errorf("retrain at interval %d: %w", i, err)
			return
		}
		events = append(events, ev)
	}
	res, err := run(cfg, rates, start, p, hook)
	if err == nil {
		err = failure
	}
	return res, events, err
}

// Evaluate is one retrain round on the completed series s (s's last point is the newest
// completed interval): the challenger is fitted by p.Refit on the schedule's training
// window, and the champion (p's serving forecaster) and the challenger are each replayed
// over the evaluation window by Run (cfg's cluster, profile, SLO and the driver), in a
// fresh policy built by build on the training window with that forecaster; the verdict is
// retrain.Judge's, told whether the champion was drifting when the round began. It swaps nothing: the caller puts the returned challenger in service
// when ev.Promoted. Every backend judges a challenger through this function (the simulator
// in RunRetrained, the controller on its feature record). A round that cannot judge (too
// little history, a failed fit) is an event with Skipped set and a nil challenger.
func Evaluate(cfg Config, p policy.Retrainable, sched retrain.Schedule, s series.Series, build func(h series.Series, f forecast.Forecaster) (policy.Policy, error), seed int64, drifting bool) (retrain.Event, forecast.Forecaster, error) {
	var ev retrain.Event
	champ := p.Forecaster()
	from, to, ok := sched.Windows(s.Len(), cfg.Interval, champ.MinHistory()+8)
	if !ok {
		ev.Skipped = fmt.Sprintf("only %d completed intervals: too few to train and evaluate", s.Len())
		return ev, nil, nil
	}
	train, eval := s.Slice(from, to), s.Slice(to, s.Len())
	ev.TrainFrom, ev.TrainTo, ev.EvalTo = train.Start, eval.Start, eval.Start.Add(time.Duration(eval.Len())*cfg.Interval)
	ev.TrainDigest = registry.DigestSeries(train.Start, train.Step, train.Values)
	chall, err := p.Refit(train, seed)
	if err != nil {
		ev.Skipped = fmt.Sprintf("challenger fit failed: %v", err)
		return ev, nil, nil
	}
	ev.ModelProbe = probe(chall, train)
	score := func(f forecast.Forecaster) (retrain.Score, error) {
		return replay(cfg, eval, func() (policy.Policy, error) { return build(train, f) })
	}
	if ev.Champion, err = score(champ); err != nil {
		return ev, nil, fmt.Errorf("replay champion: %w", err)
	}
	if ev.Challenger, err = score(chall); err != nil {
		return ev, nil, fmt.Errorf("replay challenger: %w", err)
	}
	ev.ChampionDrifting = drifting
	ev.Promoted, ev.Reason = retrain.Judge(ev.Champion, ev.Challenger, drifting)
	return ev, chall, nil
}

// EvaluateAgent judges a challenger PPO corrector trained elsewhere (a Job, on the training
// window sched cuts from s) against the serving one by the replay Evaluate uses: a fresh
// policy built on the training window replays the evaluation window (data the agent did not
// train on) in cfg's cluster, once with each corrector; build(h, challenger) builds it with
// the challenger's corrector or the champion's (none: uncorrected). The verdict is
// retrain.Judge's with a champion that is not drifting (drift scores the forecaster, not
// the agent). minHistory is the serving forecaster's (the windows are cut as for it).
func EvaluateAgent(cfg Config, sched retrain.Schedule, s series.Series, minHistory int, build func(h series.Series, challenger bool) (policy.Policy, error)) (retrain.Event, error) {
	var ev retrain.Event
	from, to, ok := sched.Windows(s.Len(), cfg.Interval, minHistory+8)
	if !ok {
		ev.Skipped = fmt.Sprintf("only %d completed intervals: too few to evaluate", s.Len())
		return ev, nil
	}
	train, eval := s.Slice(from, to), s.Slice(to, s.Len())
	ev.TrainFrom, ev.TrainTo, ev.EvalTo = train.Start, eval.Start, eval.Start.Add(time.Duration(eval.Len())*cfg.Interval)
	ev.TrainDigest = registry.DigestSeries(train.Start, train.Step, train.Values)
	var err error
	if ev.Champion, err = replay(cfg, eval, func() (policy.Policy, error) { return build(train, false) }); err != nil {
		return ev, fmt.Errorf("replay champion agent: %w", err)
	}
	if ev.Challenger, err = replay(cfg, eval, func() (policy.Policy, error) { return build(train, true) }); err != nil {
		return ev, fmt.Errorf("replay challenger agent: %w", err)
	}
	ev.Promoted, ev.Reason = retrain.Judge(ev.Champion, ev.Challenger, false)
	return ev, nil
}

// replay runs a freshly built policy over the evaluation window in cfg's cluster (no taps,
// warm state or drift scoring: a replay starts cold, as every candidate does) and scores it
// as retrain.Judge reads it: SLO-violating intervals, then pod-hours.
func replay(cfg Config, eval series.Series, build func() (policy.Policy, error)) (retrain.Score, error) {
	cfg.Tap, cfg.Warm, cfg.Initial, cfg.Drift = nil, nil, 0, nil
	pol, err := build()
	if err != nil {
		return retrain.Score{}, err
	}
	res, err := Run(cfg, eval.Values, eval.Start, pol)
	if err != nil {
		return retrain.Score{}, err
	}
	v := 0
	for k := range res.Records {
		if res.Records[k].Violated {
			v++
		}
	}
	return retrain.Score{Violations: v, PodHours: res.Summary.CostPodHours}, nil
}

// fitAt is a Retrainable whose Refit sees its training points at another step.
type fitAt struct {
	policy.Retrainable
	step time.Duration
}

func (f fitAt) Refit(h series.Series, seed int64) (forecast.Forecaster, error) {
	h.Step = f.step
	return f.Retrainable.Refit(h, seed)
}

// probe fingerprints a fitted forecaster by its forecast from the end of h.
func probe(f forecast.Forecaster, h series.Series) string {
	fc, err := f.Predict(h.Slice(max(h.Len()-window(f), 0), h.Len()), 3)
	sum := sha256.New()
	if err != nil {
		fmt.Fprintf(sum, "error %v", err)
	}
	var b [8]byte
	for _, q := range fc.Q {
		for _, v := range q {
			binary.BigEndian.PutUint64(b[:], math.Float64bits(v))
			sum.Write(b[:])
		}
	}
	return hex.EncodeToString(sum.Sum(nil))[:16]
}

func window(f forecast.Forecaster) int { return max(2*f.MinHistory(), 512) }
