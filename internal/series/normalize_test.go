package series

import (
	"math"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/testenv"
)

func meanStd(xs []float64) (mean, std float64) {
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	for _, x := range xs {
		std += (x - mean) * (x - mean)
	}
	return mean, math.Sqrt(std / float64(len(xs)))
}

func TestQuantileMatchesLinearInterpolation(t *testing.T) {
	// numpy.percentile([1,2,3,4,10], [25,75]) = [2, 4]; of [1,2,3,4] = [1.75, 3.25].
	tests := []struct {
		xs     []float64
		q1, q3 float64
	}{
		{[]float64{1, 2, 3, 4, 10}, 2, 4},
		{[]float64{1, 2, 3, 4}, 1.75, 3.25},
		{[]float64{7}, 7, 7},
	}
	for _, tt := range tests {
		if q1, q3 := quantile(tt.xs, 0.25), quantile(tt.xs, 0.75); q1 != tt.q1 || q3 != tt.q3 {
			t.Errorf("quartiles of %v = %v, %v; want %v, %v", tt.xs, q1, q3, tt.q1, tt.q3)
		}
	}
}

func TestFitPaperKnownFences(t *testing.T) {
	// Q1 = 2, Q3 = 4, IQR = 2: fences [-1, 7]; 10 is clipped to 7, so the clipped values
	// are 1,2,3,4,7 with mean 3.4 and population std sqrt(4.24).
	n, err := FitPaper([]float64{1, 2, 3, 4, 10})
	if err != nil {
		t.Fatal(err)
	}
	if n.Lo != -1 || n.Hi != 7 || math.Abs(n.Mean-3.4) > 1e-12 || math.Abs(n.Std-math.Sqrt(4.24)) > 1e-12 {
		t.Errorf("fitted %+v, want fences [-1,7], mean 3.4, std %v", n, math.Sqrt(4.24))
	}
	// The fences shape the fit only: an outlier keeps its height after normalisation.
	if got, want := n.Value(10), 500+175*(10-3.4)/math.Sqrt(4.24); math.Abs(got-want) > 1e-9 {
		t.Errorf("Value(10) = %v, want %v (not clipped to the fence)", got, want)
	}
	if got, want := n.Value(3.4), 500.0; math.Abs(got-want) > 1e-9 {
		t.Errorf("Value(mean) = %v, want %v", got, want)
	}
}

// trainTestSeries is a skewed, bursty positive series: log-normal noise around a level, with
// a few huge outliers, so the Tukey clip does real work.
func trainTestSeries(n int, seed uint64) Series {
	rng := rand.New(rand.NewPCG(seed, 1))
	s := Series{Name: "t", Start: time.Unix(0, 0), Step: time.Minute, Values: make([]float64, n)}
	for i := range s.Values {
		s.Values[i] = 1000 * math.Exp(0.5*rng.NormFloat64())
		if rng.IntN(50) == 0 {
			s.Values[i] *= 20
		}
	}
	return s
}

func TestPaperNormalisedTrainHasMean500Std175(t *testing.T) {
	s := trainTestSeries(5000, 1)
	train, _, _, err := Split(s, DefaultSplit)
	if err != nil {
		t.Fatal(err)
	}
	n, err := FitPaper(train.Values)
	if err != nil {
		t.Fatal(err)
	}
	out := Series{Values: fencedAndMapped(n, train.Values)}
	// Before the [0, 4000] clip the mapping is exact; count how many points it touched.
	clipped := 0
	for _, v := range train.Values {
		x := PaperMean + PaperStd*(n.clip(v)-n.Mean)/n.Std
		if x < 0 || x > PaperMax {
			clipped++
		}
	}
	mean, std := meanStd(out.Values)
	t.Logf("%v; %d train points hit the [0, 4000] clip; mean %v std %v", n, clipped, mean, std)
	if clipped == 0 {
		if math.Abs(mean-500) > 1e-9 || math.Abs(std-175) > 1e-9 {
			t.Errorf("normalised train: mean %v std %v, want 500 and 175", mean, std)
		}
	} else if math.Abs(mean-500) > 5 || math.Abs(std-175) > 5 {
		t.Errorf("normalised train (%d points clipped to [0,4000]): mean %v std %v, want about 500 and 175", clipped, mean, std)
	}
	for _, v := range n.Apply(s).Values {
		if v < 0 || v > PaperMax {
			t.Fatalf("normalised value %v outside [0, %v]", v, PaperMax)
		}
	}
}

func TestPaperNormaliserIsFittedOnTrainOnly(t *testing.T) {
	s := trainTestSeries(1000, 2)
	train, _, _, err := Split(s, DefaultSplit)
	if err != nil {
		t.Fatal(err)
	}
	before, err := FitPaper(train.Values)
	if err != nil {
		t.Fatal(err)
	}
	// Change every validation and test value wildly; the train part, and so the fitted
	// normaliser, must not notice.
	changed := s.Clone()
	for i := train.Len(); i < changed.Len(); i++ {
		changed.Values[i] = changed.Values[i]*1000 + 12345
	}
	train2, _, test2, err := Split(changed, DefaultSplit)
	if err != nil {
		t.Fatal(err)
	}
	after, err := FitPaper(train2.Values)
	if err != nil {
		t.Fatal(err)
	}
	if before != after {
		t.Errorf("normaliser changed with test data:\n before %v\n after  %v", before, after)
	}
	// The changed test values are mapped with the train fit: huge values hit the 4000 cap.
	if got := after.Apply(test2).Values[0]; got != PaperMax {
		t.Errorf("huge test value mapped to %v, want the cap %v", got, PaperMax)
	}
}

