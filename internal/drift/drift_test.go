package drift

import (
	"math"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/series"
)

func TestPSIClosedForm(t *testing.T) {
	ref := make([]float64, 1000)
	for i := range ref {
		ref[i] = float64(i)
	}
	r := NewReference(ref, 10, DefaultResolution)
	if got := r.PSI(ref); math.Abs(got) > 1e-12 {
		t.Fatalf("PSI of the reference against itself = %v, want 0", got)
	}
	// Everything in the first decile: q = (1, 0, ..., 0) against p = 0.1 each, zeros
	// floored at PSIFloor.
	low := make([]float64, 100)
	for i := range low {
		low[i] = float64(i % 100)
	}
	want := (1-0.1)*math.Log(1/0.1) + 9*(PSIFloor-0.1)*math.Log(PSIFloor/0.1)
	if got := r.PSI(low); math.Abs(got-want) > 1e-9 {
		t.Fatalf("PSI = %v, want %v", got, want)
	}
	// Half the recent sample in each of the two lowest deciles.
	two := []float64{5, 15, 5, 15, 105, 115, 105, 115}
	want = 2*(0.5-0.1)*math.Log(0.5/0.1) + 8*(PSIFloor-0.1)*math.Log(PSIFloor/0.1)
	if got := r.PSI(two); math.Abs(got-want) > 1e-9 {
		t.Fatalf("PSI = %v, want %v", got, want)
	}
	if got := (Reference{}).PSI(ref); !math.IsNaN(got) {
		t.Fatalf("PSI against an empty reference = %v, want NaN", got)
	}
	if got := r.PSI(nil); !math.IsNaN(got) {
		t.Fatalf("PSI of an empty sample = %v, want NaN", got)
	}
	// A constant reference: the same value scores 0, values outside its range count
	// (half below, half above: two outer bins at 0.5 against the floor, the middle one empty).
	c := NewReference([]float64{3, 3, 3}, 10, DefaultResolution)
	if got := c.PSI([]float64{3, 3}); got != 0 {
		t.Fatalf("PSI of the constant against itself = %v, want 0", got)
	}
	want = 2*(0.5-PSIFloor)*math.Log(0.5/PSIFloor) + (PSIFloor-1)*math.Log(PSIFloor/1)
	if got := c.PSI([]float64{1, 9}); math.Abs(got-want) > 1e-9 {
		t.Fatalf("PSI against a constant reference = %v, want %v", got, want)
	}
}

// A near-constant reference (a steady workload's scraped rate) does not drift on jitter
// under the resolution, and still does on a shift past it; without a resolution the same
// jitter is a "significant" shift.
func TestPSIResolution(t *testing.T) {
	ref := []float64{60, 60, 60, 60, 60.1, 60, 60, 59.9, 60, 60}
	jitter := []float64{59.7, 60.4, 60, 59.5, 60.6, 60, 60.2, 59.8}
	r := NewReference(ref, 10, DefaultResolution)
	if got := r.PSI(jitter); got > 0.1 {
		t.Fatalf("PSI of ±1%% jitter at 2%% resolution = %v, want < 0.1", got)
	}
	if got := NewReference(ref, 10, 0).PSI(jitter); !(got > DefaultPSIAbove) {
		t.Fatalf("PSI of the same jitter without resolution = %v, want > %v (the test shows nothing otherwise)", got, DefaultPSIAbove)
	}
	for _, shift := range []float64{58, 62, 200} {
		recent := make([]float64, 8)
		for i := range recent {
			recent[i] = shift
		}
		if got := r.PSI(recent); !(got > DefaultPSIAbove) {
			t.Fatalf("PSI of a shift to %v at 2%% resolution = %v, want > %v", shift, got, DefaultPSIAbove)
		}
	}
	// Options: zero is the default, negative none.
	if o := (Options{}).withDefaults(); o.Resolution != DefaultResolution {
		t.Fatalf("default resolution %v", o.Resolution)
	}
	m := New(Options{Resolution: -1, PSIWindow: len(jitter)}, ref)
	h := series.Series{Start: time.Unix(0, 0), Step: time.Minute}
	var sc Scores
	for _, v := range jitter {
		h.Values = append(h.Values, v)
		sc = m.Observe(nil, h)
	}
	if !sc.Drifting || sc.Reasons[0] != ReasonPSI {
		t.Fatalf("with Resolution -1 the jitter drifts on PSI: %+v", sc)
	}
}

// constModel forecasts the same quantiles whatever the history.
type constModel struct{ q []float64 }

func (constModel) Kind() string                                                { return "const" }
func (constModel) Fit(series.Series, series.Series, forecast.FitOptions) error { return nil }
func (constModel) MinHistory() int                                             { return 1 }
func (c constModel) Predict(_ series.Series, h int) (forecast.Forecast, error) {
	f := forecast.Forecast{Levels: []float64{0.1, 0.5, 0.9}}
	for range h {
		f.Q = append(f.Q, c.q)
	}
	return f, nil
}

