package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/spf13/pflag"

	"github.com/bascaler/bascaler/internal/kedascaler"
	"github.com/bascaler/bascaler/internal/live"
	"github.com/bascaler/bascaler/internal/serve"
)

// ServeGRPCListeningPrefix starts the line serve prints once the KEDA scaler listens.
const ServeGRPCListeningPrefix = "bascaler serve: KEDA external scaler listening on "

// liveFlags are serve's live-target and KEDA scaler flags.
type liveFlags struct {
	targets, grpcAddr string
}

func (f *liveFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.targets, "targets", "", "live targets file (YAML/JSON, deploy/samples/serve-targets.yaml): workloads whose history is read from Prometheus; requests name them with {\"target\": NAME}")
	fs.StringVar(&f.grpcAddr, "grpc-addr", "", "HOST:PORT of KEDA's external scaler gRPC service for the live targets (empty: off; needs --targets)")
}

// run runs serveHTTP with the live targets stepped and the KEDA scaler served beside it;
// the first of them to fail stops the others.
func (f *liveFlags) run(ctx context.Context, s *serve.Server, grace time.Duration, errw io.Writer, serveHTTP func(context.Context) error) error {
	if f.targets == "" {
		if f.grpcAddr != "" {
			return errors.New("--grpc-addr: the KEDA scaler answers for live targets: give --targets FILE too")
		}
		return serveHTTP(ctx)
	}
	if f.grpcAddr != "" {
		if _, _, err := net.SplitHostPort(f.grpcAddr); err != nil {
			return fmt.Errorf("--grpc-addr %q: %w", f.grpcAddr, err)
		}
	}
	cfgs, err := live.ReadFile(f.targets)
	if err != nil {
		return fmt.Errorf("--targets: %w", err)
	}
	set, err := live.NewSet(cfgs, nil)
	if err != nil {
		return fmt.Errorf("--targets %s: %w", f.targets, err)
	}
	s.SetTargets(set)
	ctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	done := make(chan struct{})
	go func() { defer close(done); set.Run(ctx, time.Now) }()
	if f.grpcAddr != "" {
		go func() {
			sc := &kedascaler.Scaler{Targets: set}
			err := kedascaler.Run(ctx, sc, f.grpcAddr, grace, func(a net.Addr) { fmt.Fprintf(errw, "%s%s\n", ServeGRPCListeningPrefix, a) })
			if err != nil {
				cancel(err)
			}
		}()
	}
	err = serveHTTP(ctx)
	if c := context.Cause(ctx); err == nil && c != nil && !errors.Is(c, context.Canceled) {
		err = c
	}
	cancel(nil)
	<-done
	return err
}
