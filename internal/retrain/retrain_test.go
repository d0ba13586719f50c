package retrain

import (
	"strings"
	"testing"
	"time"
)

func TestPromoteViolationsFirstThenPodHours(t *testing.T) {
	cases := []struct {
		name         string
		champ, chall Score
		drifting     bool
		want         bool
	}{
		{"fewer violations, dearer", Score{3, 10}, Score{2, 20}, false, true},
		{"more violations, cheaper", Score{2, 20}, Score{3, 10}, false, false},
		{"more violations, champion drifting", Score{2, 20}, Score{3, 10}, true, false},
		{"tie, cheaper beyond the margin", Score{2, 20}, Score{2, 19.7}, false, true},
		{"tie, cheaper within the margin", Score{2, 20}, Score{2, 19.9}, false, false},
		{"tie, dearer", Score{2, 20}, Score{2, 20.1}, false, false},
		{"exact tie keeps the champion", Score{0, 5}, Score{0, 5}, false, false},
		{"exact tie, champion drifting", Score{0, 5}, Score{0, 5}, true, true},
		{"tie, dearer within the margin, champion drifting", Score{2, 20}, Score{2, 20.1}, true, true},
		{"tie, dearer beyond the margin, champion drifting", Score{2, 20}, Score{2, 20.5}, true, false},
		{"fewer violations, far dearer", Score{1, 5}, Score{0, 50}, false, true},
	}
	for _, c := range cases {
		got, why := Judge(c.champ, c.chall, c.drifting)
		if drifts := strings.Contains(why, "champion is drifting"); drifts != (got && c.drifting && c.chall.Violations == c.champ.Violations && c.chall.PodHours >= 0.99*c.champ.PodHours) {
			t.Errorf("%s: reason %q", c.name, why)
		}
		if c.drifting && strings.Contains(why, "not drifting") {
			t.Errorf("%s: reason %q for a drifting champion", c.name, why)
		}
		if got := Promote(c.champ, c.chall, c.drifting); got != c.want {
			t.Errorf("%s: Promote(%+v, %+v, drifting %v) = %v, want %v", c.name, c.champ, c.chall, c.drifting, got, c.want)
		}
	}
}

func TestScheduleDueAndWindows(t *testing.T) {
	s := Schedule{Every: 24 * time.Hour, TrainWindow: 14 * 24 * time.Hour, EvalWindow: 24 * time.Hour}
	if err := s.Validate(time.Hour); err != nil {
		t.Fatal(err)
	}
	var due []int
	for i := 0; i <= 72; i++ {
		if s.Due(i, time.Hour) {
			due = append(due, i)
		}
	}
	if len(due) != 3 || due[0] != 24 || due[2] != 72 {
		t.Fatalf("due at %v, want 24, 48, 72", due)
	}
	from, to, ok := s.Windows(1000, time.Hour, 10)
	if !ok || to != 976 || from != 976-336 {
		t.Fatalf("windows %d..%d (%v), want 640..976", from, to, ok)
	}
	from, to, ok = s.Windows(100, time.Hour, 10)
	if !ok || from != 0 || to != 76 {
		t.Fatalf("short series: %d..%d (%v)", from, to, ok)
	}
	if _, _, ok = s.Windows(30, time.Hour, 10); ok {
		t.Fatal("6 training points accepted with minTrain 10")
	}
	for _, bad := range []Schedule{{}, {Every: 90 * time.Minute, TrainWindow: time.Hour, EvalWindow: time.Hour}, {Every: time.Hour, TrainWindow: -time.Hour, EvalWindow: time.Hour}} {
		if err := bad.Validate(time.Hour); err == nil {
			t.Errorf("schedule %+v accepted", bad)
		}
	}
}

func TestDueAtDriftWithCooldown(t *testing.T) {
	s := Schedule{OnDrift: true, TrainWindow: 10 * time.Hour, EvalWindow: 2 * time.Hour}
	if err := s.Validate(time.Hour); err != nil {
		t.Fatalf("drift-only schedule rejected: %v", err)
	}
	cases := []struct {
		name     string
		i, last  int
		drifting bool
		want     bool
		trigger  Trigger
	}{
		{"not drifting", 5, -1, false, false, ""},
		{"drifting, no retrain yet", 5, -1, true, true, TriggerDrift},
		{"drifting within the cooldown (eval window)", 6, 5, true, false, ""},
		{"drifting after the cooldown", 7, 5, true, true, TriggerDrift},
		{"run start", 0, -1, true, false, ""},
	}
	for _, c := range cases {
		got, tr := s.DueAt(c.i, time.Hour, c.drifting, c.last)
		if got != c.want || tr != c.trigger {
			t.Errorf("%s: DueAt = %v %q, want %v %q", c.name, got, tr, c.want, c.trigger)
		}
	}
	s.Every = 24 * time.Hour
	if got, tr := s.DueAt(24, time.Hour, true, 23); !got || tr != TriggerSchedule {
		t.Errorf("the schedule comes first: %v %q", got, tr)
	}
	if err := (Schedule{TrainWindow: time.Hour, EvalWindow: time.Hour}).Validate(time.Hour); err == nil {
		t.Error("a schedule that never retrains was accepted")
	}
}
