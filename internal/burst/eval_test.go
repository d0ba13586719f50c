package burst

import (
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/series"
)

func TestEvaluateScoresEveryLabelInTheTestPart(t *testing.T) {
	o := EvalOptions{Workloads: []string{"bursty-day"}, Seeds: []int64{3}, Forecaster: "naive"}
	res, err := Evaluate(o, nil)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := series.SyntheticByName("bursty-day", 3)
	n0 := int(0.4 * float64(s.Len()))
	labels := 0
	for _, b := range s.Bursts {
		if b.Start >= n0 {
			labels++
		}
	}
	if labels == 0 {
		t.Fatal("the test part has no labelled burst; pick another seed")
	}
	for i, name := range res.Options.Detectors {
		sc := res.Scores[i]
		if sc.Labels != labels || sc.Intervals != s.Len()-n0 {
			t.Errorf("%s: %d labels over %d intervals, want %d over %d", name, sc.Labels, sc.Intervals, labels, s.Len()-n0)
		}
		if sc.Detected > sc.Labels || sc.Overlaps > sc.Episodes || len(sc.Delays) != sc.Detected {
			t.Errorf("%s: inconsistent score %+v", name, sc)
		}
	}
	again, _ := Evaluate(o, nil)
	for i := range res.Scores {
		a, b := res.Scores[i], again.Scores[i]
		if a.Detected != b.Detected || a.Episodes != b.Episodes || a.Overlaps != b.Overlaps {
			t.Errorf("two runs differ: %+v vs %+v", a, b)
		}
	}
}

func TestEvaluateRejectsUnknownNames(t *testing.T) {
	for _, c := range []struct {
		o    EvalOptions
		want string
	}{
		{EvalOptions{Detectors: []string{"magic"}}, "unknown burst detector"},
		{EvalOptions{Workloads: []string{"nope"}, Seeds: []int64{1}}, "unknown synthetic workload"},
		{EvalOptions{Workloads: []string{"spikes"}, Seeds: []int64{1}, Forecaster: "crystal-ball"}, "unknown model kind"},
		{EvalOptions{TrainShare: 1.5}, "train share"},
	} {
		if _, err := Evaluate(c.o, nil); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.o, err, c.want)
		}
	}
}
