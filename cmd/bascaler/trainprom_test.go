package main

import (
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/promserver"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/series"
)

// knownRates is the workload the test Prometheus holds: req/s per one-minute period, a
// daily-like wave with a burst, whole numbers so the counter increments are exact.
func knownRates(n int) []float64 {
	r := make([]float64, n)
	for i := range r {
		r[i] = math.Round(40 + 25*math.Sin(2*math.Pi*float64(i)/180))
		if i >= 300 && i < 310 {
			r[i] += 60
		}
	}
	return r
}

// backfilledPrometheus writes the rates as http_requests_total counters of two pods of
// "web" (60/40) and one unrelated pod, scraped every 15 s, into a TSDB with promtool, and
// serves it with a real Prometheus.
func backfilledPrometheus(t *testing.T, start time.Time, rates []float64) *promserver.Server {
	t.Helper()
	bin, err := promserver.Find()
	promtool, terr := exec.LookPath("promtool")
	if err != nil || terr != nil {
		msg := fmt.Sprintf("needs prometheus and promtool (%v; %v): %s", err, terr, promserver.InstallHint)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	var b strings.Builder
	b.WriteString("# HELP http_requests Requests served.\n# TYPE http_requests counter\n")
	pods := []struct {
		name  string
		share float64
	}{{"web-0", 0.6}, {"web-1", 0.4}, {"db-0", 2}}
	for _, p := range pods {
		total := 0.0
		fmt.Fprintf(&b, "http_requests_total{namespace=\"shop\",pod=%q} 0 %d\n", p.name, start.Unix())
		for i, r := range rates {
			for k := 1; k <= 4; k++ { // four scrapes per minute
				total += r * p.share * 15
				ts := start.Add(time.Duration(i)*time.Minute + time.Duration(k)*15*time.Second)
				fmt.Fprintf(&b, "http_requests_total{namespace=\"shop\",pod=%q} %g %d\n", p.name, total, ts.Unix())
			}
		}
	}
	b.WriteString("# EOF\n")
	om := filepath.Join(dir, "series.om")
	if err := os.WriteFile(om, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	data := filepath.Join(dir, "tsdb")
	if out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", om, data).CombinedOutput(); err != nil {
		t.Fatalf("promtool: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	srv, err := promserver.Start(ctx, promserver.Options{Binary: bin, DataDir: data, Retention: 24 * 365 * 10 * time.Hour,
		Jobs: map[string][]string{"nothing": {"127.0.0.1:9"}}}) // a job is required; it scrapes nothing
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	return srv
}

func TestTrainFromPrometheusEqualsTrainingFromTheSameSeriesInACSV(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rates := knownRates(480)
	srv := backfilledPrometheus(t, start, rates)
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
	srv := backfilledPrometheus(t, start, knownRates(30))
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
