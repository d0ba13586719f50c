package forecast

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

// smallNeural are settings that train each neural model in a few seconds on the test series.
var smallNeural = map[string]map[string]string{
	"mlp":      {"lookback": "48", "hidden": "32", "epochs": "8", "steps": "40", "batch": "32", "val_windows": "64"},
	"gru":      {"lookback": "36", "hidden": "16", "head": "32", "epochs": "8", "steps": "40", "batch": "16", "val_windows": "64"},
	"lstm":     {"lookback": "36", "hidden": "16", "head": "32", "epochs": "8", "steps": "40", "batch": "16", "val_windows": "64"},
	"informer": {"lookback": "48", "label_len": "24", "d_model": "16", "d_ff": "32", "epochs": "6", "steps": "30", "batch": "8", "val_windows": "32"},
}

var neuralKinds = []string{"mlp", "gru", "lstm", "informer"}

const testHorizon = 12

// sineTrend is a noiseless hourly daily sine on a rising line.
func sineTrend(n int) series.Series {
	v := make([]float64, n)
	for i := range v {
		v[i] = 200 + 0.05*float64(i) + 40*math.Sin(2*math.Pi*float64(i)/24)
	}
	return series.Series{Name: "sine", Start: t0, Step: time.Hour, Values: v}
}

// sineSplits are train [0,1200), val [1200,1500) and a held-out test part [1500,1800).
func sineSplits() (train, val, all series.Series) {
	all = sineTrend(1800)
	return all.Slice(0, 1200), all.Slice(1200, 1500), all
}

var fittedNeural = map[string]*Neural{}

// fitSmall trains (once per test binary) a small model of kind on the sine splits.
func fitSmall(t *testing.T, kind string) *Neural {
	t.Helper()
	if m, ok := fittedNeural[kind]; ok {
		return m
	}
	m := mustNew(t, kind, smallNeural[kind]).(*Neural)
	train, val, _ := sineSplits()
	if err := m.Fit(train, val, FitOptions{Horizon: testHorizon, Seed: 42}); err != nil {
		t.Fatal(err)
	}
	fittedNeural[kind] = m
	return m
}

func TestNeuralForecastersLearnSineWithTrend(t *testing.T) {
	for _, kind := range neuralKinds {
		t.Run(kind, func(t *testing.T) {
			m := fitSmall(t, kind)
			_, _, all := sineSplits()
			var mae, naive float64
			n := 0
			for o := 1500; o+testHorizon <= all.Len(); o += 7 {
				fc, err := m.Predict(all.Slice(0, o), testHorizon)
				if err != nil {
					t.Fatal(err)
				}
				for s := 0; s < testHorizon; s++ {
					y := all.Values[o+s]
					mae += math.Abs(fc.Quantile(s, 0.5) - y)
					naive += math.Abs(all.Values[o-1] - y)
					n++
				}
			}
			mae, naive = mae/float64(n), naive/float64(n)
			t.Logf("held-out median MAE %.2f, naive %.2f", mae, naive)
			if mae > 0.2*naive {
				t.Errorf("median MAE %.2f is not far below the naive forecast's %.2f", mae, naive)
			}
		})
	}
}

func TestNeuralQuantilesDoNotCross(t *testing.T) {
	for _, kind := range neuralKinds {
		t.Run(kind, func(t *testing.T) {
			m := fitSmall(t, kind)
			_, _, all := sineSplits()
			for o := 1500; o+testHorizon <= all.Len(); o += 25 {
				fc, err := m.Predict(all.Slice(0, o), testHorizon)
				if err != nil {
					t.Fatal(err)
				}
				if len(fc.Q) != testHorizon || len(fc.Levels) != len(DefaultLevels) {
					t.Fatalf("forecast has %d steps and %d levels", len(fc.Q), len(fc.Levels))
				}
				for s, row := range fc.Q {
					for k := 1; k < len(row); k++ {
						if row[k] < row[k-1] {
							t.Fatalf("origin %d step %d: quantiles cross: %v", o, s, row)
						}
					}
				}
			}
		})
	}
}