func TestScoresWorkedExample(t *testing.T) {
	// Band [90, 110], median 100. Values alternate 100 (covered) and 120 (missed).
	m := New(Options{Window: 4, PSIWindow: 4}, []float64{100, 120, 100, 120})
	model := constModel{q: []float64{90, 100, 110}}
	h := series.Series{Start: time.Unix(0, 0), Step: time.Minute}
	var last Scores
	for i := range 9 {
		v := 100.0
		if i%2 == 1 {
			v = 120
		}
		h.Values = append(h.Values, v)
		last = m.Observe(model, h)
		if i == 0 && last.Scored {
			t.Fatal("the first interval had no forecast issued for it, but was scored")
		}
	}
	// Last interval (i=8): value 100, covered; pinball = mean of 0.1*(100-90), 0, 0.9*(110-100) in
	// absolute terms: (1 + 0 + 1)/3.
	if !last.Scored || !last.Covered || math.Abs(last.Pinball-2.0/3) > 1e-12 {
		t.Fatalf("last interval: %+v", last)
	}
	if last.Lower != 90 || last.P50 != 100 || last.Upper != 110 {
		t.Fatalf("issued forecast %v/%v/%v, want 90/100/110", last.Lower, last.P50, last.Upper)
	}
	// Window of the last 4 scored (i = 5..8: 120, 100, 120, 100): coverage 0.5; the median's
	// errors 20,0,20,0 against the naive one's 20,20,20,20: relative error 0.5.
	if last.Coverage != 0.5 || last.RelError != 0.5 {
		t.Fatalf("coverage %v, relative error %v; want 0.5 and 0.5", last.Coverage, last.RelError)
	}
	// Pinball for a missed 120: (0.1*30 + 0.5*20 + 0.9*10)/3.
	miss := (0.1*30 + 0.5*20 + 0.9*10) / 3
	if want := (2*miss + 2*2.0/3) / 4; math.Abs(last.PinballMean-want) > 1e-12 {
		t.Fatalf("pinball mean %v, want %v", last.PinballMean, want)
	}
	if last.Drifting {
		t.Fatalf("coverage 0.5 is not below 0.5: not drifting, got %v", last.Reasons)
	}
}

func TestDriftingThresholds(t *testing.T) {
	ref := make([]float64, 200)
	for i := range ref {
		ref[i] = 100 + float64(i%10)
	}
	model := constModel{q: []float64{95, 104, 110}}
	run := func(vals []float64, o Options) Scores {
		m := New(o, ref)
		h := series.Series{Start: time.Unix(0, 0), Step: time.Minute}
		var sc Scores
		for _, v := range vals {
			h.Values = append(h.Values, v)
			sc = m.Observe(model, h)
		}
		return sc
	}
	same := make([]float64, 40)
	shifted := make([]float64, 40)
	for i := range same {
		same[i] = 100 + float64(i%10)
		shifted[i] = 200 + float64(i%10)
	}
	o := Options{Window: 10, PSIWindow: 20}
	if sc := run(same, o); sc.Drifting {
		t.Fatalf("stationary input drifts: %+v", sc)
	}
	sc := run(shifted, o)
	if !sc.Drifting || !reflect.DeepEqual(sc.Reasons, []Reason{ReasonCoverage, ReasonError, ReasonPSI}) {
		t.Fatalf("level shift: drifting %v reasons %v (%+v)", sc.Drifting, sc.Reasons, sc)
	}
	if w := sc.Why(o); w == "" {
		t.Fatal("no words for the reasons")
	}
	// Windows not yet full decide nothing.
	if sc := run(shifted[:5], o); sc.Drifting || !math.IsNaN(sc.Coverage) || !math.IsNaN(sc.PSI) {
		t.Fatalf("partial windows: %+v", sc)
	}
}

