package sim

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/retrain"
	"github.com/bascaler/bascaler/internal/series"
)

// waveBascaler is the retrain tests' policy: bascaler with seasonal-naive on 2,000 points
// of the period-60 wave before t0 (at step, or the interval's for 0), its builder, and the
// policy built on that history.
func waveBascaler(t *testing.T, step time.Duration) (policy.Env, func(series.Series, forecast.Forecaster) (policy.Policy, error), policy.Policy) {
	t.Helper()
	env := causalityEnv(t, nil)
	hist := make([]float64, 2000)
	for i := range hist {
		hist[i] = wave(i - len(hist))
	}
	env.History.Values = hist
	if step > 0 {
		env.History.Step = step
	}
	env.Params = map[string]string{"forecaster": "seasonal-naive"}
	build := func(h series.Series, f forecast.Forecaster) (policy.Policy, error) {
		e := env
		e.History, e.Forecaster = h, f
		return policy.New("bascaler", e)
	}
	p, err := build(env.History, nil)
	if err != nil {
		t.Fatal(err)
	}
	return env, build, p
}

// retrainRun runs bascaler (holt-winters, seasonal period 60) with retraining every hour on
// 6 h training and 1 h evaluation windows.
func retrainRun(t *testing.T, rates []float64, leak int) (Result, []retrain.Event) {
	t.Helper()
	env, build, p := waveBascaler(t, 0)
	cfg := DefaultConfig()
	cfg.Initial = 5
	rt := Retrainer{Schedule: retrain.Schedule{Every: time.Hour, TrainWindow: 6 * time.Hour, EvalWindow: time.Hour},
		Build: build, Seed: 1, leak: leak}
	res, evs, err := RunRetrained(cfg, env.History, rates, t0, p, rt)
	if err != nil {
		t.Fatal(err)
	}
	return res, evs
}

// wave is a daily-like cycle (period 60) with a deterministic wobble, so forecast errors
// have spread for the burst detector's calibration.
func wave(i int) float64 {
	return 400 + 150*math.Sin(2*math.Pi*float64(i)/60) + 40*float64(((i%7)+7)%7) + 25*math.Sin(float64(i)*1.3)
}

func retrainWorkloads() (a, b []float64, k int) {
	n, k := 360, 180
	a = make([]float64, n)
	for i := range a {
		a[i] = wave(i)
	}
	b = append([]float64(nil), a...)
	for i := k; i < n; i++ {
		b[i] = 3 * a[i] // a level shift from interval k on
	}
	return a, b, k
}

// firstLeak returns the first retrain at or before interval k whose data, fitted model,
// replays or verdict differ between the two workloads (-1: none).
func firstLeak(ea, eb []retrain.Event, k int) int {
	for j := range ea {
		if ea[j].Interval > k {
			break
		}
		if j >= len(eb) || !reflect.DeepEqual(ea[j], eb[j]) {
			return ea[j].Interval
		}
	}
	return -1
}

// No retrain uses an interval before it completes: workloads that differ only from interval
// k on give identical retrains (training data, fitted model, replay scores, verdict) up to
// and including the one at k's start; the perturbation does change later ones.
func TestRetrainIsCausal(t *testing.T) {
	a, b, k := retrainWorkloads()
	ra, ea := retrainRun(t, a, 0)
	rb, eb := retrainRun(t, b, 0)
	if len(ea) != 5 || len(eb) != 5 {
		t.Fatalf("%d and %d retrains, want 5 (every 60 of 360 intervals)", len(ea), len(eb))
	}
	if at := firstLeak(ea, eb, k); at >= 0 {
		t.Fatalf("retrain at interval %d differs although the workloads differ only from %d on:\n%+v\n%+v", at, k, ea, eb)
	}
	for i := 0; i < k; i++ {
		if ra.Records[i].Decision.Replicas != rb.Records[i].Decision.Replicas {
			t.Fatalf("decision of interval %d differs before the perturbation", i)
		}
	}
	later := false
	for j := range ea {
		if ea[j].Interval > k && !reflect.DeepEqual(ea[j], eb[j]) {
			later = true
		}
		if ea[j].Skipped != "" {
			t.Fatalf("retrain %d skipped: %s", j, ea[j].Skipped)
		}
	}
	if !later {
		t.Fatal("the perturbation changed no later retrain: the check cannot see anything")
	}
}

