package sim

import (
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/retrain"
	"github.com/bascaler/bascaler/internal/series"
)

// shiftCorrector moves every estimate by a fixed number of pods (within the bounds).
type shiftCorrector int

func (c shiftCorrector) Correct(in policy.CorrectionInput) (int, []policy.KV) {
	return policy.Clamp(in.Estimate+int(c), in.Obs.Min, in.Obs.Max), nil
}

// EvaluateAgent replays the evaluation window once per corrector in a policy built on the
// training window only, and judges by retrain.Judge: an agent that adds pods costs more; one
// that removes them violates more and is rejected; a tie keeps the champion.
func TestEvaluateAgentJudgesByReplay(t *testing.T) {
	env, _, _ := waveBascaler(t, 0)
	n := 7 * 60
	s := series.Series{Name: "w", Start: t0, Step: time.Minute, Values: make([]float64, n)}
	for i := range s.Values {
		s.Values[i] = wave(i)
	}
	sched := retrain.Schedule{TrainWindow: 6 * time.Hour, EvalWindow: time.Hour}
	run := func(c policy.Corrector) retrain.Event {
		t.Helper()
		var seen []series.Series
		build := func(h series.Series, challenger bool) (policy.Policy, error) {
			seen = append(seen, h)
			e := env
			e.History = h
			if challenger {
				e.Corrector = c
			}
			return policy.New("bascaler", e)
		}
		ev, err := EvaluateAgent(DefaultConfig(), sched, s, 60, build)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Skipped != "" {
			t.Fatalf("skipped: %s", ev.Skipped)
		}
		// The policies are built on the training window, which ends where the evaluation
		// window (the last hour) starts: nothing they are replayed on.
		for _, h := range seen {
			if end := h.Time(h.Len()); !end.Equal(ev.TrainTo) || h.Len() != 360 {
				t.Fatalf("a replay policy was built on %d intervals ending %s, want the 360 training intervals ending %s", h.Len(), end, ev.TrainTo)
			}
		}
		if len(seen) != 2 || !ev.TrainTo.Equal(t0.Add(6*time.Hour)) || !ev.EvalTo.Equal(t0.Add(7*time.Hour)) {
			t.Fatalf("%d builds, windows %s..%s..%s", len(seen), ev.TrainFrom, ev.TrainTo, ev.EvalTo)
		}
		if ev.Promoted != retrain.Promote(ev.Champion, ev.Challenger, false) {
			t.Fatalf("verdict %+v does not follow the rule", ev)
		}
		return ev
	}
	up := run(shiftCorrector(3))
	if up.Challenger.PodHours <= up.Champion.PodHours || up.Challenger.Violations > up.Champion.Violations {
		t.Fatalf("an agent adding 3 pods: champion %+v, challenger %+v", up.Champion, up.Challenger)
	}
	down := run(shiftCorrector(-4))
	if down.Challenger.Violations <= down.Champion.Violations || down.Promoted {
		t.Fatalf("an agent removing 4 pods: champion %+v, challenger %+v, promoted %v", down.Champion, down.Challenger, down.Promoted)
	}
	same := run(shiftCorrector(0))
	// A tie keeps the champion (the agent has not shown it is better).
	if same.Challenger != same.Champion || same.Promoted {
		t.Fatalf("an agent that changes nothing: champion %+v, challenger %+v, promoted %v", same.Champion, same.Challenger, same.Promoted)
	}
	short, err := EvaluateAgent(DefaultConfig(), sched, s.Slice(0, 30), 60, func(series.Series, bool) (policy.Policy, error) {
		t.Fatal("built a policy for too short a history")
		return nil, nil
	})
	if err != nil || short.Skipped == "" {
		t.Fatalf("30 intervals: %+v, %v", short, err)
	}
}
