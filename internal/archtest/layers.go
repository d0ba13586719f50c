// Package archtest checks that imports point one way, as docs/architecture.md draws them:
// cmd -> backends (controller, testbed, sim, report, rltrain) -> infrastructure (driver,
// metrics, scale, promserver, the testbed's parts, api) -> policy -> models (forecast,
// burst, perf, rl) -> base (series, nn). Its test lists the module's packages with
// `go list` and fails on any import that points up, on a forbidden link (Kubernetes or
// Prometheus in a model package or the simulator, testbed or simulator code in the
// controller; the controller links the simulator only for the retrain replay) and on a package that is not placed in a layer, so a new package is placed
// on purpose.
package archtest

import (
	"fmt"
	"slices"
	"strings"
)

// Layer is one level of the drawing; Packages are import paths relative to the module,
// where "dir/..." means every package below dir (an exact path wins over a pattern).
type Layer struct {
	Name     string
	Packages []string
}

// Layers lists the levels from the bottom up: a package may import packages of its own or
// a lower layer only.
var Layers = []Layer{
	{"base", []string{"internal/series", "internal/nn", "internal/registry", "internal/frontier", "internal/features", "internal/retrain"}},
	{"models", []string{"internal/forecast", "internal/burst", "internal/perf", "internal/rl", "internal/hpa", "internal/drift"}},
	{"policy", []string{"internal/policy"}},
	{"infrastructure", []string{"internal/driver", "internal/measure", "internal/metrics", "internal/scale", "internal/promserver",
		"api/...", "internal/testbed/..."}},
	{"backends", []string{"internal/sim", "internal/report", "internal/rltrain", "internal/controller", "internal/testbed",
		"internal/load", "internal/testbed/loadgen", "internal/serve", "internal/extmetrics", "internal/live", "internal/kedascaler"}},
	{"cmd", []string{"cmd/...", "internal/archtest", "internal/conformance", "internal/testenv", "internal/cluster"}},
}

// Forbid is a link that must not exist, directly or through other packages.
type Forbid struct {
	From []string // packages (patterns as in Layer)
	To   []string // packages they must not link; full paths outside the module
	Why  string
}

// pure are the packages that must run anywhere: no cluster client, no metrics server.
var pure = []string{"internal/series", "internal/nn", "internal/registry", "internal/frontier", "internal/features", "internal/retrain", "internal/forecast", "internal/burst", "internal/perf", "internal/drift",
	"internal/rl", "internal/hpa", "internal/policy", "internal/driver", "internal/measure", "internal/sim", "internal/report", "internal/rltrain"}

// Forbidden lists the links the layering alone does not rule out.
var Forbidden = []Forbid{
	{pure, []string{"k8s.io/...", "sigs.k8s.io/...", "github.com/prometheus/..."},
		"models, policies and the simulator import neither Kubernetes nor Prometheus"},
	{[]string{"internal/controller"}, []string{"internal/testbed", "internal/testbed/...", "internal/rltrain", "internal/report"},
		"the Kubernetes controller links no testbed code (the simulator only to replay champion and challenger: sim.Evaluate)"},
	{[]string{"internal/sim"}, []string{"internal/controller", "internal/testbed", "internal/testbed/...", "internal/rltrain", "internal/report"},
		"the simulator is the bottom backend: the others build on it, not it on them"},
	// The live targets read Prometheus through internal/metrics, which also holds the
	// metrics-API source (controller-runtime client types): the server links those types
	// but never a controller, and never talks to a cluster.
	{[]string{"internal/serve", "internal/live", "internal/kedascaler"}, []string{"internal/controller", "internal/testbed", "internal/testbed/...", "internal/sim"},
		"the model server decides through the driver and policies alone: no controller, testbed or simulator"},
	{[]string{"internal/extmetrics"}, []string{"internal/controller", "internal/driver", "internal/policy", "internal/testbed", "internal/testbed/...", "internal/sim"},
		"the external metrics server reads the controller's decisions from status; it never decides itself"},
}

// Package is one package of the module as `go list` reports it, paths relative to the
// module for the module's own packages.
type Package struct {
	Path    string
	Imports []string // direct, non-test
	Deps    []string // transitive, non-test
}

// match reports whether path is named by pattern.
func match(pattern, path string) bool {
	if dir, ok := strings.CutSuffix(pattern, "/..."); ok {
		return strings.HasPrefix(path, dir+"/")
	}
	return pattern == path
}

func matchAny(patterns []string, path string) bool {
	return slices.ContainsFunc(patterns, func(p string) bool { return match(p, path) })
}

// layerOf returns the index of path's layer, or -1 when it is in none. Exact names win
// over patterns, so "internal/testbed" and "internal/testbed/..." can differ.
func layerOf(path string) int {
	for i, l := range Layers {
		if slices.Contains(l.Packages, path) {
			return i
		}
	}
	for i, l := range Layers {
		if matchAny(l.Packages, path) {
			return i
		}
	}
	return -1
}

// Check returns every violation in pkgs, one readable line each. own says whether an
// import path belongs to the module (only those are placed in layers).
func Check(pkgs []Package, own func(string) bool) []string {
	var out []string
	for _, p := range pkgs {
		from := layerOf(p.Path)
		if from < 0 {
			out = append(out, fmt.Sprintf("%s is in no layer: place it in archtest.Layers and in docs/architecture.md", p.Path))
			continue
		}
		for _, imp := range p.Imports {
			if !own(imp) {
				continue
			}
			if to := layerOf(imp); to > from {
				out = append(out, fmt.Sprintf("%s (layer %s) imports %s (layer %s, above it)", p.Path, Layers[from].Name, imp, Layers[to].Name))
			}
		}
		for _, f := range Forbidden {
			if !matchAny(f.From, p.Path) {
				continue
			}
			var bad []string
			for _, d := range p.Deps {
				if matchAny(f.To, d) {
					bad = append(bad, d)
				}
			}
			switch {
			case len(bad) == 1:
				out = append(out, fmt.Sprintf("%s links %s: %s", p.Path, bad[0], f.Why))
			case len(bad) > 1:
				out = append(out, fmt.Sprintf("%s links %s and %d more (%s): %s", p.Path, bad[0], len(bad)-1, strings.Join(bad[1:min(len(bad), 4)], ", "), f.Why))
			}
		}
	}
	return out
}
