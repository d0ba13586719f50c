package load

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// Limits every run obeys, whatever the caller asks: records are kept in memory (24 bytes
// each), so the request count is bounded; users and in-flight requests bound goroutines
// and sockets.
const (
	MaxRecords     = 20_000_000
	MaxUsers       = 10_000
	maxInFlightCap = 10_000
)

const (
	defaultMaxLag      = time.Second
	defaultTimeout     = 10 * time.Second
	defaultMaxInFlight = 2000
	defaultMaxBody     = 64 << 10
	progressEvery      = 200 * time.Millisecond
	// spawnGrace is how long the dispatcher waits for a busy worker before adding one: long
	// enough for finished workers to run after a pause of the process, short enough to grow
	// a pool of 500 (100 ms answers at 5,000 req/s) within MaxLag.
	spawnGrace = time.Millisecond
)

// Options configure one run. Exactly one of Schedule (open loop) and Users (closed loop)
// is set.
type Options struct {
	// Targets receive the requests in proportion to their weights.
	Targets []Target
	// Schedule fixes the rate over time (open loop); Arrivals and Seed place the requests.
	Schedule *Schedule
	Arrivals Arrivals
	Seed     uint64
	// Users > 0 selects closed loop: each user sends a request, waits for the answer, then
	// waits Think before the next one.
	Users int
	Think time.Duration
	// Duration ends the run after this long (0: at the schedule's end; a closed loop needs
	// Duration or MaxRequests). MaxRequests ends it after that many requests were sent (0:
	// no limit besides MaxRecords). Requests left unsent by either limit are not shortfall.
	Duration    time.Duration
	MaxRequests uint64
	// MaxLag is how late an open-loop request may be sent before it is dropped and counted
	// as shortfall; default 1 s.
	MaxLag time.Duration
	// Timeout bounds one request; a request that times out counts as failed. Default 10 s.
	Timeout time.Duration
	// MaxInFlight bounds open-loop requests in flight (default 2000). When all are busy
	// the generator falls behind and MaxLag turns the backlog into shortfall.
	MaxInFlight int
	// MaxBody is how many bytes of each response are read (default 64 KiB); the rest is
	// discarded with the connection.
	MaxBody int64
	// LocalAddr, when set, is the source IP of every connection.
	LocalAddr net.IP
	// Progress, when set, is called about five times a second and once at the end.
	Progress func(Progress)
}

// Progress is a run's state for a progress display.
type Progress struct {
	Elapsed, Planned time.Duration // Planned is 0 when only MaxRequests bounds the run
	Done             uint64        // requests answered (or failed)
	PlannedRequests  uint64        // expected requests (0 when unknown)
}

// Record is one request's outcome. Times are from the run's start.
type Record struct {
	Due     time.Duration // when the schedule wanted it sent (closed loop: = Sent)
	Sent    time.Duration // when it was sent
	Latency time.Duration // until the whole response was read (or the error)
	Code    uint16        // HTTP status; 0 when no response came
	Err     bool          // transport error or timeout
	Target  uint16        // index into the run's targets
}

// Failed reports a request that did not get a 2xx answer.
func (r Record) Failed() bool { return r.Err || r.Code < 200 || r.Code >= 300 }

// Stop says why a run ended.
type Stop string

// Reasons a run ends.
const (
	StopSchedule    Stop = "schedule"     // the schedule ran out
	StopDuration    Stop = "duration"     // Options.Duration elapsed
	StopMaxRequests Stop = "max-requests" // Options.MaxRequests (or MaxRecords) were sent
	StopCancelled   Stop = "cancelled"    // the context ended
)

// Run is the outcome of a run.
type Run struct {
	Start    time.Time
	Targets  []Target
	Schedule *Schedule // nil for a closed loop
	Arrivals Arrivals
	Users    int
	Think    time.Duration
	Records  []Record        // sorted by Sent
	Dropped  []time.Duration // due times of open-loop requests not sent on schedule, sorted
	End      time.Duration   // when sending stopped
	Stopped  Stop
	// Workers is the open-loop pool's final size: the most requests that could be in
	// flight at once (closed loop: Users).
	Workers int
}

