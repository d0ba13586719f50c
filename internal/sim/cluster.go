package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/bascaler/bascaler/internal/drift"
	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/measure"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
)

// Config describes the simulated cluster and the run's fixed settings.
type Config struct {
	// Interval is the control interval: one workload point lasts one interval.
	Interval time.Duration
	// Startup is the time from a pod's creation to its readiness.
	Startup time.Duration
	// StartupJitter, when positive, adds a uniform random delay in [0, StartupJitter) per pod.
	StartupJitter time.Duration
	// Timeout is how long a request may wait in a queue before it fails.
	Timeout time.Duration
	// HoldTimeout and HoldQueue configure the activator, which holds requests while no pod
	// is ready (after a scale to zero): a held request that waited HoldTimeout fails, and an
	// arrival that finds HoldQueue requests held is refused. Zero means the defaults
	// (DefaultHoldTimeout, DefaultHoldQueue); HoldQueue < 0 means unbounded, as the KEDA HTTP
	// add-on's interceptor is by default.
	HoldTimeout time.Duration
	HoldQueue   int
	// Profile is the per-pod performance profile.
	Profile *perf.Profile
	// CPULimit is each pod's CPU limit as a multiple of its CPU request (the profile's CPU
	// unit). Zero means DefaultCPULimit: limit = request, Kubernetes' guaranteed QoS, as the
	// testbed's replicas (a CFS quota equal to the share). A pod never uses more than its
	// limit: the CPU a metric source reports is capped at CPULimit (with limit = request,
	// the HPA sees at most 1.0, so one sync multiplies replicas by at most 1/target), and a
	// throttled pod serves at most the load at which the profile's CPU reaches the limit,
	// limit / (CPU per request) req/s (Config.Throughput). Latency below that load is the
	// profile's; at it, the pod is saturated and the excess queues, as at the profile's
	// MaxLoad. A limit above the profile's CPU at MaxLoad does not raise the throughput: the
	// profile knows nothing beyond MaxLoad.
	CPULimit float64
	// QueueLimit bounds the requests waiting at each ready pod: arrivals beyond ready x
	// QueueLimit waiting are refused with 503 at once (failed, never served). Zero means
	// DefaultQueueLimit, the testbed replica's (fftsvc's -queue-limit); negative means no
	// bound but Timeout, as a Kubernetes Service itself has none.
	QueueLimit int
	// ObserveArrivals makes the Observation carry the arrival rate, for metric sources that
	// see requests before the pods do (a gateway or the client side). By default it carries
	// what the destination reports: requests answered in the period (served + failed), which
	// lags the arrivals while a backlog builds.
	ObserveArrivals bool
	// UndilutedCPU reports the ready pods' CPU averaged over their ready time only. By
	// default a pod that becomes ready during a period counts in the mean over the whole
	// period with no use before its readiness: metrics-server and Prometheus average a pod's
	// CPU over a window, and the HPA counts a pod whose window began before it was ready as
	// 0% on scale-up. A just-ready pod thus dilutes the average.
	UndilutedCPU bool
	// StartupCPU is extra CPU (a multiple of the request) a pod uses during its first
	// StartupCPUFor after readiness, as a JIT warm-up or cache fill would: it shows in the
	// reported CPU (capped at the limit) and does not slow serving. Zero, the default, is
	// the testbed's replica: a compiled Go binary with no warm-up.
	StartupCPU    float64
	StartupCPUFor time.Duration
	// CapacityJitter, when positive, is the coefficient of variation of a per-interval
	// factor on every ready pod's throughput: in interval i each pod serves at most
	// f_i x Throughput and, below that, behaves as the profile's pod at load / f_i (latency,
	// CPU; a request costs 1/f_i the profile's CPU). f_i is lognormal with mean 1, drawn
	// for every interval of the run from Seed on a stream of its own (the start-up jitter's
	// draws are unchanged by it), so every policy of a run meets the same sequence: a
	// comparison between policies is paired. It models what the testbed showed near a
	// replica's knee: the same load per replica meeting an idle queue in one interval and a
	// growing one in another, as a request's CPU cost drifts by a few percent around a CFS
	// quota the load nearly fills (bench/testbed.md). Zero, the default, is a fixed
	// capacity.
	CapacityJitter float64
	// SLO is the latency objective the run is judged by.
	SLO policy.SLO
	// Min and Max bound the replicas; the simulator clamps every decision to them.
	Min, Max int
	// Initial is the number of ready pods at the start. Zero means "sized for the start":
	// the fewest pods that meet the SLO in every interval that begins before a pod created
	// at the first decision can be ready (the first interval, with the default 30 s start-up).
	// Every policy gets the same start, so the choice favours none of them.
	Initial int
	// Seed drives the start-up jitter.
	Seed int64
	// Warm holds completed intervals before the run, in the Observation's History from the
	// first decision on (a controller's warm start; what a metric source would report for
	// them). Usually empty: the policy's models train on Env.History either way.
	Warm []driver.Point
	// Drift, when set, scores the serving forecast of a forecasting policy (one with a
	// Forecaster, such as bascaler) at every completed interval (Record.Drift, package
	// drift); other policies' records carry no scores.
	Drift *DriftConfig
	// Tap, when set, sees every step and every reported period (for tests that replay a run
	// through another backend's source).
	Tap Tap
}

