package main

import (
	"strings"

	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/policy"
)

// demoPolicies are the policies the demo compares: every registered one that needs no
// arguments, and a static baseline.
func demoPolicies() string {
	var names []string
	for _, n := range policy.Names() {
		if strings.Contains(n, ":") {
			continue
		}
		names = append(names, n)
	}
	return strings.Join(append(names, "static:8"), ",")
}

func newDemoCmd() *cobra.Command {
	var f simFlags
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Run the embedded default: a synthetic bursty day through every policy",
		Long: `Generates the embedded default workload (synthetic "bursty-day": one day at 60 s intervals with
a daily cycle, flash crowds and spikes) and replays it through every policy on the default
simulated cluster (fft profile, 16 ms mean-latency SLO, 30 s start-up). No files, no cluster.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("policy") {
				f.policies = demoPolicies()
			}
			return runSimulation(cmd, &f, "bascaler demo")
		},
	}
	f.register(cmd, "")
	return cmd
}
