package perf

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestSampleProfileBalancesLoadsAsThePaper(t *testing.T) {
	p := FFT()
	s, err := SampleProfile(p, SamplingOptions{Samples: 400, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	high := 0
	for _, x := range s {
		if x.LoadPerPod < 0 || x.LoadPerPod > p.MaxLoad {
			t.Fatalf("load %g outside [0, %g]", x.LoadPerPod, p.MaxLoad)
		}
		if x.LoadPerPod >= p.MaxLoad/2 {
			high++
		}
		if !(x.MeanMS > 0 && x.P95MS >= x.MeanMS && x.P99MS >= x.P95MS) || x.Replicas < 1 || x.Replicas > 8 {
			t.Fatalf("inconsistent sample %+v", x)
		}
	}
	if high != 300 {
		t.Errorf("%d of 400 samples in the upper half, want 300", high)
	}
}

func TestSampleProfileNoiseIsSmallAndUnbiased(t *testing.T) {
	p := FFT()
	s, err := SampleProfile(p, SamplingOptions{Samples: 2000, Seed: 2})
	if err != nil {
		t.Fatal(err)
	}
	var relSum, relSq float64
	for _, x := range s {
		rel := x.MeanMS/p.At(x.LoadPerPod).MeanMS - 1
		relSum += rel
		relSq += rel * rel
	}
	n := float64(len(s))
	bias, sd := relSum/n, math.Sqrt(relSq/n-(relSum/n)*(relSum/n))
	// The shared slowdown has sd 3%, the sampling error of a mean adds about 1%.
	if math.Abs(bias) > 0.01 || sd < 0.02 || sd > 0.05 {
		t.Errorf("relative error of the mean latency: bias %.4f, sd %.4f; want |bias| <= 0.01, sd in [0.02, 0.05]", bias, sd)
	}
}

func TestSampleProfileIsDeterministicPerSeed(t *testing.T) {
	a, _ := SampleProfile(FFT(), SamplingOptions{Samples: 50, Seed: 9})
	b, _ := SampleProfile(FFT(), SamplingOptions{Samples: 50, Seed: 9})
	c, _ := SampleProfile(FFT(), SamplingOptions{Samples: 50, Seed: 10})
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("sample %d differs for the same seed", i)
		}
	}
	if a[0] == c[0] {
		t.Error("different seeds gave the same first sample")
	}
}

func TestSampleProfileRejectsBadOptions(t *testing.T) {
	for _, o := range []SamplingOptions{{Samples: 0}, {Samples: 10, HighShare: 1.5}, {Samples: 10, MaxReplicas: -1}} {
		if _, err := SampleProfile(FFT(), o); err == nil {
			t.Errorf("options %+v accepted", o)
		}
	}
}

func TestProfilingCSVRoundTrips(t *testing.T) {
	s, _ := SampleProfile(FFT(), SamplingOptions{Samples: 30, Seed: 3})
	var buf bytes.Buffer
	if err := WriteProfilingCSV(&buf, s); err != nil {
		t.Fatal(err)
	}
	got, err := ReadProfilingCSV(&buf, "mem.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(s) {
		t.Fatalf("%d rows back, wrote %d", len(got), len(s))
	}
	for i := range s {
		if math.Abs(got[i].MeanMS-s[i].MeanMS) > 1e-5*s[i].MeanMS || got[i].Replicas != s[i].Replicas {
			t.Fatalf("row %d: %+v vs %+v", i, got[i], s[i])
		}
	}
}

func TestReadProfilingCSVNamesTheBadField(t *testing.T) {
	const head = "load_per_pod,replicas,cpu_pct,latency_mean_ms,latency_p95_ms,latency_p99_ms,error_rate\n"
	cases := []struct{ name, in, want string }{
		{"empty", "", "p.csv: empty file"},
		{"missing column", "load_per_pod,replicas\n1,2\n", "p.csv:1: header lacks column(s) [cpu_pct"},
		{"not a number", head + "10,1,9,10,12,14,0\n20,1,x,10,12,14,0\n", "p.csv:3: cpu_pct: \"x\" is not a number"},
		{"negative", head + "10,1,9,-10,12,14,0\n", "p.csv:2: latency_mean_ms: -10 must be finite and non-negative"},
		{"NaN", head + "10,1,9,10,NaN,14,0\n", "p.csv:2: latency_p95_ms: NaN must be finite"},
		{"fractional replicas", head + "10,1.5,9,10,12,14,0\n", "p.csv:2: replicas: 1.5 must be a positive integer"},
		{"error rate above 1", head + "10,1,9,10,12,14,2\n", "p.csv:2: error_rate: 2 is a share"},
		{"short row", head + "10,1,9\n", "p.csv:2: 3 fields, the header has 7"},
		{"header only", head, "p.csv: no data rows"},
		{"duplicate column", "load_per_pod,load_per_pod\n", "column \"load_per_pod\" appears twice"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := ReadProfilingCSV(strings.NewReader(c.in), "p.csv")
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("error %v, want it to contain %q", err, c.want)
			}
		})
	}
}

func TestReadProfilingCSVAcceptsReorderedAndExtraColumns(t *testing.T) {
	in := "replicas,load_per_pod,note,cpu_pct,latency_mean_ms,latency_p95_ms,latency_p99_ms,error_rate\n3,40,warm,36,10,12,14,0.01\n"
	got, err := ReadProfilingCSV(strings.NewReader(in), "p.csv")
	if err != nil {
		t.Fatal(err)
	}
	want := ProfilingSample{LoadPerPod: 40, Replicas: 3, CPUPct: 36, MeanMS: 10, P95MS: 12, P99MS: 14, ErrorRate: 0.01}
	if got[0] != want {
		t.Errorf("got %+v, want %+v", got[0], want)
	}
}