// DriftConfig configures the per-interval drift scores of a run.
type DriftConfig struct {
	Options drift.Options
	// History is the workload before the run (the policy's Env.History): the model's
	// training inputs (the PSI's reference) and the first forecasts' past. Each point is one
	// interval, as the simulator replays a trace.
	History []float64
}

// Tap observes a run: each step the driver took, and each period the simulated cluster
// reported (step is the period's length: the tick or the interval), with the replica
// counts at its end.
type Tap interface {
	Step(st driver.Step)
	Reported(step time.Duration, p driver.Point, replicas, ready int)
}

// The activator's defaults, after Knative Serving's activator: it buffers requests for a
// revision with no ready pod in a breaker whose queue holds breakerQueueDepth = 10000
// requests before it answers 503 (knative.dev/serving pkg/activator/net/throttler.go), and a
// request may wait up to the revision timeout, revision-timeout-seconds = 300 s by default
// (config-defaults). The KEDA HTTP add-on's interceptor is alike: its cold-start queue is
// unbounded by default (KEDA_HTTP_COLD_START_MAX_PENDING_REQUESTS = 0) and its readiness
// wait is bounded only by the request's deadline (KEDA_HTTP_READINESS_TIMEOUT = 0s), with a
// 300 s response-header timeout (KEDA_HTTP_RESPONSE_HEADER_TIMEOUT).
const (
	DefaultHoldTimeout = 300 * time.Second
	DefaultHoldQueue   = 10000
)

// DefaultCPULimit is the pod's CPU limit over its request: 1, guaranteed QoS.
const DefaultCPULimit = 1.0

// DefaultQueueLimit is the requests a pod holds waiting, after the testbed's replica
// (internal/testbed/fftsvc: QueueLimit 512, 503 at once beyond it). Kubernetes itself has
// no such bound; the default follows the replica the simulator is checked against.
const DefaultQueueLimit = 512

// MaxCapacityJitter bounds Config.CapacityJitter: beyond a CV of 1 the lognormal factor is
// mostly a few intervals of near-zero capacity, no longer a drift around the profile.
const MaxCapacityJitter = 1.0

// capacityFactors draws the per-interval capacity factors of a run (Config.CapacityJitter):
// nil when there is no jitter. Lognormal with mean 1 and coefficient of variation cv:
// exp(s z - s^2/2) with s^2 = ln(1 + cv^2).
func capacityFactors(cv float64, seed int64, n int) []float64 {
	if cv == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(uint64(seed), 0xca9ac17))
	s := math.Sqrt(math.Log1p(cv * cv))
	fs := make([]float64, n)
	for i := range fs {
		fs[i] = math.Exp(s*rng.NormFloat64() - s*s/2)
	}
	return fs
}

// DefaultConfig returns the evaluation protocol's defaults: 60 s intervals, 30 s start-up,
// 10 s request timeout, the fft profile, mean latency SLO of 16 ms, 1..100 replicas.
func DefaultConfig() Config {
	return Config{
		Interval:    60 * time.Second,
		Startup:     30 * time.Second,
		Timeout:     10 * time.Second,
		HoldTimeout: DefaultHoldTimeout,
		HoldQueue:   DefaultHoldQueue,
		CPULimit:    DefaultCPULimit,
		QueueLimit:  DefaultQueueLimit,
		Profile:     perf.FFT(),
		SLO:         policy.SLO{Metric: perf.Mean, TargetMS: 16},
		Min:         1,
		Max:         100,
	}
}

