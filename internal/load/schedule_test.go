package load

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

func mustSchedule(t *testing.T, rates []float64, iv time.Duration) *Schedule {
	t.Helper()
	s, err := NewSchedule(rates, iv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScheduleSpacesRequestsByIntervalRate(t *testing.T) {
	s := mustSchedule(t, []float64{10, 0, 4}, time.Second)
	if got := s.Total(); got != 14 {
		t.Fatalf("total %d, want 14", got)
	}
	want := []uint64{10, 0, 4}
	for k, n := range s.Scheduled() {
		if n != want[k] {
			t.Errorf("interval %d: %d scheduled, want %d", k, n, want[k])
		}
	}
	for _, tc := range []struct {
		j    uint64
		want time.Duration
	}{
		{0, 0},
		{1, 100 * time.Millisecond},
		{9, 900 * time.Millisecond},
		{10, 2 * time.Second}, // interval 1 is idle: the 11th request waits for interval 2
		{11, 2250 * time.Millisecond},
		{13, 2750 * time.Millisecond},
	} {
		got, ok := s.TimeOf(tc.j)
		if !ok || absDur(got-tc.want) > time.Microsecond {
			t.Errorf("request %d due at %s (ok %v), want %s", tc.j, got, ok, tc.want)
		}
	}
	if _, ok := s.TimeOf(14); ok {
		t.Error("request 14 is past the end of the schedule but was given a time")
	}
}

func TestScheduleRejectsBadRates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rates []float64
		iv    time.Duration
	}{
		{"empty", nil, time.Second},
		{"negative", []float64{1, -1}, time.Second},
		{"NaN", []float64{math.NaN()}, time.Second},
		{"zero interval", []float64{1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSchedule(tc.rates, tc.iv); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestTimeAtInvertsExpectedBetweenRequests(t *testing.T) {
	s := mustSchedule(t, []float64{10, 0, 4}, time.Second)
	for _, x := range []float64{0, 0.5, 3.25, 9.99, 10, 12.5} {
		d, ok := s.TimeAt(x)
		if !ok {
			t.Fatalf("TimeAt(%g) not ok", x)
		}
		if got := s.Expected(d); math.Abs(got-x) > 1e-6 {
			t.Errorf("Expected(TimeAt(%g)) = %g", x, got)
		}
	}
}

func TestShapes(t *testing.T) {
	ramp, err := Ramp(0, 100, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(ramp.Rates) != 10 || ramp.Interval != time.Second || ramp.Rates[0] != 5 || ramp.Rates[9] != 95 {
		t.Errorf("ramp 0:100 over 10 s = %v every %s, want 5, 15, ... 95 every 1s", ramp.Rates, ramp.Interval)
	}
	if got := ramp.Total(); got != 500 {
		t.Errorf("ramp sends %d requests, want 500", got)
	}
	c, err := Constant(50, 2*time.Second)
	if err != nil || c.Total() != 100 {
		t.Fatalf("constant 50 req/s for 2 s: total %v, err %v; want 100", c, err)
	}
	peak, err := ramp.WithPeak(190)
	if err != nil || peak.Peak() != 190 || peak.Rates[0] != 10 {
		t.Errorf("ramp scaled to peak 190: %v (err %v), want first rate 10 and peak 190", peak, err)
	}
	half, err := c.Scaled(0.5)
	if err != nil || half.Rates[0] != 25 {
		t.Errorf("scaled 0.5: %v (err %v)", half, err)
	}
}

func TestFromSeriesKeepsTheTraceRateAndMapsPointsToTheInterval(t *testing.T) {
	tr, err := series.Read(strings.NewReader("timestamp,value\n0,600\n60,1200\n120,0\n"), "t.csv")
	if err != nil {
		t.Fatal(err)
	}
	s, err := FromSeries(tr, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// 600 requests per 60 s minute is 10 req/s, whatever the wall-time interval.
	if want := []float64{10, 20, 0}; len(s.Rates) != 3 || s.Rates[0] != want[0] || s.Rates[1] != want[1] || s.Rates[2] != want[2] {
		t.Errorf("rates %v, want %v", s.Rates, want)
	}
	if s.Duration() != 6*time.Second || s.Total() != 60 {
		t.Errorf("duration %s, total %d; want 6s and 60", s.Duration(), s.Total())
	}
}

func TestShapesRejectBadInput(t *testing.T) {
	c := mustSchedule(t, []float64{0, 0}, time.Second)
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"constant without duration", second(Constant(10, 0)), "duration"},
		{"negative constant", second(Constant(-1, time.Second)), "non-negative"},
		{"ramp without duration", second(Ramp(1, 2, 0)), "duration"},
		{"ramp to negative", second(Ramp(1, -2, 5*time.Second)), "non-negative"},
		{"negative scale", second(c.Scaled(-1)), "scale"},
		{"peak of a zero schedule", second(c.WithPeak(5)), "every rate is 0"},
		{"NaN peak", second(c.WithPeak(math.NaN())), "peak"},
		{"one-point trace", second(FromSeries(series.Series{Name: "x", Step: time.Minute, Values: []float64{1}}, time.Second)), "at least 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", tc.err, tc.want)
			}
		})
	}
}

func second[T any](_ T, err error) error { return err }

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
