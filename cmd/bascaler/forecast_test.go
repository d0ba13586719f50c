package main

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/forecast"
)

// runCLI executes the root command in-process and returns stdout and the error.
func runCLI(t *testing.T, args ...string) (string, error) {
	t.Helper()
	var out bytes.Buffer
	rootCmd.SetOut(&out)
	rootCmd.SetErr(&out)
	rootCmd.SetArgs(args)
	err := rootCmd.Execute()
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