func TestNeuralFitIsDeterministicForASeed(t *testing.T) {
	train, val, all := sineSplits()
	hist := all.Slice(0, 1500)
	for _, kind := range neuralKinds {
		t.Run(kind, func(t *testing.T) {
			p := map[string]string{}
			for k, v := range smallNeural[kind] {
				p[k] = v
			}
			p["epochs"], p["steps"] = "1", "5"
			predict := func(seed int64) [][]float64 {
				m := mustNew(t, kind, p)
				if err := m.Fit(train, val, FitOptions{Horizon: testHorizon, Seed: seed}); err != nil {
					t.Fatal(err)
				}
				fc, err := m.Predict(hist, testHorizon)
				if err != nil {
					t.Fatal(err)
				}
				return fc.Q
			}
			a, b, c := predict(7), predict(7), predict(8)
			same := func(x, y [][]float64) bool {
				for s := range x {
					for k := range x[s] {
						if x[s][k] != y[s][k] {
							return false
						}
					}
				}
				return true
			}
			if !same(a, b) {
				t.Error("same seed gave different forecasts")
			}
			if same(a, c) {
				t.Error("different seeds gave identical forecasts: the seed is not used")
			}
		})
	}
}

func TestNeuralPredictReadsOnlyTheLastMinHistoryPoints(t *testing.T) {
	_, _, all := sineSplits()
	for _, kind := range neuralKinds {
		t.Run(kind, func(t *testing.T) {
			m := fitSmall(t, kind)
			l := m.MinHistory()
			hist := all.Slice(0, 1500).Clone()
			base, err := m.Predict(hist, testHorizon)
			if err != nil {
				t.Fatal(err)
			}
			cases := []struct {
				name   string
				modify func(s *series.Series)
				same   bool
			}{
				{"point just before the window", func(s *series.Series) { s.Values[s.Len()-l-1] += 1000 }, true},
				{"NaN before the window", func(s *series.Series) { s.Values[s.Len()-l-5] = math.NaN() }, true},
				{"history cut to exactly MinHistory", func(s *series.Series) { *s = s.Slice(s.Len()-l, s.Len()) }, true},
				{"first point of the window", func(s *series.Series) { s.Values[s.Len()-l] += 1000 }, false},
			}
			for _, c := range cases {
				h := hist.Clone()
				c.modify(&h)
				fc, err := m.Predict(h, testHorizon)
				if err != nil {
					t.Fatalf("%s: %v", c.name, err)
				}
				equal := true
				for s := range fc.Q {
					for k := range fc.Q[s] {
						equal = equal && fc.Q[s][k] == base.Q[s][k]
					}
				}
				if equal != c.same {
					t.Errorf("%s: forecast unchanged = %v, want %v", c.name, equal, c.same)
				}
			}
		})
	}
}

