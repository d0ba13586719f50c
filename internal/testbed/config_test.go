package testbed

import (
	"math"
	"reflect"
	"testing"
)

func nan() float64 { return math.NaN() }

func TestSyntheticIsQuietBurstQuiet(t *testing.T) {
	for _, tc := range []struct {
		n    int
		want []float64
	}{
		{8, []float64{0.2, 0.2, 0.6, 1, 1, 0.2, 0.2, 0.2}},
		{16, []float64{0.2, 0.2, 0.2, 0.2, 0.6, 1, 1, 1, 1, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2}},
	} {
		if got := Synthetic(tc.n); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("Synthetic(%d) = %v, want %v", tc.n, got, tc.want)
		}
	}
}

func TestSyntheticHistoryIsSeededQuietNoise(t *testing.T) {
	a, b := SyntheticHistory(500, 1), SyntheticHistory(500, 1)
	if !reflect.DeepEqual(a, b) {
		t.Fatal("same seed, different history")
	}
	if reflect.DeepEqual(a, SyntheticHistory(500, 2)) {
		t.Fatal("different seeds, same history")
	}
	mean := 0.0
	for _, v := range a {
		if v <= 0 || v > 0.4 {
			t.Fatalf("history value %g outside (0, 0.4]: the quiet level is 0.2 with 10%% noise", v)
		}
		mean += v / float64(len(a))
	}
	if math.Abs(mean-0.2) > 0.01 {
		t.Errorf("history mean %g, want about 0.2", mean)
	}
}
