package testenv

import (
	"os"
	"path/filepath"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/cluster"
)

// APIServer starts a real kube-apiserver and etcd (envtest, binaries from
// KubebuilderAssets) holding the module's CRDs (deploy/crd), stopped when the test ends.
// With aggregation the API server gets the front-proxy flags of cluster.EnableAggregation,
// so an APIService can proxy to a server on loopback.
func APIServer(t testing.TB, aggregation bool) (*envtest.Environment, *rest.Config) {
	t.Helper()
	assets := KubebuilderAssets(t)
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join(root, "deploy", "crd")}, ErrorIfCRDPathMissing: true, BinaryAssetsDirectory: assets}
	if aggregation {
		if err := cluster.EnableAggregation(env, t.TempDir()); err != nil {
			t.Fatal(err)
		}
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	return env, cfg
}

// Client is a client of cfg that knows the core types and bascaler's.
func Client(t testing.TB, cfg *rest.Config) client.Client {
	t.Helper()
	scheme := runtime.NewScheme()
	_ = clientgoscheme.AddToScheme(scheme)
	_ = v1alpha1.AddToScheme(scheme)
	c, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// MastersKubeconfig writes a kubeconfig of a system:masters user of env (named user) to a
// file in a temporary folder and returns its path.
func MastersKubeconfig(t testing.TB, env *envtest.Environment, user string) string {
	t.Helper()
	u, err := env.AddUser(envtest.User{Name: user, Groups: []string{"system:masters"}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	kc, err := u.KubeConfig()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, kc, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
