package forecast

import (
	"errors"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

// echo is a fake model for the unit tests of the unit maps: it records the history it was
// given and forecasts its last value, with quantiles last-10, last, last+10.
type echo struct{ seen []float64 }

func (e *echo) Kind() string                                       { return "echo" }
func (e *echo) MinHistory() int                                    { return 1 }
func (e *echo) Fit(series.Series, series.Series, FitOptions) error { return nil }
func (e *echo) Predict(h series.Series, steps int) (Forecast, error) {
	e.seen = append(e.seen[:0], h.Values...)
	last := h.Values[len(h.Values)-1]
	fc := Forecast{Levels: []float64{0.1, 0.5, 0.9}}
	for range steps {
		fc.Q = append(fc.Q, []float64{last - 10, last, last + 10})
	}
	return fc, nil
}

func TestForRatesMapsHistoryIntoModelUnitsAndQuantilesBack(t *testing.T) {
	paper := series.Normalizer{Kind: "paper", Lo: 0, Hi: 1e9, Mean: 6000, Std: 1200} // counts per minute
	world := series.Normalizer{Kind: "paper", Lo: 0, Hi: 1e9, Mean: 100, Std: 20}    // the same fit on req/s
	for _, tc := range []struct {
		name     string
		man      Manifest
		world    series.Normalizer
		in       float64 // the rate the backend shows (req/s or normalised req/s)
		wantSeen float64 // what the model receives
		wantP50  float64 // the median the backend gets back
		wantP90  float64
	}{
		{"per-step counts, no normaliser: req/s x 60 in, /60 out",
			Manifest{Training: Window{Step: "1m0s"}}, series.Normalizer{}, 100, 6000, 100, 100 + 10.0/60},
		{"req/s, no normaliser: unchanged",
			Manifest{Training: Window{Step: "1m0s"}, RateUnit: UnitPerSecond}, series.Normalizer{}, 100, 100, 100, 110},
		{"paper on counts: normalised in, req/s out",
			Manifest{Training: Window{Step: "1m0s"}, Normalizer: &paper}, series.Normalizer{}, 120, 500 + 175*(7200-6000)/1200.0, 120, 120 + 10*1200/175.0/60},
		{"simulator already normalised with the same fit: identity",
			Manifest{Training: Window{Step: "1m0s"}, Normalizer: &paper}, world, 675, 675, 675, 685},
	} {
		t.Run(tc.name, func(t *testing.T) {
			base := &echo{}
			f, err := ForRates(base, tc.man, Use{Interval: time.Minute, Rates: tc.world})
			if err != nil {
				t.Fatal(err)
			}
			fc, err := f.Predict(series.Series{Step: time.Minute, Values: []float64{tc.in / 2, tc.in}}, 2)
			if err != nil {
				t.Fatal(err)
			}
			near := func(what string, got, want float64) {
				if math.Abs(got-want) > 1e-9*math.Max(1, math.Abs(want)) {
					t.Errorf("%s = %v, want %v", what, got, want)
				}
			}
			near("value the model saw", base.seen[1], tc.wantSeen)
			near("p50", fc.Quantile(1, 0.5), tc.wantP50)
			near("p90", fc.Quantile(1, 0.9), tc.wantP90)
			if fc.Quantile(0, 0.1) > fc.Quantile(0, 0.5) {
				t.Errorf("quantiles out of order: %v", fc.Q[0])
			}
		})
	}
}

func TestForRatesRefusesAModelThatDoesNotFitItsUse(t *testing.T) {
	man := Manifest{Kind: "arima", Training: Window{Step: "1h0m0s"}}
	for _, tc := range []struct {
		name     string
		man      Manifest
		use      Use
		mismatch bool
		want     []string // every one must be in the message
	}{
		{"step differs", man, Use{Interval: time.Minute}, true, []string{"training.step is 1h0m0s", "control interval is 1m0s"}},
		{"kind differs", man, Use{Interval: time.Hour, Kind: "gru"}, true, []string{"kind is arima", "forecaster gru"}},
		{"no step in the manifest", Manifest{Kind: "arima"}, Use{Interval: time.Hour}, false, []string{`training.step ""`}},
		{"unknown rate unit", Manifest{Kind: "arima", Training: Window{Step: "1h"}, RateUnit: "rpm"}, Use{Interval: time.Hour}, false, []string{`rate_unit "rpm"`}},
		{"no interval", man, Use{}, false, []string{"control interval 0s"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ForRates(&echo{}, tc.man, tc.use)
			if err == nil {
				t.Fatal("accepted")
			}
			if errors.Is(err, ErrModelMismatch) != tc.mismatch {
				t.Errorf("errors.Is(err, ErrModelMismatch) = %v, want %v (%v)", !tc.mismatch, tc.mismatch, err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not say %q", err, w)
				}
			}
		})
	}
	for _, kind := range []string{"", "auto", "arima"} {
		if _, err := ForRates(&echo{}, man, Use{Interval: time.Hour, Kind: kind}); err != nil {
			t.Errorf("kind %q: %v", kind, err)
		}
	}
}

// A model trained on counts per step (what forecast train writes) and the same model trained
// on req/s must forecast the same req/s once loaded; fed req/s unmapped, the first would be
// off by the step's seconds.
func TestLoadedModelsForecastReqPerSecondWhateverTheirTrainingUnit(t *testing.T) {
	rps := hourlyDaily(24*40, 25, 4) // req/s, hourly
	counts := rps.Clone()
	for i := range counts.Values {
		counts.Values[i] *= 3600
	}
	hist := rps.Slice(0, rps.Len()-24)
	var got [2]Forecast
	for i, tc := range []struct {
		data series.Series
		unit string
	}{{counts, UnitPerStep}, {rps, UnitPerSecond}} {
		train, val, _ := split3(t, tc.data)
		norm, err := series.FitPaper(train.Values)
		if err != nil {
			t.Fatal(err)
		}
		m, _, err := FitCalibrated(mustNew(t, "arima", nil), norm.Apply(train), norm.Apply(val), FitOptions{Horizon: 3}, 0)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join(t.TempDir(), "m")
		if err := Save(dir, m, Manifest{Training: WindowOf(train), Normalizer: &norm, RateUnit: tc.unit}); err != nil {
			t.Fatal(err)
		}
		f, _, err := LoadForRates(dir, Use{Interval: time.Hour, Kind: "arima"})
		if err != nil {
			t.Fatal(err)
		}
		if got[i], err = f.Predict(hist, 3); err != nil {
			t.Fatal(err)
		}
	}
	for s := range 3 {
		a, b := got[0].Quantile(s, 0.5), got[1].Quantile(s, 0.5)
		if math.Abs(a-b) > 1e-6*b {
			t.Errorf("step %d: p50 %v from the per-step model, %v from the req/s one", s+1, a, b)
		}
		if next := rps.Values[hist.Len()+s]; math.Abs(a-next) > 0.2*next {
			t.Errorf("step %d: p50 %v req/s, the series is at %v: not in req/s", s+1, a, next)
		}
	}
}