// Validate checks the configuration and returns the per-pod capacity at the SLO.
func (c *Config) Validate() (capacity float64, err error) {
	switch {
	case c.Interval <= 0:
		return 0, fmt.Errorf("interval must be positive, got %s", c.Interval)
	case c.Startup < 0 || c.StartupJitter < 0:
		return 0, fmt.Errorf("start-up delay and jitter must not be negative")
	case c.Timeout <= 0:
		return 0, fmt.Errorf("request timeout must be positive, got %s", c.Timeout)
	case c.Profile == nil:
		return 0, fmt.Errorf("no performance profile")
	case c.Profile.Memory.Validate() != nil:
		return 0, c.Profile.Memory.Validate()
	case !(c.SLO.TargetMS > 0):
		return 0, fmt.Errorf("SLO must be positive, got %g ms", c.SLO.TargetMS)
	case c.Min < 0 || c.Max < 1 || c.Min > c.Max:
		return 0, fmt.Errorf("replica bounds must satisfy 0 <= min <= max and max >= 1 (got min %d, max %d)", c.Min, c.Max)
	case c.Initial < 0:
		return 0, fmt.Errorf("initial replicas must not be negative")
	case c.HoldTimeout < 0:
		return 0, fmt.Errorf("activator hold timeout must not be negative, got %s", c.HoldTimeout)
	case math.IsNaN(c.StartupCPU) || math.IsInf(c.StartupCPU, 0) || c.StartupCPU < 0 || c.StartupCPUFor < 0:
		return 0, fmt.Errorf("start-up CPU burst must be finite and non-negative, got %v for %s", c.StartupCPU, c.StartupCPUFor)
	case math.IsNaN(c.CapacityJitter) || c.CapacityJitter < 0 || c.CapacityJitter > MaxCapacityJitter:
		return 0, fmt.Errorf("capacity jitter must be a coefficient of variation in [0, %g], got %v", MaxCapacityJitter, c.CapacityJitter)
	case math.IsNaN(c.CPULimit) || math.IsInf(c.CPULimit, 0) || c.CPULimit < 0:
		return 0, fmt.Errorf("cpu limit must be a finite multiple of the request >= 0 (0: default %g), got %v", DefaultCPULimit, c.CPULimit)
	}
	capacity, err = c.Profile.CapacityAt(c.SLO.Metric, c.SLO.TargetMS)
	if err != nil {
		return 0, err
	}
	mu, err := c.Throughput()
	if err != nil {
		return 0, err
	}
	return math.Min(capacity, mu), nil
}

// cpuLimit is CPULimit with its default.
func (c *Config) cpuLimit() float64 {
	if c.CPULimit == 0 {
		return DefaultCPULimit
	}
	return c.CPULimit
}

// queueLimit is QueueLimit with its default, +Inf when unbounded.
func (c *Config) queueLimit() float64 {
	switch {
	case c.QueueLimit < 0:
		return math.Inf(1)
	case c.QueueLimit == 0:
		return DefaultQueueLimit
	}
	return float64(c.QueueLimit)
}

// Throughput is a pod's saturation throughput under its CPU limit, req/s: the profile's
// MaxLoad, or less when the profile's CPU passes the limit before it, at the first load
// where it reaches the limit (linear between the profile's points, as Profile.At). With the
// fft profile (CPU 100% of the request at its 110 req/s saturation) and limit = request
// both coincide; a profile measured without a limit (CPU beyond 100%) is cut to what a
// throttled pod can serve.
func (c *Config) Throughput() (float64, error) {
	p, lim := c.Profile, c.cpuLimit()
	pts := p.Points
	for i := 1; i < len(pts); i++ {
		b := pts[i]
		if b.Load > p.MaxLoad {
			break
		}
		if b.CPU <= lim {
			continue
		}
		a := pts[i-1]
		if a.CPU >= lim {
			if a.Load <= 0 {
				return 0, fmt.Errorf("profile %s: CPU %.3g at no load is over the CPU limit %g", p.Name, a.CPU, lim)
			}
			return a.Load, nil
		}
		return a.Load + (lim-a.CPU)/(b.CPU-a.CPU)*(b.Load-a.Load), nil
	}
	return p.MaxLoad, nil
}

// Record is one simulated control interval: what the workload did, what the cluster did and
// the decision that governed the interval (package measure).
type Record = measure.Record

// pendingPod is a pod that was created and is not ready yet.
type pendingPod struct{ readyAt time.Duration }

