package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/series"
)

// runCLI executes a fresh command tree in-process and returns stdout and stderr together.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func TestForecastBacktestPrintsOneJSONObjectWithARowPerModelAndAuto(t *testing.T) {
	t.Setenv("CI", "true")
	out, err := runCLI(t, "forecast", "backtest", "--trace", "synthetic:steady", "--models", "naive,seasonal-naive,holt-winters,arima",
		"--horizon", "12", "--format", "json", "--max-origins", "40", "--seed", "3", "--online-calibration", "aci")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var rep map[string]any
	if err := dec.Decode(&rep); err != nil {
		t.Fatalf("output is not JSON: %v\n%s", err, out)
	}
	if dec.More() {
		t.Fatalf("more than one JSON value in output:\n%s", out)
	}
	if rep["trace"] != "synthetic:steady" || rep["horizon"] != 12.0 || rep["online_calibration"] != "aci" {
		t.Errorf("trace/horizon/online_calibration: %v %v %v", rep["trace"], rep["horizon"], rep["online_calibration"])
	}
	rows := rep["results"].([]any)
	var models []string
	for _, r := range rows {
		row := r.(map[string]any)
		models = append(models, row["model"].(string))
		for _, k := range []string{"mae", "rmse", "smape", "mase", "pinball_mean", "qrisk_50", "qrisk_90", "coverage_80",
			"coverage_98", "width_80", "width_98", "fit_seconds", "predict_ms"} {
			if _, ok := row[k].(float64); !ok {
				t.Errorf("row %s: %s = %v, want a number", row["model"], k, row[k])
			}
		}
	}
	if got := strings.Join(models, ","); got != "naive,seasonal-naive,holt-winters,arima,auto" {
		t.Errorf("rows %s", got)
	}
	auto := rows[len(rows)-1].(map[string]any)
	if sel, _ := auto["selected"].(string); sel == "" || sel == "auto" {
		t.Errorf("auto row selected %q", sel)
	}
}

func TestForecastTrainThenPredict(t *testing.T) {
	t.Setenv("CI", "true")
	dir := filepath.Join(t.TempDir(), "model")
	if out, err := runCLI(t, "forecast", "train", "--trace", "synthetic:steady", "--model", "holt-winters", "--out", dir, "--horizon", "6"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := runCLI(t, "forecast", "predict", "--model", dir, "--trace", "synthetic:steady", "--horizon", "6", "--format", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var p struct {
		Model  string      `json:"model"`
		Levels []float64   `json:"levels"`
		Q      [][]float64 `json:"q"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if p.Model != "holt-winters" || len(p.Q) != 6 || len(p.Q[0]) != len(p.Levels) {
		t.Errorf("prediction %+v", p)
	}
}

func TestForecastRejectsBadInputWithOneClearError(t *testing.T) {
	t.Setenv("CI", "true")
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"forecast", "backtest", "--trace", "synthetic", "--models", "prophet"}, `unknown model "prophet"`},
		{[]string{"forecast", "backtest", "--trace", "/nonexistent.csv", "--models", "naive"}, "nonexistent.csv"},
		{[]string{"forecast", "backtest", "--trace", "synthetic", "--models", "naive", "--normalize", "zscore"}, "--normalize"},
		{[]string{"forecast", "backtest", "--trace", "synthetic", "--models", "naive", "--horizon", "0", "--normalize", ""}, "--horizon"},
		{[]string{"forecast", "predict", "--model", "/nonexistent-model", "--trace", "synthetic", "--horizon", "3"}, "does not exist"},
	}
	for _, c := range cases {
		out, err := runCLI(t, c.args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: err %v, want one containing %q\n%s", c.args, err, c.want, out)
		}
	}
}

func TestModelsAllMeansEveryRegisteredKindButAuto(t *testing.T) {
	kinds, err := fcParseModels("all")
	if err != nil {
		t.Fatal(err)
	}
	want := 0
	for _, k := range forecast.Kinds() {
		if k != "auto" {
			want++
		}
	}
	if len(kinds) != want || want < 4 {
		t.Errorf("all = %v, want the %d registered kinds other than auto", kinds, want)
	}
	for _, k := range kinds {
		if k == "auto" {
			t.Error("auto listed as a candidate of itself")
		}
	}
}

// writeCountsTrace writes a per-minute trace of request counts around 600 per minute
// (10 req/s) with a daily cycle, n points.
func writeCountsTrace(t *testing.T, n int) (string, []float64) {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	counts := make([]float64, n)
	for i := range counts {
		counts[i] = math.Round(600 + 240*math.Sin(2*math.Pi*float64(i)/1440) + 30*math.Sin(float64(i)))
		fmt.Fprintf(&b, "%d,%g\n", 1_700_000_000+60*i, counts[i])
	}
	p := filepath.Join(t.TempDir(), "counts.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	return p, counts
}

// Forecasters train and predict in req/s, as the simulator feeds them: a per-minute trace of
// counts is divided by 60 first. With --normalize none a model trained on counts would
// forecast about 600; in req/s it forecasts about 10. With --normalize paper the saved
// normaliser is fitted on the training split in req/s, so the controller and the simulator,
// which hold req/s, can apply it.
func TestForecastTrainsAndPredictsInRequestsPerSecond(t *testing.T) {
	t.Setenv("CI", "true")
	trace, counts := writeCountsTrace(t, 3*1440)
	dir := filepath.Join(t.TempDir(), "none")
	if out, err := runCLI(t, "forecast", "train", "--trace", trace, "--normalize", "none", "--model", "naive", "--out", dir, "--horizon", "3"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	out, err := runCLI(t, "forecast", "predict", "--model", dir, "--trace", trace, "--horizon", "3", "--format", "json")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	var p struct {
		Levels []float64   `json:"levels"`
		Q      [][]float64 `json:"q"`
		Units  string      `json:"units"`
	}
	if err := json.Unmarshal([]byte(out), &p); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	last := counts[len(counts)-1] / 60
	mid := p.Q[0][len(p.Levels)/2] // DefaultLevels has 0.5 in the middle
	if p.Units != "req/s" || math.Abs(mid-last) > 0.5*last {
		t.Errorf("naive forecast %v %s after a last point of %v counts/min (%v req/s), want about %v req/s", mid, p.Units, counts[len(counts)-1], last, last)
	}

	dir = filepath.Join(t.TempDir(), "paper")
	if out, err := runCLI(t, "forecast", "train", "--trace", trace, "--model", "naive", "--out", dir, "--horizon", "3"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	_, man, err := forecast.LoadModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	rates := make([]float64, len(counts)*6/10) // the default 0.6 training split
	for i := range rates {
		rates[i] = counts[i] / 60
	}
	want, err := series.FitPaper(rates)
	if err != nil {
		t.Fatal(err)
	}
	if man.Normalizer == nil || math.Abs(man.Normalizer.Mean-want.Mean) > 1e-9 || math.Abs(man.Normalizer.Std-want.Std) > 1e-9 {
		t.Errorf("saved normaliser %+v, want the paper fit on the training split in req/s (mean %v, std %v)", man.Normalizer, want.Mean, want.Std)
	}
}
