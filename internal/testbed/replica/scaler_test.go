package replica

import (
	"context"
	"testing"
	"time"
)

func TestScalerStartsAndStopsRealProcesses(t *testing.T) {
	// The start-up delay is long against starting three processes (slow under the race
	// detector on a busy machine), so all three are still starting when Scale returns.
	m := newManager(t, Options{StartupDelay: 5 * time.Second})
	s := NewScaler(m)
	ctx := context.Background()
	if err := s.Scale(ctx, -1); err == nil {
		t.Fatal("scale to -1 accepted")
	}
	before := time.Now()
	if err := s.Scale(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if a, r := s.Counts(); a != 3 || r != 0 {
		t.Fatalf("right after scaling to 3: allocated %d, ready %d; want 3 starting", a, r)
	}
	for _, r := range m.Replicas() {
		waitState(t, r, Ready, 30*time.Second)
	}
	if a, r := s.Counts(); a != 3 || r != 3 {
		t.Fatalf("after the start-up delay: allocated %d, ready %d; want 3 and 3", a, r)
	}
	// The measured start-up runs from the Scale call (the three were asked for at once and
	// started one after another) to readiness: at least the 5 s delay each.
	ups := m.StartupTimes(before)
	if len(ups) != 3 {
		t.Fatalf("start-up times %v, want the three replicas'", ups)
	}
	for i, r := range m.Replicas() {
		if r.Asked != m.Replicas()[0].Asked || r.Asked.Before(before) || r.Started.Before(r.Asked) {
			t.Errorf("replica %s asked at %v, started at %v: want all asked by the one Scale call before starting", r.Name, r.Asked, r.Started)
		}
		if ups[i] < 5*time.Second || ups[i] > 30*time.Second {
			t.Errorf("replica %s: start-up %s, want at least the 5 s delay", r.Name, ups[i])
		}
	}
	if later := m.StartupTimes(time.Now()); len(later) != 0 {
		t.Errorf("start-up times since now: %v, want none", later)
	}
	// Up by one, then down by two at once: the starting replica goes first, then the
	// newest ready one, so the two oldest keep serving.
	if err := s.Scale(ctx, 4); err != nil {
		t.Fatal(err)
	}
	all := m.Replicas()
	oldest := []*Replica{all[0], all[1]}
	if err := s.Scale(ctx, 2); err != nil {
		t.Fatal(err)
	}
	if a, r := s.Counts(); a != 2 || r != 2 {
		t.Fatalf("after scaling to 2: allocated %d, ready %d; want 2 ready", a, r)
	}
	for _, r := range oldest {
		if st := r.State(); st != Ready {
			t.Errorf("oldest replica %s is %s, want it kept ready", r.Name, st)
		}
	}
	if st := all[3].State(); st == Starting || st == Ready {
		t.Errorf("the replica still starting is %s, want it stopped first", st)
	}
}