// cluster is the simulated deployment: ready pods, pods starting, and the request backlog.
type cluster struct {
	cfg    *Config
	mu     float64 // per-pod saturation throughput under the CPU limit, req/s
	sat    perf.Point
	cpuLim float64 // the CPU limit, a multiple of the request
	queue  float64 // waiting requests per ready pod before 503s; +Inf when unbounded
	// f is the current interval's capacity factor (Config.CapacityJitter; 1 without) and
	// podMu = f x mu the pods' throughput in it.
	f, podMu float64
	// warm holds the ready times (seconds) of the ready pods still in their start-up CPU
	// burst, oldest first.
	warm    []float64
	ready   int
	pending []pendingPod // sorted by readyAt
	backlog float64      // requests waiting
	rng     *rand.Rand
	// held are the requests the activator holds while no pod is ready, in batches that
	// arrived evenly over [from, to) (seconds since the run's start), oldest first.
	held        []heldBatch
	holdTimeout float64 // seconds
	holdQueue   float64 // requests; +Inf when unbounded
	// over[i] is the share of requests over the SLO at per-pod load i*overStep without
	// queueing, tabulated once per run: FracOver's exponential is the inner loop's most
	// expensive call otherwise.
	over     []float64
	overStep float64
}

// heldBatch is requests that arrived evenly over [from, to) and are held by the activator.
type heldBatch struct{ from, to, n float64 }

func (c *cluster) heldCount() float64 {
	n := 0.0
	for _, b := range c.held {
		n += b.n
	}
	return n
}

// hold queues rate*h arrivals of [t, t+h) in the activator; what the queue has no room for
// is refused at once.
func (c *cluster) hold(t, rate, h float64, a *accum) {
	in := rate * h
	a.cold += in
	room := math.Max(c.holdQueue-c.heldCount(), 0)
	take := math.Min(in, room)
	a.failed += in - take
	a.heldFailed += in - take
	a.heldIn += take
	if take > 0 {
		// The first arrivals got in; the rest found the queue full.
		c.held = append(c.held, heldBatch{from: t, to: t + h*take/in, n: take})
	}
	c.expire(t+h, a)
}

// expire fails the held requests that have waited the hold timeout at time now.
func (c *cluster) expire(now float64, a *accum) {
	cut := now - c.holdTimeout
	k := 0
	for _, b := range c.held {
		if b.from >= cut {
			c.held[k] = b
			k++
			continue
		}
		gone := b.n
		if b.to > cut && b.to > b.from {
			gone = b.n * (cut - b.from) / (b.to - b.from)
			b.n -= gone
			b.from = cut
			c.held[k] = b
			k++
		}
		a.failed += gone
		a.heldFailed += gone
	}
	c.held = c.held[:k]
}

// release hands the held requests to the pods that just became ready at time now: they join
// the pods' queue (and its timeout) having waited now - arrival already, which counts as
// their added latency.
func (c *cluster) release(now float64, a *accum) {
	c.expire(now, a)
	for _, b := range c.held {
		lo, hi := (now-b.to)*1000, (now-b.from)*1000
		a.waits = append(a.waits, measure.HeldWait{LoMS: math.Max(lo, 0), HiMS: hi, Count: b.n})
		mean := (math.Max(lo, 0) + hi) / 2
		a.latMean += b.n * mean
		a.latP95 += b.n * mean
		a.latP99 += b.n * mean
		c.backlog += b.n
	}
	c.held = c.held[:0]
}

// overTableSize is the resolution of the over-SLO table; its linear interpolation error is
// far below the share's own modelling error.
const overTableSize = 1024

func (c *cluster) buildOverTable() {
	c.overStep = c.mu / overTableSize
	c.over = make([]float64, overTableSize+1)
	for i := range c.over {
		c.over[i] = c.cfg.Profile.At(float64(i)*c.overStep).FracOver(c.cfg.SLO.TargetMS, 0)
	}
}

// setFactor sets the capacity factor of the interval about to be integrated.
func (c *cluster) setFactor(f float64) {
	c.f, c.podMu = f, f*c.mu
}

// overAt interpolates the over-SLO table at a per-pod load below saturation.
func (c *cluster) overAt(load float64) float64 {
	x := load / c.overStep
	if x >= overTableSize {
		return c.over[overTableSize]
	}
	i := int(x)
	w := x - float64(i)
	return c.over[i] + w*(c.over[i+1]-c.over[i])
}

func (c *cluster) allocated() int { return c.ready + len(c.pending) }

