package forecast

import (
	"math"
	"testing"
)

func TestScoresMatchHandComputedValues(t *testing.T) {
	// Two steps, levels 0.1 / 0.5 / 0.9.
	fc := Forecast{Levels: []float64{0.1, 0.5, 0.9}, Q: [][]float64{{8, 10, 12}, {15, 20, 22}}}
	actual := []float64{11, 25}
	acc := Accumulator{Scale: 2}
	acc.Add(fc, actual)
	s := acc.Scores()
	// errors y - median: +1, +5
	want := map[string]float64{
		"mae":   3,
		"rmse":  math.Sqrt((1 + 25) / 2.0),
		"smape": (200*1/21.0 + 200*5/45.0) / 2,
		"mase":  1.5,
		// pinball: step 1: 0.1·3, 0.5·1, (0.9-1)·(-1)=0.1 -> 0.9; step 2: 0.1·10, 0.5·5, 0.9·3 -> 6.2
		"pinball": (0.9 + 6.2) / 6,
		"qrisk50": 2 * (0.5*1 + 0.5*5) / 36,
		"qrisk90": 2 * (0.1 + 0.9*3) / 36,
		"cov80":   0.5, // 11 in [8,12], 25 not in [15,22]
		"width80": (4 + 7) / 2.0,
		"asym":    (3*1 + 3*5) / 2.0,
	}
	got := map[string]float64{"mae": s.MAE, "rmse": s.RMSE, "smape": s.SMAPE, "mase": s.MASE, "pinball": s.PinballMean,
		"qrisk50": s.QRisk50, "qrisk90": s.QRisk90, "cov80": s.Coverage80, "width80": s.Width80, "asym": s.AsymMAE}
	for k, w := range want {
		if math.Abs(got[k]-w) > 1e-12 {
			t.Errorf("%s = %v, want %v", k, got[k], w)
		}
	}
	if s.N != 2 {
		t.Errorf("N = %d", s.N)
	}
}

func TestAsymmetricErrorWeighsUnderPredictionThreeTimes(t *testing.T) {
	fc := Forecast{Levels: []float64{0.5}, Q: [][]float64{{10}}}
	var under, over Accumulator
	under.Add(fc, []float64{12}) // forecast too low by 2
	over.Add(fc, []float64{8})   // too high by 2
	if u, o := under.Scores().AsymMAE, over.Scores().AsymMAE; u != 6 || o != 2 {
		t.Errorf("under %v, over %v; want 6 and 2", u, o)
	}
}

func TestPinballAndMASEScale(t *testing.T) {
	cases := []struct{ q, y, yq, want float64 }{
		{0.9, 10, 8, 1.8}, {0.9, 8, 10, 0.2}, {0.5, 3, 3, 0}, {0.1, 0, 5, 4.5},
	}
	for _, c := range cases {
		if got := Pinball(c.q, c.y, c.yq); math.Abs(got-c.want) > 1e-12 {
			t.Errorf("Pinball(%v, %v, %v) = %v, want %v", c.q, c.y, c.yq, got, c.want)
		}
	}
	if got := MASEScale([]float64{1, 3, 2, 6}, 1); got != (2+1+4)/3.0 {
		t.Errorf("MASEScale m=1: %v", got)
	}
	if got := MASEScale([]float64{1, 3, 2, 6}, 2); got != (1+3)/2.0 {
		t.Errorf("MASEScale m=2: %v", got)
	}
	if got := MASEScale([]float64{1, 3}, 2); got != 0 {
		t.Errorf("MASEScale too short: %v", got)
	}
}
