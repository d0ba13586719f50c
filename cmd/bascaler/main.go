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

var rootCmd = &cobra.Command{
	Use:           "bascaler",
	Short:         "Burst-aware, machine-learning horizontal autoscaler for Kubernetes",
	SilenceUsage:  true,
	SilenceErrors: true,
}

func init() {
	rootCmd.AddCommand(newLoadCmd())
	rootCmd.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print the version",
		Run:   func(cmd *cobra.Command, _ []string) { fmt.Fprintln(cmd.OutOrStdout(), "bascaler", version) },
	})
}

func main() {
	if err := rootCmd.Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "bascaler:", err)
		os.Exit(1)
	}
}
