package controller

import "testing"

func TestHoldForUnschedulable(t *testing.T) {
	cases := []struct {
		name                            string
		current, desired, unschedulable int
		want                            int
		held                            bool
	}{
		{"nothing pending: the decision stands", 4, 6, 0, 6, false},
		{"more while pods wait: held at current", 5, 7, 1, 5, true},
		{"the placed pods plus one while two wait: held, pending kept", 6, 5, 2, 6, true},
		{"exactly the placed pods: pending kept", 6, 4, 2, 6, true},
		{"fewer than the placed pods: scales down", 6, 3, 2, 3, false},
		{"unchanged", 5, 5, 1, 5, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, held := holdForUnschedulable(tc.current, tc.desired, tc.unschedulable)
			if got != tc.want || held != tc.held {
				t.Errorf("holdForUnschedulable(%d, %d, %d) = %d, %v; want %d, %v", tc.current, tc.desired, tc.unschedulable, got, held, tc.want, tc.held)
			}
		})
	}
}
