package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestSimulateRetrainFlags(t *testing.T) {
	// A bad schedule is refused with the flag's name.
	_, err := run(t, "simulate", "--policy", "bascaler", "--retrain-every", "90s")
	if err == nil || !strings.Contains(err.Error(), "--retrain-every") {
		t.Fatalf("--retrain-every 90s at 60 s intervals: err %v", err)
	}
	// The synthetic day with hourly retrains on 6 h windows: every retrain is reported and
	// only retrainable policies retrain.
	out, err := run(t, "simulate", "--policy", "bascaler,hpa", "--retrain-every", "1h", "--retrain-window", "6h",
		"--eval-window", "1h", "--param", "bascaler.forecaster=holt-winters", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Intervals int `json:"intervals"`
		Retrains  []struct {
			Policy   string `json:"policy"`
			Retrains int    `json:"retrains"`
			Promoted int    `json:"promoted"`
			Events   []struct {
				Interval    int    `json:"interval"`
				TrainDigest string `json:"train_digest"`
				Promoted    bool   `json:"promoted"`
			} `json:"events"`
		} `json:"retrains"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("json: %v\n%s", err, out)
	}
	if len(rep.Retrains) != 1 || rep.Retrains[0].Policy != "bascaler" {
		t.Fatalf("retrains %+v, want one bascaler run", rep.Retrains)
	}
	r := rep.Retrains[0]
	if want := (rep.Intervals - 1) / 60; len(r.Events) != want || r.Retrains != want {
		t.Fatalf("%d events, %d retrains over %d intervals, want %d", len(r.Events), r.Retrains, rep.Intervals, want)
	}
	for k, e := range r.Events {
		if e.Interval != 60*(k+1) || len(e.TrainDigest) != 64 {
			t.Fatalf("event %d: %+v", k, e)
		}
	}
}
