package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/bascaler/bascaler/internal/measure"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
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
	capacity, err := cfg.Validate()
	if err != nil {
		return Result{}, err
	}
	for i, r := range rates {
		if math.IsNaN(r) || math.IsInf(r, 0) || r < 0 {
			return Result{}, fmt.Errorf("workload point %d: rate %v is not a finite non-negative number", i, r)
		}
	}
	tick := p.Period()
	if tick <= 0 || tick >= cfg.Interval {
		tick = cfg.Interval
	}
	if cfg.Interval%tick != 0 {
		return Result{}, fmt.Errorf("policy %s: period %s does not divide the interval %s", p.Name(), tick, cfg.Interval)
	}
	ticksPer := int(cfg.Interval / tick)
	window := max(cfg.RecentTicks, 64)

	c := &cluster{cfg: &cfg, mu: cfg.Profile.MaxLoad, sat: cfg.Profile.At(cfg.Profile.MaxLoad),
		rng: rand.New(rand.NewPCG(uint64(cfg.Seed), 0x5eed))}
	c.buildOverTable()
	initial := cfg.Initial
	if initial == 0 {
		// Sized for the intervals no decision can reach: pods created at the first decision
		// are ready only after the longest start-up delay.
		reach := int(math.Ceil((cfg.Startup + cfg.StartupJitter).Seconds() / cfg.Interval.Seconds()))
		for k := 0; k < max(reach, 1) && k < len(rates); k++ {
			initial = max(initial, perf.PodsFor(rates[k], capacity))
		}
	}
	c.ready = min(max(initial, cfg.Min, 1), cfg.Max)

	records := make([]Record, len(rates))
	// history mirrors records[:i].Interval: the policy sees the measured interval, never
	// the judging fields (Need, Violated) that use hindsight.
	history := make([]policy.Interval, len(rates))
	// recent is a double-written ring: sample k lives at k%window and k%window+window, so
	// the last `window` samples are always one contiguous slice, without copying.
	recent := make([]policy.Sample, 2*window)
	nSamples := 0
	obs := policy.Observation{Interval: cfg.Interval, Tick: tick, Min: cfg.Min, Max: cfg.Max, SLO: cfg.SLO}

	res := Result{Policy: p.Name(), Records: records}
	for i, rate := range rates {
		var iv accum
		rec := &records[i]
		ivStart := time.Duration(i) * cfg.Interval
		decided := false
		for k := 0; k < ticksPer; k++ {
			now := ivStart + time.Duration(k)*tick
			obs.Now = start.Add(now)
			obs.Index = i
			obs.History = history[:i:i]
			if nSamples < window {
				obs.Recent = recent[:nSamples:nSamples]
			} else {
				from := nSamples % window
				obs.Recent = recent[from : from+window : from+window]
			}
			obs.Replicas = c.allocated()
			obs.Ready = c.ready
			d := p.Decide(&obs)
			res.Summary.Decisions++
			want := policy.Clamp(d.Replicas, cfg.Min, cfg.Max)
			changed := want != c.allocated()
			if changed {
				res.Summary.ScalingActions++
				c.scaleTo(want, now)
			}
			if !decided || changed {
				rec.Decision = d
				decided = true
			}

			var tk accum
			c.advance(now, now+tick, rate, &tk)
			iv.add(&tk)
			s := sampleOf(&tk, start.Add(now), c)
			recent[nSamples%window] = s
			recent[nSamples%window+window] = s
			nSamples++
		}
		finish(rec, &iv, start.Add(ivStart), rate, capacity, &cfg)
		rec.Desired = c.allocated()
		history[i] = rec.Interval
	}
	res.Summary = summarise(records, &cfg, res.Summary)
	return res, nil
}

func sampleOf(a *accum, start time.Time, c *cluster) policy.Sample {
	s := policy.Sample{Start: start, Ready: c.ready, Replicas: c.allocated()}
	if a.seconds > 0 {
		s.Rate = a.arrived / a.seconds
		s.Concurrency = a.inSys / a.seconds
	}
	if a.readyTime > 0 {
		s.CPU = a.cpuTime / a.readyTime
	}
	if a.served > 0 {
		s.LatencyMeanMS = a.latMean / a.served
	}
	return s
}

func finish(rec *Record, a *accum, start time.Time, rate, capacity float64, cfg *Config) {
	iv := &rec.Interval
	iv.Start = start
	sec := a.seconds
	iv.Rate = rate
	iv.Served = a.served / sec
	iv.Failed = a.failed / sec
	iv.Replicas = a.allocSec / sec
	iv.Ready = a.readySec / sec
	if a.readyTime > 0 {
		iv.CPU = a.cpuTime / a.readyTime
	}
	if a.served > 0 {
		iv.LatencyMeanMS = a.latMean / a.served
		iv.LatencyP95MS = a.latP95 / a.served
		iv.LatencyP99MS = a.latP99 / a.served
		iv.OverSLO = a.overSLO / a.served
	} else {
		idle := cfg.Profile.At(0)
		iv.LatencyMeanMS, iv.LatencyP95MS, iv.LatencyP99MS = idle.MeanMS, idle.P95MS, idle.P99MS
	}
	rec.Requests = a.arrived
	rec.FailedCount = a.failed
	rec.Judge(cfg.SLO, capacity)
}

// summarise is the run's summary from its records (measure.Summarise) with the loop's counts
// of decisions and scaling actions carried over from s.
func summarise(records []Record, cfg *Config, s Summary) Summary {
	out := measure.Summarise(records, cfg.Interval)
	out.Decisions, out.ScalingActions = s.Decisions, s.ScalingActions
	return out
}
