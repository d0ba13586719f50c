package series

import (
	"errors"
	"fmt"
	"math"
	"slices"
)

// The paper's target scale: a normalised trace has mean PaperMean and standard deviation
// PaperStd req/s on its (fence-clipped) training part and stays inside [0, PaperMax].
const (
	PaperMean = 500.0
	PaperStd  = 175.0
	PaperMax  = 4000.0
)

// Normalizer maps a trace's values onto the request rates the experiments run at. It is
// fitted on the training part of a trace only and then applied unchanged to every part, so
// nothing about the validation or test data leaks into how they are scaled. The zero value
// is the identity.
type Normalizer struct {
	// Kind is "identity", "paper" or "scale-to-mean".
	Kind string `json:"kind"`
	// Lo and Hi are the Tukey fences Q1-1.5*IQR and Q3+1.5*IQR of the training values
	// ("paper" only). They bound the training values while Mean and Std are fitted, so
	// that a few outliers cannot inflate the scale; Apply does not clip to them, because
	// the bursts above the upper fence are exactly what an autoscaler must face.
	Lo float64 `json:"lo,omitempty"`
	Hi float64 `json:"hi,omitempty"`
	// Mean and Std are the mean and population standard deviation of the fence-clipped
	// training values ("paper"), or Mean is the training mean ("scale-to-mean").
	Mean float64 `json:"mean,omitempty"`
	Std  float64 `json:"std,omitempty"`
	// Factor multiplies every value ("scale-to-mean" only).
	Factor float64 `json:"factor,omitempty"`
}

// Identity returns the normaliser that leaves values unchanged.
func Identity() Normalizer { return Normalizer{Kind: "identity"} }

// FitPaper fits BAScaler's preprocessing on the training values train (and on nothing else):
// compute the Tukey fences Lo = Q1 - 1.5*IQR and Hi = Q3 + 1.5*IQR (quartiles by linear
// interpolation between order statistics, numpy's default), clip the training values to
// [Lo, Hi], and take the mean and population standard deviation of the clipped values.
// Apply then maps v to 500 + 175*(v - Mean)/Std, clipped to [0, 4000]: the bulk of the
// training part comes out with mean 500 and standard deviation 175 req/s, and bursts keep
// their height up to 4000 req/s (20 standard deviations). The fences serve the fit only;
// clipping every value to them would flatten every burst to about 2.7 standard deviations.
//
// It fails on empty or non-finite input and when the clipped training values are all
// equal (Std = 0), which no scaling can map to a standard deviation of 175.
func FitPaper(train []float64) (Normalizer, error) {
	if err := checkFinite(train); err != nil {
		return Normalizer{}, fmt.Errorf("fit paper normalisation: %w", err)
	}
	sorted := slices.Clone(train)
	slices.Sort(sorted)
	q1, q3 := quantile(sorted, 0.25), quantile(sorted, 0.75)
	iqr := q3 - q1
	n := Normalizer{Kind: "paper", Lo: q1 - 1.5*iqr, Hi: q3 + 1.5*iqr}
	var sum float64
	for _, v := range train {
		sum += n.clip(v)
	}
	n.Mean = sum / float64(len(train))
	var ss float64
	for _, v := range train {
		d := n.clip(v) - n.Mean
		ss += d * d
	}
	n.Std = math.Sqrt(ss / float64(len(train)))
	if !(n.Std > 0) {
		return Normalizer{}, fmt.Errorf("fit paper normalisation: the %d training values clipped to the fences [%g, %g] are all equal (std 0)", len(train), n.Lo, n.Hi)
	}
	return n, nil
}

// ScaleToMean fits a plain rescaling on the training values: every value is multiplied by
// target/mean(train), so the training part comes out with mean target.
func ScaleToMean(train []float64, target float64) (Normalizer, error) {
	if math.IsNaN(target) || math.IsInf(target, 0) || target <= 0 {
		return Normalizer{}, fmt.Errorf("scale to mean: target %g must be a finite number > 0", target)
	}
	if err := checkFinite(train); err != nil {
		return Normalizer{}, fmt.Errorf("scale to mean: %w", err)
	}
	var sum float64
	for _, v := range train {
		sum += v
	}
	mean := sum / float64(len(train))
	if !(mean > 0) {
		return Normalizer{}, fmt.Errorf("scale to mean: training mean is %g, need > 0 to rescale", mean)
	}
	return Normalizer{Kind: "scale-to-mean", Mean: mean, Factor: target / mean}, nil
}

// Apply returns a copy of s with every value mapped by n; s is not changed. Burst labels
// are kept as they are.
func (n Normalizer) Apply(s Series) Series {
	out := s.Clone()
	for i, v := range out.Values {
		out.Values[i] = n.Value(v)
	}
	return out
}

// Value maps one value.
func (n Normalizer) Value(v float64) float64 {
	switch n.Kind {
	case "paper":
		x := PaperMean + PaperStd*(v-n.Mean)/n.Std
		return min(max(x, 0), PaperMax)
	case "scale-to-mean":
		return v * n.Factor
	default:
		return v
	}
}

// Invert maps a normalised value back to the units Value was given: the inverse of Value
// inside its clipping range (a value clipped to 0 or PaperMax comes back as the trace value
// that maps to that bound). Forecasts made in normalised units are turned back into request
// rates with it.
func (n Normalizer) Invert(x float64) float64 {
	switch n.Kind {
	case "paper":
		return n.Mean + n.Std*(x-PaperMean)/PaperStd
	case "scale-to-mean":
		return x / n.Factor
	default:
		return x
	}
}

func (n Normalizer) clip(v float64) float64 { return min(max(v, n.Lo), n.Hi) }

// String describes the fitted parameters, for logs and reports.
func (n Normalizer) String() string {
	switch n.Kind {
	case "paper":
		return fmt.Sprintf("paper(fences [%.6g, %.6g], train mean %.6g, std %.6g -> mean %g, std %g, clip [0, %g])",
			n.Lo, n.Hi, n.Mean, n.Std, PaperMean, PaperStd, PaperMax)
	case "scale-to-mean":
		return fmt.Sprintf("scale-to-mean(train mean %.6g, x%.6g)", n.Mean, n.Factor)
	default:
		return "identity"
	}
}

// quantile returns the p-quantile of sorted values by linear interpolation between the
// order statistics at (len-1)*p (Hyndman & Fan type 7).
func quantile(sorted []float64, p float64) float64 {
	h := float64(len(sorted)-1) * p
	lo := int(math.Floor(h))
	if lo+1 >= len(sorted) {
		return sorted[len(sorted)-1]
	}
	return sorted[lo] + (h-float64(lo))*(sorted[lo+1]-sorted[lo])
}

func checkFinite(xs []float64) error {
	if len(xs) == 0 {
		return errors.New("no training values")
	}
	for i, v := range xs {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return fmt.Errorf("training value %d is %v, not finite", i, v)
		}
	}
	return nil
}
