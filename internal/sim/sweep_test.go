package sim

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/frontier"
	"github.com/bascaler/bascaler/internal/series"
)

func TestFrontierGridParse(t *testing.T) {
	cases := []struct {
		in      string
		want    Grid
		wantErr string
	}{
		{"hpa.target=0.5,0.55, 0.6", Grid{"hpa", "target", []string{"0.5", "0.55", "0.6"}}, ""},
		{"static.n=3,5", Grid{"static", "n", []string{"3", "5"}}, ""},
		{"hpa=0.5", Grid{}, "policy.param"},
		{"hpa.target=", Grid{}, "no values"},
		{"static.n=0", Grid{}, "positive integer"},
		{"static.count=3", Grid{}, "knob is n"},
	}
	for _, c := range cases {
		g, err := ParseGrid(c.in)
		if c.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), c.wantErr) {
				t.Errorf("ParseGrid(%q) err %v, want %q", c.in, err, c.wantErr)
			}
			continue
		}
		if err != nil || g.Policy != c.want.Policy || g.Param != c.want.Param || strings.Join(g.Values, "|") != strings.Join(c.want.Values, "|") {
			t.Errorf("ParseGrid(%q) = %+v, %v; want %+v", c.in, g, err, c.want)
		}
	}
}

// sweepWorkload is a short diurnal-like workload with one step up, small enough for a
// unit test.
func sweepWorkload() Workload {
	v := make([]float64, 240)
	for i := range v {
		v[i] = 300
		if i >= 120 && i < 180 {
			v[i] = 700
		}
	}
	return Workload{Name: "step", Eval: series.Series{Name: "step", Start: t0, Step: time.Minute, Values: v}}
}

func TestSweepComputesFrontiersAndComparisons(t *testing.T) {
	s := Sweep{
		Experiment: Experiment{Workloads: []Workload{sweepWorkload()}, Policies: []string{"hpa", "static", "threshold", "oracle"}, Config: DefaultConfig()},
		Grids:      []Grid{{Policy: "hpa", Param: "target", Values: []string{"0.5", "0.7"}}, {Policy: "static", Param: "n", Values: []string{"4", "9", "12"}}},
		Subject:    "hpa",
	}
	res, err := s.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	r := res[0]
	if r.Oracle == nil || r.Oracle.Violations != 0 {
		t.Fatalf("oracle point %+v, want one with no violations", r.Oracle)
	}
	got := map[string]PolicyFrontier{}
	for _, pf := range r.Policies {
		got[pf.Policy] = pf
	}
	if len(got["hpa"].Points) != 2 || got["hpa"].Points[0].Value != "0.5" || got["hpa"].Points[0].Policy != "hpa target=0.5" {
		t.Errorf("hpa points %+v", got["hpa"].Points)
	}
	if len(got["static"].Points) != 3 || got["static"].Points[2].Policy != "static:12" {
		t.Errorf("static points %+v", got["static"].Points)
	}
	// threshold has a default grid of five settings.
	if len(got["threshold"].Points) != 5 {
		t.Errorf("threshold: %d points, want the default grid's 5", len(got["threshold"].Points))
	}
	// A lower target costs more.
	if a, b := got["hpa"].Points[0].CostPodHours, got["hpa"].Points[1].CostPodHours; !(a > b) {
		t.Errorf("hpa target 0.5 costs %g, target 0.7 %g: want the lower target dearer", a, b)
	}
	// Each frontier is the envelope of its own points.
	for _, pf := range r.Policies {
		var pts []frontier.Point
		for _, p := range pf.Points {
			pts = append(pts, frontier.Point{Cost: p.CostPodHours, Violations: p.SLOViolationRate})
		}
		want, _ := frontier.Envelope(pts)
		if len(want.Vertices) != len(pf.Frontier.Vertices) {
			t.Errorf("%s frontier %v, want %v", pf.Policy, pf.Frontier.Vertices, want.Vertices)
		}
	}
	var names []string
	for _, c := range r.Comparisons {
		names = append(names, c.Baseline)
		if c.Subject != "hpa" {
			t.Errorf("subject %q", c.Subject)
		}
	}
	if strings.Join(names, ",") != "static,threshold,"+BestBaseline {
		t.Errorf("comparisons against %v, want static, threshold and the best baseline", names)
	}
}

func TestFrontierSweepRejectsAGridForAnUnsweptPolicy(t *testing.T) {
	s := Sweep{Experiment: Experiment{Workloads: []Workload{sweepWorkload()}, Policies: []string{"hpa"}, Config: DefaultConfig()},
		Grids: []Grid{{Policy: "kpa", Param: "target-utilization-percentage", Values: []string{"70"}}}}
	if _, err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "kpa") {
		t.Fatalf("err %v, want one naming kpa", err)
	}
	s.Grids = []Grid{{Policy: "hpa", Param: "tagret", Values: []string{"0.6"}}}
	if _, err := s.Run(context.Background()); err == nil || !strings.Contains(err.Error(), "tagret") {
		t.Fatalf("err %v, want the bad parameter named", err)
	}
}

func TestFrontierStaticDefaultGridFollowsTheRates(t *testing.T) {
	s := Sweep{Experiment: Experiment{Config: DefaultConfig()}}
	// 300 req/s at 80.4 req/s per pod: 4 pods; 700: 9 pods.
	if g := strings.Join(s.staticGrid(sweepWorkload()), ","); g != "4,9" {
		t.Errorf("static grid %s, want 4,9", g)
	}
}
