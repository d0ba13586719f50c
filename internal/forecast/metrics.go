package forecast

import (
	"math"
)

// UnderWeight is the weight of an under-prediction in the asymmetric error: missing demand
// (too few replicas: SLO violations) hurts about three times as much as over-provisioning
// the same amount (extra pod-hours).
const UnderWeight = 3

// Scores are the accuracy metrics of a set of forecasts. Point metrics use the median
// (0.5 quantile, interpolated if 0.5 is not a level).
type Scores struct {
	N     int     `json:"n"`     // forecast points scored
	MAE   float64 `json:"mae"`   // mean |y - ŷ|
	RMSE  float64 `json:"rmse"`  // sqrt(mean (y - ŷ)²)
	SMAPE float64 `json:"smape"` // percent, mean 200·|y - ŷ|/(|y| + |ŷ|); 0 when both are 0
	// MASE is MAE divided by the in-sample one-step MAE of the seasonal-naive forecast on the
	// training split (Hyndman & Koehler 2006); NaN when that scale is 0 or unknown.
	MASE float64 `json:"mase"`
	// PinballMean is the pinball loss ρ_q(y - ŷ_q) averaged over all levels and points.
	PinballMean float64 `json:"pinball_mean"`
	// QRisk50 and QRisk90 are the q-risk 2·Σρ_q(y - ŷ_q)/Σ|y| (the BAScaler/DeepAR metric).
	QRisk50 float64 `json:"qrisk_50"`
	QRisk90 float64 `json:"qrisk_90"`
	// Coverage80/98 are the shares of y inside the central 80 % / 98 % intervals
	// ([q0.1, q0.9], [q0.01, q0.99]); Width80/98 their mean widths.
	Coverage80 float64 `json:"coverage_80"`
	Coverage98 float64 `json:"coverage_98"`
	Width80    float64 `json:"width_80"`
	Width98    float64 `json:"width_98"`
	// AsymMAE is the mean of w·|y - ŷ| with w = UnderWeight when y > ŷ (under-prediction)
	// and 1 otherwise.
	AsymMAE float64 `json:"asym_mae"`
}

// Pinball is the quantile (pinball) loss ρ_q(y - yq) = max(q·(y - yq), (q - 1)·(y - yq)).
func Pinball(q, y, yq float64) float64 {
	u := y - yq
	if u >= 0 {
		return q * u
	}
	return (q - 1) * u
}

// Accumulator gathers forecasts and the values that came true, then computes Scores.
type Accumulator struct {
	// Scale is the MASE denominator (see MASEScale); 0 leaves MASE NaN.
	Scale float64

	n                          int
	absErr, sqErr, smape, asym float64
	pinball                    float64
	pinballN                   int
	rho50, rho90, absY         float64
	in80, in98                 int
	width80, width98           float64
}

// Add scores forecast fc against actual (actual[s] is the true value at step s; extra steps
// on either side are ignored).
func (a *Accumulator) Add(fc Forecast, actual []float64) {
	for s := 0; s < min(len(fc.Q), len(actual)); s++ {
		y := actual[s]
		med := fc.Quantile(s, 0.5)
		e := y - med
		a.n++
		a.absErr += math.Abs(e)
		a.sqErr += e * e
		if d := math.Abs(y) + math.Abs(med); d > 0 {
			a.smape += 200 * math.Abs(e) / d
		}
		if e > 0 {
			a.asym += UnderWeight * e
		} else {
			a.asym -= e
		}
		for k, q := range fc.Levels {
			a.pinball += Pinball(q, y, fc.Q[s][k])
			a.pinballN++
		}
		a.rho50 += Pinball(0.5, y, med)
		a.rho90 += Pinball(0.9, y, fc.Quantile(s, 0.9))
		a.absY += math.Abs(y)
		lo, hi := fc.Quantile(s, 0.1), fc.Quantile(s, 0.9)
		if y >= lo && y <= hi {
			a.in80++
		}
		a.width80 += hi - lo
		lo, hi = fc.Quantile(s, 0.01), fc.Quantile(s, 0.99)
		if y >= lo && y <= hi {
			a.in98++
		}
		a.width98 += hi - lo
	}
}

// Scores returns the metrics of everything added so far (NaN when nothing was added).
func (a *Accumulator) Scores() Scores {
	n := float64(a.n)
	if a.n == 0 {
		nan := math.NaN()
		return Scores{MAE: nan, RMSE: nan, SMAPE: nan, MASE: nan, PinballMean: nan, QRisk50: nan, QRisk90: nan,
			Coverage80: nan, Coverage98: nan, Width80: nan, Width98: nan, AsymMAE: nan}
	}
	s := Scores{
		N:           a.n,
		MAE:         a.absErr / n,
		RMSE:        math.Sqrt(a.sqErr / n),
		SMAPE:       a.smape / n,
		MASE:        math.NaN(),
		PinballMean: a.pinball / float64(max(a.pinballN, 1)),
		QRisk50:     math.NaN(),
		QRisk90:     math.NaN(),
		Coverage80:  float64(a.in80) / n,
		Coverage98:  float64(a.in98) / n,
		Width80:     a.width80 / n,
		Width98:     a.width98 / n,
		AsymMAE:     a.asym / n,
	}
	if a.Scale > 0 {
		s.MASE = s.MAE / a.Scale
	}
	if a.absY > 0 {
		s.QRisk50 = 2 * a.rho50 / a.absY
		s.QRisk90 = 2 * a.rho90 / a.absY
	}
	return s
}

// MASEScale returns the in-sample mean absolute error of the one-step seasonal-naive forecast
// y[t] ≈ y[t-m] on train (m = 1: naive). It is 0 when train has m points or fewer.
func MASEScale(train []float64, m int) float64 {
	m = max(m, 1)
	if len(train) <= m {
		return 0
	}
	sum := 0.0
	for t := m; t < len(train); t++ {
		sum += math.Abs(train[t] - train[t-m])
	}
	return sum / float64(len(train)-m)
}
