package testbed

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/bascaler/bascaler/internal/measure"
	"github.com/bascaler/bascaler/internal/metrics"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/testbed/lb"
	"github.com/bascaler/bascaler/internal/testbed/loadgen"
)

// Summary is one policy's measured result: the simulator's summary (package measure, the
// same records and arithmetic), computed from measured latencies:
//   - an interval violates the SLO when the SLO statistic of the latencies the load
//     generator measured for requests sent in it exceeds the target, or a request failed;
//   - requests_over_slo is (requests slower than the SLO + failed) / requests sent;
//   - cost counts every allocated replica (starting or ready), sampled every 100 ms;
//   - need (for over/under-provisioning) is perf.PodsFor(scheduled rate, per-replica
//     capacity at the SLO), the capacity read from the single-replica profile measured at
//     calibration.
//
// The testbed adds requests_not_sent: requests the load generator could not send on time
// (it fell behind); they are neither served nor failed, and a run with many is suspect.
type Summary struct {
	Policy string `json:"policy"`
	measure.Summary
	RequestsNotSent float64 `json:"requests_not_sent"`
	// Repeat numbers the policy's runs from 0 (Config.Repeats).
	Repeat int `json:"repeat"`
	// Shortfall is RequestsNotSent over the requests scheduled.
	Shortfall float64 `json:"shortfall"`
	// CPUPerRequestAfterMS is the CPU per request probed again on one replica right after
	// the run (the calibration's probe): how far the machine drifted during it.
	CPUPerRequestAfterMS float64 `json:"cpu_per_request_after_ms"`
	// CPUPerRequestRunMS is the CPU per request the ready replicas used during the run
	// (Prometheus' CPU over the requests answered; 0 when it reported no CPU): judged
	// against the profiled replica's under load (Config.MaxDrift).
	CPUPerRequestRunMS float64 `json:"cpu_per_request_run_ms"`
	// ThrottledPeriodFraction and ThrottledSeconds are the replicas' CFS throttling during
	// the run (cgroup cpu.stat summed over replicas; zero without a cgroup quota): the share
	// of enforcement periods in which a replica used up its quota and was stopped, and the
	// replica-seconds spent stopped.
	ThrottledPeriodFraction float64 `json:"throttled_period_fraction"`
	ThrottledSeconds        float64 `json:"throttled_seconds"`
	// Startups counts the replicas the run asked for (its initial scale-up included) that
	// became ready; StartupMedianS and StartupMaxS are their times from the interval
	// boundary the decision was for to readiness: the decision loop's settle and metric read
	// (it acts after the boundary's last scrape), then the configured start-up delay,
	// process start and the readiness probe.
	Startups       int     `json:"startups"`
	StartupMedianS float64 `json:"startup_median_s"`
	StartupMaxS    float64 `json:"startup_max_s"`
}

// Decision is one pass of the autoscaler loop.
type Decision struct {
	At            time.Duration // from the run's start
	Index         int           // completed intervals at the time
	Before, Ready int
	After         int
	Decided       bool   // false: held because metrics could not be read
	Explanation   string // the policy's explanation
	Err           string // the metric read error when not decided
	// What the policy saw of the last completed interval.
	SeenRate, SeenLatencyMS, SeenCPU float64
}

// IntervalRecord is one interval of a run: what was asked, what was measured at the
// client, what Prometheus reported, and the replicas.
type IntervalRecord struct {
	loadgen.IntervalStats
	Rate              float64 // scheduled, req/s
	LatencyMS         float64 // the SLO statistic of the measured latencies
	Violated          bool
	Replicas, Ready   float64 // time-averaged
	Need              int
	PromRate          float64 // what Prometheus reported for the interval (NaN if unknown)
	PromMeanMS        float64
	PromCPU           float64
	AllocatedAtTheEnd int
	// Scale from zero, from the load balancer's activator: requests that arrived in the
	// interval and found no ready replica, those it held, those of them that failed, and the
	// p99 of the added latency of those served.
	ColdStarts, HeldRequests, HeldFailed, HeldP99MS float64
}

