package lb

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Backend is one ready replica.
type Backend struct {
	Name string
	Addr string // host:port
}

type backend struct {
	Backend
	proxy       *httputil.ReverseProxy
	outstanding atomic.Int64
}

// Balancer spreads requests over the current backends. The zero value is not usable; call
// New.
type Balancer struct {
	mu        sync.RWMutex
	turn      atomic.Uint64 // where the next pick's scan starts (round-robin ties)
	backends  []*backend
	byAddr    map[string]*backend
	transport *http.Transport
	// readyCh is closed (and replaced) whenever the backend set becomes non-empty: held
	// requests wait on it.
	readyCh chan struct{}

	act *activator

	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration prometheus.Histogram
	ready    prometheus.Gauge
}

// New returns a balancer with no backends whose activator has the default hold timeout and
// queue (a request that arrives with no ready backend waits for one).
func New() *Balancer { return NewWith(Options{}) }

// NewWith returns a balancer with the given activator options (zero fields: defaults).
func NewWith(o Options) *Balancer {
	b := &Balancer{
		readyCh: make(chan struct{}),
		byAddr:  map[string]*backend{},
		transport: &http.Transport{
			// Loopback only; many idle connections, since an open-loop load keeps up to
			// hundreds of requests in flight.
			Proxy:               nil,
			DialContext:         (&net.Dialer{Timeout: 2 * time.Second}).DialContext,
			MaxIdleConns:        2048,
			MaxIdleConnsPerHost: 512,
			IdleConnTimeout:     30 * time.Second,
		},
		reg: prometheus.NewRegistry(),
	}
	b.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "testbed_lb_requests_total",
		Help: "Requests received by the load balancer, by status code answered.",
	}, []string{"code"})
	b.duration = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "testbed_lb_request_duration_seconds",
		Help:    "Time from receiving a request to the end of its response, at the load balancer.",
		Buckets: prometheus.ExponentialBuckets(0.001, 1.5, 24),
	})
	b.ready = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "testbed_lb_ready_backends",
		Help: "Replicas the load balancer currently routes to.",
	})
	b.reg.MustRegister(b.requests, b.duration, b.ready)
	b.act = newActivator(o, b.reg)
	return b
}

// SetBackends replaces the set of ready replicas. Requests already forwarded to a removed
// backend finish normally; new ones no longer go there.
func (b *Balancer) SetBackends(bs []Backend) {
	b.mu.Lock()
	defer b.mu.Unlock()
	next := make([]*backend, 0, len(bs))
	byAddr := make(map[string]*backend, len(bs))
	for _, x := range bs {
		be, ok := b.byAddr[x.Addr]
		if !ok {
			be = &backend{Backend: x}
			target := &url.URL{Scheme: "http", Host: x.Addr}
			be.proxy = &httputil.ReverseProxy{
				Rewrite: func(pr *httputil.ProxyRequest) {
					pr.SetURL(target)
					pr.Out.Host = pr.In.Host
				},
				Transport: b.transport,
				ErrorHandler: func(w http.ResponseWriter, _ *http.Request, err error) {
					http.Error(w, "backend "+x.Name+": "+err.Error(), http.StatusBadGateway)
				},
			}
		}
		next = append(next, be)
		byAddr[x.Addr] = be
	}
	b.backends, b.byAddr = next, byAddr
	b.ready.Set(float64(len(next)))
	if len(next) > 0 {
		close(b.readyCh) // wake the held requests
		b.readyCh = make(chan struct{})
	}
}

// Backends returns the current backends.
func (b *Balancer) Backends() []Backend {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]Backend, len(b.backends))
	for i, be := range b.backends {
		out[i] = be.Backend
	}
	return out
}

