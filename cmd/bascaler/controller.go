package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2/textlogger"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	ctrlmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/controller"
	"github.com/bascaler/bascaler/internal/extmetrics"
	"github.com/bascaler/bascaler/internal/scale"
)

func newControllerCmd() *cobra.Command {
	var kubeconfig, metricsAddr, probeAddr, modelDir, featureDir, leaseNS, extAddr, extCertDir string
	var leaderElect, verbose bool
	cmd := &cobra.Command{
		Use:   "controller",
		Short: "Run the BurstAwareAutoscaler controller (in-cluster or with --kubeconfig)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			v := 0
			if verbose {
				v = 1
			}
			ctrl.SetLogger(textlogger.NewLogger(textlogger.NewConfig(textlogger.Verbosity(v))))
			cfg, err := restConfig(kubeconfig)
			if err != nil {
				return err
			}
			scheme := runtime.NewScheme()
			if err := clientgoscheme.AddToScheme(scheme); err != nil {
				return err
			}
			if err := v1alpha1.AddToScheme(scheme); err != nil {
				return err
			}
			mgr, err := ctrl.NewManager(cfg, ctrl.Options{
				Scheme:                  scheme,
				Metrics:                 metricsserver.Options{BindAddress: metricsAddr},
				HealthProbeBindAddress:  probeAddr,
				LeaderElection:          leaderElect,
				LeaderElectionID:        "bascaler-controller",
				LeaderElectionNamespace: leaseNS,
				// A stopping leader hands over at once instead of letting the lease expire.
				LeaderElectionReleaseOnCancel: true,
			})
			if err != nil {
				return fmt.Errorf("create manager: %w", err)
			}
			r := &controller.Reconciler{
				Client:     mgr.GetClient(),
				Scaler:     scale.Kubernetes{Client: mgr.GetClient()},
				Events:     mgr.GetEventRecorder("bascaler-controller"),
				Stats:      controller.NewStats(ctrlmetrics.Registry),
				ModelDir:   modelDir,
				FeatureDir: featureDir,
			}
			if err := r.SetupWithManager(mgr); err != nil {
				return fmt.Errorf("set up controller: %w", err)
			}
			if extAddr != "" {
				ext, err := extmetrics.New(extmetrics.Options{Addr: extAddr, CertDir: extCertDir,
					Kubeconfig: delegationKubeconfig(kubeconfig), Reader: mgr.GetCache()})
				if err != nil {
					return err
				}
				if err := mgr.Add(ext); err != nil {
					return err
				}
			}
			if err := mgr.AddHealthzCheck("healthz", healthz.Ping); err != nil {
				return err
			}
			if err := mgr.AddReadyzCheck("readyz", healthz.Ping); err != nil {
				return err
			}
			ctx := cmd.Context()
			if ctx == nil || ctx == context.Background() {
				ctx = ctrl.SetupSignalHandler() // SIGTERM/SIGINT stop the manager (and release the lease)
			}
			return mgr.Start(ctx)
		},
	}
	f := cmd.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster, then $KUBECONFIG)")
	f.StringVar(&metricsAddr, "metrics-bind-address", ":8080", "address of /metrics (\"0\" disables it)")
	f.StringVar(&probeAddr, "health-probe-bind-address", ":8081", "address of /healthz and /readyz")
	f.BoolVar(&leaderElect, "leader-elect", false, "elect a leader with a Lease so only one replica acts")
	f.StringVar(&leaseNS, "leader-election-namespace", "", "namespace of the Lease (default: the pod's namespace)")
	f.StringVar(&modelDir, "model-dir", "/models", "folder of trained models (a mounted ConfigMap or volume); relative model paths in specs resolve here")
	f.StringVar(&featureDir, "feature-dir", "", "folder of the feature record (each target's completed intervals, so a restart resumes with history), e.g. /models/features next to the registry; empty disables it")
	f.StringVar(&extAddr, "external-metrics-addr", "", "serve each autoscaler's status.desiredReplicas as external metric "+extmetrics.MetricName+
		" (external.metrics.k8s.io/v1beta1, selector autoscaler=NAME) over HTTPS at this address, e.g. :6443, for a plain HPA to follow; every replica serves; empty disables it (deploy/README.md)")
	f.StringVar(&extCertDir, "external-metrics-cert-dir", "", "folder with the external metrics server's tls.crt and tls.key (a mounted kubernetes.io/tls Secret); empty: a self-signed certificate made at start (APIService with insecureSkipTLSVerify)")
	f.BoolVar(&verbose, "verbose", false, "log every decision")
	return cmd
}

// delegationKubeconfig is the kubeconfig file the external metrics server authenticates
// and authorizes requests with: --kubeconfig, else the first file of $KUBECONFIG, else ""
// (the in-cluster service account).
func delegationKubeconfig(kubeconfig string) string {
	if kubeconfig != "" {
		return kubeconfig
	}
	if l := filepath.SplitList(os.Getenv("KUBECONFIG")); len(l) > 0 {
		return l[0]
	}
	return ""
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		return ctrl.GetConfig()
	}
	c, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	return c, nil
}
