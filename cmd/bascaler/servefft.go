package main

import (
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/testbed/fftsvc"
)

func newServeFFTCmd() *cobra.Command {
	var (
		addr  string
		opts  fftsvc.Options
		grace time.Duration
	)
	cmd := &cobra.Command{
		Use:   "serve-fft",
		Short: "Serve the CPU-bound FFT service the testbed scales (one replica)",
		Long: `serve-fft runs one replica of the testbed's workload: every request to /fft (or any
path other than the ones below) computes --rounds FFTs of --fft-size samples, at most
--workers at a time; waiting requests queue (503 beyond --queue-limit).
/metrics exports http_requests_total, http_request_duration_seconds, the Istio names
istio_requests_total and istio_request_duration_milliseconds, and process CPU;
/healthz answers at once, /readyz only after --startup-delay. SIGTERM or SIGINT stops
accepting connections and drains requests in flight for up to --grace.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			host, _, err := net.SplitHostPort(addr)
			if err != nil {
				return fmt.Errorf("--addr %q: %w", addr, err)
			}
			if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
				// The testbed is a local rig; refusing other interfaces keeps a CPU burner
				// off the network.
				return fmt.Errorf("--addr %q: only loopback addresses are allowed (e.g. 127.0.0.1:8080)", addr)
			}
			svc, err := fftsvc.New(opts)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return svc.Serve(ctx, addr, grace, func(a net.Addr) {
				fmt.Fprintf(cmd.ErrOrStderr(), "%s%s\n", fftsvc.ListeningPrefix, a)
			})
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "loopback address to listen on (port 0 picks a free port)")
	cmd.Flags().IntVar(&opts.FFTSize, "fft-size", 4096, "samples per FFT")
	cmd.Flags().IntVar(&opts.Rounds, "rounds", 32, "FFTs computed per request")
	cmd.Flags().DurationVar(&opts.StartupDelay, "startup-delay", 0, "time before /readyz reports ready")
	cmd.Flags().StringVar(&opts.Name, "name", "fft", "workload name in the Istio labels")
	cmd.Flags().IntVar(&opts.Workers, "workers", 1, "requests computed at once (the rest wait in a queue without using CPU)")
	cmd.Flags().IntVar(&opts.QueueLimit, "queue-limit", 512, "requests that may wait for a worker; beyond, 503")
	cmd.Flags().DurationVar(&grace, "grace", 10*time.Second, "how long to drain requests in flight on SIGTERM")
	return cmd
}