// The same check catches retrains that read intervals before they complete: handed one
// interval too many (the interval being decided lands in the evaluation window) the check
// fails at k; handed 61 (the evaluation window reaches i+60 and the fit interval i) it
// fails one retrain earlier, and at k the training sets themselves differ.
func TestRetrainCausalityCheckCatchesALeak(t *testing.T) {
	a, b, k := retrainWorkloads()
	for _, c := range []struct {
		leak, want   int
		trainDiffers bool
	}{{1, k, false}, {61, k - 60, true}} {
		_, ea := retrainRun(t, a, c.leak)
		_, eb := retrainRun(t, b, c.leak)
		at := firstLeak(ea, eb, k)
		if at != c.want {
			t.Fatalf("leak %d: first difference at %d, want %d", c.leak, at, c.want)
		}
		j := k/60 - 1 // the retrain at k's start
		if differs := ea[j].TrainDigest != eb[j].TrainDigest; differs != c.trainDiffers {
			t.Fatalf("leak %d: training sets differ %v, want %v", c.leak, differs, c.trainDiffers)
		}
	}
}

// A challenger is promoted only under the rule: check each event's verdict.
func TestRetrainPromotesByTheRule(t *testing.T) {
	_, b, _ := retrainWorkloads()
	_, evs := retrainRun(t, b, 0)
	promoted := 0
	for _, e := range evs {
		if e.Promoted != retrain.Promote(e.Champion, e.Challenger, e.ChampionDrifting) {
			t.Fatalf("event %+v: verdict does not follow the rule", e)
		}
		if e.Promoted {
			promoted++
		}
		if !e.TrainTo.Equal(e.EvalTo.Add(-time.Hour)) || !e.EvalTo.Equal(e.At) {
			t.Fatalf("event %+v: windows must end at the retrain's time, eval the last hour", e)
		}
	}
	t.Logf("%d of %d challengers promoted", promoted, len(evs))
}

// stepSpy records the step of the series its Refit is handed.
type stepSpy struct {
	policy.Retrainable
	steps *[]time.Duration
}

func (s stepSpy) Refit(h series.Series, seed int64) (forecast.Forecaster, error) {
	*s.steps = append(*s.steps, h.Step)
	return s.Retrainable.Refit(h, seed)
}

// A history recorded at another step than the interval (an hourly trace replayed one point
// per interval) is refitted at that step, as the champion was fitted: the challenger counts
// its seasons in the trace's points. At the interval's own step nothing is relabelled.
func TestRetrainFitsAtTheHistorysStep(t *testing.T) {
	for _, step := range []time.Duration{time.Hour, time.Minute} {
		env, build, p := waveBascaler(t, step)
		var steps []time.Duration
		rates, _, _ := retrainWorkloads()
		rt := Retrainer{Schedule: retrain.Schedule{Every: time.Hour, TrainWindow: 6 * time.Hour, EvalWindow: time.Hour}, Build: build, Seed: 1}
		if _, _, err := RunRetrained(DefaultConfig(), env.History, rates, t0, stepSpy{p.(policy.Retrainable), &steps}, rt); err != nil {
			t.Fatal(err)
		}
		if len(steps) == 0 {
			t.Fatalf("history step %v: no refit", step)
		}
		for _, got := range steps {
			if got != step {
				t.Fatalf("history step %v, interval %v: the challenger was fitted on points at step %v", step, DefaultConfig().Interval, got)
			}
		}
	}
}
