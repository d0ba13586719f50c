package features_test

import (
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/features"
	"github.com/bascaler/bascaler/internal/registry"
)

// A training set drawn from the record is named by registry.DigestSeries of its rates: the
// same range read back after a restart gives the same digest, and a range differing in one
// interval does not.
func TestTrainingSetReproducibleFromDigest(t *testing.T) {
	dir := t.TempDir()
	t0 := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	s, err := features.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	r, _ := s.Record("prod_api")
	want := make([]float64, 300)
	for k := range want {
		want[k] = float64(k%37) * 1.25
		if err := r.Append(features.Interval{Start: t0.Add(time.Duration(k) * time.Minute), Step: time.Minute, Rate: want[k]}); err != nil {
			t.Fatal(err)
		}
	}
	from, to := t0.Add(20*time.Minute), t0.Add(220*time.Minute)
	digest := registry.DigestSeries(from, time.Minute, want[20:220])

	s2, _ := features.Open(dir) // a restart
	r2, _ := s2.Record("prod_api")
	got, err := r2.Rates(from, to, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	if d := registry.DigestSeries(from, time.Minute, got); d != digest {
		t.Fatalf("digest after restart %s, want %s", d, digest)
	}
	// Re-recording one interval with another value changes the digest.
	if err := r2.Append(features.Interval{Start: t0.Add(100 * time.Minute), Step: time.Minute, Rate: 99}); err != nil {
		t.Fatal(err)
	}
	got, _ = r2.Rates(from, to, time.Minute)
	if registry.DigestSeries(from, time.Minute, got) == digest {
		t.Fatal("a changed interval kept the digest")
	}
}
