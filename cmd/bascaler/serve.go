package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/bascaler/bascaler/internal/serve"
)

// ServeListeningPrefix starts the line serve prints once it listens (tests read the port).
const ServeListeningPrefix = "bascaler serve: listening on "

func newServeCmd() *cobra.Command {
	var (
		addr  string
		o     serve.Options
		grace time.Duration
		lf    liveFlags
	)
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve forecasts and recommendations over HTTP/JSON (the model server)",
		Long: `serve answers the model-server API (api/openapi/serve.yaml):
  POST /v1/forecast   quantile forecast of a req/s history by a served model
  POST /v1/recommend  the replicas a policy decides for one observation, through the
                      controller's control step (driver.Loop), with its explanation
  GET  /v1/models     served models, versions and aliases
  /healthz, /readyz (200 once the models are loaded), /metrics (Prometheus).
Without flags it serves the built-in model "default" (holt-winters fitted at start-up on
the embedded bursty-day workload, 60 s steps). --registry serves every verified version
of a registry (by short id; aliases such as champion select them too); --model
[NAME=]DIR or [NAME=]DIR@REF adds one model. --targets FILE adds live targets (history
read from Prometheus with the controller's presets; {"target": NAME} in a request), and
--grpc-addr serves KEDA's external scaler for them. SIGTERM or SIGINT drains and stops.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if _, _, err := net.SplitHostPort(addr); err != nil {
				return fmt.Errorf("--addr %q: %w", addr, err)
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			errw := cmd.ErrOrStderr()
			s := serve.New()
			return lf.run(ctx, s, grace, errw, func(ctx context.Context) error {
				return serve.Run(ctx, s, addr, o, grace,
					func(a net.Addr) { fmt.Fprintf(errw, "%s%s\n", ServeListeningPrefix, a) },
					func(err error) { fmt.Fprintf(errw, "bascaler serve: skipping %v\n", err) })
			})
		},
	}
	cmd.Flags().StringVar(&addr, "addr", "127.0.0.1:8080", "HOST:PORT to listen on (port 0 picks a free port; :8080 for all interfaces in a pod)")
	cmd.Flags().StringVar(&o.Registry, "registry", "", "serve every verified version of this model registry")
	cmd.Flags().StringArrayVar(&o.Models, "model", nil, "serve a model: [NAME=]DIR or [NAME=]DIR@ALIAS|DIGEST-PREFIX (repeatable)")
	cmd.Flags().BoolVar(&o.NoBuiltin, "no-builtin", false, "do not serve the built-in model")
	lf.add(cmd.Flags())
	cmd.Flags().DurationVar(&grace, "grace", 10*time.Second, "how long to drain requests in flight on SIGTERM")
	return cmd
}
