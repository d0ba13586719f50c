// Command bascaler is the burst-aware autoscaler: simulator, forecaster, trainer, testbed
// and Kubernetes controller in one binary.
package main

import (
	"fmt"
	"os"

	"github.com/spf13/cobra"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// newRootCmd builds the whole command tree afresh, so that every Execute (the binary's one,
// each test's) starts from the flags' defaults. A new command is one more line here: a
// function returning its *cobra.Command, which owns its flag variables.
func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:           "bascaler",
		Short:         "Burst-aware, machine-learning horizontal autoscaler for Kubernetes",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(
		newVersionCmd(),
		newSimulateCmd(),
		newDemoCmd(),
		newForecastCmd(),
		newBurstCmd(),
		newTrainCmd(),
		newProfileCmd(),
		newTestbedCmd(),
		newServeFFTCmd(),
		newControllerCmd(),
		newModelsCmd(),
		newCompareCmd(),
		newLoadCmd(),
		newServeCmd(),
	)
	return root
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "bascaler", version) },
	}
}

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "bascaler:", err)
		os.Exit(1)
	}
}