// scaleTo creates or removes pods. Removal takes starting pods first, newest first, as a
// ReplicaSet prefers deleting pods that are not ready.
func (c *cluster) scaleTo(n int, now time.Duration) {
	for c.allocated() < n {
		d := c.cfg.Startup
		if c.cfg.StartupJitter > 0 {
			d += time.Duration(c.rng.Int64N(int64(c.cfg.StartupJitter)))
		}
		at := now + d
		i := sort.Search(len(c.pending), func(i int) bool { return c.pending[i].readyAt > at })
		c.pending = append(c.pending, pendingPod{})
		copy(c.pending[i+1:], c.pending[i:])
		c.pending[i] = pendingPod{readyAt: at}
	}
	for c.allocated() > n {
		if len(c.pending) > 0 {
			c.pending = c.pending[:len(c.pending)-1]
		} else {
			c.ready--
			// A ReplicaSet deletes the most recently ready pods first.
			if len(c.warm) > 0 {
				c.warm = c.warm[:len(c.warm)-1]
			}
		}
	}
}

// accum collects request-weighted and time-weighted sums over a tick or an interval.
type accum struct {
	seconds                 float64
	arrived, served, failed float64
	latMean, latP95, latP99 float64 // served-weighted sums, ms*requests
	overSLO                 float64 // requests slower than the SLO
	cpuTime                 float64 // per-pod CPU utilisation x seconds, only while pods are ready
	memTime                 float64 // summed working-set bytes x seconds, while pods are ready
	readyTime               float64 // seconds with at least one ready pod
	// from is the period's start; cpuPodSec the pods' summed CPU x seconds; joined and
	// joinedSec count the pods that became ready in the period and their seconds from the
	// period's start to their readiness (the idle part of their window).
	from                      time.Duration
	cpuPodSec, joinedSec      float64
	joined                    int
	readySec, allocSec, inSys float64 // pod-seconds ready and allocated; requests-in-system x seconds
	// Scale from zero: arrivals that found no ready pod, those the activator held, held
	// ones that failed, the released ones' added latency, allocated pod-seconds without
	// arrivals.
	cold, heldIn, heldFailed float64
	waits                    []measure.HeldWait
	idleSec                  float64
}

func (a *accum) add(b *accum) {
	a.seconds += b.seconds
	a.arrived += b.arrived
	a.served += b.served
	a.failed += b.failed
	a.latMean += b.latMean
	a.latP95 += b.latP95
	a.latP99 += b.latP99
	a.overSLO += b.overSLO
	a.cpuTime += b.cpuTime
	a.memTime += b.memTime
	a.readyTime += b.readyTime
	a.cpuPodSec += b.cpuPodSec
	a.joinedSec += b.joinedSec + float64(b.joined)*(b.from-a.from).Seconds()
	a.joined += b.joined
	a.readySec += b.readySec
	a.allocSec += b.allocSec
	a.inSys += b.inSys
	a.cold += b.cold
	a.heldIn += b.heldIn
	a.heldFailed += b.heldFailed
	a.waits = append(a.waits, b.waits...)
	a.idleSec += b.idleSec
}

// serve integrates a stretch of h seconds with constant arrival rate and constant ready
// pods, as a fluid queue: capacity C = ready*mu; backlog grows at rate-C when overloaded and
// drains at C-rate otherwise; requests that would wait longer than the timeout fail. While
// a backlog exists pods run saturated and requests wait backlog/C on average.
//
// With no ready pod (after a scale to zero) the activator holds the arrivals (hold) until a
// pod is ready; t is the stretch's start in seconds since the run's start.
func (c *cluster) serve(t, rate, h float64, a *accum) {
	if h <= 0 {
		return
	}
	n := float64(c.ready)
	alloc := float64(c.allocated())
	a.seconds += h
	a.arrived += rate * h
	a.readySec += n * h
	a.allocSec += alloc * h
	if rate == 0 {
		a.idleSec += alloc * h
	}
	if c.ready == 0 {
		// A pod that was removed leaves its queue behind: it fails (the pod is gone).
		a.failed += c.backlog
		c.backlog = 0
		c.hold(t, rate, h, a)
		return
	}
	capacity := n * c.podMu
	a.readyTime += h
	if c.backlog > 0 && rate < capacity {
		drain := c.backlog / (capacity - rate)
		if drain < h {
			c.saturated(t, capacity, rate, drain, a)
			c.unsaturated(t+drain, n, rate, h-drain, a)
			return
		}
		c.saturated(t, capacity, rate, h, a)
		return
	}
	if rate <= capacity {
		c.unsaturated(t, n, rate, h, a)
		return
	}
	c.saturated(t, capacity, rate, h, a)
}

