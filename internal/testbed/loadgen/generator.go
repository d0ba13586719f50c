package loadgen

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"sort"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
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

// Record is one request's outcome.
type Record struct {
	Sent    time.Duration // when it was sent, from the run's start
	Latency time.Duration // until the whole response was read (or the error)
	Code    uint16        // HTTP status; 0 when no response came
	Err     bool          // transport error or timeout
}

// Failed reports a request that did not get a 2xx answer.
func (r Record) Failed() bool { return r.Err || r.Code < 200 || r.Code >= 300 }

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
// the schedule ends (and the last request is answered) or ctx is done.
func Generate(ctx context.Context, o Options) (*Run, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	p := newPacer(o.Schedule, o.MaxLag)
	atk := vegeta.NewAttacker(
		vegeta.Timeout(o.Timeout),
		vegeta.Workers(32),
		vegeta.MaxWorkers(o.MaxWorkers),
		vegeta.KeepAlive(true),
		vegeta.Connections(int(o.MaxWorkers)),
		vegeta.Redirects(vegeta.NoFollow),
		vegeta.MaxBody(4096),
		vegeta.LocalAddr(net.IPAddr{IP: net.IPv4(127, 0, 0, 1)}),
	)
	tr := vegeta.NewStaticTargeter(vegeta.Target{Method: http.MethodGet, URL: o.Target})
	run := &Run{Schedule: o.Schedule, Records: make([]Record, 0, min(o.Schedule.Total(), 1<<20))}
	run.Start = time.Now()
	// The attack's own clock starts a few microseconds after run.Start; records are placed
	// on run.Start's clock, which is what the autoscaler loop shares.
	results := atk.Attack(tr, p, o.Schedule.Duration()+o.MaxLag, "testbed")
	done := ctx.Done()
	for {
		select {
		case res, ok := <-results:
			if !ok {
				p.dropRest(uint64(len(run.Records)))
				run.NotSent = p.Skipped()
				sort.Slice(run.Records, func(i, j int) bool { return run.Records[i].Sent < run.Records[j].Sent })
				return run, nil
			}
			run.Records = append(run.Records, Record{
				Sent:    res.Timestamp.Sub(run.Start),
				Latency: res.Latency,
				Code:    res.Code,
				Err:     res.Error != "",
			})
		case <-done:
			atk.Stop()
			run.Cancelled = true
			done = nil // keep draining results until vegeta closes the channel
		}
	}
}
