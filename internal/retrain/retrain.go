// Package retrain holds the retraining schedule and the promotion rule that every backend
// uses: every Every of run time a challenger model is fitted on the most recent TrainWindow
// of completed intervals that precede the EvalWindow, both the challenger and the serving
// champion are replayed over the EvalWindow (the most recent completed intervals, which
// neither trained on), and the challenger serves only if it is better: fewer SLO-violating
// intervals, or as many and more than CostMargin fewer pod-hours, or a tie while the
// champion is drifting (Judge).
//
// The package knows nothing of models or of the simulator (the simulator's replay is
// sim.RunRetrained); it only does the arithmetic of windows and verdicts, so the controller
// can apply the same rule to a replay of its feature record.
package retrain

import (
	"fmt"
	"time"
)

// Defaults of the schedule's windows: two weeks to train on, the last day to judge on.
const (
	DefaultTrainWindow = 14 * 24 * time.Hour
	DefaultEvalWindow  = 24 * time.Hour
)

// Schedule says when to retrain and on which data.
type Schedule struct {
	// Every is the time between retrains (0: never on a schedule).
	Every time.Duration
	// OnDrift also retrains when the drift monitor finds the serving model drifting (package
	// drift), at most once per Cooldown.
	OnDrift bool
	// Cooldown is the least time between two retrains when OnDrift triggers one; 0 means
	// EvalWindow, so a drift-triggered challenger is never judged on the window the previous
	// one was judged on.
	Cooldown time.Duration
	// TrainWindow is how much completed history the challenger is fitted on (the part that
	// precedes EvalWindow); EvalWindow is the most recent stretch both models are replayed on.
	TrainWindow, EvalWindow time.Duration
}

// Validate checks the schedule against the control interval: every duration a positive
// multiple of it (a window of a fractional interval cannot be replayed).
func (s Schedule) Validate(interval time.Duration) error {
	if interval <= 0 {
		return fmt.Errorf("retrain: interval %v must be positive", interval)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
	}{{"retrain-every", s.Every}, {"retrain-window", s.TrainWindow}, {"eval-window", s.EvalWindow}, {"drift-cooldown", s.Cooldown}} {
		if (d.v == 0 && d.name == "retrain-every" && s.OnDrift) || (d.v == 0 && d.name == "drift-cooldown") {
			continue // drift alone triggers; the cooldown defaults to the evaluation window
		}
		if d.v <= 0 || d.v%interval != 0 {
			return fmt.Errorf("retrain: --%s %v must be a positive multiple of the interval %v", d.name, d.v, interval)
		}
	}
	return nil
}

// Due reports whether a retrain is due at the start of interval i of the run (i intervals
// completed): at every multiple of Every, never at the run's start.
func (s Schedule) Due(i int, interval time.Duration) bool {
	if s.Every <= 0 || i <= 0 {
		return false
	}
	return (time.Duration(i)*interval)%s.Every == 0
}

// Trigger says why a retrain happened.
type Trigger string

// The triggers.
const (
	TriggerSchedule Trigger = "schedule"
	TriggerDrift    Trigger = "drift"
	TriggerManual   Trigger = "manual"
)

// DueAt is Due with the drift trigger: at the start of interval i, with the newest
// completed interval found drifting or not, and the previous retrain at interval last
// (negative: none yet), it says whether to retrain and why. The schedule comes first.
func (s Schedule) DueAt(i int, interval time.Duration, drifting bool, last int) (bool, Trigger) {
	if s.Due(i, interval) {
		return true, TriggerSchedule
	}
	if !s.OnDrift || !drifting || i <= 0 {
		return false, ""
	}
	cool := s.Cooldown
	if cool <= 0 {
		cool = s.EvalWindow
	}
	if last >= 0 && time.Duration(i-last)*interval < cool {
		return false, ""
	}
	return true, TriggerDrift
}

// Windows returns the index ranges [trainFrom, trainTo) and [trainTo, completed) of a
// series holding completed intervals only (index completed-1 is the newest): the evaluation
// window is the newest EvalWindow intervals, the training window the TrainWindow before
// it (shorter if the series is). ok is false when fewer than minTrain points remain to
// train on.
func (s Schedule) Windows(completed int, interval time.Duration, minTrain int) (trainFrom, trainTo int, ok bool) {
	nEval := int(s.EvalWindow / interval)
	nTrain := int(s.TrainWindow / interval)
	trainTo = completed - nEval
	trainFrom = max(trainTo-nTrain, 0)
	return trainFrom, trainTo, trainTo-trainFrom >= max(minTrain, 1)
}

