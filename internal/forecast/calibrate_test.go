package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

// narrowModel forecasts N(0, sd²) noise with intervals that are far too narrow: it believes
// the sd is Spread.
type narrowModel struct{ Spread float64 }

func (narrowModel) Kind() string                               { return "narrow" }
func (narrowModel) MinHistory() int                            { return 1 }
func (narrowModel) Fit(_, _ series.Series, _ FitOptions) error { return nil }
func (m narrowModel) Predict(_ series.Series, h int) (Forecast, error) {
	fc := newForecast(DefaultLevels, h)
	z := []float64{-2.326, -1.645, -1.2816, 0, 1.2816, 1.645, 2.326}
	for s := range fc.Q {
		for k := range z {
			fc.Q[s][k] = z[k] * m.Spread
		}
	}
	return fc, nil
}

func TestConformalCalibrationBringsCoverageToNominal(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	v := make([]float64, 6000)
	for i := range v {
		v[i] = 3 * rng.NormFloat64()
	}
	s := series.Series{Start: t0, Step: time.Minute, Values: v}
	train, val, test := s.Slice(0, 1000), s.Slice(1000, 3000), s.Slice(3000, 6000)
	for _, c := range []struct {
		name   string
		spread float64
	}{{"too narrow", 0.3}, {"too wide", 10}} {
		t.Run(c.name, func(t *testing.T) {
			base := narrowModel{Spread: c.spread}
			raw, err := Backtest(base, train, val, test, BacktestOptions{Horizon: 4, MaxOrigins: 2000, Scale: 1})
			if err != nil {
				t.Fatal(err)
			}
			m := &Calibrated{Base: base, MaxOrigins: 1000}
			if err := m.Fit(train, val, FitOptions{Horizon: 4}); err != nil {
				t.Fatal(err)
			}
			cal, err := Backtest(m, train, val, test, BacktestOptions{Horizon: 4, MaxOrigins: 2000, Scale: 1})
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(raw.Coverage80-0.8) < 0.15 {
				t.Fatalf("uncalibrated coverage %.3f is already near 0.8: the test proves nothing", raw.Coverage80)
			}
			if math.Abs(cal.Coverage80-0.8) > 0.03 || math.Abs(cal.Coverage98-0.98) > 0.01 {
				t.Errorf("calibrated coverage 80%%: %.3f, 98%%: %.3f (uncalibrated %.3f, %.3f)", cal.Coverage80, cal.Coverage98, raw.Coverage80, raw.Coverage98)
			}
		})
	}
}

func TestConformalQuantileUsesFiniteSampleRank(t *testing.T) {
	scores := []float64{5, 1, 4, 2, 3, 9, 8, 7, 6, 10} // n = 10
	cases := []struct {
		alpha float64
		want  float64
	}{
		{0.2, 9},   // ceil(11·0.8) = 9th smallest
		{0.5, 6},   // ceil(5.5) = 6
		{0.02, 10}, // rank 11 > n: the largest score
	}
	for _, c := range cases {
		if got := conformalQuantile(append([]float64(nil), scores...), c.alpha); got != c.want {
			t.Errorf("alpha %v: %v, want %v", c.alpha, got, c.want)
		}
	}
}

func TestOriginsAreBoundedAndSpread(t *testing.T) {
	cases := []struct {
		name                      string
		from, to, h, stride, maxN int
		wantN, wantFirst, wantMax int
	}{
		{"every step", 100, 130, 10, 1, 100, 21, 100, 120},
		{"bounded", 0, 100010, 10, 1, 300, 300, 0, 100000},
		{"too short", 100, 105, 10, 1, 10, 0, 0, 0},
	}
	for _, c := range cases {
		o := Origins(c.from, c.to, c.h, c.stride, c.maxN)
		if len(o) != c.wantN {
			t.Errorf("%s: %d origins, want %d", c.name, len(o), c.wantN)
			continue
		}
		if len(o) > 0 && (o[0] != c.wantFirst || o[len(o)-1] > c.to-c.h || o[len(o)-1] < c.wantMax-c.wantMax/100) {
			t.Errorf("%s: origins from %d to %d", c.name, o[0], o[len(o)-1])
		}
	}
}

