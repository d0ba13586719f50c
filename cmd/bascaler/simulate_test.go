package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/testenv"
)

// run executes a fresh command tree in-process (every flag at its default) and returns
// stdout; stderr is discarded.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

type simJSON struct {
	Trace     string `json:"trace"`
	Intervals int    `json:"intervals"`
	Results   []struct {
		Policy                 string   `json:"policy"`
		SLOViolationRate       *float64 `json:"slo_violation_rate"`
		RequestsOverSLO        *float64 `json:"requests_over_slo"`
		FailedRequests         *float64 `json:"failed_requests"`
		CostPodHours           *float64 `json:"cost_pod_hours"`
		MeanReplicas           *float64 `json:"mean_replicas"`
		ScalingActions         *int     `json:"scaling_actions"`
		OverProvisionPodHours  *float64 `json:"over_provision_pod_hours"`
		UnderProvisionPodHours *float64 `json:"under_provision_pod_hours"`
	} `json:"results"`
}

func TestSimulateNASAJSONAndOracleFloor(t *testing.T) {
	trace := testenv.Trace(t, "nasa_http_1995-07_per_minute.csv")
	out, err := run(t, "simulate", "--trace", trace, "--policy", "hpa,kpa,threshold,oracle", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var got simJSON
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("output is not one JSON object: %v\n%s", err, out)
	}
	if got.Trace != "nasa_http_1995-07_per_minute" || got.Intervals != 7938 || len(got.Results) != 4 {
		t.Fatalf("trace %q intervals %d results %d; want the NASA test split (7938) and 4 policies", got.Trace, got.Intervals, len(got.Results))
	}
	var oracleCost float64
	for _, r := range got.Results {
		if r.SLOViolationRate == nil || r.RequestsOverSLO == nil || r.FailedRequests == nil || r.CostPodHours == nil ||
			r.MeanReplicas == nil || r.ScalingActions == nil || r.OverProvisionPodHours == nil || r.UnderProvisionPodHours == nil {
			t.Fatalf("%s: a required field is missing:\n%s", r.Policy, out)
		}
		if *r.SLOViolationRate < 0 || *r.SLOViolationRate > 1 || *r.RequestsOverSLO < 0 || *r.RequestsOverSLO > 1 {
			t.Errorf("%s: rates must be fractions in [0,1]", r.Policy)
		}
		if r.Policy == "oracle" {
			oracleCost = *r.CostPodHours
			if *r.SLOViolationRate != 0 || *r.FailedRequests != 0 {
				t.Errorf("oracle violated %.4f of intervals with %.1f failures, want none", *r.SLOViolationRate, *r.FailedRequests)
			}
		}
	}
	for _, r := range got.Results {
		if *r.SLOViolationRate == 0 && *r.CostPodHours < oracleCost {
			t.Errorf("%s meets the SLO at %.1f pod-hours, cheaper than the oracle's %.1f", r.Policy, *r.CostPodHours, oracleCost)
		}
	}
}

func TestEveryTraceRunsThroughEveryBaseline(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join(testenv.Traces(t), "*.csv"))
	if len(paths) < 9 {
		t.Fatalf("found %d shared traces, want 9", len(paths))
	}
	for _, p := range paths {
		out, err := run(t, "simulate", "--trace", p, "--policy", "hpa,kpa,threshold,static:5,oracle", "--format", "json")
		if err != nil {
			t.Fatalf("%s: %v", filepath.Base(p), err)
		}
		var got simJSON
		if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Results) != 5 {
			t.Fatalf("%s: bad output (%v):\n%s", filepath.Base(p), err, out)
		}
		for _, r := range got.Results {
			if r.Policy == "oracle" && *r.SLOViolationRate != 0 {
				t.Errorf("%s: oracle violated %.4f", filepath.Base(p), *r.SLOViolationRate)
			}
		}
	}
}

func TestBadInputGivesOneClearError(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.csv")
	os.WriteFile(empty, []byte("timestamp,value\n"), 0o644)
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("timestamp,value\n0,1\n60,x\n"), 0o644)
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"simulate", "--trace", bad}, "bad.csv:3"},
		{[]string{"simulate", "--trace", empty}, "empty.csv"},
		{[]string{"simulate", "--policy", "nope"}, `unknown policy "nope" (valid: `},
		{[]string{"simulate", "--slo", "0s"}, "--slo must be positive"},
		// The error names both flags with their values and the rule they break.
		{[]string{"simulate", "--min", "5", "--max", "2"}, "--min 5 and --max 2: need 0 <= min <= max"},
		{[]string{"simulate", "--min", "-1", "--max", "2"}, "--min -1 and --max 2: need 0 <= min <= max"},
		{[]string{"simulate", "--min", "0", "--max", "0"}, "--min 0 and --max 0: need 0 <= min <= max and max >= 1"},
		{[]string{"simulate", "--profile", "nope"}, "unknown profile"},
		{[]string{"simulate", "--slo-metric", "p42"}, "unknown SLO metric"},
		{[]string{"simulate", "--format", "xml"}, "unknown --format"},
		{[]string{"simulate", "--trace", "synthetic:nope"}, "unknown synthetic workload"},
	}
	for _, c := range cases {
		_, err := run(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error %v, want one line containing %q", c.args, err, c.want)
		}
	}
}

func TestDemoPrintsEveryPolicy(t *testing.T) {
	out, err := run(t, "demo")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{"hpa", "kpa", "threshold", "oracle", "bascaler", "static:8"} {
		if !strings.Contains(out, p) {
			t.Errorf("demo table lacks %s:\n%s", p, out)
		}
	}
}

func TestSimulateOutWritesPlotsCSVsAndIndex(t *testing.T) {
	dir := t.TempDir()
	if _, err := run(t, "simulate", "--trace", "synthetic:flash-crowd", "--policy", "hpa,oracle", "--out", dir); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"index.html", "synthetic_flash-crowd/hpa.csv", "synthetic_flash-crowd/oracle.csv",
		"synthetic_flash-crowd/replicas.svg", "synthetic_flash-crowd/latency.svg", "synthetic_flash-crowd/workload.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s missing or empty: %v", f, err)
		}
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "synthetic_flash-crowd/hpa.csv"))
	if lines := strings.Count(string(csv), "\n"); lines != 1441 {
		t.Errorf("hpa.csv has %d lines, want a header and 1440 intervals", lines)
	}
	page, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	for _, want := range []string{`<table class="sortable summary"`, `<svg class="scatter"`, `<svg class="zoom"`,
		`<svg class="panel" data-policy="hpa"`, `<svg class="panel" data-policy="oracle"`, `href="synthetic_flash-crowd/hpa.csv"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("index.html lacks %s", want)
		}
	}
}