func (c *cluster) unsaturated(t, n, rate, h float64, a *accum) {
	if h <= 0 {
		return
	}
	load := rate / n
	// A pod of capacity factor f at this load is the profile's pod at load / f.
	eff := load / c.f
	pt := c.cfg.Profile.At(eff)
	served := rate * h
	a.served += served
	a.latMean += served * pt.MeanMS
	a.latP95 += served * pt.P95MS
	a.latP99 += served * pt.P99MS
	a.overSLO += served * c.overAt(eff)
	cpu := math.Min(pt.CPU, c.cpuLim)
	a.cpuTime += cpu * h
	a.cpuPodSec += cpu * n * h
	c.burst(t, h, n, cpu, a)
	a.memTime += n * c.cfg.Profile.Memory.At(load) * h
	a.inSys += rate * pt.MeanMS / 1000 * h
}

// saturated serves at full capacity for h seconds while the backlog changes linearly.
func (c *cluster) saturated(t, capacity, rate, h float64, a *accum) {
	start := c.backlog
	end := start + (rate-capacity)*h
	if end < 0 {
		end = 0
	}
	// The backlog is bounded by the timeout (older requests fail) and by the pods' queues
	// (further arrivals are refused at once); the fluid model does not tell them apart.
	pods := capacity / c.podMu
	limit := math.Min(c.cfg.Timeout.Seconds()*capacity, pods*c.queue)
	if end > limit {
		a.failed += end - limit
		end = limit
	}
	avg := (start + end) / 2
	if avg > limit {
		avg = limit
	}
	waitMS := avg / capacity * 1000
	served := capacity * h
	if total := start + rate*h; served > total {
		served = total
	}
	pt := c.sat
	a.served += served
	a.latMean += served * (pt.MeanMS + waitMS)
	a.latP95 += served * (pt.P95MS + waitMS)
	a.latP99 += served * (pt.P99MS + waitMS)
	a.overSLO += served * pt.FracOver(c.cfg.SLO.TargetMS, waitMS)
	cpu := math.Min(pt.CPU, c.cpuLim)
	a.cpuTime += cpu * h
	a.cpuPodSec += cpu * pods * h
	c.burst(t, h, pods, cpu, a)
	a.memTime += pods * c.cfg.Profile.Memory.At(c.podMu) * h // saturated pods run at capacity
	a.inSys += (served/h*pt.MeanMS/1000 + avg) * h
	c.backlog = end
}

// burst adds the start-up CPU of the pods still warming up over [t, t+h), on n ready pods
// serving at cpu each: each adds StartupCPU over its overlap with its burst, up to the limit.
func (c *cluster) burst(t, h, n, cpu float64, a *accum) {
	if len(c.warm) == 0 || h <= 0 {
		return
	}
	d := c.cfg.StartupCPUFor.Seconds()
	extra := math.Max(math.Min(cpu+c.cfg.StartupCPU, c.cpuLim)-cpu, 0)
	k := 0
	for _, r := range c.warm {
		if over := math.Min(t+h, r+d) - math.Max(t, r); over > 0 {
			a.cpuPodSec += extra * over
			a.cpuTime += extra * over / n
		}
		if r+d > t+h {
			c.warm[k] = r
			k++
		}
	}
	c.warm = c.warm[:k]
}

// advance integrates [from, to) at a constant arrival rate, turning starting pods ready at
// their exact ready times.
func (c *cluster) advance(from, to time.Duration, rate float64, a *accum) {
	t := from
	for len(c.pending) > 0 && c.pending[0].readyAt < to {
		at := max(c.pending[0].readyAt, t)
		c.serve(t.Seconds(), rate, (at - t).Seconds(), a)
		t = at
		// Every pod ready at this instant joins together.
		c.ready0(t, a)
	}
	c.serve(t.Seconds(), rate, (to - t).Seconds(), a)
	c.ready0(to, a)
}

// ready0 turns the pods whose start-up ends at or before t ready; the first ready pod after
// none releases the activator's held requests.
func (c *cluster) ready0(t time.Duration, a *accum) {
	was := c.ready
	for len(c.pending) > 0 && c.pending[0].readyAt <= t {
		c.pending = c.pending[1:]
		c.ready++
		if c.cfg.StartupCPU > 0 && c.cfg.StartupCPUFor > 0 {
			c.warm = append(c.warm, t.Seconds())
		}
		a.joined++
		a.joinedSec += (t - a.from).Seconds()
	}
	if was == 0 && c.ready > 0 && len(c.held) > 0 {
		c.release(t.Seconds(), a)
	}
}
