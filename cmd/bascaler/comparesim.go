package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/sim"
)

// simulateLikeTestbed replays a testbed run in the simulator: it reads the simulate command
// that the testbed wrote into outDir (simulate.txt, with trace.csv or trace-with-history.csv
// and the measured profile.csv beside it) and runs it in-process, so the two backends are
// compared on the same window, profile, SLO, bounds and policies.
//
// replicas holds each policy's allocated replicas per interval (the mean over seeds), for
// the testbed's trajectory comparison.
func simulateLikeTestbed(outDir string) (rep *traceReport, replicas map[string][]float64, err error) {
	txt, err := os.ReadFile(filepath.Join(outDir, "simulate.txt"))
	if err != nil {
		return nil, nil, fmt.Errorf("compare with the simulator: %w (the testbed writes it under --out)", err)
	}
	args := strings.Fields(string(txt))
	if len(args) < 2 || args[0] != "bascaler" || args[1] != "simulate" {
		return nil, nil, fmt.Errorf("compare with the simulator: %s does not hold a `bascaler simulate` command", filepath.Join(outDir, "simulate.txt"))
	}
	var f simFlags
	cmd := &cobra.Command{Use: "simulate"}
	f.register(cmd, "")
	if err := cmd.ParseFlags(args[2:]); err != nil {
		return nil, nil, fmt.Errorf("compare with the simulator: %s: %w", filepath.Join(outDir, "simulate.txt"), err)
	}
	// The files it names live beside it.
	f.traces = filepath.Join(outDir, f.traces)
	f.profile = filepath.Join(outDir, f.profile)
	e, err := f.experiment()
	if err != nil {
		return nil, nil, fmt.Errorf("compare with the simulator: %w", err)
	}
	outs, err := e.Run(context.Background())
	if err != nil {
		return nil, nil, fmt.Errorf("compare with the simulator: %w", err)
	}
	w := e.Workloads[0]
	replicas = map[string][]float64{}
	seeds := map[string]int{}
	for _, o := range outs {
		if o.Workload != w.Name {
			continue
		}
		m := replicas[o.Policy]
		if m == nil {
			m = make([]float64, len(o.Result.Records))
		}
		for k, r := range o.Result.Records {
			if k < len(m) {
				m[k] += r.Replicas
			}
		}
		replicas[o.Policy] = m
		seeds[o.Policy]++
	}
	for name, m := range replicas {
		for k := range m {
			m[k] /= float64(seeds[name])
		}
	}
	return &traceReport{Trace: w.Name, Intervals: w.Eval.Len(), Normalizer: w.Normalizer.String(),
		SLOms: e.Config.SLO.TargetMS, SLOMetric: e.Config.SLO.Metric.String(), Results: sim.Aggregates(outs, w.Name)}, replicas, nil
}
