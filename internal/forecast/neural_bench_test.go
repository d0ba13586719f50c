package forecast

import (
	"flag"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/testenv"
)

// wikipediaSplits loads the hourly Wikipedia trace and splits it 60/20/20.
func wikipediaSplits(tb testing.TB) (train, val series.Series) {
	tb.Helper()
	s, err := series.Load(testenv.Trace(tb, "wikipedia_all_projects_hourly_2010-12_to_2013-10.csv"))
	if err != nil {
		tb.Fatal(err)
	}
	a, b := s.Len()*6/10, s.Len()*8/10
	return s.Slice(0, a), s.Slice(a, b)
}

// selectedExplicitly reports whether -test.bench names this benchmark family, so the
// minute-long fit benchmarks do not run under a plain -bench=. sweep.
func selectedExplicitly(name string) bool {
	f := flag.Lookup("test.bench")
	return f != nil && strings.Contains(f.Value.String(), name)
}

// validationMAE scores the median forecast over non-overlapping origins in val, each with
// the full preceding history, and the seasonal-naive (lag 24) forecast on the same points;
// cov80 is the share of values inside the raw (uncalibrated) 10%-90% band.
func validationMAE(tb testing.TB, m Forecaster, train, val series.Series, h int) (mae, dailyMAE, cov80 float64) {
	tb.Helper()
	all := series.Series{Name: train.Name, Start: train.Start, Step: train.Step,
		Values: append(append([]float64(nil), train.Values...), val.Values...)}
	n := 0
	for o := train.Len(); o+h <= all.Len(); o += h {
		fc, err := m.Predict(all.Slice(0, o), h)
		if err != nil {
			tb.Fatal(err)
		}
		for s := 0; s < h; s++ {
			y := all.Values[o+s]
			mae += math.Abs(fc.Quantile(s, 0.5) - y)
			if y >= fc.Quantile(s, 0.1) && y <= fc.Quantile(s, 0.9) {
				cov80++
			}
			dailyMAE += math.Abs(all.Values[o+s-24] - y) // seasonal naive, one day back
			n++
		}
	}
	return mae / float64(n), dailyMAE / float64(n), cov80 / float64(n)
}

func benchFitWikipedia(b *testing.B, kind string) {
	if !selectedExplicitly("FitWikipedia") {
		b.Skip("long: run with -bench FitWikipedia")
	}
	train, val := wikipediaSplits(b)
	for b.Loop() {
		m, err := New(kind, nil)
		if err != nil {
			b.Fatal(err)
		}
		start, cpu := time.Now(), processCPU()
		if err := m.Fit(train, val, FitOptions{Horizon: 24, Seed: 1}); err != nil {
			b.Fatal(err)
		}
		fit, fitCPU := time.Since(start).Seconds(), (processCPU() - cpu).Seconds()
		mae, daily, cov := validationMAE(b, m, train, val, 24)
		b.ReportMetric(fit, "fit-s")
		b.ReportMetric(fitCPU, "fit-cpu-s")
		b.ReportMetric(float64(len(m.(*Neural).valLoss)), "epochs")
		b.ReportMetric(mae, "val-MAE")
		b.ReportMetric(daily, "snaive24-MAE")
		b.ReportMetric(cov, "val-cov80")
	}
}

func BenchmarkFitWikipediaMLP(b *testing.B)      { benchFitWikipedia(b, "mlp") }
func BenchmarkFitWikipediaGRU(b *testing.B)      { benchFitWikipedia(b, "gru") }
func BenchmarkFitWikipediaLSTM(b *testing.B)     { benchFitWikipedia(b, "lstm") }
func BenchmarkFitWikipediaInformer(b *testing.B) { benchFitWikipedia(b, "informer") }

// benchPredictNeural measures one Predict (one history, H=24) of the default architecture.
// Latency does not depend on how long the weights were trained, so a single optimiser step
// on a synthetic series stands in for a full fit.
func benchPredictNeural(b *testing.B, kind string) {
	all := sineTrend(3000)
	m, err := New(kind, map[string]string{"epochs": "1", "steps": "1", "val_windows": "1"})
	if err != nil {
		b.Fatal(err)
	}
	if err := m.Fit(all.Slice(0, 2000), all.Slice(2000, 2500), FitOptions{Horizon: 24, Seed: 1}); err != nil {
		b.Fatal(err)
	}
	hist := all.Slice(0, 2500)
	cpu, n := processCPU(), 0
	for b.Loop() {
		if _, err := m.Predict(hist, 24); err != nil {
			b.Fatal(err)
		}
		n++
	}
	// CPU time per call is what the 5 ms budget is about; wall time also counts the waits
	// for a core on a shared machine.
	b.ReportMetric(float64(processCPU()-cpu)/float64(n), "cpu-ns/op")
}

func BenchmarkPredictMLP(b *testing.B)      { benchPredictNeural(b, "mlp") }
func BenchmarkPredictGRU(b *testing.B)      { benchPredictNeural(b, "gru") }
func BenchmarkPredictLSTM(b *testing.B)     { benchPredictNeural(b, "lstm") }
func BenchmarkPredictInformer(b *testing.B) { benchPredictNeural(b, "informer") }
