// Package testenv finds the optional resources some tests need (the shared real traces, a
// Prometheus binary, the envtest binaries) and applies one rule when one is missing: outside
// CI the test skips with a message naming what is missing and the variable that points at it,
// under CI=true it fails, because CI provides every resource and a skip there would hide a
// broken set-up. Only tests import it.
package testenv

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bascaler/bascaler/internal/promserver"
)

// TracesVar names the environment variable that points at the folder of the shared traces.
const TracesVar = "BASCALER_TRACES"

// AssetsVar names the environment variable envtest reads for kube-apiserver and etcd.
const AssetsVar = "KUBEBUILDER_ASSETS"

// AssetsHint says how to get the envtest binaries.
const AssetsHint = "run `hack/tools/build.sh` (first build about 9 min) and export " + AssetsVar + "=$(hack/tools/build.sh)"

// InCI reports whether the tests run in CI (CI=true), where every optional resource must be
// present.
func InCI() bool { return os.Getenv("CI") == "true" }

// Require does nothing when ok; otherwise it fails the test under CI=true and skips it
// elsewhere, with the message in both cases.
func Require(t testing.TB, ok bool, format string, args ...any) {
	t.Helper()
	if ok {
		return
	}
	msg := fmt.Sprintf(format, args...)
	if InCI() {
		t.Fatalf("%s (CI=true: a missing resource fails instead of skipping)", msg)
	} else {
		t.Skip(msg)
	}
}

// ModuleRoot returns the directory of the go.mod above the working directory (a test runs
// in its package's directory).
func ModuleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("module root: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		up := filepath.Dir(dir)
		if up == dir {
			return "", errors.New("module root: no go.mod above the working directory")
		}
		dir = up
	}
}

// TracesDir returns where the shared traces are expected: $BASCALER_TRACES if set, else
// ../shared/traces beside the module root. It does not check that the folder exists.
func TracesDir() (string, error) {
	if d := os.Getenv(TracesVar); d != "" {
		return d, nil
	}
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	return filepath.Join(filepath.Dir(root), "shared", "traces"), nil
}

// Traces returns the folder of the shared real traces, or skips (fails under CI) when it is
// absent.
func Traces(t testing.TB) string {
	t.Helper()
	dir, err := TracesDir()
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(dir)
	Require(t, err == nil && st.IsDir(),
		"real traces folder %s not found: set $%s to the folder of the shared traces (default ../shared/traces beside the checkout)",
		dir, TracesVar)
	return dir
}

// Trace returns one file of the shared traces. A missing folder skips (fails under CI) like
// Traces; a folder without the file is a broken copy of the traces and always fails.
func Trace(t testing.TB, name string) string {
	t.Helper()
	p := filepath.Join(Traces(t), name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("shared trace %s missing from the traces folder: %v", name, err)
	}
	return p
}

// Prometheus returns the Prometheus binary ($BASCALER_PROMETHEUS, else prometheus on PATH),
// or skips (fails under CI) without one.
func Prometheus(t testing.TB) string {
	t.Helper()
	bin, err := promserver.Find()
	Require(t, err == nil, "test needs Prometheus: %v", err)
	return bin
}

// KubebuilderAssets returns the folder of kube-apiserver and etcd for envtest
// ($KUBEBUILDER_ASSETS), or skips (fails under CI) when either binary is missing.
func KubebuilderAssets(t testing.TB) string {
	t.Helper()
	assets := os.Getenv(AssetsVar)
	ok := assets != ""
	for _, bin := range []string{"kube-apiserver", "etcd"} {
		if _, err := os.Stat(filepath.Join(assets, bin)); err != nil {
			ok = false
		}
	}
	Require(t, ok, "test needs kube-apiserver and etcd in $%s (%q): %s", AssetsVar, assets, AssetsHint)
	return assets
}
