package controller

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/rl"
)

func TestCheckModelsResolvesRegistryReferences(t *testing.T) {
	reg, err := registry.Create(filepath.Join(t.TempDir(), "models"))
	if err != nil {
		t.Fatal(err)
	}
	st, err := reg.Stage()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(st.Dir(), "manifest.json"), []byte(`{"kind":"naive"}`), 0o644); err != nil {
		t.Fatal(err)
	}
	v, _, err := st.Commit(registry.Lineage{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.Promote(registry.Champion, v.ID); err != nil {
		t.Fatal(err)
	}
	fc := func(p string) modelUse {
		return modelUse{field: "spec.policy.forecaster.path", kind: "forecaster", spec: p, path: p, kinds: forecast.Kinds()}
	}
	cases := []struct {
		use   modelUse
		err   string
		alias string // the alias the served model reports
	}{
		{fc(reg.Dir() + "@champion"), "", "champion"},
		{fc(reg.Dir() + "@" + v.ID[:6]), "", ""},
		{fc(reg.Dir() + "@challenger"), `no alias "challenger"`, ""},
		{fc(t.TempDir()), "no manifest.json", ""},
		{modelUse{field: "spec.policy.rlModel.path", kind: "rl", path: reg.Dir() + "@champion", kinds: []string{rl.Kind}}, "spec.policy.rlModel.path " + `"` + reg.Dir() + `@champion": version ` + registry.Short(v.ID) + " is of kind naive, want ppo", ""},
		{modelUse{field: "spec.policy.capacity.model", kind: "profile", path: reg.Dir() + "@champion", kinds: []string{perf.ProfileKind}}, "is of kind naive, want svr-profile", ""},
	}
	for _, c := range cases {
		served, err := settings{models: []modelUse{c.use}}.checkModels()
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want error containing %q", c.use.path, err, c.err)
		}
		want := servedModel{kind: "forecaster", ref: c.use.path, version: registry.Short(v.ID), alias: c.alias}
		if err == nil && (len(served) != 1 || served[0] != want) {
			t.Errorf("%s: served %+v, want %+v", c.use.path, served, want)
		}
	}
}

func TestCapacityModelLoadsAFittedProfileFromTheRegistry(t *testing.T) {
	samples, err := perf.SampleProfile(perf.FFT(), perf.SamplingOptions{Samples: 60, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	fit, err := perf.FitProfile("svr", samples, nil)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "profiles")
	if _, _, err := registry.Publish(dir, func(d string) error { return perf.SaveProfileModel(d, fit, samples, perf.ProfileManifest{}) },
		registry.Lineage{}, true); err != nil {
		t.Fatal(err)
	}
	baa := autoscaler("shop", "web", "web", "http://127.0.0.1:9")
	baa.Spec.Policy.Capacity = &v1alpha1.CapacitySpec{Model: "profiles@champion", Profile: "fft"}
	s, err := resolve(baa, filepath.Dir(dir)) // relative to --model-dir
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.checkModels(); err != nil {
		t.Fatal(err)
	}
	slo := policy.SLO{Metric: perf.Mean, TargetMS: 16}
	got, err := profile(baa, slo, s.profileModel, nil)
	if err != nil {
		t.Fatal(err)
	}
	want, _ := fit.CapacityAt(perf.Mean, 16)
	if c, _ := got.CapacityAt(perf.Mean, 16); c != want || got.Name != "svr" {
		t.Errorf("capacity %g from %s, want the fitted %g", c, got.Name, want)
	}
	if _, err := profile(baa, slo, filepath.Dir(dir)+"/nosuch@champion", nil); err == nil || !strings.Contains(err.Error(), "not a model registry") {
		t.Errorf("missing registry: %v", err)
	}
}
