package replica

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestThrottleBookSumsLiveAndReleasedGroups(t *testing.T) {
	parent := t.TempDir()
	write := func(name, body string) string {
		dir := filepath.Join(parent, name)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cpu.stat"), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return dir
	}
	a := write("fft-0", "nr_periods 100\nnr_throttled 30\nthrottled_time 2500000000\n")
	write("fft-1", "nr_periods 50\nnr_throttled 5\nthrottled_time 500000000\n")
	var b throttleBook
	got, err := b.total(parent)
	if err != nil || got != (Throttling{Periods: 150, Throttled: 35, ThrottledTime: 3 * time.Second}) {
		t.Fatalf("total %+v, %v", got, err)
	}
	// fft-0 exits: its account moves to the released sum and the total does not drop.
	b.release(a)
	if err := os.RemoveAll(a); err != nil {
		t.Fatal(err)
	}
	if got2, err := b.total(parent); err != nil || got2 != got {
		t.Fatalf("after release: %+v, %v; want %+v", got2, err, got)
	}
	if f := got.ThrottledFraction(); f != 35.0/150 {
		t.Errorf("fraction %v", f)
	}
	if d := got.Sub(Throttling{Periods: 100, Throttled: 30, ThrottledTime: 2500 * time.Millisecond}); d != (Throttling{50, 5, 500 * time.Millisecond}) {
		t.Errorf("sub %+v", d)
	}
}

func TestReadCPUStatV2UsesMicroseconds(t *testing.T) {
	p := filepath.Join(t.TempDir(), "cpu.stat")
	body := "usage_usec 9000\nuser_usec 8000\nsystem_usec 1000\nnr_periods 10\nnr_throttled 4\nthrottled_usec 250000\n"
	if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err := readCPUStat(p, true)
	if err != nil || got != (Throttling{Periods: 10, Throttled: 4, ThrottledTime: 250 * time.Millisecond}) {
		t.Fatalf("%+v, %v", got, err)
	}
	if err := os.WriteFile(p, []byte("nr_periods ten\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := readCPUStat(p, false); err == nil {
		t.Error("a malformed cpu.stat: want an error")
	}
}
