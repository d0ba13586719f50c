package burst

import (
	"math"
	"testing"

	"github.com/bascaler/bascaler/internal/series"
)

func statesFrom(flags string) []State {
	s := make([]State, len(flags))
	for i, c := range flags {
		s[i].Burst = c == '1'
	}
	return s
}

func TestEpisodesDateTheAlarmAtTheObservationThatRaisedIt(t *testing.T) {
	// states[t] governs t and was decided after t-1: "0011100110" has bursts governing
	// 2..4 and 7..8, raised after observing 1 and 6, ended after observing 4 and 8.
	got := Episodes(statesFrom("0011100110"))
	want := []Episode{{Alarm: 1, End: 4}, {Alarm: 6, End: 8}}
	if len(got) != len(want) || got[0] != want[0] || got[1] != want[1] {
		t.Errorf("episodes %v, want %v", got, want)
	}
	if got := Episodes(statesFrom("0001")); len(got) != 1 || got[0].End != 4 {
		t.Errorf("an open episode ends at the series end: %v", got)
	}
}

func TestScoreCountsDetectionsDelaysAndFalseAlarms(t *testing.T) {
	labels := []series.Burst{{Start: 10, End: 20}, {Start: 40, End: 41}, {Start: 70, End: 80}, {Start: 2, End: 5}}
	eps := []Episode{
		{Alarm: 12, End: 25}, // detects 10-20 with delay 2
		{Alarm: 30, End: 33}, // false alarm
		{Alarm: 40, End: 45}, // detects the one-interval spike with delay 0
		{Alarm: 65, End: 72}, // overlaps 70-80 but raised before it: not a detection
		{Alarm: 3, End: 4},   // outside the scored range
	}
	var s Score
	s.Add(eps, labels, 8, 100)
	if s.Labels != 3 || s.Detected != 2 || s.Episodes != 4 || s.Overlaps != 3 || s.Intervals != 100 {
		t.Fatalf("score %+v", s)
	}
	if s.Recall() != 2.0/3 || s.Precision() != 0.75 || s.FalseAlarmsPer1000() != 10 {
		t.Errorf("recall %g precision %g false alarms %g", s.Recall(), s.Precision(), s.FalseAlarmsPer1000())
	}
	if s.DelayQuantile(0.5) != 1 || s.DelayQuantile(0.9) != 1.8 {
		t.Errorf("delay median %g p90 %g, want 1 and 1.8", s.DelayQuantile(0.5), s.DelayQuantile(0.9))
	}
	var empty Score
	if !math.IsNaN(empty.Recall()) || !math.IsNaN(empty.Precision()) || !math.IsNaN(empty.DelayQuantile(0.5)) {
		t.Error("an empty score must report NaN, not a number it did not measure")
	}
}