func TestLocallyScaledCalibrationFollowsAChangeOfNoiseLevel(t *testing.T) {
	// Validation noise has sd 1, test noise sd 4: bands calibrated in absolute units would
	// cover far less than 80 % in test; scaled by the local volatility they keep up.
	rng := rand.New(rand.NewPCG(21, 22))
	v := make([]float64, 7000)
	for i := range v {
		sd := 1.0
		if i >= 3000 {
			sd = 4
		}
		v[i] = sd * rng.NormFloat64()
	}
	s := series.Series{Start: t0, Step: time.Minute, Values: v}
	train, val, test := s.Slice(0, 1000), s.Slice(1000, 3000), s.Slice(3000, 7000)
	m, _, err := FitCalibrated(narrowModel{Spread: 0.1}, train, val, FitOptions{Horizon: 2}, 1000)
	if err != nil {
		t.Fatal(err)
	}
	r, err := Backtest(m, train, val, test, BacktestOptions{Horizon: 2, MaxOrigins: 2000, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(r.Coverage80-0.8) > 0.04 {
		t.Errorf("test coverage %.3f after the noise level changed, want about 0.8", r.Coverage80)
	}
}

func TestRollingScalesMatchLocalScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 9))
	v := make([]float64, 300)
	for i := range v {
		v[i] = 100 + 10*rng.NormFloat64()
	}
	for _, w := range []int{1, 5, 60} {
		rs := rollingScales(v, w)
		for o := 0; o <= len(v); o++ {
			if want := localScale(v[:o], w); math.Abs(rs[o]-want) > 1e-9*want {
				t.Fatalf("window %d origin %d: rolling %v, direct %v", w, o, rs[o], want)
			}
		}
	}
}

// spyModel records the history length of every Predict call and forecasts the last value.
type spyModel struct{ seen *[]int }

func (spyModel) Kind() string                               { return "spy" }
func (spyModel) MinHistory() int                            { return 1 }
func (spyModel) Fit(_, _ series.Series, _ FitOptions) error { return nil }
func (m spyModel) Predict(h series.Series, steps int) (Forecast, error) {
	*m.seen = append(*m.seen, h.Len())
	fc := newForecast(DefaultLevels, steps)
	for s := range fc.Q {
		for k := range fc.Q[s] {
			fc.Q[s][k] = h.Values[h.Len()-1] + float64(k-3)
		}
	}
	return fc, nil
}

func TestForecastsNeverSeeTheValuesTheyAreScoredOn(t *testing.T) {
	// Values equal their index, so a model that saw the target would forecast it exactly.
	v := make([]float64, 400)
	for i := range v {
		v[i] = float64(i)
	}
	s := series.Series{Start: t0, Step: time.Minute, Values: v}
	train, val, test := s.Slice(0, 200), s.Slice(200, 300), s.Slice(300, 400)
	var seen []int
	m, _, err := FitCalibrated(spyModel{&seen}, train, val, FitOptions{Horizon: 5}, 0)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range seen {
		if n < 200 || n > 300-5 {
			t.Fatalf("validation forecast from a history of %d points: outside [200, 295]", n)
		}
	}
	seen = seen[:0]
	r, err := Backtest(m, train, val, test, BacktestOptions{Horizon: 5, Scale: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range seen {
		if n < 300 || n > 400-5 {
			t.Fatalf("test forecast from a history of %d points: outside [300, 395]", n)
		}
	}
	// Last value + 0 as the median: the error at step s is s+1, so MAE = 3 exactly.
	if r.MAE != 3 || r.Origins != len(seen) {
		t.Errorf("MAE %v over %d origins (%d calls), want 3", r.MAE, r.Origins, len(seen))
	}
}
