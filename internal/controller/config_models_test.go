package controller

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/registry"
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
	cases := []struct {
		path, err string
		alias     string // the alias the served model reports
	}{
		{reg.Dir() + "@champion", "", "champion"},
		{reg.Dir() + "@" + v.ID[:6], "", ""},
		{reg.Dir() + "@challenger", `no alias "challenger"`, ""},
		{t.TempDir(), "no manifest.json", ""},
	}
	for _, c := range cases {
		served, err := settings{models: []modelRef{{kind: "forecaster", spec: c.path, path: c.path}}}.checkModels()
		if (c.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want error containing %q", c.path, err, c.err)
		}
		want := servedModel{kind: "forecaster", ref: c.path, version: registry.Short(v.ID), alias: c.alias}
		if err == nil && (len(served) != 1 || served[0] != want) {
			t.Errorf("%s: served %+v, want %+v", c.path, served, want)
		}
	}
}
