package features

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

func iv(k int) Interval {
	return Interval{Start: t0.Add(time.Duration(k) * time.Minute), Step: time.Minute, Rate: float64(100 + k),
		Errors: 0.5, LatencyMeanMS: 10, LatencyP95MS: 20, LatencyP99MS: 30, OverSLO: 0.01, CPU: 0.6,
		MemoryBytes: 1e8, Replicas: 3, Ready: 3}
}

type logs struct {
	mu    sync.Mutex
	lines []string
}

func (l *logs) logf(f string, a ...any) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.lines = append(l.lines, fmt.Sprintf(f, a...))
}

func open(t *testing.T, dir string, lg *logs) *Record {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.Logf = lg.logf
	r, err := s.Record("default_web")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestRecordRoundTripAndReopen(t *testing.T) {
	dir := t.TempDir()
	lg := &logs{}
	r := open(t, dir, lg)
	for k := 0; k < 10; k++ {
		if err := r.Append(iv(k)); err != nil {
			t.Fatal(err)
		}
	}
	// Re-appending a start replaces it.
	x := iv(3)
	x.Rate = 7
	if err := r.Append(x); err != nil {
		t.Fatal(err)
	}
	r2 := open(t, dir, lg)
	got := r2.Range(t0, t0.Add(time.Hour))
	if len(got) != 10 {
		t.Fatalf("reopened record holds %d intervals, want 10", len(got))
	}
	for k, g := range got {
		want := iv(k)
		if k == 3 {
			want.Rate = 7
		}
		if g != want {
			t.Fatalf("interval %d: got %+v want %+v", k, g, want)
		}
	}
	if len(lg.lines) != 0 {
		t.Fatalf("clean record logged %v", lg.lines)
	}
}

// Damage of the newest segment's tail: each case must keep the intact records and cut the
// rest with a log naming the problem.
func TestRecordCutsDamagedTail(t *testing.T) {
	cases := []struct {
		name   string
		damage func(b []byte) []byte
		keep   int
		why    string
	}{
		{"torn header", func(b []byte) []byte { return b[:len(b)-recordLen+5] }, 4, "torn record header"},
		{"torn payload", func(b []byte) []byte { return b[:len(b)-10] }, 4, "torn record"},
		{"flipped payload bit", func(b []byte) []byte { b[len(b)-recordLen+headerLen+20] ^= 1; return b }, 4, "checksum mismatch"},
		{"corrupt middle record", func(b []byte) []byte { b[2*recordLen+headerLen+3] ^= 0x80; return b }, 2, "checksum mismatch"},
		{"bad marker", func(b []byte) []byte { b[3*recordLen] = 'X'; return b }, 3, "bad record marker"},
		{"bad length", func(b []byte) []byte { b[3*recordLen+7] = 1; return b }, 3, "bad record length"},
		{"garbage appended", func(b []byte) []byte { return append(b, []byte("garbage+garbage")...) }, 5, "bad record marker"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := t.TempDir()
			lg := &logs{}
			r := open(t, dir, lg)
			for k := 0; k < 5; k++ {
				if err := r.Append(iv(k)); err != nil {
					t.Fatal(err)
				}
			}
			path := filepath.Join(dir, "default_web", segName(1))
			b, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(path, c.damage(b), 0o644); err != nil {
				t.Fatal(err)
			}
			r2 := open(t, dir, lg)
			if r2.Len() != c.keep {
				t.Fatalf("kept %d intervals, want %d", r2.Len(), c.keep)
			}
			if len(lg.lines) != 1 || !strings.Contains(lg.lines[0], c.why) || !strings.Contains(lg.lines[0], path) {
				t.Fatalf("log %q: want one line naming %q and the file", lg.lines, c.why)
			}
			// The cut is on disk, and appending continues after the good prefix.
			if err := r2.Append(iv(9)); err != nil {
				t.Fatal(err)
			}
			lg.lines = nil
			r3 := open(t, dir, lg)
			if r3.Len() != c.keep+1 || len(lg.lines) != 0 {
				t.Fatalf("after cut and append: %d intervals (want %d), logs %v", r3.Len(), c.keep+1, lg.lines)
			}
		})
	}
}

