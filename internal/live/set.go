package live

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"
)

// Set is the live targets a server answers for, found by name or NAMESPACE/WORKLOAD.
type Set struct {
	byKey map[string]*Target
	order []*Target
}

// NewSet builds a target per configuration. opts, when given, is called per target for
// its Options (nil: all from the configuration).
func NewSet(cfgs []TargetConfig, opts func(TargetConfig) Options) (*Set, error) {
	s := &Set{byKey: map[string]*Target{}}
	for _, c := range cfgs {
		var o Options
		if opts != nil {
			o = opts(c)
		}
		t, err := New(c, o)
		if err != nil {
			return nil, err
		}
		for _, k := range []string{t.Name(), t.Ref()} {
			if _, dup := s.byKey[k]; dup {
				return nil, fmt.Errorf("two live targets are named %q", k)
			}
			s.byKey[k] = t
		}
		s.order = append(s.order, t)
	}
	return s, nil
}

// Targets lists the targets in configuration order.
func (s *Set) Targets() []*Target {
	if s == nil {
		return nil
	}
	return s.order
}

// Lookup finds a target by name or NAMESPACE/WORKLOAD. The error names the served ones.
func (s *Set) Lookup(ref string) (*Target, error) {
	if s != nil {
		if t, ok := s.byKey[ref]; ok {
			return t, nil
		}
	}
	names := make([]string, 0, len(s.Targets()))
	for _, t := range s.Targets() {
		names = append(names, t.Name())
	}
	sort.Strings(names)
	if len(names) > 10 {
		names = append(names[:10], fmt.Sprintf("and %d more", len(names)-10))
	}
	if len(names) == 0 {
		return nil, fmt.Errorf("%w %q: this server has no live targets (serve --targets FILE)", ErrUnknownTarget, ref)
	}
	return nil, fmt.Errorf("%w %q (served: %s)", ErrUnknownTarget, ref, strings.Join(names, ", "))
}

// Run steps every target at each of its ticks until ctx ends, as the controller paces its
// autoscalers: just after each grid instant (10 ms, as the controller's requeue), so
// answers between ticks come from the step already taken. now is the clock.
func (s *Set) Run(ctx context.Context, now func() time.Time) {
	var wg sync.WaitGroup
	for _, t := range s.Targets() {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				t.Current(ctx, now())
				tick := t.Tick()
				n := now()
				wait := n.Truncate(tick).Add(tick).Sub(n) + 10*time.Millisecond
				tm := time.NewTimer(wait)
				select {
				case <-ctx.Done():
					tm.Stop()
					return
				case <-tm.C:
				}
			}
		}()
	}
	wg.Wait()
}
