package burst

import (
	"math/rand/v2"
	"testing"
)

// The detectors run once per control interval inside a policy's Decide: an update must cost
// far less than a millisecond.
func BenchmarkDetectorObserve(b *testing.B) {
	tr := traceOf(noisySeries(2000, 1), 3)
	for _, name := range Names() {
		b.Run(name, func(b *testing.B) {
			d, _ := New(name)
			if err := d.Calibrate(Trace{Values: tr.Values[:500], Forecasts: tr.Forecasts[:500]}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				t := i % len(tr.Values)
				if err := d.Observe(tr.Values[t], tr.Forecasts[t]); err != nil {
					b.Fatal(err)
				}
				_ = d.State()
			}
		})
	}
}

// The overestimator runs once per interval during a burst: 336 points, 500 paths.
func BenchmarkOverestimate336x500(b *testing.B) {
	x := ar2(rand.New(rand.NewPCG(1, 1)), 336, 500, 0.6, 0.2, 30)
	for _, c := range []struct {
		name string
		m    Method
		k    int
	}{{"bootstrap-k1", Bootstrap, 1}, {"bootstrap-k5", Bootstrap, 5}, {"paper-k1", PaperQuantile, 1}} {
		b.Run(c.name, func(b *testing.B) {
			e, _ := NewOverestimator(OverestimatorOptions{Method: c.m, Seed: 1})
			b.ReportAllocs()
			for b.Loop() {
				if _, err := e.Estimate(x, c.k); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
