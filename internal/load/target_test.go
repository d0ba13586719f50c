package load

import (
	"strings"
	"testing"
)

func TestParseTarget(t *testing.T) {
	for _, tc := range []struct {
		in     string
		url    string
		weight float64
		err    string
	}{
		{in: "http://127.0.0.1:8080/fft", url: "http://127.0.0.1:8080/fft", weight: 1},
		{in: "http://127.0.0.1:8080/a=3", url: "http://127.0.0.1:8080/a", weight: 3},
		{in: "https://svc.local/x?q=b", url: "https://svc.local/x?q=b", weight: 1},
		{in: "http://h/?n=3=0.5", url: "http://h/?n=3", weight: 0.5},
		{in: "http://h/=0", err: "weight 0"},
		{in: "http://h/=-2", err: "weight -2"},
		{in: "http://h/=NaN", err: "weight NaN"},
		{in: "ftp://h/", err: "scheme"},
		{in: "127.0.0.1:8080", err: "scheme"},
		{in: "http:///path", err: "no host"},
		{in: "http://h/%zz", err: "invalid URL escape"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseTarget(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one mentioning %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.URL != tc.url || got.Weight != tc.weight {
				t.Errorf("got %q weight %g, want %q weight %g", got.URL, got.Weight, tc.url, tc.weight)
			}
		})
	}
}

func TestPickerSplitsExactlyByWeightAndInterleaves(t *testing.T) {
	p := newPicker([]Target{{URL: "a", Weight: 3}, {URL: "b", Weight: 1}, {URL: "c", Weight: 0.5}})
	counts := make([]int, 3)
	run, longest, last := 0, 0, -1
	for range 900 {
		i := p.next()
		counts[i]++
		if i == last {
			run++
		} else {
			run = 1
		}
		longest, last = max(longest, run), i
	}
	if counts[0] != 600 || counts[1] != 200 || counts[2] != 100 {
		t.Errorf("900 picks split %v, want [600 200 100]", counts)
	}
	if longest > 3 {
		t.Errorf("%d picks of one target in a row; weights 3:1:0.5 should interleave", longest)
	}
}
