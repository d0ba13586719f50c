package serve

import (
	"encoding/json"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/series"
)

// publishNaive fits a seasonal-naive model on the synthetic workload (req/s) and publishes
// it as the champion of a new registry under t.TempDir().
func publishNaive(t *testing.T) (dir string, v registry.Version) {
	t.Helper()
	s, err := series.Synthetic(series.DefaultSynthetic())
	if err != nil {
		t.Fatal(err)
	}
	f, err := forecast.New("naive", nil)
	if err != nil {
		t.Fatal(err)
	}
	cut := s.Len() * 8 / 10
	if err := f.Fit(s.Slice(0, cut), s.Slice(cut, s.Len()), forecast.FitOptions{Horizon: 5}); err != nil {
		t.Fatal(err)
	}
	dir = t.TempDir()
	man := forecast.Manifest{Levels: forecast.DefaultLevels, Horizon: 5, Training: forecast.WindowOf(s.Slice(0, cut)), RateUnit: forecast.UnitPerSecond}
	v, _, err = registry.Publish(dir, func(md string) error { return forecast.Save(md, f, man) },
		registry.Lineage{Kind: "naive", CodeVersion: "test"}, true)
	if err != nil {
		t.Fatal(err)
	}
	return dir, v
}

// TestServeRegistry: a registry's versions are served by short id and by alias, and the
// answer names the version that produced it.
func TestServeRegistry(t *testing.T) {
	dir, v := publishNaive(t)
	ms, err := LoadModels(Options{Registry: dir, Models: []string{"champ=" + dir + "@champion"}}, func(err error) { t.Error(err) })
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != 3 {
		t.Fatalf("want the built-in, the registry's version and --model champ: got %d models", len(ms))
	}
	s := New()
	if err := s.SetModels(ms); err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(s.Handler())
	defer ts.Close()
	for _, ref := range []string{"champion", registry.Short(v.ID), "champ", v.ID[:10]} {
		code, body := do(t, ts, "POST", "/v1/forecast", `{"model":"`+ref+`","step":"1m","history":[10,20,30,40],"horizon":5}`)
		if code != 200 {
			t.Fatalf("model %s: %d %s", ref, code, body)
		}
		var r ForecastResponse
		if err := json.Unmarshal([]byte(body), &r); err != nil {
			t.Fatal(err)
		}
		if r.Version != v.ID || r.Kind != "naive" || len(r.Quantiles) != 5 {
			t.Errorf("model %s: answered by %s/%s with %d steps, want %s", ref, r.Kind, r.Version, len(r.Quantiles), v.ID)
		}
	}
	// Beyond the saved horizon, 400 naming horizon.
	if code, body := do(t, ts, "POST", "/v1/forecast", `{"model":"champion","step":"1m","history":[10,20,30,40],"horizon":6}`); code != 400 || !strings.Contains(string(body), "horizon") {
		t.Errorf("horizon beyond the model's: %d %s", code, body)
	}
	_, body := do(t, ts, "GET", "/v1/models", "")
	var mr ModelsResponse
	if err := json.Unmarshal(body, &mr); err != nil {
		t.Fatal(err)
	}
	if mr.Aliases["champion"] != registry.Short(v.ID) {
		t.Errorf("aliases %v: champion should point at %s", mr.Aliases, registry.Short(v.ID))
	}
	var v2 any
	_ = json.Unmarshal(body, &v2)
	sp := loadSpec(t)
	sc, _ := sp.response("GET", "/v1/models", 200)
	if err := sp.validate(sc, v2, "$"); err != nil {
		t.Error(err)
	}
	// A missing registry and a bad reference are errors naming them.
	if _, err := LoadModels(Options{Models: []string{dir + "@nonesuch"}}, nil); err == nil || !strings.Contains(err.Error(), "nonesuch") {
		t.Errorf("bad alias: %v", err)
	}
}

// TestServeRegistrySkipsOtherKinds: an RL agent in the registry is not a forecaster to serve
// (no error, no model), and naming it as a model is refused with both kinds.
func TestServeRegistrySkipsOtherKinds(t *testing.T) {
	dir, _ := publishNaive(t)
	agent, _, err := registry.Publish(dir, func(md string) error {
		return os.WriteFile(filepath.Join(md, "manifest.json"), []byte(`{"kind":"ppo","format_version":1}`), 0o644)
	}, registry.Lineage{CodeVersion: "test"}, false)
	if err != nil {
		t.Fatal(err)
	}
	ms, skipped, err := LoadRegistry(dir)
	if err != nil || len(skipped) != 0 || len(ms) != 1 || ms[0].Kind != "naive" {
		t.Fatalf("LoadRegistry: %d models, skipped %v, %v", len(ms), skipped, err)
	}
	if _, err := Load("", dir+"@"+registry.Short(agent.ID)); err == nil || !strings.Contains(err.Error(), "is of kind ppo, want one of") {
		t.Fatalf("loading the agent as a model: %v", err)
	}
}
