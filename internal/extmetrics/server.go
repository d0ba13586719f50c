package extmetrics

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/pflag"
	"sigs.k8s.io/controller-runtime/pkg/client"
	basecmd "sigs.k8s.io/custom-metrics-apiserver/pkg/cmd"
	"sigs.k8s.io/custom-metrics-apiserver/pkg/cmd/options"
)

// Name is the server's name in its logs, OpenAPI and discovery.
const Name = "bascaler-external-metrics"

// The file names of a serving certificate in Options.CertDir: those of a
// kubernetes.io/tls Secret mounted as a volume.
const (
	CertFile = "tls.crt"
	KeyFile  = "tls.key"
)

// Options configure a Server.
type Options struct {
	// Addr is the HTTPS listen address (host:port; ":6443" listens on every interface,
	// port 0 picks a free one).
	Addr string
	// CertDir holds the serving certificate as CertFile and KeyFile (reloaded when they
	// change). Empty means a self-signed certificate made at start, in memory, for an
	// APIService with insecureSkipTLSVerify.
	CertDir string
	// Kubeconfig reaches the cluster's API server for delegated authentication
	// (TokenReview, and the front-proxy CA in kube-system/extension-apiserver-authentication)
	// and authorization (SubjectAccessReview). Empty means the in-cluster service account.
	Kubeconfig string
	// Reader lists BurstAwareAutoscalers.
	Reader client.Reader
	// Now is the clock for staleness; nil means time.Now.
	Now func() time.Time
}

// Server is the external metrics API server. It is a controller-runtime Runnable that
// runs on every replica (not only the leader): it only reads.
type Server struct {
	adapter *basecmd.AdapterBase
	ln      net.Listener
}

// New checks o, listens on o.Addr and builds the server; Start serves.
func New(o Options) (*Server, error) {
	if o.Reader == nil {
		return nil, errors.New("external metrics: no BurstAwareAutoscaler reader")
	}
	host, _, err := net.SplitHostPort(o.Addr)
	if err != nil {
		return nil, fmt.Errorf("external metrics: address %q: %w", o.Addr, err)
	}
	opts := options.NewCustomMetricsAdapterServerOptions()
	if ip := net.ParseIP(host); ip != nil {
		opts.SecureServing.BindAddress = ip
	}
	opts.SecureServing.ServerCert.CertDirectory = ""
	if o.CertDir != "" {
		cert, key := filepath.Join(o.CertDir, CertFile), filepath.Join(o.CertDir, KeyFile)
		for _, f := range []string{cert, key} {
			if _, err := os.Stat(f); err != nil {
				return nil, fmt.Errorf("external metrics: serving certificate: %w (the folder holds %s and %s, e.g. a mounted kubernetes.io/tls Secret)", err, CertFile, KeyFile)
			}
		}
		opts.SecureServing.ServerCert.CertKey.CertFile, opts.SecureServing.ServerCert.CertKey.KeyFile = cert, key
	}
	opts.Authentication.RemoteKubeConfigFile = o.Kubeconfig
	opts.Authorization.RemoteKubeConfigFile = o.Kubeconfig
	ln, err := net.Listen("tcp", o.Addr)
	if err != nil {
		return nil, fmt.Errorf("external metrics: listen: %w", err)
	}
	opts.SecureServing.Listener = ln
	a := &basecmd.AdapterBase{Name: Name, RemoteKubeConfigFile: o.Kubeconfig, CustomMetricsAdapterServerOptions: opts,
		// The library's flags stay off bascaler's command line: Options are the interface.
		FlagSet: pflag.NewFlagSet(Name, pflag.ContinueOnError)}
	a.WithExternalMetrics(&Provider{Reader: o.Reader, Now: o.Now})
	if _, err := a.Server(); err != nil {
		_ = ln.Close()
		return nil, fmt.Errorf("external metrics: %w", err)
	}
	return &Server{adapter: a, ln: ln}, nil
}

// Addr is the address the server listens on.
func (s *Server) Addr() string { return s.ln.Addr().String() }

// Start serves until ctx is done.
func (s *Server) Start(ctx context.Context) error {
	srv, err := s.adapter.Server()
	if err != nil {
		return fmt.Errorf("external metrics: %w", err)
	}
	if err := srv.GenericAPIServer.PrepareRun().RunWithContext(ctx); err != nil {
		return fmt.Errorf("external metrics: %w", err)
	}
	return nil
}

// NeedLeaderElection is false: every replica behind the Service answers.
func (s *Server) NeedLeaderElection() bool { return false }
