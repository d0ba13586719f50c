package burst

import (
	"math/rand/v2"
	"testing"

	"github.com/bascaler/bascaler/internal/series"
)

// firstBurst returns the index of the observation after which d first reports a burst, or -1.
func firstBurst(got []bool) int {
	for i, b := range got {
		if b {
			return i
		}
	}
	return -1
}

func TestCUSUMEntersRightAfterABigSpike(t *testing.T) {
	d := NewCUSUM(CUSUMOptions{})
	// Band half-width 10 at 99% => one unit of score is 10/2.326 = 4.3 req/s.
	got := feed(d, []float64{100, 101, 99, 100, 200}, 90, 100, 110)
	if firstBurst(got) != 4 {
		t.Errorf("burst flags %v: want the alarm right after the spike (observation 4)", got)
	}
}

func TestCUSUMAccumulatesAModerateSustainedRise(t *testing.T) {
	// Each point is 1.9 score units high (x - K = 0.9 per interval), so S crosses H=4 on the 5th.
	d := NewCUSUM(CUSUMOptions{})
	step := 10 / normalQuantile(0.99)
	vals := []float64{100, 100, 100}
	for range 8 {
		vals = append(vals, 100+1.9*step)
	}
	if got := firstBurst(feed(d, vals, 90, 100, 110)); got != 3+4 {
		t.Errorf("alarm after observation %d, want 7 (the 5th raised point)", got)
	}
}

func TestCUSUMIgnoresDrops(t *testing.T) {
	d := NewCUSUM(CUSUMOptions{})
	if got := firstBurst(feed(d, []float64{100, 100, 10, 10, 10, 10, 10, 10}, 90, 100, 110)); got >= 0 {
		t.Errorf("a drop raised a burst at observation %d", got)
	}
}

func TestCUSUMLeavesAfterTheHoldPeriod(t *testing.T) {
	d := NewCUSUM(CUSUMOptions{Hold: 3})
	vals := []float64{100, 100, 300} // S jumps to its cap 2H = 8
	for range 20 {
		vals = append(vals, 100) // x = 0: S drains by K = 1 per interval
	}
	got := feed(d, vals, 90, 100, 110)
	// S: 8 after the spike, 0 after 8 quiet points (observation 10), then 3 more at zero.
	last := -1
	for i, b := range got {
		if b {
			last = i
		}
	}
	if last != 11 {
		t.Errorf("last burst observation %d, want 11; flags %v", last, got)
	}
}

func TestCUSUMCalibrationCorrectsAnOverconfidentForecaster(t *testing.T) {
	// The forecaster claims a 99% band of ±2 around 100, while the noise has sd 5: an
	// uncalibrated detector sees a "burst" every few intervals; the calibrated one learns
	// the real spread of its errors from training data and stays quiet.
	r := rand.New(rand.NewPCG(3, 3))
	noise := func(n int) []float64 {
		v := make([]float64, n)
		for i := range v {
			v[i] = 100 + 5*r.NormFloat64()
		}
		return v
	}
	var train Trace
	for _, v := range noise(500) {
		train.Values = append(train.Values, v)
		train.Forecasts = append(train.Forecasts, flat(3, 98, 100, 102))
	}
	test := noise(1000)
	count := func(d Detector) int {
		return len(Episodes(append(boolStates(feed(d, test, 98, 100, 102)), State{})))
	}
	raw := NewCUSUM(CUSUMOptions{})
	cal := NewCUSUM(CUSUMOptions{})
	if err := cal.Calibrate(train); err != nil {
		t.Fatal(err)
	}
	nRaw, nCal := count(raw), count(cal)
	if nRaw < 10 || nCal > 1 {
		t.Errorf("episodes on 1000 noise points: uncalibrated %d (want >= 10), calibrated %d (want <= 1)", nRaw, nCal)
	}
}

func boolStates(b []bool) []State {
	s := make([]State, len(b)+1)
	for i, v := range b {
		s[i+1].Burst = v
	}
	return s
}

func TestCUSUMCalibrateErrors(t *testing.T) {
	short := traceOf(noisySeries(20, 1), 3)
	if err := NewCUSUM(CUSUMOptions{}).Calibrate(short); err == nil {
		t.Error("calibrated on 20 points")
	}
	var flatTr Trace
	for range 100 {
		flatTr.Values = append(flatTr.Values, 100)
		flatTr.Forecasts = append(flatTr.Forecasts, flat(3, 90, 100, 110))
	}
	if err := NewCUSUM(CUSUMOptions{}).Calibrate(flatTr); err == nil {
		t.Error("calibrated on scores without spread")
	}
}

func TestCUSUMBeatsPaperOnAStepBurstWithoutMoreFalseAlarms(t *testing.T) {
	// A level shift to 1.6x: both detect it; the CUSUM no later than the paper rule.
	s := noisySeries(600, 11, series.Burst{Start: 400, End: 460, Peak: 1.6})
	tr := traceOf(s, 3)
	calib := Trace{Values: tr.Values[:300], Forecasts: tr.Forecasts[:300]}
	alarm := map[string]int{}
	falseAlarms := map[string]int{}
	for _, name := range Names() {
		d, _ := New(name)
		if err := d.Calibrate(calib); err != nil {
			t.Fatal(err)
		}
		st, err := Run(d, tr)
		if err != nil {
			t.Fatal(err)
		}
		var sc Score
		eps := Episodes(st)
		sc.Add(eps, s.Bursts, 300, 300)
		if sc.Detected != 1 {
			t.Fatalf("%s missed the level shift (episodes %v)", name, eps)
		}
		alarm[name] = sc.Delays[0]
		falseAlarms[name] = sc.Episodes - sc.Overlaps
	}
	if alarm["cusum"] > alarm["paper"] || falseAlarms["cusum"] > falseAlarms["paper"] {
		t.Errorf("delays %v, false alarms %v: want cusum no worse than paper", alarm, falseAlarms)
	}
}

func TestCUSUMNearZeroForecastIsNotAHugeRelativeSurprise(t *testing.T) {
	// Trained at a level of 100, a forecast of 0.001 followed by 1 request is a relative
	// error of 1000x unless the denominator is floored (at 5% of the typical level).
	r := rand.New(rand.NewPCG(4, 4))
	var train Trace
	for range 200 {
		train.Values = append(train.Values, 100+5*r.NormFloat64())
		train.Forecasts = append(train.Forecasts, flat(3, 90, 100, 110))
	}
	d := NewCUSUM(CUSUMOptions{})
	if err := d.Calibrate(train); err != nil {
		t.Fatal(err)
	}
	if err := d.Observe(0, flat(3, 0, 0.001, 0.01)); err != nil {
		t.Fatal(err)
	}
	if err := d.Observe(1, flat(3, 0, 0.001, 0.01)); err != nil {
		t.Fatal(err)
	}
	if st := d.State(); st.Burst {
		t.Errorf("one request after a near-zero forecast raised a burst (S=%g)", st.Score)
	}
}
