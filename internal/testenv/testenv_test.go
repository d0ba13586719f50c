package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// recorder is a testing.TB that records Skip and Fatal instead of stopping the goroutine.
type recorder struct {
	testing.TB
	skipped, failed string
}

func (r *recorder) Helper()                      {}
func (r *recorder) Skip(args ...any)             { r.skipped = fmt.Sprint(args...) }
func (r *recorder) Fatal(args ...any)            { r.failed = fmt.Sprint(args...) }
func (r *recorder) Fatalf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }
func (r *recorder) Skipf(f string, args ...any)  { r.skipped = fmt.Sprintf(f, args...) }
func (r *recorder) Errorf(f string, args ...any) { r.failed = fmt.Sprintf(f, args...) }

func TestTracesSkipsOutsideCIAndFailsInCI(t *testing.T) {
	present := t.TempDir()
	absent := filepath.Join(t.TempDir(), "no-traces")
	tests := []struct {
		name, dir, ci      string
		wantSkip, wantFail bool
	}{
		{"present outside CI", present, "", false, false},
		{"present in CI", present, "true", false, false},
		{"absent outside CI skips", absent, "", true, false},
		{"absent with CI=false skips", absent, "false", true, false},
		{"absent in CI fails", absent, "true", false, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv(TracesVar, tt.dir)
			t.Setenv("CI", tt.ci)
			r := &recorder{}
			got := Traces(r)
			if (r.skipped != "") != tt.wantSkip || (r.failed != "") != tt.wantFail {
				t.Fatalf("skipped %q failed %q; want skip %v fail %v", r.skipped, r.failed, tt.wantSkip, tt.wantFail)
			}
			if got != tt.dir {
				t.Errorf("Traces = %q, want %q", got, tt.dir)
			}
			if msg := r.skipped + r.failed; msg != "" && (!strings.Contains(msg, tt.dir) || !strings.Contains(msg, "$"+TracesVar)) {
				t.Errorf("message %q does not name the folder %s and $%s", msg, tt.dir, TracesVar)
			}
		})
	}
}

// Without $BASCALER_TRACES the folder is ../shared/traces beside the module root, wherever
// in the module the test runs.
func TestTracesDirDefaultsBesideModuleRoot(t *testing.T) {
	t.Setenv(TracesVar, "")
	root, err := ModuleRoot()
	if err != nil {
		t.Fatal(err)
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Dir(filepath.Dir(wd)); root != want { // internal/testenv
		t.Fatalf("ModuleRoot = %s, want %s", root, want)
	}
	got, err := TracesDir()
	if err != nil {
		t.Fatal(err)
	}
	if want := filepath.Join(filepath.Dir(root), "shared", "traces"); got != want {
		t.Errorf("TracesDir = %s, want %s", got, want)
	}
}

func TestTraceFailsOnAFileMissingFromAPresentFolder(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "a.csv"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(TracesVar, dir)
	t.Setenv("CI", "")
	r := &recorder{}
	if got := Trace(r, "a.csv"); got != filepath.Join(dir, "a.csv") || r.failed != "" || r.skipped != "" {
		t.Errorf("Trace(a.csv) = %q (failed %q skipped %q)", got, r.failed, r.skipped)
	}
	r = &recorder{}
	Trace(r, "b.csv")
	if r.failed == "" || r.skipped != "" {
		t.Errorf("Trace(b.csv) skipped %q failed %q, want a failure outside CI too", r.skipped, r.failed)
	}
}

func TestKubebuilderAssetsNeedsBothBinaries(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "kube-apiserver"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv(AssetsVar, dir)
	t.Setenv("CI", "true")
	r := &recorder{}
	KubebuilderAssets(r)
	if r.failed == "" || !strings.Contains(r.failed, AssetsVar) {
		t.Fatalf("without etcd under CI: failed %q, want a failure naming $%s", r.failed, AssetsVar)
	}
	if err := os.WriteFile(filepath.Join(dir, "etcd"), nil, 0o755); err != nil {
		t.Fatal(err)
	}
	r = &recorder{}
	if got := KubebuilderAssets(r); got != dir || r.failed != "" || r.skipped != "" {
		t.Errorf("with both binaries: %q failed %q skipped %q", got, r.failed, r.skipped)
	}
}
