package burst

import (
	"math"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/series"
)

// leakyRun is what a non-causal evaluation does (the published BAScaler one): it lets the
// detector see interval t before taking the state that governs t.
func leakyRun(d Detector, tr Trace) ([]State, error) {
	states := make([]State, len(tr.Values))
	for t, v := range tr.Values {
		if err := d.Observe(v, tr.Forecasts[t]); err != nil {
			return nil, err
		}
		states[t] = d.State()
	}
	return states, nil
}

// perturbationLeaks reports the first k at which changing the workload from interval k on
// changed a state that governs an interval <= k: a state that used data it must not have.
// It also reports whether the perturbation changed any state at all (so the check is not
// vacuous).
func perturbationLeaks(t *testing.T, name string, run func(Detector, Trace) ([]State, error)) (leakAt int, changed bool) {
	t.Helper()
	base := noisySeries(400, 7, series.Burst{Start: 150, End: 170, Peak: 3}, series.Burst{Start: 300, End: 302, Peak: 4})
	calib := traceOf(noisySeries(300, 8), 3)
	mk := func() Detector {
		d, err := New(name)
		if err != nil {
			t.Fatal(err)
		}
		if err := d.Calibrate(calib); err != nil {
			t.Fatal(err)
		}
		return d
	}
	want, err := run(mk(), traceOf(base, 3))
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{50, 149, 150, 155, 200, 299, 300} {
		s := base.Clone()
		for i := k; i < s.Len(); i++ {
			s.Values[i] *= 2.5 // from k on the future is different
		}
		got, err := run(mk(), traceOf(s, 3))
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(got); i++ {
			if got[i] != want[i] {
				if i <= k {
					return k, true
				}
				changed = true
			}
		}
	}
	return -1, changed
}

func TestDetectorStateForAnIntervalNeverDependsOnThatIntervalOrLater(t *testing.T) {
	for _, name := range Names() {
		t.Run(name, func(t *testing.T) {
			leak, changed := perturbationLeaks(t, name, Run)
			if leak >= 0 {
				t.Fatalf("perturbing the workload from interval %d on changed a state for an interval <= %d", leak, leak)
			}
			if !changed {
				t.Fatal("the perturbations changed no state at all: the check proves nothing")
			}
		})
	}
}

func TestPerturbationCheckCatchesALeakyEvaluation(t *testing.T) {
	for _, name := range Names() {
		if leak, _ := perturbationLeaks(t, name, leakyRun); leak < 0 {
			t.Errorf("%s: a run that observes interval t before taking its state was not caught", name)
		}
	}
}

func TestDetectorsRejectBadObservations(t *testing.T) {
	bad := []struct {
		name   string
		actual float64
		fc     forecast.Forecast
		want   string
	}{
		{"NaN actual", math.NaN(), forecast.Forecast{}, "must be finite and non-negative"},
		{"negative actual", -1, forecast.Forecast{}, "must be finite and non-negative"},
		{"forecast without levels", 1, forecast.Forecast{Q: [][]float64{{1}}}, "no quantile levels"},
		{"ragged forecast", 1, forecast.Forecast{Levels: testLevels, Q: [][]float64{{1, 2}}}, "2 quantiles for 3 levels"},
		{"NaN in forecast", 1, flat(2, 0, math.NaN(), 3), "holds NaN"},
	}
	for _, name := range Names() {
		for _, c := range bad {
			t.Run(name+"/"+c.name, func(t *testing.T) {
				d, _ := New(name)
				before := d.State()
				err := d.Observe(c.actual, c.fc)
				if err == nil || !strings.Contains(err.Error(), c.want) {
					t.Fatalf("error %v, want it to contain %q", err, c.want)
				}
				if d.State() != before {
					t.Error("a rejected observation changed the state")
				}
			})
		}
	}
	if _, err := New("oracle"); err == nil || !strings.Contains(err.Error(), "valid: paper, cusum") {
		t.Errorf("unknown detector: %v", err)
	}
}

func TestRunRejectsATraceWithoutAForecastPerValue(t *testing.T) {
	if _, err := Run(NewCUSUM(CUSUMOptions{}), Trace{Values: []float64{1, 2}, Forecasts: nil}); err == nil {
		t.Error("accepted 2 values with 0 forecasts")
	}
}

func TestNewParsesDetectorOptions(t *testing.T) {
	d, err := New("cusum:h=2.5:k=0.5:hold=4:band=true")
	if err != nil {
		t.Fatal(err)
	}
	if o := d.(*CUSUM).o; o.H != 2.5 || o.K != 0.5 || o.Hold != 4 || !o.Band || o.Max != 5 {
		t.Errorf("options %+v", o)
	}
	p, err := New("paper:sigmas=2:min-outside=1")
	if err != nil {
		t.Fatal(err)
	}
	if o := p.(*Paper).o; o.Sigmas != 2 || o.MinOutside != 1 || o.Points != 3 {
		t.Errorf("options %+v", o)
	}
	for _, c := range []struct{ name, want string }{
		{"cusum:h", "not key=value"},
		{"cusum:speed=3", "unknown option \"speed\" (valid: band, h, hold, k, max, upper, window)"},
		{"cusum:h=fast", "option h: \"fast\" is not a valid value"},
		{"cusum:h=-1", "h > 0"},
		{"cusum:window=5", "window 5 must be -1 or at least 10"},
		{"paper:upper=0.3", "band levels"},
		{"paper:min-outside=4", "min-outside 4"},
	} {
		if _, err := New(c.name); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want %q", c.name, err, c.want)
		}
	}
}