// Closed reports a closed-loop run.
func (r *Run) Closed() bool { return r.Schedule == nil }

// Validate checks the options and fills in defaults.
func (o *Options) Validate() error {
	if len(o.Targets) == 0 {
		return fmt.Errorf("load: no target URL")
	}
	if len(o.Targets) > 1<<16 {
		return fmt.Errorf("load: %d targets, at most %d", len(o.Targets), 1<<16)
	}
	for _, t := range o.Targets {
		if err := t.Validate(); err != nil {
			return err
		}
	}
	switch {
	case o.Schedule != nil && o.Users > 0:
		return fmt.Errorf("load: a rate schedule (open loop) and users (closed loop) are exclusive")
	case o.Schedule == nil && o.Users <= 0:
		return fmt.Errorf("load: need a rate schedule (open loop) or users > 0 (closed loop), got %d users", o.Users)
	case o.Users > MaxUsers:
		return fmt.Errorf("load: %d users, at most %d", o.Users, MaxUsers)
	case o.Think < 0:
		return fmt.Errorf("load: think time %s is negative", o.Think)
	case o.Duration < 0:
		return fmt.Errorf("load: duration %s is negative", o.Duration)
	case o.Schedule == nil && o.Duration == 0 && o.MaxRequests == 0:
		return fmt.Errorf("load: a closed loop needs a duration or a request limit to stop")
	case o.Arrivals != Uniform && o.Arrivals != Poisson:
		return fmt.Errorf("load: unknown arrival process %d", int(o.Arrivals))
	case o.MaxInFlight < 0 || o.MaxInFlight > maxInFlightCap:
		return fmt.Errorf("load: %d requests in flight, want 0 (default) to %d", o.MaxInFlight, maxInFlightCap)
	}
	if o.MaxRequests == 0 || o.MaxRequests > MaxRecords {
		o.MaxRequests = MaxRecords
	}
	if o.MaxLag <= 0 {
		o.MaxLag = defaultMaxLag
	}
	if o.Timeout <= 0 {
		o.Timeout = defaultTimeout
	}
	if o.MaxInFlight == 0 {
		o.MaxInFlight = defaultMaxInFlight
	}
	if o.MaxBody <= 0 {
		o.MaxBody = defaultMaxBody
	}
	return nil
}

// limit is when sending stops by time.
func (o *Options) limit() time.Duration {
	if o.Schedule == nil {
		if o.Duration == 0 {
			return 1<<63 - 1
		}
		return o.Duration
	}
	if o.Duration > 0 {
		return min(o.Duration, o.Schedule.Duration())
	}
	return o.Schedule.Duration()
}

// Generate runs the load and returns every outcome. It returns when a limit is reached or
// ctx is done and every request in flight has been answered or timed out.
func Generate(ctx context.Context, o Options) (*Run, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	e := newEngine(&o)
	run := &Run{Targets: append([]Target(nil), o.Targets...), Schedule: o.Schedule, Arrivals: o.Arrivals,
		Users: o.Users, Think: o.Think, Workers: o.Users}
	e.start = time.Now()
	run.Start = e.start
	stopProgress := e.progress()
	if o.Schedule != nil {
		e.openLoop(ctx, run)
	} else {
		e.closedLoop(ctx, run)
	}
	e.wg.Wait()
	stopProgress()
	run.Records = e.records
	slices.SortFunc(run.Records, func(a, b Record) int { return cmp.Compare(a.Sent, b.Sent) })
	run.Dropped = e.dropped
	e.client.CloseIdleConnections()
	return run, nil
}

// engine holds what the senders share.
type engine struct {
	o      *Options
	client *http.Client
	start  time.Time
	done   atomic.Uint64 // requests answered
	wg     sync.WaitGroup

	mu      sync.Mutex
	records []Record
	dropped []time.Duration
}