// Score is a model's replay over the evaluation window.
type Score struct {
	// Violations counts the SLO-violating intervals; PodHours the cost.
	Violations int     `json:"slo_violating_intervals"`
	PodHours   float64 `json:"pod_hours"`
}

// CostMargin is the least relative pod-hour saving that promotes a challenger with as many
// SLO-violating intervals as the champion. One evaluation window's pod-hours differ by
// replay noise alone: on the hourly Wikipedia trace the same champion and challenger,
// replayed over the same day with the run's three seeds, came out -0.17%, +0.01% and
// +0.21% apart (bench/mlops.md), and the challenger promoted on the -0.17% cost 0.3% more
// over the rest of the run. A saving under 1% is no evidence that the newer model is better.
const CostMargin = 0.01

// Promote is the promotion rule (Judge without the reason).
func Promote(champion, challenger Score, championDrifting bool) bool {
	ok, _ := Judge(champion, challenger, championDrifting)
	return ok
}

// Judge is the promotion rule with its reason: the challenger serves if it is better on
// the documented objective, SLO-violating intervals first and pod-hours second. With fewer
// violating intervals it serves, with more it does not; on a tie it serves if it saves
// more than CostMargin of the champion's pod-hours. A tie within the margin (what a short
// or quiet evaluation window gives) says nothing about which model is better, and then
// the drift monitor decides: a champion found drifting when the round began (its own
// forecasts have stopped fitting the workload) gives way to the newer model, which has seen
// the recent data; a champion that is not drifting keeps serving, since a model that has
// not shown it is better does not replace one that has served.
func Judge(champion, challenger Score, championDrifting bool) (promote bool, why string) {
	switch {
	case challenger.Violations < champion.Violations:
		return true, "fewer SLO-violating intervals"
	case challenger.Violations > champion.Violations:
		return false, "more SLO-violating intervals"
	case challenger.PodHours < champion.PodHours*(1-CostMargin):
		return true, fmt.Sprintf("as many SLO-violating intervals, pod-hours more than %.0f%% lower", 100*CostMargin)
	case championDrifting && challenger.PodHours <= champion.PodHours*(1+CostMargin):
		return true, fmt.Sprintf("a tie (pod-hours within %.0f%%) and the champion is drifting", 100*CostMargin)
	case championDrifting:
		return false, fmt.Sprintf("as many SLO-violating intervals, pod-hours more than %.0f%% higher", 100*CostMargin)
	default:
		return false, fmt.Sprintf("a tie (pod-hours not %.0f%% lower) and the champion is not drifting", 100*CostMargin)
	}
}

// Event is one retrain: when, on what, the two replays and the verdict.
type Event struct {
	// Interval is the run's interval index at whose start the retrain happened; At its time.
	Interval int       `json:"interval"`
	At       time.Time `json:"at"`
	// Trigger says why (schedule, drift, manual).
	Trigger Trigger `json:"trigger,omitempty"`
	// TrainFrom/TrainTo and EvalTo bound the data (half-open, by interval start time).
	TrainFrom time.Time `json:"train_from"`
	TrainTo   time.Time `json:"train_to"`
	EvalTo    time.Time `json:"eval_to"`
	// TrainDigest names the training set (registry.DigestSeries of its rates).
	TrainDigest string `json:"train_digest"`
	// ModelProbe fingerprints the fitted challenger (its forecast from the end of the
	// training window), so two retrains can be shown to have fitted the same model.
	ModelProbe string `json:"model_probe"`
	Champion   Score  `json:"champion"`
	Challenger Score  `json:"challenger"`
	Promoted   bool   `json:"promoted"`
	// ChampionDrifting says the drift monitor found the champion drifting when the round
	// began (Judge's third argument); Reason is Judge's reason for the verdict.
	ChampionDrifting bool   `json:"champion_drifting,omitempty"`
	Reason           string `json:"reason,omitempty"`
	// Skipped says why no challenger was judged ("" when one was).
	Skipped string `json:"skipped,omitempty"`
}
