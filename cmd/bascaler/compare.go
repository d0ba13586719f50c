package main

import (
	"context"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/report"
	"github.com/bascaler/bascaler/internal/sim"
)

// comparePolicies are the policies compare sweeps by default: the subject, the baselines a
// user would otherwise pick, and the oracle's floor.
const comparePolicies = "hpa,kpa,bascaler-paper,phpa,ehpa,bascaler,oracle"

// newCompareCmd builds `bascaler compare`: every policy over a grid of its main knob, the
// violation–cost frontiers, and bascaler's violations at matched cost and cost at matched
// violations against each baseline and the best of them.
func newCompareCmd() *cobra.Command {
	var f simFlags
	var grids []string
	var subject string
	cmd := &cobra.Command{
		Use:   "compare",
		Short: "Compare policies at equal cost: sweep each policy's knob and compare violation–cost frontiers",
		Long: `Runs each policy over a grid of its main knob on the simulated cluster (in parallel over
cores), builds each policy's violation–cost frontier (the lower convex envelope of its
settings' pod-hours and SLO-violation rates) and compares the subject (--subject, bascaler)
with every other policy and with the best of them: its violations at matched cost and its
cost at matched violations, both as means over the range the two frontiers share,
interpolated on the frontiers and never extrapolated ("ranges do not overlap" otherwise).

Default grids (override with --grid policy.param=v1,v2,..., repeatable):
  hpa, phpa, ehpa  target 0.5,0.55,0.6,0.65,0.7
  kpa              target-utilization-percentage 60,70,80,90,100
  threshold        cpu-low 0.3,0.4,0.5,0.6,0.7
  bascaler         headroom 0.8,0.85,0.9,0.95,1
  static           n = pods for the 50/75/90/99/100th percentile of the evaluated rates
bascaler-paper and the oracle have no knob: one point each.

The trace flags are simulate's (--trace, --normalize, --split, --eval, --profile, --slo, ...).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runCompare(cmd, &f, grids, subject) },
	}
	f.register(cmd, comparePolicies)
	cmd.Flags().StringArrayVar(&grids, "grid", nil, "knob grid policy.param=v1,v2,... replacing the policy's default grid (repeatable), e.g. hpa.target=0.5,0.55,0.6")
	cmd.Flags().StringVar(&subject, "subject", "bascaler", "the policy compared against every other one and against the best of them")
	cmd.Flags().Lookup("out").Usage = "also write the frontier plots (one SVG per trace), frontier_points.csv, frontier_comparisons.csv and index.html into this folder"
	return cmd
}

func runCompare(cmd *cobra.Command, f *simFlags, gridArgs []string, subject string) error {
	e, err := f.experiment()
	if err != nil {
		return err
	}
	s := sim.Sweep{Experiment: e, Subject: subject}
	for _, g := range gridArgs {
		grid, err := sim.ParseGrid(g)
		if err != nil {
			return fmt.Errorf("--grid: %w", err)
		}
		s.Grids = append(s.Grids, grid)
	}
	s.Progress = progressBar(cmd.ErrOrStderr(), "sweeping")
	results, err := s.Run(context.Background())
	if err != nil {
		return err
	}
	out := cmd.OutOrStdout()
	switch f.format {
	case "json":
		enc := json.NewEncoder(out)
		enc.SetIndent("", "  ")
		if err := enc.Encode(map[string]any{"slo_ms": e.Config.SLO.TargetMS, "slo_metric": e.Config.SLO.Metric.String(), "traces": results}); err != nil {
			return err
		}
	case "csv":
		if err := report.FrontierPointsCSV(out, results); err != nil {
			return err
		}
		fmt.Fprintln(out)
		if err := report.FrontierComparisonsCSV(out, results); err != nil {
			return err
		}
	default:
		for i, r := range results {
			if i > 0 {
				fmt.Fprintln(out)
			}
			if err := report.FrontierTable(out, r); err != nil {
				return err
			}
		}
	}
	if f.out != "" {
		if err := report.WriteFrontierReport(f.out, "bascaler compare: "+strings.Join(splitList(f.traces), ", "), results, safeName); err != nil {
			return err
		}
		fmt.Fprintf(cmd.ErrOrStderr(), "wrote %s\n", filepath.Join(f.out, "index.html"))
	}
	return nil
}
