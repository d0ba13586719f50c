package perf

import (
	"bytes"
	"math"
	"testing"
)

// A profile written with WriteProfileCSV reads back as the same curve: the same saturation
// load and the same operating point at every load, including past saturation.
func TestWriteProfileCSVRoundTrips(t *testing.T) {
	short, err := NewProfile("short-sat", []Point{{Load: 0, MeanMS: 5, P95MS: 6, P99MS: 7, CPU: 0},
		{Load: 40, MeanMS: 8, P95MS: 12, P99MS: 20, CPU: 0.5}, {Load: 90, MeanMS: 30, P95MS: 50, P99MS: 90, CPU: 1}}, 60)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range []*Profile{FFT(), short} {
		var b bytes.Buffer
		if err := WriteProfileCSV(&b, p); err != nil {
			t.Fatal(err)
		}
		q, err := ReadProfileCSV(bytes.NewReader(b.Bytes()), "written", p.Name)
		if err != nil {
			t.Fatalf("%s: %v\n%s", p.Name, err, b.String())
		}
		if q.MaxLoad != p.MaxLoad {
			t.Fatalf("%s: saturation %g read back as %g", p.Name, p.MaxLoad, q.MaxLoad)
		}
		for load := 0.0; load <= 1.5*p.MaxLoad; load += p.MaxLoad / 37 {
			a, c := p.At(load), q.At(load)
			for _, d := range [][2]float64{{a.MeanMS, c.MeanMS}, {a.P95MS, c.P95MS}, {a.P99MS, c.P99MS}, {a.CPU, c.CPU}} {
				if math.Abs(d[0]-d[1]) > 1e-9*math.Max(1, math.Abs(d[0])) {
					t.Fatalf("%s at load %g: %+v, read back %+v", p.Name, load, a, c)
				}
			}
		}
	}
}
