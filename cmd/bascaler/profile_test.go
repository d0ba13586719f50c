package main

import (
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/perf"
)

func TestProfileWritesBalancedProfilingData(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.csv")
	if out, err := runCLI(t, "profile", "--profile", "fft", "--samples", "80", "--out", path, "--seed", "2"); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	data, err := perf.LoadProfilingCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	high := 0
	for _, s := range data {
		if s.LoadPerPod >= perf.FFT().MaxLoad/2 {
			high++
		}
	}
	if len(data) != 80 || high != 60 {
		t.Errorf("%d samples, %d in the upper half; want 80 and 60", len(data), high)
	}
}

func TestProfileFitPrintsTheCapacityAtTheSLO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.csv")
	if _, err := runCLI(t, "profile", "--samples", "200", "--out", path); err != nil {
		t.Fatal(err)
	}
	out, err := runCLI(t, "profile", "--in", path, "--fit", "--slo", "16ms", "--slo-metric", "mean", "--workload", "1000")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	m := regexp.MustCompile(`capacity at mean latency <= 16ms: ([0-9.]+) req/s per pod`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no capacity line in:\n%s", out)
	}
	got, _ := strconv.ParseFloat(m[1], 64)
	want, _ := perf.FFT().CapacityAt(perf.Mean, 16)
	if got < want-3 || got > want+3 {
		t.Errorf("capacity %.2f, the fft profile says %.2f", got, want)
	}
	if !strings.Contains(out, "replicas for 1000 req/s:") {
		t.Errorf("no replicas line:\n%s", out)
	}
}

func TestProfileReportsUnmeetableSLOsAndBadInput(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--samples", "100", "--fit", "--slo", "4ms"}, "no number of pods can meet it"},
		{nil, "nothing to do"},
		{[]string{"--in", "/does/not/exist.csv", "--fit"}, "no such file"},
		{[]string{"--samples", "50", "--fit", "--slo-metric", "p50"}, "unknown SLO metric"},
		{[]string{"--samples", "0", "--out", "-"}, "positive number of samples"},
	} {
		out, err := runCLI(t, append([]string{"profile"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want %q\n%s", c.args, err, c.want, out)
		}
	}
}

func TestProfileTestbedRefusesExistingData(t *testing.T) {
	_, err := run(t, "profile", "--testbed", "--in", "x.csv", "--fit")
	if err == nil || !strings.Contains(err.Error(), "--testbed and --in") {
		t.Fatalf("error %v, want a refusal naming --testbed and --in", err)
	}
}
