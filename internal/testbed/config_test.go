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

func TestParamsForScopesByPolicyBaseName(t *testing.T) {
	all := map[string]string{"window": "10s", "hpa.target": "0.5", "kpa.target-rps": "9", "static.x": "1"}
	for _, tc := range []struct {
		name string
		want map[string]string
	}{
		{"hpa", map[string]string{"window": "10s", "target": "0.5"}},
		{"kpa", map[string]string{"window": "10s", "target-rps": "9"}},
		{"static:3", map[string]string{"window": "10s", "x": "1"}},
	} {
		if got := paramsFor(tc.name, all); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("paramsFor(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
