package replica

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// Scaler scales serve-fft processes on this machine: the testbed's counterpart of patching a
// Deployment's scale subresource (package scale). It lives with the replica manager so that
// the Kubernetes controller, which links package scale, links no testbed code. Allocated
// replicas are those starting or ready; a stopping replica no longer counts (Kubernetes
// likewise stops counting a terminating pod in spec.replicas).
type Scaler struct {
	m  *Manager
	mu sync.Mutex // serialises Scale calls
}

// NewScaler returns a scaler over the manager's replicas.
func NewScaler(m *Manager) *Scaler { return &Scaler{m: m} }

// Counts returns the allocated (starting or ready) and ready replicas now.
func (l *Scaler) Counts() (allocated, ready int) {
	for _, r := range l.m.Replicas() {
		switch r.State() {
		case Starting:
			allocated++
		case Ready:
			allocated++
			ready++
		}
	}
	return allocated, ready
}

// Scale brings the allocated replicas to n. Scale-up starts processes (each becomes ready
// after its start-up delay); scale-down stops starting replicas first (they serve nothing
// yet), then the newest ready ones, as the ReplicaSet controller prefers not-ready and
// younger pods when it deletes.
func (l *Scaler) Scale(ctx context.Context, n int) error {
	return l.ScaleAt(ctx, n, time.Now())
}

// ScaleAt is Scale for a decision taken for the instant asked (a control loop that reads
// metrics first acts some time after the instant it decides for): replicas it starts record
// asked as their Asked time, so Manager.StartupTimes counts that lag in their start-up.
func (l *Scaler) ScaleAt(ctx context.Context, n int, asked time.Time) error {
	if n < 0 {
		return fmt.Errorf("replica scaler: cannot scale to %d replicas", n)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	var starting, ready []*Replica
	for _, r := range l.m.Replicas() {
		switch r.State() {
		case Starting:
			starting = append(starting, r)
		case Ready:
			ready = append(ready, r)
		}
	}
	have := len(starting) + len(ready)
	for ; have < n; have++ {
		if _, err := l.m.start(ctx, asked); err != nil {
			return fmt.Errorf("replica scaler: scale to %d: %w", n, err)
		}
	}
	// Replicas() lists oldest first, so the newest are at the ends.
	for i := len(starting) - 1; i >= 0 && have > n; i-- {
		l.m.Stop(starting[i])
		have--
	}
	for i := len(ready) - 1; i >= 0 && have > n; i-- {
		l.m.Stop(ready[i])
		have--
	}
	return nil
}
