package forecast

import (
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

func TestSeasonalNaiveDetectsDailyPeriodOnHourlyData(t *testing.T) {
	s := hourlyDaily(24*30, 20, 1)
	m := mustNew(t, "seasonal-naive", nil).(*SeasonalNaive)
	if err := m.Fit(s, series.Series{}, FitOptions{Horizon: 24}); err != nil {
		t.Fatal(err)
	}
	if m.Period != 24 {
		t.Fatalf("period %d, want 24", m.Period)
	}
	fc, err := m.Predict(s, 24)
	if err != nil {
		t.Fatal(err)
	}
	// The median forecast for step s copies the value one day earlier (plus the median error).
	for step := 0; step < 24; step++ {
		want := s.Values[s.Len()-24+step]
		if got := fc.Quantile(step, 0.5); math.Abs(got-want) > 15 {
			t.Errorf("step %d: median %.1f, want about %.1f", step, got, want)
		}
	}
}

func TestSeasonalNaiveFallsBackToNaiveWithoutSeason(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	v := make([]float64, 2000)
	for i := range v {
		v[i] = 100 + rng.NormFloat64()
	}
	s := series.Series{Start: t0, Step: time.Hour, Values: v}
	m := mustNew(t, "seasonal-naive", nil).(*SeasonalNaive)
	if err := m.Fit(s, series.Series{}, FitOptions{Horizon: 4}); err != nil {
		t.Fatal(err)
	}
	if m.Period != 1 {
		t.Fatalf("period %d on white noise, want 1 (naive)", m.Period)
	}
}

func TestHoltWintersForecastsNoiselessSeasonalSeriesAlmostExactly(t *testing.T) {
	for _, seasonal := range []string{"add", "mul"} {
		t.Run(seasonal, func(t *testing.T) {
			full := hourlyDaily(24*40, 0, 1)
			train := full.Slice(0, 24*30)
			m := mustNew(t, "holt-winters", map[string]string{"seasonal": seasonal})
			if err := m.Fit(train, series.Series{}, FitOptions{Horizon: 24}); err != nil {
				t.Fatal(err)
			}
			hist := full.Slice(0, 24*35)
			fc, err := m.Predict(hist, 24)
			if err != nil {
				t.Fatal(err)
			}
			for s := 0; s < 24; s++ {
				want := full.Values[24*35+s]
				if got := fc.Quantile(s, 0.5); math.Abs(got-want) > 0.01*want {
					t.Errorf("step %d: %.3f, want %.3f", s, got, want)
				}
			}
		})
	}
}

func TestARIMARecoversAR1Coefficient(t *testing.T) {
	for _, phi := range []float64{0.3, 0.7, -0.5} {
		rng := rand.New(rand.NewPCG(7, uint64(phi*100+100)))
		v := make([]float64, 3000)
		for i := 1; i < len(v); i++ {
			v[i] = phi*v[i-1] + rng.NormFloat64()
		}
		for i := range v {
			v[i] += 50
		}
		m := mustNew(t, "arima", map[string]string{"p": "1", "d": "0", "q": "0"}).(*ARIMA)
		if err := m.Fit(series.Series{Start: t0, Step: time.Minute, Values: v}, series.Series{}, FitOptions{Horizon: 1}); err != nil {
			t.Fatal(err)
		}
		_, _, _, c, got, _ := m.Order()
		if math.Abs(got[0]-phi) > 0.05 {
			t.Errorf("phi %.2f: estimated %.3f", phi, got[0])
		}
		if mean := c / (1 - got[0]); math.Abs(mean-50) > 0.5 {
			t.Errorf("phi %.2f: implied mean %.2f, want 50", phi, mean)
		}
	}
}

func TestARIMARandomWalkIntervalsGrowWithSqrtOfHorizon(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	v := make([]float64, 3000)
	v[0] = 1000
	for i := 1; i < len(v); i++ {
		v[i] = v[i-1] + 2*rng.NormFloat64()
	}
	m := mustNew(t, "arima", map[string]string{"p": "0", "d": "1", "q": "0"})
	s := series.Series{Start: t0, Step: time.Minute, Values: v}
	if err := m.Fit(s, series.Series{}, FitOptions{Horizon: 16}); err != nil {
		t.Fatal(err)
	}
	fc, err := m.Predict(s, 16)
	if err != nil {
		t.Fatal(err)
	}
	// For a random walk with innovation sd σ the h-step sd is σ·sqrt(h): width(16) = 4·width(1).
	w1 := fc.Quantile(0, 0.9) - fc.Quantile(0, 0.1)
	w16 := fc.Quantile(15, 0.9) - fc.Quantile(15, 0.1)
	if r := w16 / w1; math.Abs(r-4) > 0.01 {
		t.Errorf("width ratio %.3f, want 4", r)
	}
	// The innovation sd is rescaled by the volatility of the last 60 changes, an estimate
	// with about 8 % relative error.
	if sd := w1 / (2 * 1.2815515655446004); math.Abs(sd-2) > 0.4 {
		t.Errorf("one-step sd %.3f, want about 2", sd)
	}
	// The point forecast is the last value; the median sits there up to the sampling error
	// of the innovations' empirical median (about 0.03 σ for 3000 of them).
	if got := fc.Quantile(0, 0.5); math.Abs(got-v[len(v)-1]) > 0.2 {
		t.Errorf("median %v, want about the last value %v", got, v[len(v)-1])
	}
}

func TestPredictRejectsBadHistory(t *testing.T) {
	full := hourlyDaily(24*30, 5, 4)
	for _, kind := range []string{"naive", "seasonal-naive", "holt-winters", "arima"} {
		t.Run(kind, func(t *testing.T) {
			m := mustNew(t, kind, nil)
			if err := m.Fit(full, series.Series{}, FitOptions{Horizon: 24}); err != nil {
				t.Fatal(err)
			}
			short := full.Slice(0, m.MinHistory()-1)
			if m.MinHistory() > 1 {
				_, err := m.Predict(short, 24)
				if err == nil || !strings.Contains(err.Error(), "needs at least") {
					t.Errorf("short history: err %v, want a 'needs at least' error", err)
				}
			}
			bad := full.Clone()
			bad.Values[bad.Len()-3] = math.NaN()
			_, err := m.Predict(bad, 24)
			if err == nil || !strings.Contains(err.Error(), "index "+strconv.Itoa(bad.Len()-3)) {
				t.Errorf("NaN history: err %v, want one naming index %d", err, bad.Len()-3)
			}
			if _, err := m.Predict(full, 0); err == nil {
				t.Error("horizon 0 accepted")
			}
		})
	}
}

func TestFitRejectsNaNAndUnfittedPredict(t *testing.T) {
	for _, kind := range []string{"naive", "seasonal-naive", "holt-winters", "arima"} {
		s := hourlyDaily(500, 5, 5)
		s.Values[17] = math.Inf(1)
		m := mustNew(t, kind, nil)
		if err := m.Fit(s, series.Series{}, FitOptions{Horizon: 4}); err == nil || !strings.Contains(err.Error(), "index 17") {
			t.Errorf("%s: Fit with Inf at 17: err %v", kind, err)
		}
		if _, err := mustNew(t, kind, nil).Predict(hourlyDaily(500, 5, 5), 4); err == nil {
			t.Errorf("%s: Predict before Fit accepted", kind)
		}
	}
}

func TestForecastsAreMonotoneAndNonNegative(t *testing.T) {
	s := hourlyDaily(24*30, 150, 6) // noisy enough that lower quantiles would dip below 0
	for i := range s.Values {
		s.Values[i] = max(s.Values[i]-300, 0)
	}
	for _, kind := range []string{"naive", "seasonal-naive", "holt-winters", "arima"} {
		m := mustNew(t, kind, nil)
		if err := m.Fit(s, series.Series{}, FitOptions{Horizon: 24}); err != nil {
			t.Fatal(kind, err)
		}
		fc, err := m.Predict(s, 24)
		if err != nil {
			t.Fatal(kind, err)
		}
		for st, row := range fc.Q {
			for k := range row {
				if row[k] < 0 || (k > 0 && row[k] < row[k-1]) {
					t.Fatalf("%s step %d: quantiles %v not monotone and non-negative", kind, st, row)
				}
			}
		}
	}
}

func TestARIMAUsesSeasonalBaselineOnDailyPattern(t *testing.T) {
	// A daily shape plus a persistent AR(1) deviation from it: plain ARIMA cannot carry the
	// shape over 24 steps, the baseline variant can, and AIC should say so.
	rng := rand.New(rand.NewPCG(5, 6))
	s := hourlyDaily(24*60, 0, 1)
	dev := 0.0
	for i := range s.Values {
		dev = 0.8*dev + 10*rng.NormFloat64()
		s.Values[i] += dev
	}
	train := s.Slice(0, 24*50)
	m := mustNew(t, "arima", nil).(*ARIMA)
	if err := m.Fit(train, series.Series{}, FitOptions{Horizon: 24}); err != nil {
		t.Fatal(err)
	}
	if m.Period() != 24 {
		t.Fatalf("baseline period %d, want 24", m.Period())
	}
	fc, err := m.Predict(train, 24)
	if err != nil {
		t.Fatal(err)
	}
	// Far ahead the deviation has decayed: the forecast is the shape itself (noise-free part).
	clean := hourlyDaily(24*60, 0, 1)
	for step := 12; step < 24; step++ {
		if got, want := fc.Quantile(step, 0.5), clean.Values[24*50+step]; math.Abs(got-want) > 25 {
			t.Errorf("step %d: %.1f, want about %.1f", step, got, want)
		}
	}
}

func TestDetectPeriodByStep(t *testing.T) {
	perMinute := make([]float64, 4*1440)
	for i := range perMinute {
		perMinute[i] = 100 + 50*math.Sin(2*math.Pi*float64(i)/1440) + float64(i%7)
	}
	cases := []struct {
		name string
		v    []float64
		step time.Duration
		want int
	}{
		{"hourly daily cycle", hourlyDaily(24*30, 20, 1).Values, time.Hour, 24},
		{"per-minute daily cycle", perMinute, time.Minute, 1440},
		{"too short for three seasons", perMinute[:2*1440], time.Minute, 0},
		{"no whole number of steps per day or week", perMinute, 11 * time.Minute, 0},
	}
	for _, c := range cases {
		if got := DetectPeriod(c.v, c.step); got != c.want {
			t.Errorf("%s: period %d, want %d", c.name, got, c.want)
		}
	}
}

// Every classic model predicts from any history of at least MinHistory points without
// panicking (an ARIMA with q > p once indexed an innovation before the history's start).
func TestClassicModelsPredictFromTheShortestHistory(t *testing.T) {
	for _, preset := range series.SyntheticNames() {
		for seed := int64(1); seed <= 3; seed++ {
			s, err := series.SyntheticByName(preset, seed)
			if err != nil {
				t.Fatal(err)
			}
			n := s.Len()
			train, val := s.Slice(0, n*6/10), s.Slice(n*6/10, n*8/10)
			for _, kind := range []string{"naive", "seasonal-naive", "holt-winters", "arima"} {
				f, err := New(kind, nil)
				if err != nil {
					t.Fatal(err)
				}
				if err := f.Fit(train, val, FitOptions{Horizon: 3, Seed: 1}); err != nil {
					continue // a preset too short for the model is not this test's subject
				}
				from := n * 8 / 10
				for m := f.MinHistory(); m <= f.MinHistory()+3 && from+m <= n; m++ {
					func() {
						defer func() {
							if r := recover(); r != nil {
								t.Errorf("%s on %s seed %d, history %d (min %d): panic %v", kind, preset, seed, m, f.MinHistory(), r)
							}
						}()
						if _, err := f.Predict(s.Slice(from, from+m), 3); err != nil {
							t.Errorf("%s on %s seed %d, history %d (min %d): %v", kind, preset, seed, m, f.MinHistory(), err)
						}
					}()
				}
			}
		}
	}
}
