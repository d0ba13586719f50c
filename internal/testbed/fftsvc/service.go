package fftsvc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/cmplx"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"gonum.org/v1/gonum/dsp/fourier"
)

// Options configure a Service. The zero value of a field means its default.
type Options struct {
	// FFTSize is the number of samples per transform (default 4096).
	FFTSize int
	// Rounds is how many transforms one request computes (default 32). With FFTSize 4096
	// one request costs about 5-10 ms of one core on the development machine: the per-request
	// work of the BAScaler paper's FFT service is of that order.
	Rounds int
	// StartupDelay is how long after Start the service reports ready: it stands in for a
	// pod's image pull, JVM warm-up, cache fill and so on.
	StartupDelay time.Duration
	// Name is the workload name put into the Istio labels (default "fft").
	Name string
	// Workers is how many requests compute at once (default 1: a replica runs with
	// GOMAXPROCS=1). Others wait in a queue without using CPU, so that /metrics and
	// /readyz still answer promptly on an overloaded replica: with hundreds of runnable
	// goroutines sharing a small CPU quota, a scrape would otherwise time out exactly
	// when the autoscaler needs it.
	Workers int
	// QueueLimit bounds requests waiting for a worker (default 512); beyond it the
	// service answers 503 at once, as a server with a full accept queue would fail.
	QueueLimit int
}

func (o Options) withDefaults() (Options, error) {
	if o.FFTSize == 0 {
		o.FFTSize = 4096
	}
	if o.Rounds == 0 {
		o.Rounds = 32
	}
	if o.Name == "" {
		o.Name = "fft"
	}
	if o.Workers == 0 {
		o.Workers = 1
	}
	if o.QueueLimit == 0 {
		o.QueueLimit = 512
	}
	if o.Workers < 1 || o.Workers > 1024 || o.QueueLimit < 1 || o.QueueLimit > 1<<20 {
		return o, fmt.Errorf("workers %d and queue limit %d must be in [1, 1024] and [1, 1048576]", o.Workers, o.QueueLimit)
	}
	if o.FFTSize < 16 || o.FFTSize > 1<<20 {
		return o, fmt.Errorf("fft size %d out of range [16, 1048576]", o.FFTSize)
	}
	if o.Rounds < 1 || o.Rounds > 10000 {
		return o, fmt.Errorf("rounds %d out of range [1, 10000]", o.Rounds)
	}
	if o.StartupDelay < 0 {
		return o, fmt.Errorf("start-up delay must not be negative, got %s", o.StartupDelay)
	}
	return o, nil
}

// LatencyBuckets are the upper bounds (seconds) of the latency histogram: 1 ms steps up to
// 10 ms, then steps of 2-5 ms up to 50 ms and 10-25 ms up to 150 ms, because SLOs of a
// service costing 5-10 ms per request lie between 10 and 100 ms and the histogram's linear
// interpolation is only as good as the bucket width there.
var LatencyBuckets = []float64{
	.001, .002, .003, .004, .005, .006, .007, .008, .009, .010,
	.012, .014, .016, .018, .020, .022, .025, .030, .035, .040, .045, .050,
	.060, .070, .080, .090, .100, .125, .150, .200, .300, .500, 1, 2, 5, 10,
}

// Service is the FFT HTTP service. Create it with New and serve Handler.
type Service struct {
	opts    Options
	started time.Time
	ready   atomic.Bool
	closing atomic.Bool
	seq     atomic.Uint64
	pool    sync.Pool
	slots   chan struct{} // one per worker
	waiting atomic.Int64  // requests queued for a worker

	reg      *prometheus.Registry
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
	inflight prometheus.Gauge
	istioReq *prometheus.CounterVec
	istioDur *prometheus.HistogramVec
}

// workspace holds one goroutine's FFT plan and buffers: gonum's FFT is not safe for
// concurrent use, and allocating a plan per request would add garbage to every request.
type workspace struct {
	fft    *fourier.FFT
	signal []float64
	coeff  []complex128
}

// New builds a service; it becomes ready StartupDelay after New returns.
func New(opts Options) (*Service, error) {
	o, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	s := &Service{opts: o, started: time.Now(), reg: prometheus.NewRegistry(), slots: make(chan struct{}, o.Workers)}
	s.pool.New = func() any {
		return &workspace{
			fft:    fourier.NewFFT(o.FFTSize),
			signal: make([]float64, o.FFTSize),
			coeff:  make([]complex128, o.FFTSize/2+1),
		}
	}
	s.requests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "http_requests_total",
		Help: "HTTP requests served, by status code.",
	}, []string{"handler", "method", "code"})
	s.duration = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "http_request_duration_seconds",
		Help:    "Time from receiving a request to writing its response.",
		Buckets: LatencyBuckets,
	}, []string{"handler", "method", "code"})
	s.inflight = prometheus.NewGauge(prometheus.GaugeOpts{
		Name: "http_requests_in_flight",
		Help: "Requests being served now.",
	})
	s.istioReq = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "istio_requests_total",
		Help: "Requests, with the labels an Istio sidecar would put on them.",
	}, []string{"reporter", "destination_workload", "destination_service_name", "response_code"})
	msBuckets := make([]float64, len(LatencyBuckets))
	for i, b := range LatencyBuckets {
		msBuckets[i] = b * 1000
	}
	s.istioDur = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "istio_request_duration_milliseconds",
		Help:    "Request duration in milliseconds, with Istio's labels.",
		Buckets: msBuckets,
	}, []string{"reporter", "destination_workload", "destination_service_name", "response_code"})
	s.reg.MustRegister(s.requests, s.duration, s.inflight, s.istioReq, s.istioDur,
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector())
	if o.StartupDelay == 0 {
		s.ready.Store(true)
	} else {
		time.AfterFunc(o.StartupDelay, func() { s.ready.Store(true) })
	}
	return s, nil
}

