package forecast

import (
	"math"
	"testing"
)

func TestHoltWintersFixedForecasts(t *testing.T) {
	season := []float64{10, 20, 30, 20, 10, 0}
	var periodic, linear []float64
	for i := 0; i < 24; i++ {
		periodic = append(periodic, 100+season[i%6])
		linear = append(linear, 5+2*float64(i))
	}
	cases := []struct {
		name string
		p    HoltWintersFixed
		v    []float64
		h    int
		want float64
	}{
		// A pure season repeats exactly, whatever the weights.
		{"season repeats", HoltWintersFixed{Alpha: 0.9, Beta: 0.9, Gamma: 0.9, Period: 6}, periodic, 1, 110},
		{"season two ahead", HoltWintersFixed{Alpha: 0.9, Beta: 0.9, Gamma: 0.9, Period: 6}, periodic, 2, 120},
		// A straight line continues (no season).
		{"trend continues", HoltWintersFixed{Alpha: 0.5, Beta: 0.5, Period: 0}, linear, 3, 5 + 2*26},
	}
	for _, c := range cases {
		got, err := c.p.Forecast(c.v, c.h)
		if err != nil || math.Abs(got-c.want) > 1e-6 {
			t.Errorf("%s: got %g, %v; want %g", c.name, got, err, c.want)
		}
	}
	if _, err := (HoltWintersFixed{Alpha: 0.9, Period: 6}).Forecast(periodic[:11], 1); err == nil {
		t.Error("fewer than two seasons: want an error")
	}
	if err := (HoltWintersFixed{Alpha: 1.5}).Validate(); err == nil {
		t.Error("alpha 1.5: want an error")
	}
}