// PolicyRun is one policy's full run.
type PolicyRun struct {
	Policy    string
	Interval  time.Duration
	SLO       policy.SLO
	Summary   Summary
	Records   []IntervalRecord
	Decisions []Decision
	PromError string // set when the after-run Prometheus read failed

	rates    []float64
	capAtSLO float64
	startups []time.Duration // measured start-ups (Summary.Startups)
}

func (pr *PolicyRun) finish(run *loadgen.Run, s *sampler, seen []metrics.Point, cold []coldInterval) {
	stats := run.Summarize(pr.SLO.TargetMS)
	measured := make([]measure.Record, len(stats))
	var notSent float64
	for k, st := range stats {
		rec := IntervalRecord{IntervalStats: st, Rate: pr.rates[k], PromRate: math.NaN(), PromMeanMS: math.NaN(), PromCPU: math.NaN()}
		s.mu.Lock()
		if s.seconds[k] > 0 {
			rec.Replicas = s.alloc[k] / s.seconds[k]
			rec.Ready = s.ready[k] / s.seconds[k]
		}
		rec.AllocatedAtTheEnd = s.endAlloc[k]
		s.mu.Unlock()
		if k < len(seen) {
			rec.PromRate, rec.PromMeanMS, rec.PromCPU = seen[k].Rate, seen[k].LatencyMeanMS, seen[k].CPU
		}
		m := rec.measured(pr.Interval)
		if k < len(cold) {
			c := cold[k]
			m.ColdStarts, m.HeldRequests, m.HeldFailed, m.HeldWaits = c.coldStarts, c.held, c.heldFailed, c.waits
			held := measure.HeldLatency(c.waits)
			m.HeldLatencyMeanMS, m.HeldLatencyP99MS = held.MeanMS, held.P99MS
			rec.ColdStarts, rec.HeldRequests, rec.HeldFailed, rec.HeldP99MS = c.coldStarts, c.held, c.heldFailed, held.P99MS
		}
		if pr.rates[k] == 0 {
			// Idle pod-time as the simulator counts it: allocated pods while the
			// scheduled arrival rate is zero.
			s.mu.Lock()
			m.IdlePodSeconds = s.alloc[k]
			s.mu.Unlock()
		}
		m.Judge(pr.SLO, pr.capAtSLO)
		rec.LatencyMS, rec.Violated, rec.Need = m.Latency(pr.SLO.Metric), m.Violated, m.Need
		measured[k] = m
		notSent += float64(st.NotSent)
		pr.Records = append(pr.Records, rec)
	}
	sum := Summary{Policy: pr.Policy, Summary: measure.Summarise(measured, pr.Interval), RequestsNotSent: notSent}
	sum.Decisions = len(pr.Decisions)
	for _, d := range pr.Decisions {
		if d.Decided && d.After != d.Before {
			sum.ScalingActions++
		}
	}
	pr.Summary = sum
}

// measured is the interval as a measure.Record: the client's counts over the interval's
// length as rates, the OK requests' latencies, the sampled replicas, the scheduled rate, and
// the record's need and verdict.
func (r *IntervalRecord) measured(interval time.Duration) measure.Record {
	sec := interval.Seconds()
	m := measure.Record{
		Interval: policy.Interval{Rate: r.Rate, Served: float64(r.OK) / sec, Failed: float64(r.Failed) / sec,
			LatencyMeanMS: r.MeanMS, LatencyP95MS: r.P95MS, LatencyP99MS: r.P99MS, Replicas: r.Replicas, Ready: r.Ready},
		Requests: float64(r.Sent), FailedCount: float64(r.Failed), Need: r.Need, Violated: r.Violated,
		Desired: r.AllocatedAtTheEnd,
	}
	if r.OK > 0 {
		m.OverSLO = float64(r.IntervalStats.OverSLO) / float64(r.OK)
	}
	return m
}

