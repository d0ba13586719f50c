package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// runCompareCmd executes a fresh compare command and returns stdout.
func runCompareCmd(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newCompareCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

var compareArgs = []string{"--trace", "synthetic:flash-crowd", "--policy", "hpa,static,threshold,oracle", "--subject", "hpa",
	"--grid", "hpa.target=0.5,0.6,0.7", "--grid", "static.n=6,10,14", "--grid", "threshold.cpu-low=0.4,0.6"}

func TestCompareJSONHasFrontiersAndComparisons(t *testing.T) {
	out, err := runCompareCmd(t, append(compareArgs, "--format", "json")...)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Traces []struct {
			Trace  string `json:"trace"`
			Oracle *struct {
				Cost       float64 `json:"cost_pod_hours"`
				Violations float64 `json:"slo_violation_rate"`
			} `json:"oracle"`
			Policies []struct {
				Policy string `json:"policy"`
				Param  string `json:"param"`
				Points []struct {
					Value string   `json:"value"`
					Cost  *float64 `json:"cost_pod_hours"`
				} `json:"points"`
				Frontier struct {
					Vertices []struct {
						Label string  `json:"label"`
						Cost  float64 `json:"cost_pod_hours"`
					} `json:"vertices"`
				} `json:"frontier"`
			} `json:"policies"`
			Comparisons []struct {
				Baseline string `json:"baseline"`
				AtCost   struct {
					Overlap string   `json:"overlap"`
					Ratio   *float64 `json:"ratio"`
				} `json:"violations_at_matched_cost"`
				AtViol struct {
					Overlap string `json:"overlap"`
				} `json:"cost_at_matched_violations"`
			} `json:"comparisons"`
		} `json:"traces"`
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(doc.Traces) != 1 || doc.Traces[0].Oracle == nil {
		t.Fatalf("want one trace with the oracle's point: %s", out)
	}
	tr := doc.Traces[0]
	want := map[string]int{"hpa": 3, "static": 3, "threshold": 2}
	for _, p := range tr.Policies {
		if len(p.Points) != want[p.Policy] || len(p.Frontier.Vertices) == 0 || p.Points[0].Cost == nil {
			t.Errorf("%s: %d points, %d vertices; want %d points", p.Policy, len(p.Points), len(p.Frontier.Vertices), want[p.Policy])
		}
		delete(want, p.Policy)
	}
	if len(want) != 0 {
		t.Errorf("policies missing: %v", want)
	}
	var baselines []string
	for _, c := range tr.Comparisons {
		baselines = append(baselines, c.Baseline)
		for _, o := range []string{c.AtCost.Overlap, c.AtViol.Overlap} {
			if o != "overlap" && o != "disjoint" {
				t.Errorf("%s: overlap %q", c.Baseline, o)
			}
		}
	}
	if strings.Join(baselines, ",") != "static,threshold,best baseline" {
		t.Errorf("baselines %v", baselines)
	}
}

func TestCompareTableCSVAndReport(t *testing.T) {
	dir := t.TempDir()
	out, err := runCompareCmd(t, append(compareArgs, "--format", "csv", "--out", dir)...)
	if err != nil {
		t.Fatal(err)
	}
	blocks := strings.Split(strings.TrimSpace(out), "\n\n")
	if len(blocks) != 2 || !strings.HasPrefix(blocks[0], "trace,policy,param,value,label") || !strings.HasPrefix(blocks[1], "trace,subject,baseline,axis") {
		t.Fatalf("want a points CSV and a comparisons CSV:\n%s", out)
	}
	// 8 settings + the oracle, 3 comparisons on 2 axes.
	if n := len(strings.Split(blocks[0], "\n")) - 1; n != 9 {
		t.Errorf("%d point rows, want 9", n)
	}
	if n := len(strings.Split(blocks[1], "\n")) - 1; n != 6 {
		t.Errorf("%d comparison rows, want 6", n)
	}
	for _, f := range []string{"index.html", "frontier_points.csv", "frontier_comparisons.csv", "synthetic_flash-crowd-frontiers.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v (%d bytes)", f, err, len(b))
		}
	}
	page, _ := os.ReadFile(filepath.Join(dir, "index.html"))
	svg, _ := os.ReadFile(filepath.Join(dir, "synthetic_flash-crowd-frontiers.svg"))
	if !strings.Contains(string(page), `<img src="synthetic_flash-crowd-frontiers.svg"`) || !strings.Contains(string(svg), "<svg") || !strings.Contains(string(svg), "oracle") {
		t.Error("the report should show the frontier SVG, with the oracle in its legend")
	}

	table, err := runCompareCmd(t, compareArgs...)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []string{"hpa against each baseline", "best baseline", "target=0.6", "n=10"} {
		if !strings.Contains(table, s) {
			t.Errorf("table lacks %q:\n%s", s, table)
		}
	}
}

func TestCompareRejectsBadGrids(t *testing.T) {
	cases := []struct {
		grid, want string
	}{
		{"hpa.target", "policy.param=v1"},
		{"kpa.target-utilization-percentage=70", "not among the swept"},
		{"hpa.tagret=0.6", "tagret"},
		{"static.n=two", "positive integer"},
	}
	for _, c := range cases {
		_, err := runCompareCmd(t, "--trace", "synthetic:flash-crowd", "--policy", "hpa,static", "--grid", c.grid)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--grid %s: err %v, want %q", c.grid, err, c.want)
		}
	}
}