// pick returns the backend with the fewest outstanding requests; ties go round-robin (the
// scan starts one backend further on each pick). Ties are the common case: below
// saturation a request usually finishes before the next arrives, so every backend has none
// outstanding. Breaking them always towards the first backend (as this balancer once did)
// sent it the whole load while the others idled, and under a CPU quota that replica was
// throttled (a 10 ms quota per 100 ms period gave 80-90 ms p95 at 30-70% of the fleet's
// capacity, issue #18), where the simulator, like kube-proxy's random choice and Envoy's
// least-request with random ties, spreads the load. With no backend it returns nil and the
// channel that is closed when backends are set (the activator waits on it).
func (b *Balancer) pick() (*backend, <-chan struct{}) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	n := len(b.backends)
	if n == 0 {
		return nil, b.readyCh
	}
	start := int(b.turn.Add(1) % uint64(n))
	var best *backend
	for i := range n {
		be := b.backends[(start+i)%n]
		if best == nil || be.outstanding.Load() < best.outstanding.Load() {
			best = be
		}
	}
	if best != nil {
		// Count it before releasing the lock so that concurrent picks see it.
		best.outstanding.Add(1)
	}
	return best, b.readyCh
}

// ServeHTTP forwards a request to a ready backend. With none ready, the activator holds
// it until one is (see activator), or answers 503 when its queue is full or the hold
// timeout passes.
func (b *Balancer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	b.act.arrivals.Inc()
	sw := &statusWriter{ResponseWriter: w, code: http.StatusOK}
	be, wake := b.pick()
	if be == nil {
		be = b.act.hold(sw, r, start, wake, b.pick)
	}
	if be != nil {
		be.proxy.ServeHTTP(sw, r)
		be.outstanding.Add(-1)
	}
	b.requests.WithLabelValues(strconv.Itoa(sw.code)).Inc()
	b.duration.Observe(time.Since(start).Seconds())
}

// MetricsHandler serves the balancer's own metrics.
func (b *Balancer) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(b.reg, promhttp.HandlerOpts{})
}

type statusWriter struct {
	http.ResponseWriter
	code  int
	wrote bool
}

func (s *statusWriter) WriteHeader(code int) {
	if !s.wrote {
		s.code, s.wrote = code, true
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	s.wrote = true
	return s.ResponseWriter.Write(p)
}

// Server runs the balancer on one loopback port and its metrics on another.
type Server struct {
	Addr, MetricsAddr string
	srv, msrv         *http.Server
	errc              chan error
}

// Listen starts serving b on addr (request traffic) and metricsAddr (/metrics). Both must be
// loopback addresses; port 0 picks a free port.
func Listen(b *Balancer, addr, metricsAddr string) (*Server, error) {
	for _, a := range []string{addr, metricsAddr} {
		if err := checkLoopback(a); err != nil {
			return nil, err
		}
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("load balancer: listen on %s: %w (choose another port, or 0 for a free one)", addr, err)
	}
	mln, err := net.Listen("tcp", metricsAddr)
	if err != nil {
		ln.Close()
		return nil, fmt.Errorf("load balancer metrics: listen on %s: %w (choose another port, or 0 for a free one)", metricsAddr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", b.MetricsHandler())
	s := &Server{
		Addr: ln.Addr().String(), MetricsAddr: mln.Addr().String(),
		srv:  &http.Server{Handler: b, ReadHeaderTimeout: 10 * time.Second},
		msrv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
		errc: make(chan error, 2),
	}
	go func() { s.errc <- s.srv.Serve(ln) }()
	go func() { s.errc <- s.msrv.Serve(mln) }()
	return s, nil
}

// Close stops both listeners, waiting up to 5 s for requests in flight.
func (s *Server) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := errors.Join(s.srv.Shutdown(ctx), s.msrv.Shutdown(ctx))
	if errors.Is(err, context.DeadlineExceeded) {
		err = errors.Join(s.srv.Close(), s.msrv.Close())
	}
	return err
}

func checkLoopback(addr string) error {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("load balancer address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("load balancer address %q: only loopback IPs are allowed (e.g. 127.0.0.1:0)", addr)
	}
	return nil
}

// Unwrap lets http.ResponseController reach the underlying writer (flushes, deadlines).
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }
