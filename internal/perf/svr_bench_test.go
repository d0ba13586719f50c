package perf

import "testing"

func profilingXY(b *testing.B, n int) ([][]float64, []float64) {
	s, err := SampleProfile(FFT(), SamplingOptions{Samples: n, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	x := make([][]float64, n)
	y := make([]float64, n)
	for i, p := range s {
		x[i], y[i] = []float64{p.LoadPerPod}, p.MeanMS
	}
	return x, y
}

// BenchmarkSVRFit500 trains the paper's RBF ε-SVR (C=100, ε=0.1) on 500 profiling samples.
func BenchmarkSVRFit500(b *testing.B) {
	x, y := profilingXY(b, 500)
	for b.Loop() {
		if _, err := FitSVR(x, y, DefaultSVRParams()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSVRCrossValidate500 runs the default 36-point grid with 5 folds on 500 samples.
func BenchmarkSVRCrossValidate500(b *testing.B) {
	x, y := profilingXY(b, 500)
	for b.Loop() {
		if _, _, err := CrossValidate(x, y, DefaultGrid()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSVRPredict(b *testing.B) {
	x, y := profilingXY(b, 500)
	m, err := FitSVR(x, y, DefaultSVRParams())
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(m.SupportVectors()), "support-vectors")
	q := []float64{77}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Predict(q); err != nil {
			b.Fatal(err)
		}
	}
}
