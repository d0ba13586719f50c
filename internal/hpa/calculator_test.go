package hpa

import "testing"

func TestReplicaCalculator(t *testing.T) {
	cases := []struct {
		name                         string
		cur, ready, unready, missing int
		cpu, targetPct               float64
		want                         int
		reason                       Reason
	}{
		{"within tolerance -> no change", 3, 3, 0, 0, 0.75, 70, 3, ReasonInTolerance},
		{"2 pods at 140% of target 70% -> 4", 2, 2, 0, 0, 1.40, 70, 4, ReasonAbove},
		{"5 pods at 28% of target 70% -> 2", 5, 5, 0, 0, 0.28, 70, 2, ReasonBelow},
		{"1 pod at 1000% -> 15 before rate limits", 1, 1, 0, 0, 10, 70, 15, ReasonAbove},
		{"utilisation truncated to whole percent: 75.9% counts as 75%", 2, 2, 0, 0, 0.759, 50, 3, ReasonAbove},
		{"starting pods count as 0% on scale-up", 4, 2, 2, 0, 2.10, 70, 6, ReasonAbove},
		{"starting pods at 0% flip the direction -> hold", 4, 2, 2, 0, 1.00, 70, 4, ReasonRebalance},
		{"starting pods at 0% bring the ratio within tolerance -> hold", 10, 5, 5, 0, 1.50, 70, 10, ReasonRebalance},
		{"starting pods ignored on scale-down: ceil(0.5 * 2 ready)", 4, 2, 2, 0, 0.35, 70, 1, ReasonBelow},
		{"missing pods count as 100% on scale-down -> hold", 4, 3, 0, 1, 0.40, 50, 4, ReasonInTolerance},
		{"missing pods count as 0% on scale-up", 4, 3, 0, 1, 1.40, 70, 6, ReasonAbove},
		{"missing pods count as the target when it exceeds 100%", 4, 3, 0, 1, 0.60, 150, 3, ReasonBelow},
		// Tolerances.isWithin compares the ratio with 1 +- tolerance: 77/70 = 1.1 is within.
		{"77% of a 70% target is within the tolerance", 4, 4, 0, 0, 0.77, 70, 4, ReasonInTolerance},
		{"78% of a 70% target is not", 4, 4, 0, 0, 0.78, 70, 5, ReasonAbove},
		{"63% of a 70% target is within the tolerance", 4, 4, 0, 0, 0.63, 70, 4, ReasonInTolerance},
		{"62% of a 70% target is not", 10, 10, 0, 0, 0.62, 70, 9, ReasonBelow},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, reason := Replicas(c.cur, c.ready, c.unready, c.missing, c.cpu, c.targetPct, 0.1)
			if got != c.want || reason != c.reason {
				t.Errorf("hpaReplicas = %d (%q), want %d (%q)", got, reason, c.want, c.reason)
			}
		})
	}
}

// TestWithin pins Tolerances.isWithin (replica_calculator.go): the ratio is compared with
// 1 - tolerance and 1 + tolerance, both ends included.
func TestWithin(t *testing.T) {
	cases := []struct {
		util, target int
		want         bool
	}{
		{77, 70, true}, {78, 70, false}, {63, 70, true}, {62, 70, false},
		{110, 100, true}, {111, 100, false}, {90, 100, true}, {89, 100, false}, {70, 70, true},
	}
	for _, c := range cases {
		if got := Within(float64(c.util)/float64(c.target), DefaultTolerance); got != c.want {
			t.Errorf("Within(%d/%d, 0.1) = %v, want %v", c.util, c.target, got, c.want)
		}
	}
}