func TestNeuralRejectsBadInput(t *testing.T) {
	train, val, all := sineSplits()
	m := fitSmall(t, "mlp")
	nanHist := all.Slice(0, 1500).Clone()
	nanHist.Values[nanHist.Len()-3] = math.NaN()
	nanTrain := train.Clone()
	nanTrain.Values[17] = math.NaN()
	nanVal := val.Clone()
	nanVal.Values[3] = math.Inf(1)
	fresh := func() Forecaster { return mustNew(t, "mlp", smallNeural["mlp"]) }
	cases := []struct {
		name string
		run  func() error
		want string
	}{
		{"too-short history", func() error { _, err := m.Predict(all.Slice(0, 40), testHorizon); return err }, "needs at least 48"},
		{"NaN in the window", func() error { _, err := m.Predict(nanHist, testHorizon); return err }, "NaN"},
		{"horizon beyond training", func() error { _, err := m.Predict(all.Slice(0, 1500), testHorizon+1); return err }, "exceeds the 12 steps"},
		{"zero horizon", func() error { _, err := m.Predict(all.Slice(0, 1500), 0); return err }, "horizon 0"},
		{"unfitted", func() error { _, err := fresh().Predict(all.Slice(0, 1500), 1); return err }, "not fitted"},
		{"NaN in train", func() error { return fresh().Fit(nanTrain, val, FitOptions{Horizon: testHorizon}) }, "index 17 is NaN"},
		{"Inf in val", func() error { return fresh().Fit(train, nanVal, FitOptions{Horizon: testHorizon}) }, "index 3 is +Inf"},
		{"train too short", func() error { return fresh().Fit(train.Slice(0, 50), val, FitOptions{Horizon: testHorizon}) }, "needs at least 60"},
		{"val too short", func() error { return fresh().Fit(train, val.Slice(0, 5), FitOptions{Horizon: testHorizon}) }, "needs at least 12"},
		{"bad levels", func() error {
			return fresh().Fit(train, val, FitOptions{Horizon: testHorizon, Levels: []float64{0.5, 0.1}})
		}, "not strictly increasing"},
		{"unknown param", func() error { _, err := New("gru", map[string]string{"hiden": "3"}); return err }, `unknown param "hiden"`},
		{"malformed param", func() error { _, err := New("mlp", map[string]string{"lr": "fast"}); return err }, `lr="fast"`},
		{"param out of range", func() error { _, err := New("informer", map[string]string{"heads": "0"}); return err }, "heads"},
		{"heads not dividing d_model", func() error {
			_, err := New("informer", map[string]string{"d_model": "30", "heads": "4"})
			return err
		}, "multiple of heads"},
		{"label_len beyond lookback", func() error {
			_, err := New("informer", map[string]string{"lookback": "24", "label_len": "48"})
			return err
		}, "exceeds lookback"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.run()
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestNeuralFitKeepsTheBestValidationWeights(t *testing.T) {
	train, val, _ := sineSplits()
	for _, kind := range neuralKinds {
		t.Run(kind, func(t *testing.T) {
			m := fitSmall(t, kind)
			if len(m.valLoss) == 0 {
				t.Fatal("no validation scores recorded")
			}
			best := math.Inf(1)
			for _, v := range m.valLoss {
				best = min(best, v)
			}
			src := contextSource(train, val, m.dims.L)
			got := m.scaledLoss(src, evenly(m.dims.L, len(src.v)-m.dims.H, m.cfg.ValWindows))
			if math.Abs(got-best) > 1e-12 {
				t.Fatalf("validation loss of the final weights %v, best epoch had %v (history %v)", got, best, m.valLoss)
			}
		})
	}
}

func TestNeuralProgressReachesTotal(t *testing.T) {
	train, val, _ := sineSplits()
	m := mustNew(t, "mlp", map[string]string{"lookback": "24", "hidden": "8", "epochs": "3", "steps": "2", "batch": "4", "val_windows": "8"})
	var calls [][2]int
	err := m.Fit(train, val, FitOptions{Horizon: testHorizon, Progress: func(done, total int) {
		calls = append(calls, [2]int{done, total})
	}})
	if err != nil {
		t.Fatal(err)
	}
	if len(calls) == 0 || calls[len(calls)-1] != [2]int{3, 3} {
		t.Fatalf("progress calls %v, want them to end at (3, 3)", calls)
	}
	for i := 1; i < len(calls); i++ {
		if calls[i][0] <= calls[i-1][0] {
			t.Fatalf("progress went backwards: %v", calls)
		}
	}
}

func TestNeuralSaveLoadRoundTrip(t *testing.T) {
	_, _, all := sineSplits()
	hist := all.Slice(0, 1500)
	for _, kind := range neuralKinds {
		t.Run(kind, func(t *testing.T) {
			m := fitSmall(t, kind)
			dir := t.TempDir()
			if err := Save(dir, m, Manifest{Params: smallNeural[kind], Horizon: testHorizon}); err != nil {
				t.Fatal(err)
			}
			got, _, err := LoadModel(dir)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := m.Predict(hist, testHorizon)
			fc, err := got.Predict(hist, testHorizon)
			if err != nil {
				t.Fatal(err)
			}
			for s := range want.Q {
				for k := range want.Q[s] {
					if fc.Q[s][k] != want.Q[s][k] {
						t.Fatalf("step %d level %d: loaded model predicts %v, original %v", s, k, fc.Q[s][k], want.Q[s][k])
					}
				}
			}
		})
	}
}

func TestNeuralLoadRejectsCorruptedOrMismatchedState(t *testing.T) {
	m := fitSmall(t, "gru")
	good, err := m.MarshalState()
	if err != nil {
		t.Fatal(err)
	}
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-30] ^= 0x01
	other := map[string]string{}
	for k, v := range smallNeural["gru"] {
		other[k] = v
	}
	other["hidden"] = "8"
	cases := []struct {
		name   string
		params map[string]string
		kind   string
		state  []byte
		want   string
	}{
		{"empty", smallNeural["gru"], "gru", nil, "too short"},
		{"truncated weights", smallNeural["gru"], "gru", good[:len(good)-100], "truncated or corrupted"},
		{"flipped bit in weights", smallNeural["gru"], "gru", flipped, "truncated or corrupted"},
		{"header length beyond data", smallNeural["gru"], "gru", []byte{0xff, 0xff, 0, 0, '{'}, "exceeds"},
		{"other architecture", other, "gru", good, "architecture"},
		{"other kind", smallNeural["mlp"], "mlp", good, `kind "gru", not "mlp"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := mustNew(t, c.kind, c.params).(*Neural)
			err := f.UnmarshalState(c.state)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}

	t.Run("through LoadModel names the file", func(t *testing.T) {
		dir := t.TempDir()
		if err := Save(dir, m, Manifest{Params: smallNeural["gru"]}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, StateFile), good[:len(good)/2], 0o644); err != nil {
			t.Fatal(err)
		}
		_, _, err := LoadModel(dir)
		if err == nil || !strings.Contains(err.Error(), StateFile) {
			t.Fatalf("error %v, want it to name %s", err, StateFile)
		}
	})
}

func TestNeuralPredictIsSafeForConcurrentUse(t *testing.T) {
	_, _, all := sineSplits()
	for _, kind := range neuralKinds {
		t.Run(kind, func(t *testing.T) {
			m := fitSmall(t, kind)
			want, err := m.Predict(all.Slice(0, 1500), testHorizon)
			if err != nil {
				t.Fatal(err)
			}
			errs := make(chan error, 4)
			for g := 0; g < 4; g++ {
				go func() {
					for range 5 {
						fc, err := m.Predict(all.Slice(0, 1500), testHorizon)
						if err == nil && fc.Q[testHorizon-1][0] != want.Q[testHorizon-1][0] {
							err = fmt.Errorf("concurrent forecast %v differs from %v", fc.Q[testHorizon-1], want.Q[testHorizon-1])
						}
						if err != nil {
							errs <- err
							return
						}
					}
					errs <- nil
				}()
			}
			for range 4 {
				if err := <-errs; err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestNeuralFitEdgeCases(t *testing.T) {
	flat := series.Series{Name: "flat", Start: t0, Step: time.Hour, Values: make([]float64, 600)}
	for i := range flat.Values {
		flat.Values[i] = 100
	}
	_, _, sine := sineSplits()
	tiny := map[string]string{"lookback": "24", "hidden": "8", "epochs": "2", "steps": "3", "batch": "4", "val_windows": "4"}
	cases := []struct {
		name      string
		s         series.Series
		opts      FitOptions
		wantSteps int
		wantLv    int
		check     func(fc Forecast) error
	}{
		{"flat series gives finite forecasts near its level", flat, FitOptions{Horizon: 6}, 6, len(DefaultLevels), func(fc Forecast) error {
			for _, row := range fc.Q {
				for _, v := range row {
					if math.IsNaN(v) || math.IsInf(v, 0) || math.Abs(v-100) > 50 {
						return fmt.Errorf("forecast %v for a flat 100", row)
					}
				}
			}
			return nil
		}},
		{"custom levels", sine, FitOptions{Horizon: 4, Levels: []float64{0.1, 0.5, 0.9}}, 4, 3, nil},
		{"zero horizon means the default 24", sine, FitOptions{}, 24, len(DefaultLevels), nil},
		{"levels without a median", sine, FitOptions{Horizon: 2, Levels: []float64{0.8, 0.9}}, 2, 2, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := mustNew(t, "mlp", tiny)
			if err := m.Fit(c.s.Slice(0, 400), c.s.Slice(400, 500), c.opts); err != nil {
				t.Fatal(err)
			}
			fc, err := m.Predict(c.s.Slice(0, 500), c.wantSteps)
			if err != nil {
				t.Fatal(err)
			}
			if len(fc.Q) != c.wantSteps || len(fc.Q[0]) != c.wantLv || len(fc.Levels) != c.wantLv {
				t.Fatalf("got %d steps x %d quantiles (%d levels), want %d x %d", len(fc.Q), len(fc.Q[0]), len(fc.Levels), c.wantSteps, c.wantLv)
			}
			if c.check != nil {
				if err := c.check(fc); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}
