package testbed

import (
	"strings"
	"testing"
)

func TestBurstsRankNonOverlappingWindows(t *testing.T) {
	v := make([]float64, 400)
	for i := range v {
		v[i] = 10
	}
	for i := 150; i < 160; i++ {
		v[i] = 50 // 5x the hour before, for ten points
	}
	for i := 300; i < 305; i++ {
		v[i] = 30 // 3x for five
	}
	v[200] = 100 // a one-point spike: 100+4x10 over 5 points = 2.8x, below both
	v[320] = 25  // inside the window of the 300 burst once that one is taken
	bs := Bursts(v, 30, 100, 5)
	if len(bs) < 2 || bs[0].Peak != 150 || bs[0].Start != 140 || bs[0].Ratio != 5 || bs[1].Peak != 300 {
		t.Fatalf("bursts %+v: want the 5x peak at 150 (window from 140) then the 3x at 300", bs)
	}
	for i, a := range bs {
		for _, b := range bs[i+1:] {
			if a.Start < b.Start+30 && b.Start < a.Start+30 {
				t.Errorf("windows %+v and %+v overlap", a, b)
			}
		}
		if a.Start < 100 || a.Start+30 > len(v) {
			t.Errorf("window %+v leaves no history or runs past the trace", a)
		}
	}
	// 151 overlaps 150's window: not a separate candidate.
	for _, b := range bs {
		if b.Peak == 151 || b.Peak == 320 {
			t.Errorf("overlapping candidate %+v taken", b)
		}
	}
}

func TestParseStart(t *testing.T) {
	v := make([]float64, 400)
	for i := range v {
		v[i] = 10
	}
	for i := 150; i < 155; i++ {
		v[i] = 50
	}
	if s, err := ParseStart("burst:1", v, 30, 100); err != nil || s != 140 {
		t.Errorf("burst:1 -> %d, %v; want 140", s, err)
	}
	if s, err := ParseStart("17", v, 30, 100); err != nil || s != 17 {
		t.Errorf("17 -> %d, %v", s, err)
	}
	for in, want := range map[string]string{"x": "point index", "burst:0": "positive", "burst:50": "only"} {
		if _, err := ParseStart(in, v, 30, 100); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: error %v, want %q", in, err, want)
		}
	}
}