func newEngine(o *Options) *engine {
	d := &net.Dialer{Timeout: o.Timeout, KeepAlive: 30 * time.Second}
	if o.LocalAddr != nil {
		d.LocalAddr = &net.TCPAddr{IP: o.LocalAddr}
	}
	conns := o.MaxInFlight
	if o.Users > 0 {
		conns = o.Users
	}
	tr := &http.Transport{
		Proxy:               nil, // never route load through an environment proxy
		DialContext:         d.DialContext,
		MaxIdleConns:        0,
		MaxIdleConnsPerHost: conns,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
		ForceAttemptHTTP2:   false,
	}
	c := &http.Client{Transport: tr, Timeout: o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &engine{o: o, client: c, records: make([]Record, 0, min(planned(o), 1<<20))}
}

// planned is the number of requests expected (0 when unknown).
func planned(o *Options) uint64 {
	if o.Schedule == nil {
		if o.MaxRequests < MaxRecords {
			return o.MaxRequests
		}
		return 0
	}
	return min(uint64(o.Schedule.Expected(o.limit())+0.5), o.MaxRequests)
}

// progress starts the progress reporter and returns the function that stops it (after a
// final report).
func (e *engine) progress() func() {
	if e.o.Progress == nil {
		return func() {}
	}
	p := Progress{PlannedRequests: planned(e.o)}
	if lim := e.o.limit(); lim < 1<<63-1 {
		p.Planned = lim
	}
	report := func() {
		p.Elapsed, p.Done = time.Since(e.start), e.done.Load()
		e.o.Progress(p)
	}
	stop, finished := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(finished)
		t := time.NewTicker(progressEvery)
		defer t.Stop()
		for {
			select {
			case <-t.C:
				report()
			case <-stop:
				report()
				return
			}
		}
	}()
	return func() { close(stop); <-finished }
}

// send performs one request and returns its record.
func (e *engine) send(due time.Duration, target int) Record {
	rec := Record{Due: due, Target: uint16(target)}
	req, err := http.NewRequest(http.MethodGet, e.o.Targets[target].URL, nil)
	rec.Sent = time.Since(e.start)
	if err != nil {
		rec.Err = true
		return rec
	}
	resp, err := e.client.Do(req)
	if err != nil {
		rec.Err = true
	} else {
		rec.Code = uint16(resp.StatusCode)
		if _, err := io.Copy(io.Discard, io.LimitReader(resp.Body, e.o.MaxBody)); err != nil {
			rec.Err = true
		}
		resp.Body.Close()
	}
	rec.Latency = time.Since(e.start) - rec.Sent
	e.done.Add(1)
	return rec
}

// keep merges one sender's records.
func (e *engine) keep(recs []Record) {
	e.mu.Lock()
	e.records = append(e.records, recs...)
	e.mu.Unlock()
}

type job struct {
	due    time.Duration
	target int
}

