package archtest

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const module = "github.com/bascaler/bascaler"

func ownPath(p string) bool { return !strings.Contains(strings.SplitN(p, "/", 2)[0], ".") }

// modulePackages lists the module's packages with `go list -json`, paths made relative.
func modulePackages(t *testing.T) []Package {
	t.Helper()
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "go.mod")); err != nil {
		t.Fatalf("module root not at %s: %v", root, err)
	}
	cmd := exec.Command("go", "list", "-e", "-json=ImportPath,Imports,Deps,Error", "./...")
	cmd.Dir = root
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v\n%s", err, stderr.String())
	}
	rel := func(p string) string {
		if p == module {
			return "."
		}
		return strings.TrimPrefix(p, module+"/")
	}
	var pkgs []Package
	dec := json.NewDecoder(bytes.NewReader(out))
	for {
		var p struct {
			ImportPath    string
			Imports, Deps []string
			Error         *struct{ Err string }
		}
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Error != nil {
			t.Fatalf("go list %s: %s", p.ImportPath, p.Error.Err)
		}
		pk := Package{Path: rel(p.ImportPath)}
		for _, i := range p.Imports {
			pk.Imports = append(pk.Imports, rel(i))
		}
		for _, d := range p.Deps {
			pk.Deps = append(pk.Deps, rel(d))
		}
		pkgs = append(pkgs, pk)
	}
	if len(pkgs) < 10 {
		t.Fatalf("go list found only %d packages", len(pkgs))
	}
	return pkgs
}

func TestImportsPointOneWay(t *testing.T) {
	pkgs := modulePackages(t)
	for _, v := range Check(pkgs, ownPath) {
		t.Error(v)
	}
	// The promise behind the controller rule, stated as the issue states it.
	for _, p := range pkgs {
		if p.Path != "internal/controller" {
			continue
		}
		for _, d := range p.Deps {
			if strings.HasPrefix(d, "internal/testbed") {
				t.Errorf("go list -deps ./internal/controller names %s", d)
			}
		}
		return
	}
	t.Fatal("internal/controller not listed")
}

// The checker itself, on made-up graphs: each bad edge must be reported.
func TestCheckReportsEveryKindOfViolation(t *testing.T) {
	clean := []Package{
		{Path: "internal/series"},
		{Path: "internal/forecast", Imports: []string{"internal/series"}, Deps: []string{"internal/series"}},
		{Path: "internal/policy", Imports: []string{"internal/forecast"}, Deps: []string{"internal/forecast", "internal/series"}},
		{Path: "internal/controller", Imports: []string{"internal/policy", "internal/scale", "k8s.io/client-go/rest"},
			Deps: []string{"internal/policy", "internal/scale", "k8s.io/client-go/rest"}},
		{Path: "cmd/bascaler", Imports: []string{"internal/controller", "internal/testbed"}},
	}
	if v := Check(clean, ownPath); len(v) != 0 {
		t.Fatalf("a clean graph has violations: %v", v)
	}
	for _, tc := range []struct {
		name string
		pkg  Package
		want string
	}{
		{"policy imports the simulator", Package{Path: "internal/policy", Imports: []string{"internal/sim"}}, "imports internal/sim (layer backends, above it)"},
		{"a model imports the policy", Package{Path: "internal/burst", Imports: []string{"internal/policy"}}, "(layer models) imports internal/policy"},
		{"a model links Kubernetes", Package{Path: "internal/forecast", Deps: []string{"k8s.io/apimachinery/pkg/runtime"}}, "neither Kubernetes nor Prometheus"},
		{"the simulator links Prometheus", Package{Path: "internal/sim", Deps: []string{"github.com/prometheus/common/model"}}, "neither Kubernetes nor Prometheus"},
		{"the controller links the testbed", Package{Path: "internal/controller", Imports: []string{"internal/scale"}, Deps: []string{"internal/scale", "internal/testbed/replica"}},
			"internal/controller links internal/testbed/replica"},
		{"the simulator imports the testbed", Package{Path: "internal/sim", Imports: []string{"internal/testbed"}, Deps: []string{"internal/testbed"}}, "bottom backend"},
		{"infrastructure imports a backend", Package{Path: "internal/scale", Imports: []string{"internal/testbed"}}, "(layer infrastructure) imports internal/testbed (layer backends"},
		{"an unplaced package", Package{Path: "internal/utils"}, "internal/utils is in no layer"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			v := Check(append(clean[:len(clean):len(clean)], tc.pkg), ownPath)
			if len(v) == 0 || !strings.Contains(strings.Join(v, "\n"), tc.want) {
				t.Fatalf("violations %q, want one saying %q", v, tc.want)
			}
		})
	}
}
