package forecast

import (
	"errors"
	"math"
	"strings"
	"testing"
)

func TestSelectCandidateTakesTheLowestValidationScore(t *testing.T) {
	bad := errors.New("did not fit")
	nan := math.NaN()
	for _, tc := range []struct {
		name  string
		cands []Candidate
		want  int
	}{
		{"lowest wins", []Candidate{{Kind: "a", Score: 3}, {Kind: "b", Score: 1}, {Kind: "c", Score: 2}}, 1},
		{"first of a tie", []Candidate{{Kind: "a", Score: 2}, {Kind: "b", Score: 1}, {Kind: "c", Score: 1}}, 1},
		{"a failed candidate is never chosen", []Candidate{{Kind: "a", Score: 0, Err: bad}, {Kind: "b", Score: 5}}, 1},
		{"NaN scores lose", []Candidate{{Kind: "a", Score: nan}, {Kind: "b", Score: 5}}, 1},
		{"all failed", []Candidate{{Kind: "a", Score: nan, Err: bad}}, -1},
		{"none", nil, -1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := SelectCandidate(tc.cands); got != tc.want {
				t.Errorf("SelectCandidate = %d, want %d", got, tc.want)
			}
		})
	}
}

// Compare's auto row is the row of the model Auto itself selects on the same data, with the
// fit time of all candidates; each model's row is its own backtest.
func TestCompareAutoRowIsWhatAutoSelects(t *testing.T) {
	train, val, test := split3(t, hourlyDaily(24*40, 15, 3))
	kinds := []string{"naive", "seasonal-naive", "holt-winters"}
	var seen []string
	o := CompareOptions{Fit: FitOptions{Horizon: 24}, Backtest: BacktestOptions{Horizon: 24, MaxOrigins: 20},
		Each: func(k string) { seen = append(seen, k) }}
	cmp, err := Compare(kinds, train, val, test, o)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(seen, ",") != strings.Join(kinds, ",") || len(cmp.Models) != len(kinds) {
		t.Fatalf("fitted %v, %d rows; want one per kind in order", seen, len(cmp.Models))
	}
	a := &Auto{Candidates: kinds}
	if err := a.Fit(train, val, o.Fit); err != nil {
		t.Fatal(err)
	}
	if cmp.Auto.Kind != "auto" || cmp.Auto.Selected != a.Selected {
		t.Fatalf("auto row %q selected %q, Auto selects %q", cmp.Auto.Kind, cmp.Auto.Selected, a.Selected)
	}
	total := 0.0
	for i, r := range cmp.Models {
		if r.Err != nil || r.Kind != kinds[i] || r.Test.Origins != 20 {
			t.Fatalf("row %d: %+v", i, r)
		}
		if r.ValScore != a.Scores[r.Kind] {
			t.Errorf("%s: validation score %v, Auto scored it %v", r.Kind, r.ValScore, a.Scores[r.Kind])
		}
		total += r.FitSeconds
		if r.Kind == a.Selected && (r.Test.MAE != cmp.Auto.Test.MAE || r.ValScore != cmp.Auto.ValScore) {
			t.Errorf("auto row %+v is not the %s row %+v", cmp.Auto, r.Kind, r)
		}
	}
	if cmp.Auto.FitSeconds != total {
		t.Errorf("auto fit_seconds %v, want the sum %v", cmp.Auto.FitSeconds, total)
	}
	if cmp.Origins != 20 {
		t.Errorf("origins %d, want 20", cmp.Origins)
	}
}

// A model that cannot fit gets a row with its error; the others are still compared.
func TestCompareKeepsGoingPastAFailedModel(t *testing.T) {
	train, val, test := split3(t, hourlyDaily(100, 5, 1)) // 60 training points: the mlp needs 174
	cmp, err := Compare([]string{"mlp", "naive"}, train, val, test,
		CompareOptions{Fit: FitOptions{Horizon: 6}, Backtest: BacktestOptions{Horizon: 6, MaxOrigins: 5}})
	if err != nil {
		t.Fatal(err)
	}
	if cmp.Models[0].Err == nil || !math.IsNaN(cmp.Models[0].ValScore) {
		t.Errorf("mlp on 60 points: %+v, want an error and a NaN score", cmp.Models[0])
	}
	if cmp.Models[1].Err != nil || cmp.Auto.Selected != "naive" {
		t.Errorf("naive row %+v, auto selected %q; want naive", cmp.Models[1], cmp.Auto.Selected)
	}
	if _, err := Compare([]string{"mlp"}, train, val, test, CompareOptions{Fit: FitOptions{Horizon: 6},
		Backtest: BacktestOptions{Horizon: 6}}); err == nil || !strings.Contains(err.Error(), "mlp") {
		t.Errorf("only a failing model: error %v, want one naming it", err)
	}
	if _, err := Compare([]string{"prophet"}, train, val, test, CompareOptions{}); err == nil {
		t.Error("an unknown kind was accepted")
	}
}

func TestTrainCalibratesOrSelects(t *testing.T) {
	train, val, _ := split3(t, hourlyDaily(24*40, 15, 3))
	opts := FitOptions{Horizon: 24}
	m, score, err := Train(mustNew(t, "seasonal-naive", nil), train, val, opts)
	if err != nil {
		t.Fatal(err)
	}
	c, ok := m.(*Calibrated)
	if !ok || c.Kind() != "seasonal-naive" {
		t.Fatalf("Train(seasonal-naive) = %T %s, want a calibrated seasonal-naive", m, m.Kind())
	}
	_, want, err := FitCalibrated(mustNew(t, "seasonal-naive", nil), train, val, opts, 0)
	if err != nil || score != want {
		t.Errorf("score %v, FitCalibrated gives %v (%v)", score, want, err)
	}
	m, score, err = Train(mustNew(t, "auto", nil), train, val, opts)
	if err != nil {
		t.Fatal(err)
	}
	a, ok := m.(*Auto)
	if !ok || a.Selected == "" || score != a.Scores[a.Selected] {
		t.Errorf("Train(auto) = %T, score %v; want the Auto with its selected model's score", m, score)
	}
}
