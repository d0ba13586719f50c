package replica

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Throttling is the CFS bandwidth accounting of replicas' CPU groups: enforcement periods
// in which a replica ran, those in which it used up its quota and was stopped until the
// next period, and the time it spent stopped. With a quota of q per period P, a request
// that finds the quota spent waits up to P − q: a replica at a tenth of a core and the
// default 100 ms period can add about 90 ms to a request at loads well below its average
// capacity, which a fluid model of the CPU share does not show.
type Throttling struct {
	Periods, Throttled uint64
	ThrottledTime      time.Duration
}

// Sub is t − u, field by field: the accounting between two readings.
func (t Throttling) Sub(u Throttling) Throttling {
	return Throttling{Periods: t.Periods - u.Periods, Throttled: t.Throttled - u.Throttled, ThrottledTime: t.ThrottledTime - u.ThrottledTime}
}

// ThrottledFraction is Throttled / Periods (0 without periods).
func (t Throttling) ThrottledFraction() float64 {
	if t.Periods == 0 {
		return 0
	}
	return float64(t.Throttled) / float64(t.Periods)
}

// ThrottleReporter is implemented by limiters that can report throttling: the sum over
// every replica they have held, including the released ones.
type ThrottleReporter interface {
	Throttling() (Throttling, error)
}

// Throttling reports the limiter's throttling, or ok false when it keeps no such account
// (the GOMAXPROCS fallback).
func (m *Manager) Throttling() (t Throttling, ok bool, err error) {
	tr, ok := m.opts.Limiter.(ThrottleReporter)
	if !ok {
		return Throttling{}, false, nil
	}
	t, err = tr.Throttling()
	return t, true, err
}

// throttleBook sums cpu.stat over a parent group's children: the live ones read now, the
// released ones as read just before their removal.
type throttleBook struct {
	mu       sync.Mutex
	released Throttling
	v2       bool // cpu.stat in cgroup v2 units (throttled_usec) rather than v1 (throttled_time ns)
}

func (b *throttleBook) release(dir string) {
	t, err := readCPUStat(filepath.Join(dir, "cpu.stat"), b.v2)
	if err != nil {
		return // the replica's last periods are lost; the next readings stay consistent
	}
	b.mu.Lock()
	b.released.Periods += t.Periods
	b.released.Throttled += t.Throttled
	b.released.ThrottledTime += t.ThrottledTime
	b.mu.Unlock()
}

func (b *throttleBook) total(parent string) (Throttling, error) {
	b.mu.Lock()
	sum := b.released
	b.mu.Unlock()
	entries, err := os.ReadDir(parent)
	if err != nil {
		return sum, fmt.Errorf("throttling: %w", err)
	}
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		t, err := readCPUStat(filepath.Join(parent, e.Name(), "cpu.stat"), b.v2)
		if err != nil {
			if os.IsNotExist(err) {
				continue // removed between the listing and the read
			}
			return sum, err
		}
		sum.Periods += t.Periods
		sum.Throttled += t.Throttled
		sum.ThrottledTime += t.ThrottledTime
	}
	return sum, nil
}

// readCPUStat parses a cgroup's cpu.stat: nr_periods, nr_throttled and throttled_time (v1,
// nanoseconds) or throttled_usec (v2).
func readCPUStat(path string, v2 bool) (Throttling, error) {
	f, err := os.Open(path)
	if err != nil {
		return Throttling{}, err
	}
	defer f.Close()
	var t Throttling
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		if err != nil {
			return Throttling{}, fmt.Errorf("%s: %s %q: %w", path, k, v, err)
		}
		switch {
		case k == "nr_periods":
			t.Periods = n
		case k == "nr_throttled":
			t.Throttled = n
		case k == "throttled_time" && !v2:
			t.ThrottledTime = time.Duration(n)
		case k == "throttled_usec" && v2:
			t.ThrottledTime = time.Duration(n) * time.Microsecond
		}
	}
	return t, sc.Err()
}
