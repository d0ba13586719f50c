package load

import (
	"math"
	"testing"
	"time"
)

// cv is the coefficient of variation (std/mean) of the gaps between successive times.
func cv(times []time.Duration) float64 {
	n := len(times) - 1
	if n < 2 {
		return math.NaN()
	}
	var sum, sq float64
	for i := 1; i < len(times); i++ {
		g := float64(times[i] - times[i-1])
		sum += g
		sq += g * g
	}
	mean := sum / float64(n)
	return math.Sqrt(max(sq/float64(n)-mean*mean, 0)) / mean
}

func TestArrivalClockGaps(t *testing.T) {
	s := mustSchedule(t, []float64{1000}, 20*time.Second) // 20,000 requests expected
	for _, tc := range []struct {
		a          Arrivals
		cvLo, cvHi float64
	}{
		{Uniform, 0, 1e-6},
		{Poisson, 0.97, 1.03},
	} {
		t.Run(tc.a.String(), func(t *testing.T) {
			c := newArrivalClock(s, tc.a, 7)
			var times []time.Duration
			for {
				d, ok := c.next()
				if !ok {
					break
				}
				times = append(times, d)
			}
			if n := float64(len(times)); math.Abs(n-20000) > 4*math.Sqrt(20000) {
				t.Errorf("%d arrivals, want about 20000", len(times))
			}
			if got := cv(times); got < tc.cvLo || got > tc.cvHi {
				t.Errorf("gap CV %.3f, want in [%g, %g]", got, tc.cvLo, tc.cvHi)
			}
		})
	}
}

func TestPoissonArrivalsFollowAChangingRateAndRepeatForASeed(t *testing.T) {
	s := mustSchedule(t, []float64{100, 1000}, 10*time.Second)
	count := func(seed uint64) (first, second int, times []time.Duration) {
		c := newArrivalClock(s, Poisson, seed)
		for {
			d, ok := c.next()
			if !ok {
				return
			}
			times = append(times, d)
			if d < 10*time.Second {
				first++
			} else {
				second++
			}
		}
	}
	a, b, ta := count(1)
	if math.Abs(float64(a)-1000) > 4*math.Sqrt(1000) || math.Abs(float64(b)-10000) > 4*math.Sqrt(10000) {
		t.Errorf("Poisson arrivals %d then %d, want about 1000 then 10000", a, b)
	}
	_, _, tb := count(1)
	if len(ta) != len(tb) || ta[len(ta)/2] != tb[len(tb)/2] {
		t.Error("same seed gave different arrivals")
	}
	_, _, tc := count(2)
	if len(tc) > 10 && tc[10] == ta[10] {
		t.Error("different seeds gave the same arrivals")
	}
}

func TestParseArrivals(t *testing.T) {
	for in, want := range map[string]Arrivals{"uniform": Uniform, "poisson": Poisson} {
		if got, err := ParseArrivals(in); err != nil || got != want {
			t.Errorf("ParseArrivals(%q) = %v, %v", in, got, err)
		}
	}
	if _, err := ParseArrivals("bursty"); err == nil {
		t.Error("ParseArrivals accepted bursty")
	}
}
