package serve

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"
)

// Options say which models a server loads.
type Options struct {
	// Registry, when set, is a registry directory whose verified versions are all served.
	Registry string
	// Models are further models, each "[NAME=]SPEC" with SPEC a model directory or DIR@REF.
	Models []string
	// NoBuiltin leaves out the built-in model (then at least one other is needed).
	NoBuiltin bool
}

// LoadModels loads what o asks for: the built-in model first, then the registry's versions,
// then the named models. warn is told about registry versions that were skipped.
func LoadModels(o Options, warn func(error)) ([]*Model, error) {
	var ms []*Model
	if !o.NoBuiltin {
		m, err := Builtin()
		if err != nil {
			return nil, err
		}
		ms = append(ms, m)
	}
	if o.Registry != "" {
		rm, skipped, err := LoadRegistry(o.Registry)
		if err != nil {
			return nil, fmt.Errorf("--registry %s: %w", o.Registry, err)
		}
		for _, e := range skipped {
			warn(e)
		}
		ms = append(ms, rm...)
	}
	for _, spec := range o.Models {
		name, path := "", spec
		if i := strings.IndexByte(spec, '='); i >= 0 {
			name, path = spec[:i], spec[i+1:]
		}
		m, err := Load(name, path)
		if err != nil {
			return nil, fmt.Errorf("--model %s: %w", spec, err)
		}
		ms = append(ms, m)
	}
	if len(ms) == 0 {
		return nil, errors.New("no model to serve")
	}
	return ms, nil
}

// Run serves s on addr until ctx ends, then drains requests in flight for up to grace. It
// listens first (so /healthz answers at once) and loads the models meanwhile; /readyz turns
// 200 when they are in. A failed load stops the server with the error. listening is told
// the bound address.
func Run(ctx context.Context, s *Server, addr string, o Options, grace time.Duration, listening func(net.Addr), warn func(error)) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	srv := &http.Server{Handler: s.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 60 * time.Second, IdleTimeout: 120 * time.Second, MaxHeaderBytes: 64 << 10}
	errc := make(chan error, 2)
	go func() { errc <- srv.Serve(ln) }()
	if listening != nil {
		listening(ln.Addr())
	}
	go func() {
		ms, err := LoadModels(o, warn)
		if err == nil {
			err = s.SetModels(ms)
		}
		if err != nil {
			errc <- err
		}
	}()
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && runErr == nil {
		runErr = fmt.Errorf("shutdown: %w", err)
	}
	if errors.Is(runErr, http.ErrServerClosed) {
		runErr = nil
	}
	return runErr
}
