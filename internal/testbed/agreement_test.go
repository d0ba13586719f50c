package testbed

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/measure"
)

func summary(policy string, repeat int, viol, podHours float64) Summary {
	return Summary{Policy: policy, Repeat: repeat, Summary: measure.Summary{Intervals: 20, SLOViolationRate: viol, CostPodHours: podHours}}
}

func TestAgreePairsRepeatsWithTheSimulator(t *testing.T) {
	results := []Summary{
		summary("hpa", 0, 0.10, 1.00), summary("bascaler", 0, 0.02, 1.20),
		summary("bascaler", 1, 0.04, 1.40), summary("hpa", 1, 0.20, 1.10),
	}
	sim := []measure.Aggregate{
		{Policy: "bascaler", Summary: measure.Summary{SLOViolationRate: 0.05, CostPodHours: 1.35}},
		{Policy: "hpa", Summary: measure.Summary{SLOViolationRate: 0.30, CostPodHours: 1.05}},
	}
	as, rk, err := Agree(results, sim)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 2 || as[0].Policy != "hpa" || as[1].Policy != "bascaler" {
		t.Fatalf("agreements %+v: want hpa then bascaler, in the testbed's order", as)
	}
	// hpa: testbed mean 15% over two repeats and 1.05 pod-hours; the simulator 30%, 1.05.
	h := as[0]
	if h.Testbed.Seeds != 2 || math.Abs(h.Testbed.SLOViolationRate-0.15) > 1e-12 || math.Abs(h.Testbed.CostPodHours-1.05) > 1e-12 {
		t.Errorf("hpa testbed aggregate %+v, want 2 repeats, 15%%, 1.05 pod-hours", h.Testbed)
	}
	if math.Abs(h.ViolationPoints-15) > 1e-9 || math.Abs(h.PodHoursRatio-1) > 1e-12 || h.Agrees {
		t.Errorf("hpa: %+.2f points, ratio %.3f, agrees %v; want +15 points, 1.000, false (violations 15 points apart)", h.ViolationPoints, h.PodHoursRatio, h.Agrees)
	}
	if h.TestbedViolationRange != [2]float64{0.10, 0.20} || h.TestbedPodHoursRange != [2]float64{1.00, 1.10} {
		t.Errorf("hpa spread %v %v", h.TestbedViolationRange, h.TestbedPodHoursRange)
	}
	// bascaler: testbed 3%, 1.30; simulator 5% (+2 points), 1.35 (ratio 1.038): agrees.
	b := as[1]
	if !b.Agrees || math.Abs(b.ViolationPoints-2) > 1e-9 || math.Abs(b.PodHoursRatio-1.35/1.30) > 1e-12 {
		t.Errorf("bascaler: %+.2f points, ratio %.4f, agrees %v; want +2, 1.0385, true", b.ViolationPoints, b.PodHoursRatio, b.Agrees)
	}
	if !rk.ByViolations.Same || rk.ByViolations.Testbed[0] != "bascaler" {
		t.Errorf("ranking by violations %+v: both backends put bascaler first", rk.ByViolations)
	}
	// By cost the testbed has hpa (1.05) before bascaler (1.30); so does the simulator.
	if !rk.ByCost.Same || rk.ByCost.Simulator[0] != "hpa" {
		t.Errorf("ranking by cost %+v", rk.ByCost)
	}
	sim[1].CostPodHours = 1.5 // now the simulator ranks hpa as the dearer one
	if _, rk, _ = Agree(results, sim); rk.ByCost.Same {
		t.Errorf("ranking by cost %+v: the simulator's order differs and Same must say so", rk.ByCost)
	}
	if _, _, err := Agree(append(results, summary("kpa", 0, 0, 1)), sim); err == nil || !strings.Contains(err.Error(), "kpa") {
		t.Errorf("a policy the simulator did not run: error %v, want one naming kpa", err)
	}
}

func TestWriteTrajectoriesAveragesRepeats(t *testing.T) {
	dir := t.TempDir()
	runs := []*PolicyRun{
		{Policy: "hpa", Records: []IntervalRecord{{Replicas: 1}, {Replicas: 3}}},
		{Policy: "hpa", Records: []IntervalRecord{{Replicas: 2}, {Replicas: 5}}},
	}
	if err := WriteTrajectories(dir, runs, map[string][]float64{"hpa": {1.25, 4}}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "agreement-replicas.csv"))
	if err != nil {
		t.Fatal(err)
	}
	want := "policy,interval,testbed_replicas,simulator_replicas\nhpa,0,1.500,1.250\nhpa,1,4.000,4.000\n"
	if string(b) != want {
		t.Errorf("got\n%s\nwant\n%s", b, want)
	}
}
