package forecast

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestSaveLoadRoundTripGivesIdenticalPredictions(t *testing.T) {
	s := hourlyDaily(24*40, 25, 9)
	train, val, test := split3(t, s)
	for _, kind := range []string{"naive", "seasonal-naive", "holt-winters", "arima", "auto"} {
		t.Run(kind, func(t *testing.T) {
			opts := FitOptions{Horizon: 24}
			var model Forecaster
			if kind == "auto" {
				a := mustNew(t, "auto", nil)
				if err := a.Fit(train, val, opts); err != nil {
					t.Fatal(err)
				}
				model = a
			} else {
				c, _, err := FitCalibrated(mustNew(t, kind, nil), train, val, opts, 0)
				if err != nil {
					t.Fatal(err)
				}
				model = c
			}
			dir := filepath.Join(t.TempDir(), "m")
			if err := Save(dir, model, Manifest{Training: WindowOf(train)}); err != nil {
				t.Fatal(err)
			}
			loaded, man, err := LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			if man.Calibration == nil || man.FormatVersion != FormatVersion || man.Training.Points != train.Len() {
				t.Errorf("manifest %+v lacks calibration, version or window", man)
			}
			hist := Concat(Concat(train, val), test.Slice(0, 10))
			want, err := model.Predict(hist, 24)
			if err != nil {
				t.Fatal(err)
			}
			got, err := loaded.Predict(hist, 24)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(want, got) {
				t.Errorf("loaded model predicts %v, saved one %v", got.Q[0], want.Q[0])
			}
		})
	}
}

func TestLoadModelReportsWhatIsWrong(t *testing.T) {
	s := hourlyDaily(24*20, 10, 1)
	m := mustNew(t, "naive", nil)
	if err := m.Fit(s, s, FitOptions{Horizon: 4}); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(t.TempDir(), "good")
	if err := Save(good, m, Manifest{}); err != nil {
		t.Fatal(err)
	}
	manifest, _ := os.ReadFile(filepath.Join(good, ManifestFile))
	state, _ := os.ReadFile(filepath.Join(good, StateFile))
	cases := []struct {
		name     string
		manifest string // "" = no manifest file
		state    string
		want     string
	}{
		{"missing manifest", "", string(state), "no manifest.json"},
		{"corrupted manifest", `{"kind": "naive", "format_`, string(state), "corrupted manifest"},
		{"version mismatch", strings.Replace(string(manifest), `"format_version": 1`, `"format_version": 99`, 1), string(state), "format_version 99"},
		{"unknown kind", strings.Replace(string(manifest), `"kind": "naive"`, `"kind": "prophet"`, 1), string(state), `unknown model kind "prophet"`},
		{"state does not decode", string(manifest), `{"period": 1, "levels": [0.5], "err_q": [[1, 2]]}`, "does not decode"},
		{"truncated state", string(manifest), string(state[:len(state)/2]), "does not decode"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			if c.manifest != "" {
				os.WriteFile(filepath.Join(dir, ManifestFile), []byte(c.manifest), 0o644)
			}
			os.WriteFile(filepath.Join(dir, StateFile), []byte(c.state), 0o644)
			_, _, err := LoadModel(dir)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one containing %q", err, c.want)
			}
		})
	}
	if _, _, err := LoadModel(filepath.Join(t.TempDir(), "nope")); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing dir: err %v", err)
	}
}

func TestRegistry(t *testing.T) {
	_, err := New("prophet", nil)
	if err == nil || !strings.Contains(err.Error(), "arima") || !strings.Contains(err.Error(), "holt-winters") {
		t.Errorf("unknown kind: err %v, want one listing the valid kinds", err)
	}
	if _, err := New("arima", map[string]string{"p": "x"}); err == nil || !strings.Contains(err.Error(), "param p") {
		t.Errorf("bad param: err %v", err)
	}
	if _, err := New("naive", map[string]string{"period": "3"}); err == nil || !strings.Contains(err.Error(), "unknown param") {
		t.Errorf("param of another model: err %v", err)
	}
	for _, k := range []string{"naive", "seasonal-naive", "holt-winters", "arima", "auto"} {
		found := false
		for _, have := range Kinds() {
			found = found || have == k
		}
		if !found || Help(k) == "" {
			t.Errorf("kind %s not registered with help", k)
		}
	}
}

func TestAutoPrefersASeasonalModelOnADailyPattern(t *testing.T) {
	train, val, _ := split3(t, hourlyDaily(24*40, 15, 3))
	a := mustNew(t, "auto", nil).(*Auto)
	if err := a.Fit(train, val, FitOptions{Horizon: 24}); err != nil {
		t.Fatal(err)
	}
	if len(a.Scores) != len(DefaultAutoCandidates) {
		t.Errorf("scores for %d candidates, want %d", len(a.Scores), len(DefaultAutoCandidates))
	}
	if a.Selected == "naive" || a.Scores[a.Selected] > a.Scores["naive"] {
		t.Errorf("selected %s (scores %v): the naive forecast cannot follow a daily cycle", a.Selected, a.Scores)
	}
}

func TestFittingTwiceGivesIdenticalForecasts(t *testing.T) {
	train, val, _ := split3(t, hourlyDaily(24*30, 30, 8))
	hist := Concat(train, val)
	for _, kind := range []string{"naive", "seasonal-naive", "holt-winters", "arima", "auto"} {
		var got [2]Forecast
		for i := range got {
			m := mustNew(t, kind, nil)
			if err := m.Fit(train, val, FitOptions{Horizon: 12, Seed: 4}); err != nil {
				t.Fatal(kind, err)
			}
			fc, err := m.Predict(hist, 12)
			if err != nil {
				t.Fatal(kind, err)
			}
			got[i] = fc
		}
		if !reflect.DeepEqual(got[0], got[1]) {
			t.Errorf("%s: two fits on the same data forecast differently", kind)
		}
	}
}

func TestLoadModelRejectsACorruptedCalibration(t *testing.T) {
	train, val, _ := split3(t, hourlyDaily(24*20, 10, 2))
	c, _, err := FitCalibrated(mustNew(t, "naive", nil), train, val, FitOptions{Horizon: 4}, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	c.Cal.Bands[0].Lo = 0.95 // no longer below Hi = 0.9
	if err := Save(dir, c, Manifest{}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := LoadModel(dir); err == nil || !strings.Contains(err.Error(), "calibration") {
		t.Errorf("err %v, want one about the calibration", err)
	}
}

func TestFitCalibratedNeedsEnoughValidationData(t *testing.T) {
	s := hourlyDaily(300, 10, 2)
	_, _, err := FitCalibrated(mustNew(t, "naive", nil), s.Slice(0, 280), s.Slice(280, 300), FitOptions{Horizon: 24}, 0)
	if err == nil || !strings.Contains(err.Error(), "validation split of 20 points") {
		t.Errorf("err %v, want one naming the short validation split", err)
	}
}
