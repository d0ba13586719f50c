package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/series"
)

// listDoc is the JSON of `models list --format json`.
type listDoc struct {
	Registry string            `json:"registry"`
	Aliases  map[string]string `json:"aliases"`
	Versions []versionJSON     `json:"versions"`
	History  []registry.Event  `json:"history"`
}

func modelsList(t *testing.T, reg string) listDoc {
	t.Helper()
	out, err := runCLI(t, "models", "list", reg, "--format", "json")
	if err != nil {
		t.Fatalf("models list: %v\n%s", err, out)
	}
	var d listDoc
	if err := json.Unmarshal([]byte(out), &d); err != nil {
		t.Fatalf("models list output is not JSON: %v\n%s", err, out)
	}
	return d
}

// trainInto runs forecast train into a registry.
func trainInto(t *testing.T, trace, model, reg string, promote bool, extra ...string) string {
	t.Helper()
	args := append([]string{"forecast", "train", "--trace", trace, "--model", model, "--out", "", "--registry", reg,
		"--promote=" + map[bool]string{true: "true", false: "false"}[promote], "--horizon", "6", "--split", "0.6,0.2,0.2",
		"--normalize", ""}, extra...)
	out, err := runCLI(t, args...)
	if err != nil {
		t.Fatalf("%v: %v\n%s", args, err, out)
	}
	return out
}

func TestTrainIntoRegistryRecordsLineageAndModelsCommandsManageIt(t *testing.T) {
	t.Setenv("CI", "true")
	dir := t.TempDir()
	s, err := series.SyntheticByName("steady", 2)
	if err != nil {
		t.Fatal(err)
	}
	trace := filepath.Join(dir, "steady.csv")
	f, err := os.Create(trace)
	if err != nil {
		t.Fatal(err)
	}
	if err := series.Write(f, s); err != nil {
		t.Fatal(err)
	}
	f.Close()
	reg := filepath.Join(dir, "models")

	out := trainInto(t, trace, "holt-winters", reg, true)
	if !strings.Contains(out, "registered holt-winters version") || !strings.Contains(out, "champion") {
		t.Errorf("train output: %s", out)
	}
	trainInto(t, trace, "seasonal-naive", reg, false)
	if out := trainInto(t, trace, "seasonal-naive", reg, false); !strings.Contains(out, "already registered") {
		t.Errorf("retraining the same model on the same data: %s", out)
	}

	d := modelsList(t, reg)
	if len(d.Versions) != 2 {
		t.Fatalf("%d versions, want 2", len(d.Versions))
	}
	byKind := map[string]int{}
	for i, v := range d.Versions {
		byKind[v.Lineage.Kind] = i
		if v.Error != "" {
			t.Errorf("version %s: %s", v.ID, v.Error)
		}
	}
	hw, sn := d.Versions[byKind["holt-winters"]], d.Versions[byKind["seasonal-naive"]]
	if d.Aliases[registry.Champion] != hw.ID || len(hw.Aliases) != 1 {
		t.Errorf("champion %s, want the promoted holt-winters %s", d.Aliases[registry.Champion], hw.ID)
	}
	if sn.Lineage.Parent != hw.ID || hw.Lineage.Parent != "" {
		t.Errorf("parents: seasonal-naive %q (want champion %s), holt-winters %q (want none)", sn.Lineage.Parent, hw.ID, hw.Lineage.Parent)
	}
	sum, _ := registry.FileSHA256(trace)
	ntrain, nval := int(0.6*float64(s.Len())), int(0.2*float64(s.Len()))
	// The lineage digests the points the model trained on, in req/s before normalisation.
	used := s.PerSecond().Slice(0, ntrain+nval)
	l := hw.Lineage
	checks := []struct {
		what      string
		got, want any
	}{
		{"source", l.Data.Source, "trace"},
		{"trace", l.Data.Trace, trace},
		{"trace digest", l.Data.TraceDigest, sum},
		{"series digest", l.Data.SeriesDigest, registry.DigestSeries(used.Start, used.Step, used.Values)},
		{"train points", l.Data.Train.Points, ntrain},
		{"train start", l.Data.Train.Start.Equal(s.Start), true},
		{"validation points", l.Data.Validation.Points, nval},
		{"normalize", l.Data.Normalize, "paper"},
		{"split", l.Data.Split, "0.6,0.2,0.2"},
		{"has validation score", l.Validation["pinball_mean"] > 0, true},
		{"has calibration", len(l.Calibration) > 0, true},
		{"code version", l.CodeVersion != "", true},
		{"seed", l.Seed, int64(1)},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("lineage %s = %v, want %v", c.what, c.got, c.want)
		}
	}

	out, err = runCLI(t, "models", "show", reg, "champion", "--format", "table")
	if err != nil || !strings.Contains(out, sum) || !strings.Contains(out, "holt-winters") {
		t.Errorf("show: %v\n%s", err, out)
	}
	out, err = runCLI(t, "models", "diff", reg, "champion", sn.ID[:8], "--format", "json")
	if err != nil {
		t.Fatalf("diff: %v\n%s", err, out)
	}
	var diff struct {
		Changes []registry.Change `json:"changes"`
	}
	json.Unmarshal([]byte(out), &diff)
	found := false
	for _, c := range diff.Changes {
		if c.Path == "lineage.kind" && c.A == `"holt-winters"` && c.B == `"seasonal-naive"` {
			found = true
		}
		if strings.HasPrefix(c.Path, "lineage.data.") {
			t.Errorf("same data, but diff reports %s", c.Path)
		}
	}
	if !found {
		t.Errorf("diff lacks the kind change: %s", out)
	}

	// forecast predict loads a version by alias.
	out, err = runCLI(t, "forecast", "predict", "--model", reg+"@champion", "--trace", trace, "--horizon", "3", "--format", "json")
	if err != nil || !strings.Contains(out, `"model":"holt-winters"`) {
		t.Errorf("predict from champion: %v\n%s", err, out)
	}

	steps := []struct {
		args      []string
		champion  string
		wantInOut string
	}{
		{[]string{"models", "promote", reg, sn.ID[:10], "--format", "table"}, sn.ID, "champion: " + registry.Short(hw.ID) + " -> " + registry.Short(sn.ID)},
		{[]string{"models", "rollback", reg, "--format", "table"}, hw.ID, "rollback"},
		{[]string{"models", "gc", reg, "--dry-run", "--format", "table"}, hw.ID, "would remove 0 versions"},
		{[]string{"models", "gc", reg, "--dry-run=false", "--min-age", "0", "--keep-history", "0", "--format", "json"}, hw.ID, sn.ID},
	}
	for _, st := range steps {
		out, err := runCLI(t, st.args...)
		if err != nil || !strings.Contains(out, st.wantInOut) {
			t.Errorf("%v: %v, output lacks %q:\n%s", st.args, err, st.wantInOut, out)
		}
		if got := modelsList(t, reg).Aliases[registry.Champion]; got != st.champion {
			t.Errorf("%v: champion %s, want %s", st.args, registry.Short(got), registry.Short(st.champion))
		}
	}
	if d := modelsList(t, reg); len(d.Versions) != 1 || len(d.History) != 3 {
		t.Errorf("after gc: %d versions, %d events; want 1 and 3", len(d.Versions), len(d.History))
	}
}