// TestScoresAreCausal: two workloads equal before interval k and different from k on give
// identical scores for every interval before k, and the same forecast issued for k (it was
// made from intervals before k); the scores of k itself differ.
func TestScoresAreCausal(t *testing.T) {
	s, err := series.SyntheticByName("bursty-day", 3)
	if err != nil {
		t.Fatal(err)
	}
	train, val := s.Slice(0, 700), s.Slice(700, 900)
	model, err := forecast.New("holt-winters", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := model.Fit(train, val, forecast.FitOptions{Horizon: 1, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	const k = 1200
	other := s.Clone()
	for i := k; i < other.Len(); i++ {
		other.Values[i] *= 1.7
	}
	scores := func(w series.Series) []Scores {
		m := New(Options{Window: 30, PSIWindow: 120, Season: 60, SeasonalWindow: 30}, train.Values)
		out := make([]Scores, 0, w.Len())
		for n := 900; n <= w.Len(); n++ {
			out = append(out, m.Observe(model, w.Slice(0, n)))
		}
		return out
	}
	a, b := scores(s), scores(other)
	at := k - 899 // out[j] scores interval 899+j (the slice [0, 900+j) ends with it)
	for i := 0; i < at; i++ {
		if !reflect.DeepEqual(a[i], b[i]) && !(nanEqual(a[i], b[i])) {
			t.Fatalf("interval %d (before k=%d): scores differ:\n%+v\n%+v", 899+i, k, a[i], b[i])
		}
	}
	if !a[at].Scored || a[at].P50 != b[at].P50 || a[at].Lower != b[at].Lower || a[at].Upper != b[at].Upper {
		t.Fatalf("the forecast issued for k differs: %+v vs %+v (it must come from intervals before k)", a[at], b[at])
	}
	if a[at].Pinball == b[at].Pinball {
		t.Fatal("interval k's own score did not change with its value: the check is blind")
	}
	// The seasonal score is a median over 30 intervals: 20 intervals on, it has moved.
	if math.IsNaN(a[at+20].Seasonal) || a[at+20].Seasonal == b[at+20].Seasonal {
		t.Fatalf("the seasonal score 20 intervals after k, %v / %v, did not change: the check is blind", a[at+20].Seasonal, b[at+20].Seasonal)
	}
}

// nanEqual compares two Scores treating NaN as equal to NaN.
func nanEqual(a, b Scores) bool {
	f := func(x, y float64) bool { return x == y || (math.IsNaN(x) && math.IsNaN(y)) }
	return a.Start.Equal(b.Start) && a.Scored == b.Scored && a.Covered == b.Covered && f(a.Pinball, b.Pinball) &&
		f(a.Lower, b.Lower) && f(a.P50, b.P50) && f(a.Upper, b.Upper) && f(a.Coverage, b.Coverage) &&
		f(a.PinballMean, b.PinballMean) && f(a.RelError, b.RelError) && f(a.PSI, b.PSI) &&
		f(a.Seasonal, b.Seasonal) && a.Drifting == b.Drifting && reflect.DeepEqual(a.Reasons, b.Reasons)
}

func TestRepeatedIntervalChangesNothing(t *testing.T) {
	m := New(Options{Window: 2, PSIWindow: 2}, []float64{1, 2, 3})
	model := constModel{q: []float64{1, 2, 3}}
	h := series.Series{Start: time.Unix(0, 0), Step: time.Minute, Values: []float64{2, 2}}
	m.Observe(model, h.Slice(0, 1))
	first := m.Observe(model, h)
	again := m.Observe(model, h)
	if !first.Scored || again.Scored || m.winN != 1 {
		t.Fatalf("a repeated interval was scored again: %+v / %+v", first, again)
	}
}

// TestSeasonalScoreClosedForm: a reference with season 4 whose seasonal errors are all 1,
// continued by the same day (score 1), then by the day shifted half a season (the same
// values at other times: errors 20, score 20, drifting on "seasonal" alone: the PSI sees
// the same values). One burst in the window leaves the median where it was.
func TestSeasonalScoreClosedForm(t *testing.T) {
	day := []float64{0, 10, 20, 30}
	var ref []float64
	for k := 0; k < 4; k++ {
		for _, v := range day {
			ref = append(ref, v+float64(k%2)) // seasons alternate +0, +1: every error 1
		}
	}
	o := Options{Window: 4, PSIWindow: 100, Season: 4, SeasonalWindow: 4} // the PSI's window never fills
	m := New(o, ref)
	h := series.Series{Start: time.Unix(0, 0), Step: time.Minute, Values: append([]float64(nil), ref...)}
	observe := func(vals ...float64) Scores {
		var sc Scores
		for _, v := range vals {
			h.Values = append(h.Values, v)
			sc = m.Observe(nil, h)
		}
		return sc
	}
	if sc := observe(0, 10, 20, 30); sc.Seasonal != 1 || sc.Drifting {
		t.Fatalf("the same day: seasonal %v drifting %v, want 1, false", sc.Seasonal, sc.Drifting)
	}
	sc := observe(20, 30, 0, 10)
	if sc.Seasonal != 20 || !reflect.DeepEqual(sc.Reasons, []Reason{ReasonSeasonal}) {
		t.Fatalf("the day shifted by half a season: seasonal %v reasons %v (PSI %v), want 20, [seasonal]", sc.Seasonal, sc.Reasons, sc.PSI)
	}
	if w := sc.Why(m.Options()); !strings.Contains(w, "seasonal error 20.00x") {
		t.Fatalf("why: %q", w)
	}
	// The shifted day repeated, with one burst: errors 0, 0, 500, 0 -> median 0.
	if sc := observe(20, 30, 500, 10); sc.Seasonal != 0 || sc.Drifting {
		t.Fatalf("the new day again with one burst: seasonal %v drifting %v, want 0, false", sc.Seasonal, sc.Drifting)
	}
	// Too short a reference (less than a season and a window) gives no score.
	if sc := New(o, ref[:7]).Observe(nil, h); !math.IsNaN(sc.Seasonal) {
		t.Fatalf("short reference: seasonal %v, want NaN", sc.Seasonal)
	}
	// A negative season turns the score off.
	off := o
	off.Season = -1
	if sc := New(off, ref).Observe(nil, h); !math.IsNaN(sc.Seasonal) {
		t.Fatalf("season off: seasonal %v, want NaN", sc.Seasonal)
	}
}