// WriteCSVs writes <policy>-intervals.csv and <policy>-decisions.csv under dir.
func (pr *PolicyRun) WriteCSVs(dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("output folder: %w", err)
	}
	name := strings.NewReplacer(":", "_", "/", "_").Replace(pr.Policy)
	if pr.Summary.Repeat > 0 {
		// The first run keeps the plain name (the simulator's and earlier runs' layout).
		name += "-repeat" + strconv.Itoa(pr.Summary.Repeat)
	}
	base := filepath.Join(dir, name)
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	rows := [][]string{{"interval", "start_s", "rate_scheduled", "scheduled", "sent", "not_sent", "ok", "failed",
		"latency_mean_ms", "latency_p95_ms", "latency_p99_ms", "over_slo", "violated", "replicas", "ready", "need",
		"allocated_at_end", "prom_rate", "prom_latency_mean_ms", "prom_cpu", "cold_starts", "held_requests", "held_failed", "held_latency_p99_ms"}}
	for _, r := range pr.Records {
		rows = append(rows, []string{strconv.Itoa(r.Index), f((time.Duration(r.Index) * pr.Interval).Seconds()), f(r.Rate),
			u(r.Scheduled), u(r.Sent), u(r.NotSent), u(r.OK), u(r.Failed), f(r.MeanMS), f(r.P95MS), f(r.P99MS), u(r.IntervalStats.OverSLO),
			strconv.FormatBool(r.Violated), f(r.Replicas), f(r.Ready), strconv.Itoa(r.Need), strconv.Itoa(r.AllocatedAtTheEnd),
			f(r.PromRate), f(r.PromMeanMS), f(r.PromCPU), f(r.ColdStarts), f(r.HeldRequests), f(r.HeldFailed), f(r.HeldP99MS)})
	}
	if err := writeCSV(base+"-intervals.csv", rows); err != nil {
		return err
	}
	rows = [][]string{{"at_s", "completed_intervals", "replicas_before", "ready", "replicas_after", "decided", "seen_rate", "seen_latency_ms", "seen_cpu", "explanation", "error"}}
	for _, d := range pr.Decisions {
		rows = append(rows, []string{f(d.At.Seconds()), strconv.Itoa(d.Index), strconv.Itoa(d.Before), strconv.Itoa(d.Ready),
			strconv.Itoa(d.After), strconv.FormatBool(d.Decided), f(d.SeenRate), f(d.SeenLatencyMS), f(d.SeenCPU), d.Explanation, d.Err})
	}
	return writeCSV(base+"-decisions.csv", rows)
}

