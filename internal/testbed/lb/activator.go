package lb

import (
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// The activator's defaults, the simulator's (internal/sim DefaultHoldTimeout and
// DefaultHoldQueue, pinned equal by a test in cmd/bascaler), after Knative Serving's
// activator: a revision with no ready pod buffers up to 10000 requests (breakerQueueDepth)
// and a request waits up to the revision timeout, 300 s by default.
const (
	DefaultHoldTimeout = 300 * time.Second
	DefaultHoldQueue   = 10000
)

// Options configure the activator.
type Options struct {
	// HoldTimeout is how long a request that found no ready backend waits for one before
	// it fails with 503 (default DefaultHoldTimeout).
	HoldTimeout time.Duration
	// HoldQueue is how many requests are held at once; further ones are refused with 503
	// (default DefaultHoldQueue; negative: unbounded).
	HoldQueue int
}

// Outcome is what became of a held request.
type Outcome uint8

// The outcomes of a held request.
const (
	// Served: a backend became ready and the request was forwarded to it.
	Served Outcome = iota
	// TimedOut: no backend became ready within the hold timeout.
	TimedOut
	// Refused: the activator's queue was full when it arrived.
	Refused
	// Gone: the client gave up (its context ended) while it was held.
	Gone
)

var outcomeNames = [...]string{"served", "timeout", "queue_full", "client_gone"}

func (o Outcome) String() string {
	if int(o) < len(outcomeNames) {
		return outcomeNames[o]
	}
	return "unknown"
}

// Held is one request that arrived while no backend was ready (a cold start): when it
// arrived, how long it waited in the activator and what became of it.
type Held struct {
	Arrived time.Time
	Wait    time.Duration
	Outcome Outcome
}

// activator holds requests while the balancer has no ready backend: Knative's activator
// and the KEDA HTTP add-on's interceptor in the testbed. It exports what it does as
// Prometheus metrics, the wake-up signal an autoscaler reads with no pod:
//
//   - testbed_lb_arrivals_total: every request, counted when it arrives (the gateway's
//     count: it needs no replica);
//   - testbed_lb_cold_starts_total: arrivals that found no ready replica (held or refused),
//     the simulator's Point.Held;
//   - testbed_lb_held_requests_total{outcome}: those, by what became of them;
//   - testbed_lb_queued_requests: requests held right now;
//   - testbed_lb_held_wait_seconds: the added latency of held requests that were served.
type activator struct {
	timeout time.Duration
	queue   int

	mu      sync.Mutex
	waiting int
	log     []Held

	arrivals, cold prometheus.Counter
	outcomes       *prometheus.CounterVec
	queued         prometheus.Gauge
	wait           prometheus.Histogram
}

func newActivator(o Options, reg *prometheus.Registry) *activator {
	a := &activator{timeout: o.HoldTimeout, queue: o.HoldQueue}
	if a.timeout <= 0 {
		a.timeout = DefaultHoldTimeout
	}
	if a.queue == 0 {
		a.queue = DefaultHoldQueue
	}
	a.arrivals = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "testbed_lb_arrivals_total",
		Help: "Requests that arrived at the load balancer, counted on arrival (needs no replica).",
	})
	a.cold = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "testbed_lb_cold_starts_total",
		Help: "Requests that arrived while no replica was ready (held by the activator or refused because its queue was full).",
	})
	a.outcomes = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "testbed_lb_held_requests_total",
		Help: "Requests the activator held or refused, by outcome: served, timeout, queue_full, client_gone.",
	}, []string{"outcome"})
	for _, o := range outcomeNames {
		a.outcomes.WithLabelValues(o) // export zeros, so rate() has a series from the start
	}
	a.queued = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "testbed_lb_queued_requests",
		Help: "Requests the activator holds right now, waiting for a ready replica.",
	})
	a.wait = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "testbed_lb_held_wait_seconds",
		Help:    "Time a served request waited in the activator for a ready replica.",
		Buckets: prometheus.ExponentialBuckets(0.01, 2, 16),
	})
	reg.MustRegister(a.arrivals, a.cold, a.outcomes, a.queued, a.wait)
	return a
}

// hold waits for a ready backend for a request that found none. It returns the backend
// (counted as outstanding, as pick does) or nil after answering the request itself (503 on
// a full queue or a timeout). wake is closed when backends are set; pick is tried again
// then (another held request may be faster, or the backends may be gone again).
func (a *activator) hold(w http.ResponseWriter, r *http.Request, arrived time.Time, wake <-chan struct{},
	pick func() (*backend, <-chan struct{})) *backend {
	a.cold.Inc()
	a.mu.Lock()
	if a.queue > 0 && a.waiting >= a.queue {
		a.record(Held{Arrived: arrived, Outcome: Refused})
		a.mu.Unlock()
		http.Error(w, fmt.Sprintf("no ready replica and the activator already holds %d requests (its queue limit)", a.queue), http.StatusServiceUnavailable)
		return nil
	}
	a.waiting++
	a.queued.Set(float64(a.waiting))
	a.mu.Unlock()

	timer := time.NewTimer(a.timeout - time.Since(arrived))
	defer timer.Stop()
	outcome := Served
	var be *backend
	for be == nil {
		select {
		case <-wake:
			be, wake = pick()
			continue
		case <-timer.C:
			outcome = TimedOut
		case <-r.Context().Done():
			outcome = Gone
		}
		break
	}
	waited := time.Since(arrived)
	a.mu.Lock()
	a.waiting--
	a.queued.Set(float64(a.waiting))
	a.record(Held{Arrived: arrived, Wait: waited, Outcome: outcome})
	a.mu.Unlock()
	switch outcome {
	case Served:
		a.wait.Observe(waited.Seconds())
	case TimedOut:
		http.Error(w, fmt.Sprintf("no replica became ready within the activator's hold timeout %s", a.timeout), http.StatusServiceUnavailable)
	case Gone:
		http.Error(w, "client gave up while the request was held", http.StatusServiceUnavailable)
	}
	return be
}

// record counts a held request's outcome; a.mu is held.
func (a *activator) record(h Held) {
	a.outcomes.WithLabelValues(h.Outcome.String()).Inc()
	a.log = append(a.log, h)
}

// TakeHeld returns the requests held (or refused) since the last call, oldest outcome
// first, and forgets them: a testbed run takes them at its start (to drop what came before)
// and at its end.
func (b *Balancer) TakeHeld() []Held {
	b.act.mu.Lock()
	defer b.act.mu.Unlock()
	out := b.act.log
	b.act.log = nil
	return out
}

// Holding returns the number of requests held right now.
func (b *Balancer) Holding() int {
	b.act.mu.Lock()
	defer b.act.mu.Unlock()
	return b.act.waiting
}
