package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/testenv"
)

func TestTrainFromPrometheusEqualsTrainingFromTheSameSeriesInACSV(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rates := testenv.KnownRates(480)
	srv := testenv.BackfilledPrometheus(t, testenv.KnownWorkload{Start: start, Rates: rates})
	t.Setenv("CI", "true")
	reg := filepath.Join(t.TempDir(), "models")
	// The first period is skipped: its rate window would reach before the first sample.
	from, to := start.Add(time.Minute), start.Add(480*time.Minute)
	common := []string{"--model", "holt-winters", "--horizon", "6", "--split", "0.75,0.25,0", "--normalize", "none", "--seed", "7"}
	trainInto(t, "", "", reg, false, append([]string{"--prometheus", srv.URL, "--preset", "http", "--namespace", "shop",
		"--target", "web", "--start", from.Format(time.RFC3339), "--end", to.Format(time.RFC3339), "--step", "1m"}, common...)...)
	d := modelsList(t, reg)
	if len(d.Versions) != 1 {
		t.Fatalf("%d versions after training from Prometheus", len(d.Versions))
	}
	lp := d.Versions[0].Lineage
	pr := lp.Data.Prometheus
	if lp.Data.Source != "prometheus" || pr == nil || !strings.Contains(pr.Query, `http_requests_total{namespace="shop",pod=~"web-.*"}[60s]`) ||
		!pr.Start.Equal(from) || !pr.End.Equal(to) || pr.Step != "1m0s" || pr.Address != srv.URL {
		t.Fatalf("prometheus lineage %+v %+v", lp.Data, pr)
	}

	// The same series, as a CSV: the known rates of the periods read (the unrelated pod
	// must not be in it), written as a trace is: requests per step (per minute).
	counts := make([]float64, len(rates)-1)
	for i, r := range rates[1:] {
		counts[i] = r * 60
	}
	want := series.Series{Name: "known", Start: from, Step: time.Minute, Values: counts}
	csv := filepath.Join(t.TempDir(), "known.csv")
	f, _ := os.Create(csv)
	if err := series.Write(f, want); err != nil {
		t.Fatal(err)
	}
	f.Close()
	trainInto(t, csv, "", reg, false, append([]string{"--prometheus", ""}, common...)...)
	d = modelsList(t, reg)
	if len(d.Versions) != 2 {
		t.Fatalf("%d versions, want 2", len(d.Versions))
	}
	var lc registry.Lineage
	for _, v := range d.Versions {
		if v.Lineage.Data.Source == "trace" {
			lc = v.Lineage
		}
	}
	if lc.Data.SeriesDigest != lp.Data.SeriesDigest {
		t.Errorf("series digest from Prometheus %s, from the CSV %s: Prometheus did not return the known series", lp.Data.SeriesDigest, lc.Data.SeriesDigest)
	}
	if got, want := lp.Files["state.bin"].SHA256, lc.Files["state.bin"].SHA256; got != want {
		t.Errorf("fitted state differs: %s from Prometheus, %s from the CSV", registry.Short(got), registry.Short(want))
	}
	if fmt.Sprint(lp.Params, lp.Kind, lp.Seed, lp.Data.Train, lp.Validation) != fmt.Sprint(lc.Params, lc.Kind, lc.Seed, lc.Data.Train, lc.Validation) {
		t.Errorf("parameters or windows differ:\nprometheus %v %s %d %+v %v\ncsv        %v %s %d %+v %v", lp.Params, lp.Kind, lp.Seed, lp.Data.Train, lp.Validation,
			lc.Params, lc.Kind, lc.Seed, lc.Data.Train, lc.Validation)
	}
}

func TestTrainFromPrometheusRejectsBadRangesAndGaps(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	srv := testenv.BackfilledPrometheus(t, testenv.KnownWorkload{Start: start, Rates: testenv.KnownRates(30)})
	t.Setenv("CI", "true")
	reg := filepath.Join(t.TempDir(), "models")
	ts := func(m int) string { return start.Add(time.Duration(m) * time.Minute).Format(time.RFC3339) }
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"--start", ts(10), "--end", ts(5)}, "want start before end"},
		{[]string{"--start", "yesterday", "--end", ts(5)}, "--start"},
		{[]string{"--start", ts(1), "--end", ts(20), "--step", "7m"}, "whole number of steps"},
		// Periods after the data ends (00:30) have no rate.
		{[]string{"--start", ts(1), "--end", ts(60)}, "have no rate, the first starting " + ts(30)},
		{[]string{"--start", ts(1), "--end", ts(20), "--target", "nosuch"}, "no data"},
		{[]string{"--start", ts(1), "--end", ts(20), "--preset", "custom"}, "want a preset with a rate query"},
	}
	for _, c := range cases {
		args := append([]string{"forecast", "train", "--trace", "", "--model", "naive", "--out", "", "--registry", reg, "--promote=false",
			"--prometheus", srv.URL, "--namespace", "shop", "--target", "web", "--preset", "http", "--step", "1m"}, c.args...)
		out, err := runCLI(t, args...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: %v, want an error containing %q\n%s", c.args, err, c.want, out)
		}
	}
	if out, err := runCLI(t, "forecast", "train", "--trace", "synthetic", "--prometheus", srv.URL, "--model", "naive", "--registry", reg); err == nil ||
		!strings.Contains(err.Error(), "exclude each other") {
		t.Errorf("--trace with --prometheus: %v\n%s", err, out)
	}
}
