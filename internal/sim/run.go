package sim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/bascaler/bascaler/internal/policy"
)

// Result is one policy's run over one workload.
type Result struct {
	Policy  string
	Records []Record
	Summary Summary
}

// Summary holds the evaluation protocol's per-run numbers.
type Summary struct {
	Intervals int `json:"intervals"`
	// SLOViolationRate is the share of intervals that violated the SLO.
	SLOViolationRate float64 `json:"slo_violation_rate"`
	// RequestsOverSLO is the share of requests slower than the SLO or failed.
	RequestsOverSLO float64 `json:"requests_over_slo"`
	// FailedRequests counts requests that timed out or found no ready pod.
	FailedRequests float64 `json:"failed_requests"`
	// FailedRate is FailedRequests over all requests.
	FailedRate float64 `json:"failed_rate"`
	// CostPodHours counts every allocated pod, starting or ready.
	CostPodHours float64 `json:"cost_pod_hours"`
	MeanReplicas float64 `json:"mean_replicas"`
	// ScalingActions counts decisions that changed the allocated replicas.
	ScalingActions int `json:"scaling_actions"`
	// Over- and under-provisioning against the hindsight need (the fewest ready pods that
	// meet the SLO each interval): allocated pods above it, ready pods below it.
	OverProvisionPodHours  float64 `json:"over_provision_pod_hours"`
	UnderProvisionPodHours float64 `json:"under_provision_pod_hours"`
	Requests               float64 `json:"requests"`
	MeanLatencyMS          float64 `json:"mean_latency_ms"`
	Decisions              int     `json:"decisions"`
}

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
			initial = max(initial, need(rates[k], capacity))
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
	rec.Need = need(rate, capacity)
	rec.Violated = iv.Latency(cfg.SLO.Metric) > cfg.SLO.TargetMS || a.failed > 1e-9
}

func summarise(records []Record, cfg *Config, s Summary) Summary {
	s.Intervals = len(records)
	if len(records) == 0 {
		return s
	}
	hours := cfg.Interval.Hours()
	var violated int
	var over, served, latSum float64
	var alloc float64
	for i := range records {
		r := &records[i]
		if r.Violated {
			violated++
		}
		s.Requests += r.Requests
		s.FailedRequests += r.FailedCount
		srv := r.Served * cfg.Interval.Seconds()
		served += srv
		over += r.OverSLO * srv
		latSum += r.LatencyMeanMS * srv
		alloc += r.Replicas
		s.OverProvisionPodHours += math.Max(0, r.Replicas-float64(r.Need)) * hours
		s.UnderProvisionPodHours += math.Max(0, float64(r.Need)-r.Ready) * hours
	}
	s.CostPodHours = alloc * hours
	s.MeanReplicas = alloc / float64(len(records))
	s.SLOViolationRate = float64(violated) / float64(len(records))
	if s.Requests > 0 {
		s.RequestsOverSLO = (over + s.FailedRequests) / s.Requests
		s.FailedRate = s.FailedRequests / s.Requests
	}
	if served > 0 {
		s.MeanLatencyMS = latSum / served
	}
	return s
}
