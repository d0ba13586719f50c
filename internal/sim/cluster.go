package sim

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

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
	// Profile is the per-pod performance profile.
	Profile *perf.Profile
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
	// Tap, when set, sees every step and every reported period (for tests that replay a run
	// through another backend's source).
	Tap Tap
}

// Tap observes a run: each step the driver took, and each period the simulated cluster
// reported (step is the period's length: the tick or the interval), with the replica
// counts at its end.
type Tap interface {
	Step(st driver.Step)
	Reported(step time.Duration, p driver.Point, replicas, ready int)
}

// DefaultConfig returns the evaluation protocol's defaults: 60 s intervals, 30 s start-up,
// 10 s request timeout, the fft profile, mean latency SLO of 16 ms, 1..100 replicas.
func DefaultConfig() Config {
	return Config{
		Interval: 60 * time.Second,
		Startup:  30 * time.Second,
		Timeout:  10 * time.Second,
		Profile:  perf.FFT(),
		SLO:      policy.SLO{Metric: perf.Mean, TargetMS: 16},
		Min:      1,
		Max:      100,
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
	case !(c.SLO.TargetMS > 0):
		return 0, fmt.Errorf("SLO must be positive, got %g ms", c.SLO.TargetMS)
	case c.Min < 0 || c.Max < 1 || c.Min > c.Max:
		return 0, fmt.Errorf("replica bounds must satisfy 0 <= min <= max and max >= 1 (got min %d, max %d)", c.Min, c.Max)
	case c.Initial < 0:
		return 0, fmt.Errorf("initial replicas must not be negative")
	}
	return c.Profile.CapacityAt(c.SLO.Metric, c.SLO.TargetMS)
}

// Record is one simulated control interval: what the workload did, what the cluster did and
// the decision that governed the interval (package measure).
type Record = measure.Record

// pendingPod is a pod that was created and is not ready yet.
type pendingPod struct{ readyAt time.Duration }

// cluster is the simulated deployment: ready pods, pods starting, and the request backlog.
type cluster struct {
	cfg     *Config
	mu      float64 // per-pod saturation throughput, req/s
	sat     perf.Point
	ready   int
	pending []pendingPod // sorted by readyAt
	backlog float64      // requests waiting
	rng     *rand.Rand
	// over[i] is the share of requests over the SLO at per-pod load i*overStep without
	// queueing, tabulated once per run: FracOver's exponential is the inner loop's most
	// expensive call otherwise.
	over     []float64
	overStep float64
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
		}
	}
}

// accum collects request-weighted and time-weighted sums over a tick or an interval.
type accum struct {
	seconds                   float64
	arrived, served, failed   float64
	latMean, latP95, latP99   float64 // served-weighted sums, ms*requests
	overSLO                   float64 // requests slower than the SLO
	cpuTime                   float64 // CPU utilisation x seconds, only while pods are ready
	readyTime                 float64 // seconds with at least one ready pod
	readySec, allocSec, inSys float64 // pod-seconds ready and allocated; requests-in-system x seconds
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
	a.readyTime += b.readyTime
	a.readySec += b.readySec
	a.allocSec += b.allocSec
	a.inSys += b.inSys
}

// serve integrates a stretch of h seconds with constant arrival rate and constant ready
// pods, as a fluid queue: capacity C = ready*mu; backlog grows at rate-C when overloaded and
// drains at C-rate otherwise; requests that would wait longer than the timeout fail. While
// a backlog exists pods run saturated and requests wait backlog/C on average.
func (c *cluster) serve(rate, h float64, a *accum) {
	if h <= 0 {
		return
	}
	n := float64(c.ready)
	alloc := float64(c.allocated())
	a.seconds += h
	a.arrived += rate * h
	a.readySec += n * h
	a.allocSec += alloc * h
	if c.ready == 0 {
		// No endpoint: requests are refused at once (a Service with no ready pods).
		a.failed += rate*h + c.backlog
		c.backlog = 0
		return
	}
	capacity := n * c.mu
	a.readyTime += h
	if c.backlog > 0 && rate < capacity {
		drain := c.backlog / (capacity - rate)
		if drain < h {
			c.saturated(capacity, rate, drain, a)
			c.unsaturated(n, rate, h-drain, a)
			return
		}
		c.saturated(capacity, rate, h, a)
		return
	}
	if rate <= capacity {
		c.unsaturated(n, rate, h, a)
		return
	}
	c.saturated(capacity, rate, h, a)
}

func (c *cluster) unsaturated(n, rate, h float64, a *accum) {
	if h <= 0 {
		return
	}
	load := rate / n
	pt := c.cfg.Profile.At(load)
	served := rate * h
	a.served += served
	a.latMean += served * pt.MeanMS
	a.latP95 += served * pt.P95MS
	a.latP99 += served * pt.P99MS
	a.overSLO += served * c.overAt(load)
	a.cpuTime += pt.CPU * h
	a.inSys += rate * pt.MeanMS / 1000 * h
}

// saturated serves at full capacity for h seconds while the backlog changes linearly.
func (c *cluster) saturated(capacity, rate, h float64, a *accum) {
	start := c.backlog
	end := start + (rate-capacity)*h
	if end < 0 {
		end = 0
	}
	limit := c.cfg.Timeout.Seconds() * capacity
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
	a.cpuTime += pt.CPU * h
	a.inSys += (served/h*pt.MeanMS/1000 + avg) * h
	c.backlog = end
}

// advance integrates [from, to) at a constant arrival rate, turning starting pods ready at
// their exact ready times.
func (c *cluster) advance(from, to time.Duration, rate float64, a *accum) {
	t := from
	for len(c.pending) > 0 && c.pending[0].readyAt < to {
		at := max(c.pending[0].readyAt, t)
		c.serve(rate, (at - t).Seconds(), a)
		t = at
		// Every pod ready at this instant joins together.
		for len(c.pending) > 0 && c.pending[0].readyAt <= t {
			c.pending = c.pending[1:]
			c.ready++
		}
	}
	c.serve(rate, (to - t).Seconds(), a)
	for len(c.pending) > 0 && c.pending[0].readyAt <= to {
		c.pending = c.pending[1:]
		c.ready++
	}
}