func writeCSV(path string, rows [][]string) error {
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	w := csv.NewWriter(fh)
	if err := w.WriteAll(rows); err != nil {
		fh.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return fh.Close()
}

func writeProfiling(path string, samples []perf.ProfilingSample) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	fh, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := perf.WriteProfilingCSV(fh, samples); err != nil {
		fh.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return fh.Close()
}

// compareSimSeeds is how many capacity sequences the simulator of --compare-sim averages
// over when the replica's capacity was measured to vary.
const compareSimSeeds = 10

// simStart is the timestamp of the first point of the trace written for the simulator; any
// fixed instant does, the simulator reads only the spacing.
var simStart = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// writeSimInputs writes what `bascaler simulate` needs to replay the same run:
//   - trace.csv: timestamp,value with value = requests scheduled in each interval of the
//     window, so that the simulator's counts-per-step reading gives back the testbed's rates;
//   - trace-with-history.csv: the training history followed by the window (forecasting
//     policies train on the history in the simulator too);
//   - profile.csv: the measured single-replica profile (columns perf.ProfileHeader);
//   - simulate.txt: the simulate command that replays the window with the same settings
//     and the replicas' measured start-up (startup: the median over the runs),
//     and with capacityCV > 0 (Calibration.CapacityCV) a capacity that moves by it from
//     interval to interval, averaged over compareSimSeeds draws.
func writeSimInputs(dir string, rates, history []float64, cfg *Config, slo policy.SLO, prof *perf.Profile, capacityCV float64, startup time.Duration) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	interval := cfg.Interval
	traceRows := func(vals []float64) [][]string {
		rows := [][]string{{"timestamp", "value"}}
		for k, r := range vals {
			rows = append(rows, []string{simStart.Add(time.Duration(k) * interval).Format(time.RFC3339),
				strconv.FormatFloat(r*interval.Seconds(), 'f', 3, 64)})
		}
		return rows
	}
	if err := writeCSV(filepath.Join(dir, "trace.csv"), traceRows(rates)); err != nil {
		return err
	}
	all := append(append([]float64(nil), history...), rates...)
	if err := writeCSV(filepath.Join(dir, "trace-with-history.csv"), traceRows(all)); err != nil {
		return err
	}
	// The measured profile with its saturation load (the last row), as the simulator reads it.
	fh, err := os.Create(filepath.Join(dir, "profile.csv"))
	if err != nil {
		return err
	}
	if err := perf.WriteProfileCSV(fh, prof); err != nil {
		fh.Close()
		return fmt.Errorf("write %s: %w", fh.Name(), err)
	}
	if err := fh.Close(); err != nil {
		return err
	}
	// With history, the window is the test split of trace-with-history.csv: the history is
	// split 3:1 into train and validation, as the simulator splits a trace file.
	trace, split, eval := "trace.csv", "0.6,0.2,0.2", "all"
	if h := len(history); h >= 4 {
		n := float64(len(all))
		train := math.Round(0.75 * float64(h))
		trace, eval = "trace-with-history.csv", "test"
		split = fmt.Sprintf("%.12f,%.12f,%.12f", train/n, (float64(h)-train)/n, float64(len(rates))/n)
	}
	cmd := fmt.Sprintf("bascaler simulate --trace %s --normalize none --split %s --eval %s --interval %s --startup %s --profile profile.csv --slo %gms --slo-metric %s --min %d --max %d --policy %s --format json",
		trace, split, eval, interval, startup, slo.TargetMS, slo.Metric, cfg.Min, cfg.Max, strings.Join(cfg.Policies, ","))
	if capacityCV > 0 {
		// The replica's capacity moves by the measured spread from interval to interval;
		// one testbed run is one draw of that, so the simulator averages several.
		cmd += fmt.Sprintf(" --capacity-jitter %.4f --seeds %d", capacityCV, compareSimSeeds)
	}
	keys := make([]string, 0, len(cfg.Params))
	for k := range cfg.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd += fmt.Sprintf(" --param %s=%s", k, cfg.Params[k])
	}
	cmd += "\n"
	return os.WriteFile(filepath.Join(dir, "simulate.txt"), []byte(cmd), 0o644)
}

// coldInterval is one interval's cold starts, from the load balancer's activator.
type coldInterval struct {
	coldStarts, held, heldFailed float64
	waits                        []measure.HeldWait
}

// coldStarts bins the activator's held requests by the interval they arrived in, as the
// simulator counts them: every arrival that found no ready replica is a cold start; the
// refused ones (queue full) are not held; timed-out, refused and abandoned ones failed; a
// served one adds its wait to the interval's held latencies.
func coldStarts(held []lb.Held, start time.Time, interval time.Duration, n int) []coldInterval {
	out := make([]coldInterval, n)
	for _, h := range held {
		k := int(h.Arrived.Sub(start) / interval)
		if h.Arrived.Before(start) || k >= n { // (a division truncates toward zero)
			continue
		}
		c := &out[k]
		c.coldStarts++
		switch h.Outcome {
		case lb.Served:
			c.held++
			ms := float64(h.Wait) / float64(time.Millisecond)
			c.waits = append(c.waits, measure.HeldWait{LoMS: ms, HiMS: ms, Count: 1})
		case lb.Refused:
			c.heldFailed++
		default:
			c.held++
			c.heldFailed++
		}
	}
	return out
}