func TestSimulateLoadsTheForecasterFromARegistryAlias(t *testing.T) {
	t.Setenv("CI", "true")
	reg := filepath.Join(t.TempDir(), "models")
	trainInto(t, "synthetic:steady", "holt-winters", reg, true, "--normalize", "none")
	for _, c := range []struct {
		ref, err string
	}{
		{reg + "@champion", ""},
		{reg + "@challenger", `no alias "challenger"`},
	} {
		out, err := runCLI(t, "simulate", "--trace", "synthetic:steady", "--policy", "bascaler", "--param", "bascaler.model="+c.ref, "--format", "json")
		if c.err == "" && (err != nil || !strings.Contains(out, `"policy": "bascaler"`)) {
			t.Errorf("%s: %v\n%s", c.ref, err, out)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)) {
			t.Errorf("%s: %v, want an error containing %q", c.ref, err, c.err)
		}
	}
}

func TestModelsCommandsRejectBadInputWithOneClearError(t *testing.T) {
	t.Setenv("CI", "true")
	reg := filepath.Join(t.TempDir(), "models")
	trainInto(t, "synthetic:steady", "naive", reg, true)
	plain := t.TempDir()
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"models", "list", plain}, "not a model registry"},
		{[]string{"models", "show", reg, "challenger"}, `no alias "challenger"`},
		{[]string{"models", "show", reg, "ab"}, "no alias"},
		{[]string{"models", "rollback", reg, "--alias", "champion"}, "no earlier version"},
		{[]string{"models", "promote", reg, "champion", "--alias", "Bad Name"}, "alias"},
		{[]string{"models", "list", reg, "--format", "yaml"}, "--format"},
		{[]string{"models", "gc", reg, "--min-age", "-1s"}, "negative"},
		{[]string{"forecast", "train", "--trace", "synthetic:steady", "--model", "naive", "--out", "", "--registry", "", "--promote=false"}, "--out or --registry"},
		{[]string{"forecast", "train", "--trace", "synthetic:steady", "--model", "naive", "--out", filepath.Join(plain, "m"), "--registry", "", "--promote"}, "--promote needs --registry"},
		{[]string{"forecast", "predict", "--model", reg + "@nope", "--trace", "synthetic", "--horizon", "3"}, `no alias "nope"`},
	}
	for _, c := range cases {
		out, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want one containing %q\n%s", c.args, err, c.want, out)
		}
	}
}