func TestApplyNeverMutatesInput(t *testing.T) {
	s := trainTestSeries(100, 3)
	orig := slices.Clone(s.Values)
	p, err := FitPaper(s.Values)
	if err != nil {
		t.Fatal(err)
	}
	m, err := ScaleToMean(s.Values, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []Normalizer{p, m, Identity(), {}} {
		out := n.Apply(s)
		if !slices.Equal(s.Values, orig) {
			t.Fatalf("%v changed its input", n)
		}
		out.Values[0] = -1
		if s.Values[0] == -1 {
			t.Fatalf("%v returned a series sharing the input's storage", n)
		}
	}
}

func TestScaleToMean(t *testing.T) {
	n, err := ScaleToMean([]float64{1, 2, 3}, 500)
	if err != nil {
		t.Fatal(err)
	}
	out := n.Apply(Series{Values: []float64{1, 2, 3, 10}})
	if want := []float64{250, 500, 750, 2500}; !slices.Equal(out.Values, want) {
		t.Errorf("Apply = %v, want %v", out.Values, want)
	}
	if got := n.String(); got != "scale-to-mean(train mean 2, x250)" {
		t.Errorf("String = %q", got)
	}
}

func TestIdentity(t *testing.T) {
	for _, n := range []Normalizer{Identity(), {}} {
		if got := n.Value(123.5); got != 123.5 {
			t.Errorf("%v.Value(123.5) = %v", n, got)
		}
		if n.String() != "identity" {
			t.Errorf("String = %q", n.String())
		}
	}
}

func TestPaperString(t *testing.T) {
	n, err := FitPaper([]float64{1, 2, 3, 4, 10})
	if err != nil {
		t.Fatal(err)
	}
	want := "paper(fences [-1, 7], train mean 3.4, std 2.05913 -> mean 500, std 175, clip [0, 4000])"
	if got := n.String(); got != want {
		t.Errorf("String =\n %q\nwant\n %q", got, want)
	}
}

func TestNormaliserFitErrors(t *testing.T) {
	tests := []struct {
		name string
		fit  func() (Normalizer, error)
		want string
	}{
		{"paper on empty train", func() (Normalizer, error) { return FitPaper(nil) }, "no training values"},
		{"paper on constant train", func() (Normalizer, error) { return FitPaper([]float64{5, 5, 5}) }, "are all equal (std 0)"},
		// Quartiles equal (many zeros): the fences collapse and clip every value to 0.
		{"paper when the fences collapse", func() (Normalizer, error) { return FitPaper([]float64{0, 0, 0, 0, 0, 0, 0, 9}) }, "std 0"},
		{"paper on NaN", func() (Normalizer, error) { return FitPaper([]float64{1, math.NaN()}) }, "training value 1 is NaN"},
		{"scale on zero mean", func() (Normalizer, error) { return ScaleToMean([]float64{0, 0}, 500) }, "training mean is 0"},
		{"scale to negative target", func() (Normalizer, error) { return ScaleToMean([]float64{1}, -1) }, "target -1 must be"},
		{"scale on empty train", func() (Normalizer, error) { return ScaleToMean(nil, 500) }, "no training values"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.fit()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("got %v, want error containing %q", err, tt.want)
			}
		})
	}
}

// fencedAndMapped maps the training values as the fit saw them: clipped to the fences.
func fencedAndMapped(n Normalizer, train []float64) []float64 {
	out := make([]float64, len(train))
	for i, v := range train {
		out[i] = n.Value(n.clip(v))
	}
	return out
}

// On every real trace the fit succeeds and the fence-clipped training part comes out at mean 500 and
// std 175; only points pushed below 0 by the final clip (the Wikipedia trace's collection
// zeros) may move it, and then only slightly.
func TestPaperNormaliseRealTraces(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(testenv.Traces(t), "*.csv"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no traces: %v", err)
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			s, err := Load(p)
			if err != nil {
				t.Fatal(err)
			}
			train, _, _, err := Split(s, DefaultSplit)
			if err != nil {
				t.Fatal(err)
			}
			n, err := FitPaper(train.Values)
			if err != nil {
				t.Fatal(err)
			}
			mean, std := meanStd(fencedAndMapped(n, train.Values))
			if math.Abs(mean-500) > 1 || math.Abs(std-175) > 1 {
				t.Errorf("%v: train mean %v std %v, want 500 and 175 within 1", n, mean, std)
			}
		})
	}
}

func TestInvertUndoesValueInsideTheClipRange(t *testing.T) {
	paper, err := FitPaper([]float64{10, 20, 30, 40, 50, 60, 70, 80})
	if err != nil {
		t.Fatal(err)
	}
	scale, err := ScaleToMean([]float64{2, 4, 6}, 500)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		n    Normalizer
		vals []float64
	}{
		{"identity", Identity(), []float64{-3, 0, 7.5, 1e6}},
		{"zero value", Normalizer{}, []float64{0, 42}},
		{"paper", paper, []float64{5, 45, 80, 130}},
		{"scale-to-mean", scale, []float64{0, 1, 4, 100}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, v := range tc.vals {
				x := tc.n.Value(v)
				if tc.n.Kind == "paper" && (x <= 0 || x >= PaperMax) {
					t.Fatalf("test value %v maps to the clip bound %v; pick one inside", v, x)
				}
				if got := tc.n.Invert(x); math.Abs(got-v) > 1e-9*math.Max(1, math.Abs(v)) {
					t.Errorf("Invert(Value(%v)) = %v", v, got)
				}
			}
		})
	}
	// Below the range: the clipped 0 comes back as the trace value that maps to 0.
	lo := paper.Invert(0)
	if got := paper.Value(lo); math.Abs(got) > 1e-9 {
		t.Errorf("Value(Invert(0)) = %v, want 0", got)
	}
}
