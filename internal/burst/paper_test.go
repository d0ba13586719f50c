package burst

import (
	"math/rand/v2"
	"testing"

	"github.com/bascaler/bascaler/internal/forecast"
)

// feed observes values, each followed by the same flat 3-step forecast, and returns the
// burst flag after each observation.
func feed(d Detector, values []float64, lo, med, hi float64) []bool {
	out := make([]bool, len(values))
	for i, v := range values {
		if err := d.Observe(v, flat(3, lo, med, hi)); err != nil {
			panic(err)
		}
		out[i] = d.State().Burst
	}
	return out
}

func TestPaperBandRuleNeedsTwoOutsidePointsToEnterAndTwoInsideToLeave(t *testing.T) {
	d := NewPaper(PaperOptions{}) // uncalibrated: band rule only
	vals := []float64{100, 100, 100, 100, 150, 150, 150, 100, 100, 100}
	got := feed(d, vals, 90, 100, 110)
	want := []bool{false, false, false, false, false, true, true, true, false, false}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("after observation %d (%v): burst %v, want %v; all %v", i, vals[i], got[i], want[i], got)
		}
	}
}

func TestPaperBandRuleIgnoresExcessBelowOnePercent(t *testing.T) {
	d := NewPaper(PaperOptions{})
	got := feed(d, []float64{100, 100, 100, 111, 111, 111, 111}, 90, 100, 110) // 0.9% over the edge
	for i, b := range got {
		if b {
			t.Fatalf("entered a burst at observation %d on points 0.9%% outside the band", i)
		}
	}
}

func TestPaperFlagsDropsToo(t *testing.T) {
	d := NewPaper(PaperOptions{})
	got := feed(d, []float64{100, 100, 100, 40, 40}, 90, 100, 110)
	if !got[4] {
		t.Errorf("a drop to 40%% of the forecast was not flagged: %v", got)
	}
}

func TestPaperCalibratedQRiskEntersOnTheFirstSurprisingPoint(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	var tr Trace
	for range 200 {
		tr.Values = append(tr.Values, 100+3*r.NormFloat64())
		tr.Forecasts = append(tr.Forecasts, flat(3, 90, 100, 110))
	}
	d := NewPaper(PaperOptions{})
	if err := d.Calibrate(tr); err != nil {
		t.Fatal(err)
	}
	got := feed(d, []float64{100, 101, 99, 100, 160}, 90, 100, 110)
	if !got[4] {
		t.Errorf("one point 45%% above the band, far beyond the training q-risk, did not enter: %v", got)
	}
	// The same point without calibration needs a second one (the band rule).
	u := NewPaper(PaperOptions{})
	if feed(u, []float64{100, 101, 99, 100, 160}, 90, 100, 110)[4] {
		t.Error("uncalibrated detector entered on one point")
	}
}

func TestPaperCalibrateNeedsEnoughForecasts(t *testing.T) {
	tr := Trace{Values: make([]float64, 5), Forecasts: []forecast.Forecast{flat(3, 0, 1, 2), flat(3, 0, 1, 2), flat(3, 0, 1, 2), flat(3, 0, 1, 2), flat(3, 0, 1, 2)}}
	if err := NewPaper(PaperOptions{}).Calibrate(tr); err == nil {
		t.Error("calibrated on 5 points")
	}
}