func TestRecordRotatesAndStaysBounded(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.MaxSegmentBytes = 10 * recordLen
	s.MaxSegments = 3
	r, err := s.Record("ns_a")
	if err != nil {
		t.Fatal(err)
	}
	for k := 0; k < 95; k++ {
		if err := r.Append(iv(k)); err != nil {
			t.Fatal(err)
		}
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "ns_a"))
	if len(ents) != 3 {
		t.Fatalf("%d segments on disk, want 3", len(ents))
	}
	// 95 records in segments of 10: segments 8, 9, 10 hold records 70..94.
	got := r.Range(t0, t0.Add(24*time.Hour))
	if len(got) != 25 || got[0] != iv(70) || got[24] != iv(94) {
		t.Fatalf("after rotation: %d intervals from %v", len(got), got[0].Start)
	}
	s2, _ := Open(dir)
	r2, _ := s2.Record("ns_a")
	if r2.Len() != 25 {
		t.Fatalf("reopened: %d intervals, want 25", r2.Len())
	}
	// A batch larger than a segment is split over segments.
	r.Append(batch(100, 135)...)
	if ents, _ := os.ReadDir(filepath.Join(dir, "ns_a")); len(ents) != 3 {
		t.Fatalf("%d segments after a large batch, want 3", len(ents))
	}
}

func batch(from, to int) []Interval {
	var out []Interval
	for k := from; k < to; k++ {
		out = append(out, iv(k))
	}
	return out
}

func TestRecordConcurrentTargets(t *testing.T) {
	dir := t.TempDir()
	s, err := Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s.MaxSegmentBytes = 16 * recordLen
	const targets, n = 6, 50
	var wg sync.WaitGroup
	errs := make(chan error, targets*2)
	for g := 0; g < targets; g++ {
		for w := 0; w < 2; w++ { // two writers per target: disjoint halves
			wg.Add(1)
			go func(g, w int) {
				defer wg.Done()
				r, err := s.Record(fmt.Sprintf("ns_t%d", g))
				if err != nil {
					errs <- err
					return
				}
				for k := w; k < n; k += 2 {
					x := iv(k)
					x.Rate = float64(g*1000 + k)
					if err := r.Append(x); err != nil {
						errs <- err
						return
					}
				}
			}(g, w)
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	s2, _ := Open(dir)
	for g := 0; g < targets; g++ {
		r, err := s2.Record(fmt.Sprintf("ns_t%d", g))
		if err != nil {
			t.Fatal(err)
		}
		got := r.Range(t0, t0.Add(time.Hour))
		if len(got) != n {
			t.Fatalf("target %d: %d intervals, want %d", g, len(got), n)
		}
		for k, x := range got {
			if x.Rate != float64(g*1000+k) || !x.Start.Equal(iv(k).Start) {
				t.Fatalf("target %d interval %d: %+v", g, k, x)
			}
		}
	}
}

func TestRecordRejectsBadInput(t *testing.T) {
	s, _ := Open(t.TempDir())
	for _, name := range []string{"", "../x", "a/b", ".hidden"} {
		if _, err := s.Record(name); err == nil {
			t.Errorf("target %q accepted", name)
		}
	}
	r, _ := s.Record("ns_x")
	bad := []Interval{{Start: t0, Step: 0, Rate: 1}, {Start: t0, Step: time.Minute, Rate: -1}, {Start: t0, Step: time.Minute, Rate: nanv()}}
	for i, b := range bad {
		if err := r.Append(b); err == nil {
			t.Errorf("bad interval %d accepted", i)
		}
	}
}

func nanv() float64 { var z float64; return z / z }

func TestRatesNamesMissingInterval(t *testing.T) {
	s, _ := Open(t.TempDir())
	r, _ := s.Record("ns_x")
	r.Append(batch(0, 5)...)
	r.Append(batch(6, 8)...)
	v, err := r.Rates(t0, t0.Add(5*time.Minute), time.Minute)
	if err != nil || len(v) != 5 || v[4] != 104 {
		t.Fatalf("rates %v, %v", v, err)
	}
	_, err = r.Rates(t0, t0.Add(8*time.Minute), time.Minute)
	if err == nil || !strings.Contains(err.Error(), "2026-01-01T00:05:00Z") {
		t.Fatalf("missing interval: err %v", err)
	}
}