// openLoop dispatches requests at their due times to a pool of workers that grows on
// demand up to MaxInFlight. A request that cannot be handed to a worker within MaxLag of its
// due time is dropped and counted: an open-loop generator that caught up in a burst would
// send a load the schedule never asked for.
func (e *engine) openLoop(ctx context.Context, run *Run) {
	o := e.o
	clock := newArrivalClock(o.Schedule, o.Arrivals, o.Seed)
	pick := newPicker(o.Targets)
	limit := o.limit()
	jobs := make(chan job)
	workers := 0
	worker := func() {
		defer e.wg.Done()
		var recs []Record
		for j := range jobs {
			recs = append(recs, e.send(j.due, j.target))
		}
		e.keep(recs)
	}
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	done := ctx.Done()
	var sent uint64
	run.Stopped = StopSchedule
	defer func() {
		run.Workers = workers
		close(jobs)
		run.End = min(time.Since(e.start), limit)
		if run.Stopped == StopMaxRequests {
			run.End = time.Since(e.start)
		}
	}()
	for {
		if sent >= o.MaxRequests {
			run.Stopped = StopMaxRequests
			return
		}
		due, ok := clock.next()
		if !ok || due >= limit {
			if limit < o.Schedule.Duration() {
				run.Stopped = StopDuration
			}
			// Idle time at the end is part of the schedule: wait it out.
			if wait := limit - time.Since(e.start); wait > 0 {
				timer.Reset(wait)
				select {
				case <-timer.C:
				case <-done:
					timer.Stop()
					run.Stopped = StopCancelled
				}
			}
			return
		}
		select {
		case <-done:
			run.Stopped = StopCancelled
			return
		default:
		}
		now := time.Since(e.start)
		if wait := due - now; wait > 0 {
			timer.Reset(wait)
			select {
			case <-timer.C:
			case <-done:
				timer.Stop()
				run.Stopped = StopCancelled
				return
			}
		} else if now-due > o.MaxLag {
			e.dropped = append(e.dropped, due)
			continue
		}
		j := job{due: due, target: pick.next()}
		select {
		case jobs <- j: // an idle worker took it
		default:
			if workers < o.MaxInFlight {
				// A worker whose answer has arrived may just not have run yet (with one
				// core, certainly not while this loop runs; after the OS paused the process,
				// many at once): wait up to spawnGrace for one before adding a worker. The
				// wait blocks on a timer, so the runtime polls the network and wakes those
				// workers; without it every late request added a worker and a connection,
				// and the pool's own overhead then kept the generator behind (measured with
				// GOMAXPROCS=1 on a busy machine: 1,000 to 2,100 req/s sent of 2,500 to 5,000
				// scheduled; bench/load.md).
				if workers > 0 {
					timer.Reset(spawnGrace)
					select {
					case jobs <- j:
						timer.Stop()
						sent++
						continue
					case <-timer.C:
					case <-done:
						timer.Stop()
						run.Stopped = StopCancelled
						return
					}
				}
				workers++
				e.wg.Add(1)
				go worker()
				jobs <- j
				break
			}
			// Every worker is busy: wait for one until the request is MaxLag late.
			late := time.Since(e.start) - due
			if late >= o.MaxLag {
				e.dropped = append(e.dropped, due)
				continue
			}
			timer.Reset(o.MaxLag - late)
			select {
			case jobs <- j:
				timer.Stop()
			case <-timer.C:
				e.dropped = append(e.dropped, due)
				continue
			case <-done:
				timer.Stop()
				run.Stopped = StopCancelled
				return
			}
		}
		sent++
	}
}

// closedLoop runs Users senders, each sending, waiting for the answer and thinking, until
// the duration, the request limit or ctx ends the run. Users start staggered over one think
// time (or together without one) and each walks the weights from a different offset.
func (e *engine) closedLoop(ctx context.Context, run *Run) {
	o := e.o
	limit := o.limit()
	stop := make(chan struct{})
	var issued atomic.Uint64
	var hitMax atomic.Bool
	var users sync.WaitGroup
	for u := range o.Users {
		users.Add(1)
		e.wg.Add(1)
		go func() {
			defer e.wg.Done()
			defer users.Done()
			pick := newPicker(o.Targets)
			for range u % len(o.Targets) {
				pick.next()
			}
			var recs []Record
			defer func() { e.keep(recs) }()
			timer := time.NewTimer(time.Hour)
			timer.Stop()
			if o.Think > 0 && o.Users > 1 {
				timer.Reset(o.Think * time.Duration(u) / time.Duration(o.Users))
				select {
				case <-timer.C:
				case <-stop:
					return
				}
			}
			for {
				select {
				case <-stop:
					return
				default:
				}
				now := time.Since(e.start)
				if now >= limit {
					return
				}
				if issued.Add(1) > o.MaxRequests {
					hitMax.Store(true)
					return
				}
				recs = append(recs, e.send(now, pick.next()))
				if o.Think > 0 {
					timer.Reset(o.Think)
					select {
					case <-timer.C:
					case <-stop:
						timer.Stop()
						return
					}
				}
			}
		}()
	}
	finished := make(chan struct{})
	go func() { users.Wait(); close(finished) }()
	var deadline <-chan time.Time
	if limit < 1<<63-1 {
		t := time.NewTimer(limit)
		defer t.Stop()
		deadline = t.C
	}
	select {
	case <-finished:
		run.Stopped = StopDuration
		if hitMax.Load() {
			run.Stopped = StopMaxRequests
		}
	case <-deadline:
		run.Stopped = StopDuration
	case <-ctx.Done():
		run.Stopped = StopCancelled
	}
	run.End = min(time.Since(e.start), limit)
	close(stop)
}
