package forecast

import (
	"testing"

	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/testenv"
)

// wikipediaTrace is the 25k-point hourly Wikipedia trace, normalised like the experiments.
func wikipediaTrace(b *testing.B) (train, val series.Series) {
	b.Helper()
	s, err := series.Load(testenv.Trace(b, "wikipedia_all_projects_hourly_2010-12_to_2013-10.csv"))
	if err != nil {
		b.Fatal(err)
	}
	n, err := series.FitPaper(s.Values[:s.Len()*6/10])
	if err != nil {
		b.Fatal(err)
	}
	s = n.Apply(s)
	tr, va, _, err := series.Split(s, series.DefaultSplit)
	if err != nil {
		b.Fatal(err)
	}
	return tr, va
}

func benchFit(b *testing.B, kind string) {
	train, val := wikipediaTrace(b)
	b.ResetTimer()
	for b.Loop() {
		m := mustNewB(b, kind)
		if err := m.Fit(train, val, FitOptions{Horizon: 24}); err != nil {
			b.Fatal(err)
		}
	}
}

func benchPredict(b *testing.B, kind string) {
	train, val := wikipediaTrace(b)
	m := mustNewB(b, kind)
	if err := m.Fit(train, val, FitOptions{Horizon: 24}); err != nil {
		b.Fatal(err)
	}
	hist := Concat(train, val)
	b.ResetTimer()
	for b.Loop() {
		if _, err := m.Predict(hist, 24); err != nil {
			b.Fatal(err)
		}
	}
}

func mustNewB(b *testing.B, kind string) Forecaster {
	m, err := New(kind, nil)
	if err != nil {
		b.Fatal(err)
	}
	return m
}

func BenchmarkFitNaive(b *testing.B)         { benchFit(b, "naive") }
func BenchmarkFitSeasonalNaive(b *testing.B) { benchFit(b, "seasonal-naive") }
func BenchmarkFitHoltWinters(b *testing.B)   { benchFit(b, "holt-winters") }
func BenchmarkFitARIMA(b *testing.B)         { benchFit(b, "arima") }

func BenchmarkPredictNaive(b *testing.B)         { benchPredict(b, "naive") }
func BenchmarkPredictSeasonalNaive(b *testing.B) { benchPredict(b, "seasonal-naive") }
func BenchmarkPredictHoltWinters(b *testing.B)   { benchPredict(b, "holt-winters") }
func BenchmarkPredictARIMA(b *testing.B)         { benchPredict(b, "arima") }

// BenchmarkPredictCalibratedAuto is the whole serving path: auto's pick plus conformal bands.
func BenchmarkPredictCalibratedAuto(b *testing.B) { benchPredict(b, "auto") }
