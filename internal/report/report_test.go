package report

import (
	"bytes"
	"encoding/csv"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/measure"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/sim"
)

// runFixed simulates static:n over rates: real records with real explanations (the test
// imports the simulator; the package itself reads only measure types).
func runFixed(t *testing.T, n int, rates []float64) measure.Result {
	t.Helper()
	p, err := policy.New("static:"+strconv.Itoa(n), policy.Env{Interval: time.Minute, Min: 1, Max: 50, Profile: perf.FFT(),
		SLO: policy.SLO{TargetMS: 16}})
	if err != nil {
		t.Fatal(err)
	}
	cfg := sim.DefaultConfig()
	cfg.Initial = n
	res, err := sim.Run(cfg, rates, time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), p)
	if err != nil {
		t.Fatal(err)
	}
	return res
}

func TestTableShowsCostRelativeToTheOracle(t *testing.T) {
	aggs := []measure.Aggregate{
		{Policy: "hpa", Seeds: 1, Summary: measure.Summary{CostPodHours: 12, SLOViolationRate: 0.05}},
		{Policy: "oracle", Seeds: 1, Summary: measure.Summary{CostPodHours: 10}},
	}
	var b bytes.Buffer
	if err := Table(&b, "w", 100, aggs); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{"workload w, 100 intervals", "1.20", "5.00%", "oracle"} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestIntervalsCSVHasOneRowPerIntervalAndQuotesExplanations(t *testing.T) {
	res := runFixed(t, 5, []float64{300, 400, 500})
	var b bytes.Buffer
	if err := Intervals(&b, res); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatalf("not valid CSV: %v", err)
	}
	if len(rows) != 4 {
		t.Fatalf("%d rows, want a header and 3 intervals", len(rows))
	}
	if h := rows[0]; h[0] != "start" || h[len(h)-1] != "explanation" {
		t.Errorf("header %v", h)
	}
	if !strings.Contains(rows[1][len(rows[1])-1], "->") {
		t.Errorf("explanation %q is not the rendered decision", rows[1][len(rows[1])-1])
	}
}

func TestPlotsAndIndexAreWritten(t *testing.T) {
	dir := t.TempDir()
	rates := make([]float64, 4000) // longer than maxPlotPoints: the lines are reduced
	for i := range rates {
		rates[i] = 200 + float64(i%100)
	}
	res := runFixed(t, 5, rates)
	files, err := Plots(dir, []measure.Result{res}, 16, perf.Mean)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.Contains(b, []byte("<svg")) {
			t.Errorf("%s is not an SVG: %v", f, err)
		}
	}
	idx := filepath.Join(dir, "index.html")
	if err := WriteIndex(idx, "t <&>", []Section{{Workload: "w", Table: "a<b", Images: files}}); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(idx)
	if !bytes.Contains(b, []byte("a&lt;b")) || !bytes.Contains(b, []byte("latency.svg")) || bytes.Contains(b, []byte("<script")) {
		t.Errorf("index.html does not escape or link as expected:\n%s", b)
	}
}
