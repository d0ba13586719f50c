package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	"github.com/bascaler/bascaler/internal/load"
)

// Hard caps: the generator refuses schedules beyond them, whatever the caller asks, so a
// typo in a scale factor cannot turn the testbed into a fork bomb for the shared machine.
const (
	MaxRateCap     = 5000          // requests per second in any interval
	MaxRequestsCap = 5_000_000     // requests in one run
	MaxDurationCap = 3 * time.Hour // length of one run
	maxWorkersCap  = 2000          // requests in flight
	defaultTimeout = 10 * time.Second
)

// Schedule is a piecewise-constant request rate (see load.Schedule).
type Schedule = load.Schedule

// NewSchedule validates rates and precomputes the cumulative counts.
func NewSchedule(rates []float64, interval time.Duration) (*Schedule, error) {
	return load.NewSchedule(rates, interval)
}

// Record is one request's outcome.
type Record = load.Record

// Options configure one run of the generator.
type Options struct {
	// Target is the URL every request goes to; it must be on a loopback address.
	Target string
	// Schedule gives the rate over time.
	Schedule *Schedule
	// MaxLag is how late a request may be sent before it is dropped and counted as not
	// sent; default 1 s.
	MaxLag time.Duration
	// Timeout bounds one request; a request that times out counts as failed. Default 10 s.
	Timeout time.Duration
	// MaxWorkers bounds requests in flight (default and cap 2000). When all are busy the
	// generator falls behind, and MaxLag turns the backlog into dropped requests.
	MaxWorkers uint64
}

// Run is the full outcome of a load run.
type Run struct {
	Start     time.Time
	Schedule  *Schedule
	Records   []Record // sorted by Sent
	NotSent   []uint64 // requests dropped for lateness, per interval they were due in
	Cancelled bool     // the context ended the run early
}

// Validate checks the options against the hard caps.
func (o *Options) Validate() error {
	u, err := url.Parse(o.Target)
	if err != nil || u.Host == "" {
		return fmt.Errorf("load target %q is not an http URL", o.Target)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("load target %q: only loopback IPs are allowed (the testbed never sends traffic off this machine)", o.Target)
	}
	s := o.Schedule
	if s == nil {
		return fmt.Errorf("load generator: no schedule")
	}
	if s.Duration() > MaxDurationCap {
		return fmt.Errorf("load schedule lasts %s, above the cap of %s", s.Duration(), MaxDurationCap)
	}
	for k, r := range s.Rates {
		if r > MaxRateCap {
			return fmt.Errorf("load schedule interval %d asks for %.0f req/s, above the cap of %d req/s", k, r, MaxRateCap)
		}
	}
	if n := s.Total(); n > MaxRequestsCap {
		return fmt.Errorf("load schedule sends %d requests, above the cap of %d", n, MaxRequestsCap)
	}
	if o.MaxLag <= 0 {
		o.MaxLag = time.Second
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.MaxWorkers == 0 || o.MaxWorkers > maxWorkersCap {
		o.MaxWorkers = maxWorkersCap
	}
	return nil
}

// Generate runs the schedule against the target and returns every outcome. It blocks until
// the schedule ends (and the last request is answered) or ctx is done. On cancellation the
// requests the schedule still held count as not sent.
func Generate(ctx context.Context, o Options) (*Run, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	lr, err := load.Generate(ctx, load.Options{
		Targets:     []load.Target{{URL: o.Target, Weight: 1}},
		Schedule:    o.Schedule,
		Arrivals:    load.Uniform,
		MaxLag:      o.MaxLag,
		Timeout:     o.Timeout,
		MaxInFlight: int(o.MaxWorkers),
		MaxBody:     4096,
		LocalAddr:   net.IPv4(127, 0, 0, 1),
	})
	if err != nil {
		return nil, err
	}
	s := o.Schedule
	run := &Run{Start: lr.Start, Schedule: s, Records: lr.Records, NotSent: make([]uint64, len(s.Rates)),
		Cancelled: lr.Stopped == load.StopCancelled}
	for _, due := range lr.Dropped {
		run.NotSent[min(int(due/s.Interval), len(s.Rates)-1)]++
	}
	if run.Cancelled {
		// Evenly spaced arrivals: request j is the j-th of the schedule, so the ones after
		// the last sent or dropped were never reached.
		for j := uint64(len(lr.Records) + len(lr.Dropped)); j < s.Total(); j++ {
			run.NotSent[s.IntervalOf(j)]++
		}
	}
	return run, nil
}
