package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/forecast"
	modelreg "github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/series"
)

func TestFitForecasterLoadsARegistryVersionByAliasOrPrefix(t *testing.T) {
	s, err := series.SyntheticByName("steady", 1)
	if err != nil {
		t.Fatal(err)
	}
	train, val := s.Slice(0, 600), s.Slice(600, 800)
	reg, err := modelreg.Create(filepath.Join(t.TempDir(), "models"))
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, kind := range []string{"naive", "seasonal-naive"} {
		f, err := forecast.New(kind, nil)
		if err != nil {
			t.Fatal(err)
		}
		if err := f.Fit(train, val, forecast.FitOptions{Horizon: 2, Seed: 1}); err != nil {
			t.Fatal(err)
		}
		st, err := reg.Stage()
		if err != nil {
			t.Fatal(err)
		}
		if err := forecast.Save(st.Dir(), f, forecast.Manifest{Training: forecast.WindowOf(train)}); err != nil {
			t.Fatal(err)
		}
		v, _, err := st.Commit(modelreg.Lineage{})
		if err != nil {
			t.Fatal(err)
		}
		ids = append(ids, v.ID)
	}
	if _, err := reg.Promote(modelreg.Champion, ids[1]); err != nil {
		t.Fatal(err)
	}
	for ref, want := range map[string]string{
		reg.Dir() + "@champion":      "seasonal-naive",
		reg.Dir() + "@" + ids[0][:8]: "naive",
	} {
		f, err := fitForecaster(Env{Interval: s.Step}, "arima", ref, 2, nil)
		if err != nil {
			t.Fatalf("%s: %v", ref, err)
		}
		if f.Kind() != want {
			t.Errorf("%s loaded %s, want %s", ref, f.Kind(), want)
		}
	}
	// A damaged version is refused with its file named, not loaded.
	if err := os.WriteFile(filepath.Join(reg.Dir(), "versions", ids[1], forecast.StateFile), []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = fitForecaster(Env{Interval: s.Step}, "arima", reg.Dir()+"@champion", 2, nil)
	if err == nil || !strings.Contains(err.Error(), forecast.StateFile) || !strings.Contains(err.Error(), modelreg.Short(ids[1])) {
		t.Errorf("damaged champion: %v", err)
	}
}