// Handler routes /fft (the work), /metrics, /healthz and /readyz.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/fft", s.serveFFT)
	mux.HandleFunc("/", s.serveFFT) // the load balancer forwards any path
	mux.Handle("/metrics", promhttp.HandlerFor(s.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(http.StatusOK)
		_, _ = w.Write([]byte("ok\n"))
	})
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if !s.Ready() {
			http.Error(w, "not ready", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ready\n"))
	})
	return mux
}

// Ready reports whether the start-up delay is over and the service is not shutting down.
func (s *Service) Ready() bool { return s.ready.Load() && !s.closing.Load() }

// Result is the body of an /fft response.
type Result struct {
	Seed      uint64  `json:"seed"`
	PeakBin   int     `json:"peak_bin"`
	PeakPower float64 `json:"peak_power"`
}

func (s *Service) serveFFT(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.inflight.Inc()
	defer s.inflight.Dec()
	code := http.StatusOK
	var body []byte
	if !s.ready.Load() {
		// A request before readiness is a routing error upstream; answer it cheaply, as a
		// container whose server is not up yet would refuse it.
		code = http.StatusServiceUnavailable
		body = []byte("{\"error\":\"not ready\"}\n")
	} else {
		seed := s.seq.Add(1)
		if q := r.URL.Query().Get("seed"); q != "" {
			v, err := strconv.ParseUint(q, 10, 64)
			if err != nil {
				code = http.StatusBadRequest
				body = []byte("{\"error\":\"seed must be an unsigned integer\"}\n")
			} else {
				seed = v
			}
		}
		if code == http.StatusOK {
			code, body = s.work(r, seed)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(body)
	s.observe(r.Method, code, time.Since(start))
}

// statusClientClosed is nginx's code for a request the client gave up on while it waited.
const statusClientClosed = 499

// work waits for a worker (or gives up when the queue is full or the client left) and
// computes the request.
func (s *Service) work(r *http.Request, seed uint64) (int, []byte) {
	if s.waiting.Add(1) > int64(s.opts.QueueLimit) {
		s.waiting.Add(-1)
		return http.StatusServiceUnavailable, []byte("{\"error\":\"queue full\"}\n")
	}
	select {
	case s.slots <- struct{}{}:
		s.waiting.Add(-1)
	case <-r.Context().Done():
		s.waiting.Add(-1)
		return statusClientClosed, []byte("{\"error\":\"client closed request\"}\n")
	}
	res := s.Compute(seed)
	<-s.slots
	body, _ := json.Marshal(res)
	return http.StatusOK, append(body, '\n')
}

func (s *Service) observe(method string, code int, d time.Duration) {
	c := strconv.Itoa(code)
	s.requests.WithLabelValues("/fft", method, c).Inc()
	s.duration.WithLabelValues("/fft", method, c).Observe(d.Seconds())
	s.istioReq.WithLabelValues("destination", s.opts.Name, s.opts.Name, c).Inc()
	s.istioDur.WithLabelValues("destination", s.opts.Name, s.opts.Name, c).Observe(float64(d) / float64(time.Millisecond))
}

// Compute runs one request's work: Rounds forward transforms of a noisy sine whose
// frequency and noise come from seed, and returns the strongest frequency bin. Each round
// perturbs the signal with the previous spectrum so that no round can be skipped.
func (s *Service) Compute(seed uint64) Result {
	ws := s.pool.Get().(*workspace)
	defer s.pool.Put(ws)
	rng := rand.New(rand.NewPCG(seed, 0x5eed))
	n := s.opts.FFTSize
	freq := 1 + rng.IntN(n/2-1)
	for i := range ws.signal {
		ws.signal[i] = math.Sin(2*math.Pi*float64(freq)*float64(i)/float64(n)) + 0.5*rng.NormFloat64()
	}
	best, bestPow := 0, 0.0
	for round := 0; round < s.opts.Rounds; round++ {
		ws.coeff = ws.fft.Coefficients(ws.coeff, ws.signal)
		best, bestPow = 0, 0.0
		for k := 1; k < len(ws.coeff); k++ {
			if p := cmplx.Abs(ws.coeff[k]); p > bestPow {
				best, bestPow = k, p
			}
		}
		ws.signal[round%n] += 1e-9 * bestPow
	}
	return Result{Seed: seed, PeakBin: best, PeakPower: bestPow}
}

// ListeningPrefix starts the line Serve's caller prints once the service listens; the
// replica manager reads the bound address from it (the replica picks a free port itself,
// so no port is ever guessed and then found taken).
const ListeningPrefix = "serve-fft: listening on "

// Serve listens on addr and serves until ctx is cancelled, then stops accepting, reports
// not-ready and waits up to grace for requests in flight. ready, when not nil, receives the
// bound address once listening (useful with port 0).
func (s *Service) Serve(ctx context.Context, addr string, grace time.Duration, ready func(net.Addr)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if ready != nil {
		ready(ln.Addr())
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve on %s: %w", addr, err)
	case <-ctx.Done():
	}
	s.closing.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("shut down server on %s: %w", addr, err)
	}
	return nil
}
