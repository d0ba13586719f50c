package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/bascaler/bascaler/internal/drift"
	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/measure"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/series"
)

// Result is one policy's run over one workload (records and summary, package measure).
type Result = measure.Result

// Summary holds the evaluation protocol's per-run numbers (package measure).
type Summary = measure.Summary

// Run replays rates (requests per second, one value per control interval, starting at
// start) through a simulated cluster under p.
//
// Causality by construction: the interval t is integrated only after every decision that
// governs it has been made, so while p decides, records of t and later do not exist yet; the
// Observation's slices are cut with full slice expressions so their capacity ends at the
// last completed period. The workload itself is never handed to the policy.
func Run(cfg Config, rates []float64, start time.Time, p policy.Policy) (Result, error) {
	return run(cfg, rates, start, p, nil)
}

// forecasting is a policy that serves a forecaster (bascaler): its forecasts can be scored.
type forecasting interface {
	Forecaster() forecast.Forecaster
}

// run is Run with a hook called at the start of each interval i, before any decision for it,
// with the records of the completed intervals 0..i-1 (capacity cut at i: the hook cannot
// reach interval i or later through them) and the run's drift monitor (nil when the run
// scores no drift), which the hook resets when it swaps the model.
func run(cfg Config, rates []float64, start time.Time, p policy.Policy, between func(i int, done []Record, mon *drift.Monitor)) (Result, error) {
	capacity, err := cfg.Validate()
	if err != nil {
		return Result{}, err
	}
	for i, r := range rates {
		if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
			return Result{}, fmt.Errorf("workload point %d: rate %v is not a finite non-negative number", i, r)
		}
	}
	loop, err := driver.New(driver.Config{Interval: cfg.Interval, Min: cfg.Min, Max: cfg.Max, SLO: cfg.SLO})
	if err != nil {
		return Result{}, err
	}
	if err := loop.Bind(p); err != nil {
		return Result{}, err
	}
	loop.SetEpoch(start)
	tick := loop.Tick()
	ticksPer := int(cfg.Interval / tick)

	mu, err := cfg.Throughput()
	if err != nil {
		return Result{}, err
	}
	c := &cluster{cfg: &cfg, mu: mu, sat: cfg.Profile.At(mu), cpuLim: cfg.cpuLimit(), queue: cfg.queueLimit(),
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed))}
	c.buildOverTable()
	c.setFactor(1)
	factors := capacityFactors(cfg.CapacityJitter, cfg.Seed, len(rates))
	c.holdTimeout = cfg.HoldTimeout.Seconds()
	if cfg.HoldTimeout == 0 {
		c.holdTimeout = DefaultHoldTimeout.Seconds()
	}
	switch {
	case cfg.HoldQueue < 0:
		c.holdQueue = math.Inf(1)
	case cfg.HoldQueue == 0:
		c.holdQueue = DefaultHoldQueue
	default:
		c.holdQueue = float64(cfg.HoldQueue)
	}
	if cfg.Initial == 0 {
		// Sized for the intervals no decision can reach: pods created at the first decision
		// are ready only after the longest start-up delay.
		c.ready = driver.StartReplicas(rates, capacity, cfg.Interval, cfg.Startup+cfg.StartupJitter, cfg.Min, cfg.Max)
	} else {
		c.ready = min(max(cfg.Initial, cfg.Min, 1), cfg.Max)
	}
	for _, w := range cfg.Warm {
		if w.Start.Add(cfg.Interval).After(start) {
			return Result{}, fmt.Errorf("warm interval starting %s does not end before the run's start %s", w.Start.Format(time.RFC3339), start.Format(time.RFC3339))
		}
		// Labelled with the counts the run starts with, as a controller labels the past it
		// has no record of.
		loop.AddInterval(driver.IntervalOf(w, float64(c.ready), float64(c.ready)))
	}

	// Drift scores: the monitor sees the completed intervals only (the history, then the
	// run's intervals up to the one just finished), one point per interval.
	var mon *drift.Monitor
	var seen series.Series
	fp, scoring := p.(forecasting)
	if cfg.Drift != nil && scoring {
		mon = drift.New(cfg.Drift.Options, cfg.Drift.History)
		h := cfg.Drift.History
		seen = series.Series{Name: "completed", Start: start.Add(-time.Duration(len(h)) * cfg.Interval), Step: cfg.Interval,
			Values: append(make([]float64, 0, len(h)+len(rates)), h...)}
	}

	records := make([]Record, len(rates))
	res := Result{Policy: p.Name(), Records: records}
	for i, rate := range rates {
		if between != nil {
			between(i, records[:i:i], mon)
		}
		rec := &records[i]
		if factors != nil {
			c.setFactor(factors[i])
		}
		ivStart := time.Duration(i) * cfg.Interval
		iv := accum{from: ivStart}
		decided := false
		for k := 0; k < ticksPer; k++ {
			now := ivStart + time.Duration(k)*tick
			// The driver's step: the policy sees only the periods pushed so far (completed
			// ones), then behavior and bounds.
			st := loop.Decide(start.Add(now), c.allocated(), c.ready)
			if cfg.Tap != nil {
				cfg.Tap.Step(st)
			}
			res.Summary.Decisions++
			want := st.Desired
			changed := want != c.allocated()
			if changed {
				res.Summary.ScalingActions++
				c.scaleTo(want, now)
				loop.Applied(st.At, st.Replicas, want)
			}
			if !decided || changed {
				rec.Decision = st.Decision
				decided = true
			}

			tk := accum{from: now}
			c.advance(now, now+tick, rate, &tk)
			iv.add(&tk)
			p := reported(&tk, start.Add(now), c.cfg)
			loop.AddSample(driver.SampleOf(p, c.allocated(), c.ready))
			if cfg.Tap != nil {
				cfg.Tap.Reported(tick, p, c.allocated(), c.ready)
			}
		}
		p := finish(rec, &iv, start.Add(ivStart), rate, capacity, &cfg)
		rec.Desired = c.allocated()
		if mon != nil {
			seen.Values = append(seen.Values, rec.Rate)
			sc := mon.Observe(fp.Forecaster(), seen)
			rec.Drift = &sc
		}
		// Labelled with the counts at the interval's end, as real backends label it.
		loop.AddInterval(driver.IntervalOf(p, float64(c.allocated()), float64(c.ready)))
		if cfg.Tap != nil {
			cfg.Tap.Reported(cfg.Interval, p, c.allocated(), c.ready)
		}
	}
	res.Summary = summarise(records, &cfg, res.Summary)
	return res, nil
}

