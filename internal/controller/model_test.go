package controller

import (
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/series"
)

// savedCountsModel trains a model the way `bascaler forecast train` does: on a trace of
// counts per step (about 100 req/s), paper-normalised with parameters fitted on the
// training split, and saved with that normaliser.
func savedCountsModel(t *testing.T, kind string, step time.Duration) string {
	t.Helper()
	rng := rand.New(rand.NewPCG(7, 1))
	s := series.Series{Name: "counts", Start: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Step: step}
	level := 100.0
	for range 1200 {
		level += 0.2*(100-level) + 3*rng.NormFloat64()
		s.Values = append(s.Values, math.Round(level*step.Seconds()))
	}
	train, val, _, err := series.Split(s, series.DefaultSplit)
	if err != nil {
		t.Fatal(err)
	}
	norm, err := series.FitPaper(train.Values)
	if err != nil {
		t.Fatal(err)
	}
	base, err := forecast.New(kind, nil)
	if err != nil {
		t.Fatal(err)
	}
	m, _, err := forecast.FitCalibrated(base, norm.Apply(train), norm.Apply(val), forecast.FitOptions{Horizon: 16, Seed: 1}, 0)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), kind)
	if err := forecast.Save(dir, m, forecast.Manifest{Training: forecast.WindowOf(train), Normalizer: &norm, Horizon: 16}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func modelBAA(kind, path string) *v1alpha1.BurstAwareAutoscaler {
	b := unitBAA("bascaler")
	b.Spec.Policy.Forecaster = &v1alpha1.ModelRef{Kind: kind, Path: path}
	b.Spec.Policy.Params = map[string]string{"guard-period": "0", "detector": "none"}
	return b
}

// A model trained on normalised counts and mounted through spec.policy.forecaster.path
// forecasts the req/s the source reports, at every interval (also once the History window
// is full and stops growing).
func TestMountedModelForecastsInRequestsPerSecond(t *testing.T) {
	rg := newRig(t, modelBAA("arima", savedCountsModel(t, "arima", 2*time.Second)), 2)
	rg.src.rate = 100
	var b *v1alpha1.BurstAwareAutoscaler
	for i := range 15 { // HistoryIntervals is 10: the window is full from the first step
		b = rg.step(t, time.Duration(min(i, 1))*2*time.Second)
		if b.Status.Forecast == nil || b.Status.LastDecision == nil {
			t.Fatalf("step %d: no forecast in status %+v (conditions %v)", i, b.Status, b.Status.Conditions)
		}
		p50, err := strconv.ParseFloat(b.Status.Forecast.P50, 64)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(p50-100) > 5 {
			t.Fatalf("step %d: status.forecast.p50 %v, want about the source's 100 req/s", i, p50)
		}
		if m := b.Status.LastDecision.Mode; m != "steady" {
			t.Fatalf("step %d: mode %q, want steady (a forecast from a completed interval)", i, m)
		}
	}
	if n := rg.r.Decisions(); n != 15 {
		t.Errorf("%d decisions, want 15", n)
	}
}

// The policy forecasts from exactly the intervals its History holds, also when its first
// decision had no data yet and the next read returned warm intervals from before that
// decision (the forecasting memory was anchored at the no-data decision and dropped them:
// the controller then forecast from fewer intervals than the simulator given the same).
func TestForecastAfterANoDataStepUsesTheWholeHistory(t *testing.T) {
	rg := newRig(t, modelBAA("arima", savedCountsModel(t, "arima", 2*time.Second)), 2)
	rg.src.noSeries = true
	b := rg.step(t, 0)
	if cond := meta.FindStatusCondition(b.Status.Conditions, v1alpha1.ConditionScalingActive); cond == nil || cond.Reason != v1alpha1.ReasonNoMetricsYet {
		t.Fatalf("first step: ScalingActive %+v, want %s", cond, v1alpha1.ReasonNoMetricsYet)
	}
	rg.src.noSeries = false
	rg.src.rateAt = func(s time.Time) float64 { return 100 + 15*math.Sin(float64(s.Unix())/7) }
	for i := range 3 {
		b = rg.step(t, 2*time.Second)
		hist := historyOf(rg.r, rg.key.Namespace, rg.key.Name)
		h := series.Series{Start: hist[0].Start, Step: 2 * time.Second}
		for _, iv := range hist {
			h.Values = append(h.Values, iv.Rate)
		}
		rg.r.mu.Lock()
		l := rg.r.loops[rg.key]
		rg.r.mu.Unlock()
		fc, err := l.drv.Policy().(forecasting).Forecaster().Predict(h, 2)
		if err != nil {
			t.Fatal(err)
		}
		want := "forecast_p50=" + strconv.FormatFloat(fc.Quantile(0, 0.5), 'g', 5, 64) + ";"
		if d := b.Status.LastDecision; d == nil || !strings.Contains(d.Explanation+";", want) {
			t.Fatalf("step %d after the no-data step: decision %+v; the forecaster on the History's %d intervals says %s", i, d, len(hist), want)
		}
	}
}

func TestMountedModelThatDoesNotFitIsRefusedNamingBothValues(t *testing.T) {
	arima2s := savedCountsModel(t, "arima", 2*time.Second)
	for _, tc := range []struct {
		name   string
		baa    *v1alpha1.BurstAwareAutoscaler
		reason string
		says   []string
	}{
		{"training step is not spec.interval", modelBAA("arima", savedCountsModel(t, "arima", time.Minute)),
			v1alpha1.ReasonModelMismatch, []string{"training.step is 1m0s", "control interval is 2s"}},
		{"kind is not spec.policy.forecaster.kind", modelBAA("holt-winters", arima2s),
			v1alpha1.ReasonModelMismatch, []string{"kind is arima", "forecaster holt-winters"}},
		{"no model at the path", modelBAA("arima", filepath.Join(t.TempDir(), "none")),
			v1alpha1.ReasonModelNotFound, []string{"no manifest.json"}},
		{"a forecaster version as rlModel", rlModelBAA(arima2s, publishDir(t, arima2s)+"@champion"),
			v1alpha1.ReasonModelMismatch, []string{"spec.policy.rlModel.path", "is of kind arima, want ppo"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rg := newRig(t, tc.baa, 2)
			b := rg.step(t, 0)
			for _, typ := range []string{v1alpha1.ConditionScalingActive, v1alpha1.ConditionReady} {
				cond := meta.FindStatusCondition(b.Status.Conditions, typ)
				if cond == nil || cond.Status != metav1.ConditionFalse || cond.Reason != tc.reason {
					t.Fatalf("%s condition %+v, want False/%s", typ, cond, tc.reason)
				}
				for _, s := range tc.says {
					if !strings.Contains(cond.Message, s) {
						t.Errorf("%s message %q does not say %q", typ, cond.Message, s)
					}
				}
			}
			if !rg.events.has(tc.reason) {
				t.Errorf("no %s event: %v", tc.reason, rg.events.list)
			}
			if rg.r.Decisions() != 0 || len(rg.scaler.sets) != 0 {
				t.Errorf("a refused model decided: %d decisions, sets %v", rg.r.Decisions(), rg.scaler.sets)
			}
		})
	}
}

// rlModelBAA is modelBAA with spec.policy.rlModel.path set.
func rlModelBAA(forecaster, rlModel string) *v1alpha1.BurstAwareAutoscaler {
	b := modelBAA("arima", forecaster)
	b.Spec.Policy.RLModel = &v1alpha1.ModelRef{Path: rlModel}
	return b
}

// publishDir publishes the model directory's files as the champion of a new registry.
func publishDir(t *testing.T, dir string) string {
	t.Helper()
	reg := filepath.Join(t.TempDir(), "models")
	_, _, err := registry.Publish(reg, func(d string) error {
		ents, err := os.ReadDir(dir)
		if err != nil {
			return err
		}
		for _, e := range ents {
			b, err := os.ReadFile(filepath.Join(dir, e.Name()))
			if err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(d, e.Name()), b, 0o644); err != nil {
				return err
			}
		}
		return nil
	}, registry.Lineage{CodeVersion: "test"}, true)
	if err != nil {
		t.Fatal(err)
	}
	return reg
}
