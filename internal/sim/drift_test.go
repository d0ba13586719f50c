package sim

import (
	"reflect"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/drift"
	"github.com/bascaler/bascaler/internal/retrain"
)

// driftRun runs bascaler (seasonal-naive on the period-60 wave) with drift scores and, when
// sched is set, retraining on it.
func driftRun(t *testing.T, rates []float64, sched *retrain.Schedule) (Result, []retrain.Event) {
	t.Helper()
	env, build, p := waveBascaler(t, 0)
	hist := env.History.Values
	cfg := DefaultConfig()
	cfg.Initial = 5
	cfg.Drift = &DriftConfig{Options: drift.Options{Window: 30, PSIWindow: 120}, History: hist}
	if sched == nil {
		res, err := Run(cfg, rates, t0, p)
		if err != nil {
			t.Fatal(err)
		}
		return res, nil
	}
	res, evs, err := RunRetrained(cfg, env.History, rates, t0, p, Retrainer{Schedule: *sched, Build: build, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	return res, evs
}

// The simulator's drift scores are causal: workloads that differ from interval k on give
// identical scores before k and the same forecast issued for k.
func TestSimDriftScoresAreCausal(t *testing.T) {
	a, b, k := retrainWorkloads()
	ra, _ := driftRun(t, a, nil)
	rb, _ := driftRun(t, b, nil)
	for i := 0; i < k; i++ {
		da, db := ra.Records[i].Drift, rb.Records[i].Drift
		if da == nil || db == nil {
			t.Fatalf("interval %d has no drift scores", i)
		}
		if !reflect.DeepEqual(da.Reasons, db.Reasons) || da.Pinball != db.Pinball || da.P50 != db.P50 || da.Drifting != db.Drifting {
			t.Fatalf("interval %d (before k=%d): drift scores differ: %+v vs %+v", i, k, *da, *db)
		}
	}
	da, db := ra.Records[k].Drift, rb.Records[k].Drift
	if !da.Scored || da.P50 != db.P50 || da.Upper != db.Upper || da.Pinball == db.Pinball {
		t.Fatalf("interval k: the issued forecast must agree and the score differ: %+v vs %+v", *da, *db)
	}
	if ra.Records[k-1].Drift.Drifting {
		t.Fatalf("the stationary wave drifts before the change: %+v", *ra.Records[k-1].Drift)
	}
	drifted := -1
	for i := k; i < len(rb.Records); i++ {
		if rb.Records[i].Drift.Drifting {
			drifted = i
			break
		}
	}
	if drifted < 0 {
		t.Fatal("a 3x level shift never drifts")
	}
	t.Logf("level shift at %d: drifting from %d (%v)", k, drifted, rb.Records[drifted].Drift.Reasons)
}

// Drift triggers a retrain (no schedule), judged by the same rule; none before the change.
func TestDriftTriggersRetrain(t *testing.T) {
	a, b, k := retrainWorkloads()
	sched := retrain.Schedule{OnDrift: true, TrainWindow: 2 * time.Hour, EvalWindow: 30 * time.Minute}
	_, ea := driftRun(t, a, &sched)
	if len(ea) != 0 {
		t.Fatalf("the stationary workload retrained: %+v", ea)
	}
	_, eb := driftRun(t, b, &sched)
	if len(eb) == 0 {
		t.Fatal("the level shift triggered no retrain")
	}
	for j, e := range eb {
		if e.Trigger != retrain.TriggerDrift || e.Interval <= k {
			t.Fatalf("retrain %d: %+v: want a drift trigger after %d", j, e, k)
		}
		if j > 0 && e.Interval-eb[j-1].Interval < 30 {
			t.Fatalf("retrains at %d and %d: closer than the cooldown (the 30-interval evaluation window)", eb[j-1].Interval, e.Interval)
		}
		if !e.ChampionDrifting {
			t.Fatalf("drift-triggered retrain %d: %+v: the champion is not marked drifting", j, e)
		}
		if e.Promoted != retrain.Promote(e.Champion, e.Challenger, e.ChampionDrifting) {
			t.Fatalf("event %+v: verdict does not follow the rule", e)
		}
	}
	t.Logf("%d drift-triggered retrains, first at %d: %+v", len(eb), eb[0].Interval, eb[0])
}
