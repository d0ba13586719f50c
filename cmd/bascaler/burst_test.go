package main

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestBurstEvalPrintsOneJSONObjectWithARowPerDetector(t *testing.T) {
	t.Setenv("CI", "true")
	out, err := runCLI(t, "burst", "eval", "--workload", "spikes", "--seeds", "1", "--forecaster", "naive", "--format", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var rep struct {
		Series    int `json:"series"`
		Detectors []struct {
			Detector string   `json:"detector"`
			Labels   int      `json:"labels"`
			Recall   *float64 `json:"recall"`
			FA       *float64 `json:"false_alarms_per_1000"`
		} `json:"detectors"`
	}
	dec := json.NewDecoder(strings.NewReader(out))
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Errorf("more than one JSON value:\n%s", out)
	}
	if rep.Series != 1 || len(rep.Detectors) != 2 || rep.Detectors[0].Detector != "paper" || rep.Detectors[1].Detector != "cusum" {
		t.Fatalf("report %+v", rep)
	}
	for _, d := range rep.Detectors {
		if d.Labels == 0 || d.Recall == nil || d.FA == nil {
			t.Errorf("%s: labels %d, recall %v, false alarms %v", d.Detector, d.Labels, d.Recall, d.FA)
		}
	}
}

func TestBurstEvalRejectsBadFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--workload", "wikipedia"}, "--workload \"wikipedia\""},
		{[]string{"--format", "xml"}, "want table or json"},
		{[]string{"--seeds", "0"}, "--seeds must be >= 1"},
		{[]string{"--detectors", "paper,psychic", "--seeds", "1"}, "unknown burst detector \"psychic\""},
	} {
		out, err := runCLI(t, append([]string{"burst", "eval"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q\n%s", c.args, err, c.want, out)
		}
	}
}
