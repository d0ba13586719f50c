package main

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/metrics"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/series"
)

// promSource are the flags of training from Prometheus: the controller's presets and
// queries, over a time range.
type promSource struct {
	address, preset, namespace, target, selector string
	start, end                                   string
	step, timeout                                time.Duration
	read                                         *registry.PromRange // what load read, for the lineage
}

func (p *promSource) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&p.address, "prometheus", "", "read the training data from this Prometheus (base URL) with the controller's preset queries, over --start to --end")
	fl.StringVar(&p.preset, "preset", metrics.PresetHTTP, "with --prometheus: query preset: istio, http, linkerd, otel, nginx-ingress or envoy (as spec.metrics.preset)")
	fl.StringVar(&p.namespace, "namespace", "default", "with --prometheus: the target's namespace")
	fl.StringVar(&p.target, "target", "", "with --prometheus: the scaled workload's name")
	fl.StringVar(&p.selector, "selector", "", "with --prometheus: extra label matchers (http: replaces namespace/pod)")
	fl.StringVar(&p.start, "start", "", "with --prometheus: start of the first period, RFC3339")
	fl.StringVar(&p.end, "end", "", "with --prometheus: end of the last period, RFC3339")
	fl.DurationVar(&p.step, "step", time.Minute, "with --prometheus: period length (the control interval)")
	fl.DurationVar(&p.timeout, "prometheus-timeout", 30*time.Second, "with --prometheus: timeout of the range query")
}

// open checks the options and builds the source and the window of periods to read; cpu
// is the CPU source (metrics.CPUNone when only the rate is read).
func (p *promSource) open(trace, cpu string, requestMillicores int) (*metrics.Prometheus, metrics.Window, error) {
	var w metrics.Window
	if trace != "" {
		return nil, w, errors.New("--trace and --prometheus exclude each other")
	}
	if p.preset == metrics.PresetCustom || !slices.Contains(metrics.Presets, p.preset) {
		return nil, w, fmt.Errorf("--preset %q: want a preset with a rate query (%s)", p.preset, strings.Join(slices.DeleteFunc(slices.Clone(metrics.Presets), func(s string) bool { return s == metrics.PresetCustom }), ", "))
	}
	start, err := time.Parse(time.RFC3339, p.start)
	if err != nil {
		return nil, w, fmt.Errorf("--start %q: want an RFC3339 time such as 2026-01-02T00:00:00Z", p.start)
	}
	end, err := time.Parse(time.RFC3339, p.end)
	if err != nil {
		return nil, w, fmt.Errorf("--end %q: want an RFC3339 time such as 2026-01-03T00:00:00Z", p.end)
	}
	if p.step <= 0 || !end.After(start) || end.Sub(start)%p.step != 0 {
		return nil, w, fmt.Errorf("--start %s --end %s --step %s: want start before end and a whole number of steps between", p.start, p.end, p.step)
	}
	src, err := metrics.NewPrometheus(metrics.PrometheusOptions{Address: p.address, Timeout: p.timeout,
		Queries: metrics.Queries{Preset: p.preset, Namespace: p.namespace, Target: p.target, Selector: p.selector,
			CPUSource: cpu, RequestMillicores: requestMillicores}})
	if err != nil {
		return nil, w, err
	}
	return src, metrics.Window{End: end, Step: p.step, Count: int(end.Sub(start) / p.step)}, nil
}

// load reads the rate series over [start, end) in periods of step.
func (p *promSource) load(trace string) (series.Series, error) {
	src, w, err := p.open(trace, metrics.CPUNone, 0)
	if err != nil {
		return series.Series{}, err
	}
	s, err := src.RateSeries(context.Background(), w)
	if err != nil {
		return series.Series{}, err
	}
	p.read = &registry.PromRange{Address: p.address, Query: src.RateQuery(p.step), Start: w.Start().UTC(), End: w.End.UTC(), Step: p.step.String()}
	return s, nil
}

// source spells the data options for a manifest's created_by.
func (t *fcTraceFlags) source() string { return dataSource(t.trace, &t.prom) }

// dataSource spells --trace or the --prometheus options, as a command line would.
func dataSource(trace string, p *promSource) string {
	if p.address != "" {
		s := fmt.Sprintf("--prometheus %s --preset %s --namespace %s --target %s --start %s --end %s --step %s",
			p.address, p.preset, p.namespace, p.target, p.start, p.end, p.step)
		if p.selector != "" {
			s += fmt.Sprintf(" --selector '%s'", p.selector)
		}
		return s
	}
	return "--trace " + trace
}
