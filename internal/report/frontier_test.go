package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/frontier"
	"github.com/bascaler/bascaler/internal/sim"
)

func sweepFixture(t *testing.T) sim.SweepResult {
	t.Helper()
	mk := func(policy, param string, xs ...float64) sim.PolicyFrontier {
		pf := sim.PolicyFrontier{Policy: policy, Param: param}
		var pts []frontier.Point
		for i := 0; i+1 < len(xs); i += 2 {
			label := policy + " " + param + "=" + string(rune('a'+i/2))
			a := sim.Aggregate{Policy: label}
			a.CostPodHours, a.SLOViolationRate = xs[i], xs[i+1]
			pf.Points = append(pf.Points, sim.SweepPoint{Value: string(rune('a' + i/2)), Aggregate: a})
			pts = append(pts, frontier.Point{Label: label, Cost: xs[i], Violations: xs[i+1]})
		}
		f, err := frontier.Envelope(pts)
		if err != nil {
			t.Fatal(err)
		}
		pf.Frontier = f
		return pf
	}
	sub := mk("bascaler", "headroom", 100, 0.02, 120, 0.005)
	near := mk("hpa", "target", 110, 0.04, 130, 0.01)
	far := mk("kpa", "target-utilization-percentage", 200, 0.001, 220, 0)
	return sim.SweepResult{Workload: "w", Intervals: 10, Oracle: &frontier.Point{Label: "oracle", Cost: 90},
		Policies: []sim.PolicyFrontier{sub, near, far},
		Comparisons: []sim.PairComparison{
			{Subject: "bascaler", Baseline: "hpa", Comparison: frontier.Compare(sub.Frontier, near.Frontier)},
			{Subject: "bascaler", Baseline: "kpa", Comparison: frontier.Compare(sub.Frontier, far.Frontier)},
		}}
}

func TestFrontierTableMarksVerticesAndDisjointRanges(t *testing.T) {
	var b strings.Builder
	if err := FrontierTable(&b, sweepFixture(t)); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"oracle 90.0 pod-hours", "headroom=a", "*", "110.0–120.0", "ranges do not overlap", "yes"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestFrontierCSVsAndReport(t *testing.T) {
	r := sweepFixture(t)
	var pts, cmp strings.Builder
	if err := FrontierPointsCSV(&pts, []sim.SweepResult{r}); err != nil {
		t.Fatal(err)
	}
	if err := FrontierComparisonsCSV(&cmp, []sim.SweepResult{r}); err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(pts.String(), "\n"); n != 1+6+1 {
		t.Errorf("points CSV has %d lines, want header + 6 points + oracle:\n%s", n, pts.String())
	}
	if !strings.Contains(cmp.String(), "w,bascaler,kpa,violations_at_matched_cost,disjoint,,,,,,") ||
		!strings.Contains(cmp.String(), "w,bascaler,hpa,violations_at_matched_cost,overlap,110,120,") {
		t.Errorf("comparisons CSV:\n%s", cmp.String())
	}
	dir := t.TempDir()
	if err := WriteFrontierReport(dir, "t", []sim.SweepResult{r}, func(s string) string { return s }); err != nil {
		t.Fatal(err)
	}
	svg, err := os.ReadFile(filepath.Join(dir, "w-frontiers.svg"))
	if err != nil || !strings.Contains(string(svg), "<svg") {
		t.Fatalf("svg: %v", err)
	}
}