// reported is what a metric source would report for a period: the request and failure
// rates, latency of the served requests, the share over the SLO and the ready pods' CPU. The
// Observation is built from it with the same functions as in the real backends.
//
// The rate is the destination's (Config.ObserveArrivals: the arrivals'): requests answered
// in the period, served or failed, as a pod-side counter (the replica's or Istio's
// destination requests_total) counts them when they complete. While a backlog grows it lags
// the arrivals by what waits. The CPU is capped at the limit (in cluster) and, unless
// Config.UndilutedCPU, averaged over every pod ready at some point of the period for the
// whole period since its start, with no use before its readiness.
func reported(a *accum, start time.Time, cfg *Config) driver.Point {
	p := driver.Point{Start: start, MemoryBytes: math.NaN()}
	if a.seconds > 0 {
		p.Rate = (a.served + a.failed) / a.seconds
		if cfg.ObserveArrivals {
			p.Rate = a.arrived / a.seconds
		}
		p.Errors = a.failed / a.seconds
		// The activator counts what it holds: the wake-up signal with no pod.
		p.Held = a.cold / a.seconds
	}
	if a.readyTime > 0 {
		p.CPU = a.cpuTime / a.readyTime
		if pods := a.readySec + a.joinedSec; !cfg.UndilutedCPU && pods > 0 {
			p.CPU = a.cpuPodSec / pods
		}
		if cfg.Profile.Memory.Modelled() {
			// The ready pods' summed working set, averaged over the time pods were ready.
			p.MemoryBytes = a.memTime / a.readyTime
		}
	}
	if a.served > 0 {
		p.LatencyMeanMS = a.latMean / a.served
		p.LatencyP95MS = a.latP95 / a.served
		p.LatencyP99MS = a.latP99 / a.served
		p.OverSLO = a.overSLO / a.served
	} else {
		idle := cfg.Profile.At(0)
		p.LatencyMeanMS, p.LatencyP95MS, p.LatencyP99MS = idle.MeanMS, idle.P95MS, idle.P99MS
	}
	return p
}

// finish fills the interval's record: what the source reports (reported), with the
// simulator's exact served rate and time-averaged replica counts for the judging.
func finish(rec *Record, a *accum, start time.Time, rate, capacity float64, cfg *Config) driver.Point {
	p := reported(a, start, cfg)
	iv := &rec.Interval
	*iv = driver.IntervalOf(p, a.allocSec/a.seconds, a.readySec/a.seconds)
	iv.Rate = rate
	iv.Served = a.served / a.seconds
	iv.Failed = a.failed / a.seconds
	rec.Requests = a.arrived
	rec.FailedCount = a.failed
	rec.ColdStarts, rec.HeldRequests, rec.HeldFailed = a.cold, a.heldIn, a.heldFailed
	rec.IdlePodSeconds = a.idleSec
	if len(a.waits) > 0 {
		rec.HeldWaits = append([]measure.HeldWait(nil), a.waits...)
		h := measure.HeldLatency(rec.HeldWaits)
		rec.HeldLatencyMeanMS, rec.HeldLatencyP99MS = h.MeanMS, h.P99MS
	}
	rec.Judge(cfg.SLO, capacity)
	return p
}

// summarise is the run's summary from its records (measure.Summarise) with the loop's counts
// of decisions and scaling actions carried over from s.
func summarise(records []Record, cfg *Config, s Summary) Summary {
	out := measure.Summarise(records, cfg.Interval)
	out.Decisions, out.ScalingActions = s.Decisions, s.ScalingActions
	return out
}
