package metrics

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
)

// PodsQuery returns the PromQL that counts the target's serving pods over periods of length
// step: the pods cAdvisor reports CPU use for, the same rule by which the CPU query with a
// RequestMillicores counts ready pods. Empty for the custom preset (no pod matchers).
func (p *Prometheus) PodsQuery(step time.Duration) string {
	if p.q.Preset == PresetCustom {
		return ""
	}
	q := p.q
	pods := joinMatchers(fmt.Sprintf("namespace=%q", q.Namespace), fmt.Sprintf("pod=~%q", q.podRegex()), `container!=""`, `container!="POD"`)
	return "count(sum by (pod) (rate(container_cpu_usage_seconds_total" + pods + "[" + promDuration(max(step, q.MinWindow)) + "])))"
}

// Profiling is what ProfilingSamples read: one sample per usable period, and the periods
// left out with the first reason.
type Profiling struct {
	Samples []perf.ProfilingSample
	// Skipped counts periods without traffic, pods, latency or CPU; FirstSkip says why the
	// first one was left out.
	Skipped   int
	FirstSkip string
	// PodsQuery is the query the replica counts came from.
	PodsQuery string
}

// ProfilingSamples turns every period of w into a profiling sample, as a load test at one
// operating point would report it: the preset's rate, latency (mean from the histogram's
// sum and count, p95 and p99 from its buckets), errors and CPU (a fraction of the pods' CPU
// request), and the serving pods (PodsQuery). Per-pod load is rate / pods: load spreads
// evenly over the pods, as the simulator assumes. A period without requests, pods, latency
// or CPU is skipped (counted); none left is an error naming the range.
//
// This is passive profiling: the samples cover only the per-pod loads the service saw, and
// each averages a period over pods that may be loaded unevenly or just starting.
func (p *Prometheus) ProfilingSamples(ctx context.Context, w Window) (Profiling, error) {
	var out Profiling
	if p.q.Preset == PresetCustom || p.q.CPUOnly {
		return out, fmt.Errorf("prometheus %s: profiling needs a preset with a latency histogram and pod labels (not %s)", p.addr, p.q.Preset)
	}
	pts, err := p.Range(ctx, w)
	if err != nil {
		return out, err
	}
	pods := make([]float64, w.Count)
	for i := range pods {
		pods[i] = math.NaN()
	}
	out.PodsQuery = p.PodsQuery(w.Step)
	if err := p.single(ctx, w, out.PodsQuery, false, func(i int, v float64) { pods[i] = v }); err != nil {
		return out, fmt.Errorf("serving pods: %w", err)
	}
	skip := func(i int, why string) {
		if out.Skipped == 0 {
			out.FirstSkip = fmt.Sprintf("period starting %s: %s", pts[i].Start.UTC().Format(time.RFC3339), why)
		}
		out.Skipped++
	}
	for i, pt := range pts {
		n := pods[i]
		switch {
		case !(pt.Rate > 0):
			skip(i, "no requests")
		case !(n >= 1):
			skip(i, "no serving pods")
		case math.IsNaN(pt.LatencyMeanMS) || math.IsNaN(pt.LatencyP95MS) || math.IsNaN(pt.LatencyP99MS):
			skip(i, "no latency")
		case math.IsNaN(pt.CPU):
			skip(i, "no CPU")
		default:
			s := perf.ProfilingSample{LoadPerPod: pt.Rate / n, Replicas: int(math.Round(n)), CPUPct: 100 * pt.CPU,
				MeanMS: pt.LatencyMeanMS, P95MS: math.Max(pt.LatencyP95MS, 0), P99MS: math.Max(pt.LatencyP99MS, pt.LatencyP95MS),
				ErrorRate: math.Min(1, pt.Errors/pt.Rate)}
			out.Samples = append(out.Samples, s)
		}
	}
	if len(out.Samples) == 0 {
		return out, fmt.Errorf("prometheus %s: no usable period in %s to %s (%d skipped, the first %s)", p.addr,
			w.Start().UTC().Format(time.RFC3339), w.End.UTC().Format(time.RFC3339), out.Skipped, out.FirstSkip)
	}
	return out, nil
}
