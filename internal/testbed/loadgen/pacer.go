package loadgen

import (
	"sync"
	"time"
)

// pacer makes vegeta follow a Schedule. When the attack falls more than maxLag behind
// (every worker busy, or the machine too slow to send), the overdue requests are dropped
// and counted per interval instead of being fired in a catch-up burst: an open-loop
// generator that silently catches up would send a load the trace never asked for, and one
// that silently drops would report a lighter trace as served.
type pacer struct {
	s      *Schedule
	maxLag time.Duration

	mu      sync.Mutex
	skipped uint64   // requests dropped so far
	perIv   []uint64 // dropped requests by the interval they were due in
}

func newPacer(s *Schedule, maxLag time.Duration) *pacer {
	return &pacer{s: s, maxLag: maxLag, perIv: make([]uint64, len(s.Rates))}
}

// Pace implements vegeta.Pacer. hits counts requests vegeta has sent; the next request due
// is number hits+skipped.
func (p *pacer) Pace(elapsed time.Duration, hits uint64) (time.Duration, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	next := hits + p.skipped
	due, ok := p.s.TimeOf(next)
	if !ok {
		return 0, true
	}
	if elapsed-due > p.maxLag {
		// Drop every request due before elapsed-maxLag; the rest (at most maxLag late) go
		// out at once.
		for {
			if t, ok := p.s.TimeOf(next); !ok || elapsed-t <= p.maxLag {
				break
			}
			p.perIv[p.s.IntervalOf(next)]++
			p.skipped++
			next++
		}
		if due, ok = p.s.TimeOf(next); !ok {
			return 0, true
		}
	}
	return due - elapsed, false
}

// Rate implements vegeta.Pacer: the scheduled rate at elapsed.
func (p *pacer) Rate(elapsed time.Duration) float64 {
	k := int(elapsed / p.s.Interval)
	if k < 0 || k >= len(p.s.Rates) {
		return 0
	}
	return p.s.Rates[k]
}

// Skipped returns a copy of the dropped-request counts per interval.
func (p *pacer) Skipped() []uint64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]uint64(nil), p.perIv...)
}

// dropRest counts as not sent every request after the first sent+skipped ones: those the
// attack never reached because it ended (time ran out while behind, or cancellation).
func (p *pacer) dropRest(sent uint64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for j := sent + p.skipped; j < p.s.Total(); j++ {
		p.perIv[p.s.IntervalOf(j)]++
		p.skipped++
	}
}
