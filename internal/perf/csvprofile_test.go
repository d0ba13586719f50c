package perf

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadProfileCSVBuildsTheProfile(t *testing.T) {
	in := "load,mean_ms,p95_ms,p99_ms,cpu_pct\n100,30,60,90,90\n0,10,12,14,0\n50,12,20,30,45\n"
	p, err := ReadProfileCSV(strings.NewReader(in), "x.csv", "x")
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxLoad != 100 || len(p.Points) != 3 {
		t.Fatalf("max load %g, %d points", p.MaxLoad, len(p.Points))
	}
	if got := p.At(75); math.Abs(got.MeanMS-21) > 0.05 || math.Abs(got.CPU-0.675) > 0.01 {
		t.Errorf("At(75) = %+v, want mean 21 ms, cpu 0.675", got)
	}
}

func TestReadProfileCSVNamesTheBadField(t *testing.T) {
	const head = "load,mean_ms,p95_ms,p99_ms,cpu_pct\n"
	cases := []struct{ name, in, want string }{
		{"no header", "", "x.csv: empty file"},
		{"wrong header", "a,b\n1,2\n", "x.csv:1: header lacks column(s) [load mean_ms p95_ms p99_ms cpu_pct]"},
		{"text", head + "0,10,12,14,0\n10,ten,12,14,5\n", "x.csv:3: mean_ms: \"ten\" is not a number"},
		{"negative cpu", head + "0,10,12,14,-3\n", "x.csv:2: cpu_pct: -3 must be finite"},
		{"zero mean", head + "0,0,12,14,0\n", "x.csv:2: mean_ms: must be positive"},
		{"p99 below p95", head + "0,10,12,11,0\n", "x.csv:2: p99_ms: 11 is below p95_ms"},
		{"duplicate load", head + "0,10,12,14,0\n0,11,12,14,0\n", "x.csv:3: load: 0 already given on line 2"},
		{"too many fields", head + "0,10,12,14,0,7\n", "x.csv:2: 6 fields, the header has 5"},
		{"header only", head, "x.csv: no data rows"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadProfileCSV(strings.NewReader(c.in), "x.csv", "x")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestLoadProfileCSVFitsProfilingData(t *testing.T) {
	s, err := SampleProfile(FFT(), SamplingOptions{Samples: 200, Seed: 5})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := WriteProfilingCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "measured.csv")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := LoadProfileCSV(path)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "measured" {
		t.Errorf("name %q", p.Name)
	}
	want, _ := FFT().CapacityAt(Mean, 16)
	got, err := p.CapacityAt(Mean, 16)
	if err != nil || math.Abs(got-want) > 3 {
		t.Errorf("capacity of the fitted profile at 16 ms: %.2f (%v), the fft profile says %.2f", got, err, want)
	}
}

func TestReadProfileCSVToleratesSpreadsheetFormatting(t *testing.T) {
	in := "\ufeffload, mean_ms, p95_ms, p99_ms, cpu_pct\r\n0, 10, 12, 14, 0\r\n100, 30, 60, 90, 90\r\n"
	p, err := ReadProfileCSV(strings.NewReader(in), "x.csv", "x")
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxLoad != 100 || math.Abs(p.At(50).MeanMS-20) > 1e-9 {
		t.Errorf("max load %g, mean at 50 %g", p.MaxLoad, p.At(50).MeanMS)
	}
	prof := "\ufeffload_per_pod , replicas,cpu_pct,latency_mean_ms,latency_p95_ms,latency_p99_ms,error_rate\r\n 40 ,3,36,10,12,14,0\r\n"
	if s, err := ReadProfilingCSV(strings.NewReader(prof), "p.csv"); err != nil || s[0].LoadPerPod != 40 {
		t.Errorf("profiling CSV with spaces and CRLF: %v, %v", s, err)
	}
	// The layout is recognised despite the byte-order mark: profiling data gets fitted.
	if _, err := ReadProfileCSV(strings.NewReader(prof), "p.csv", "p"); err == nil || !strings.Contains(err.Error(), "at least 3 profiling samples") {
		t.Errorf("one profiling row read as a profile: %v", err)
	}
}
