package loadgen

import (
	"context"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func mustSchedule(t *testing.T, rates []float64, iv time.Duration) *Schedule {
	t.Helper()
	s, err := NewSchedule(rates, iv)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestScheduleSpacesRequestsByIntervalRate(t *testing.T) {
	s := mustSchedule(t, []float64{10, 0, 4}, time.Second)
	if got := s.Total(); got != 14 {
		t.Fatalf("total %d, want 14", got)
	}
	want := []uint64{10, 0, 4}
	for k, n := range s.Scheduled() {
		if n != want[k] {
			t.Errorf("interval %d: %d scheduled, want %d", k, n, want[k])
		}
	}
	for _, tc := range []struct {
		j    uint64
		want time.Duration
	}{
		{0, 0},
		{1, 100 * time.Millisecond},
		{9, 900 * time.Millisecond},
		{10, 2 * time.Second}, // interval 1 is idle: the 11th request waits for interval 2
		{11, 2250 * time.Millisecond},
		{13, 2750 * time.Millisecond},
	} {
		got, ok := s.TimeOf(tc.j)
		if !ok || absDur(got-tc.want) > time.Microsecond {
			t.Errorf("request %d due at %s (ok %v), want %s", tc.j, got, ok, tc.want)
		}
	}
	if _, ok := s.TimeOf(14); ok {
		t.Error("request 14 is past the end of the schedule but was given a time")
	}
}

func TestScheduleRejectsBadRates(t *testing.T) {
	for _, tc := range []struct {
		name  string
		rates []float64
		iv    time.Duration
	}{
		{"empty", nil, time.Second},
		{"negative", []float64{1, -1}, time.Second},
		{"NaN", []float64{math.NaN()}, time.Second},
		{"zero interval", []float64{1}, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := NewSchedule(tc.rates, tc.iv); err == nil {
				t.Fatal("no error")
			}
		})
	}
}

func TestPacerDropsRequestsMoreThanMaxLagLateAndCountsThem(t *testing.T) {
	s := mustSchedule(t, []float64{100, 100}, time.Second)
	p := newPacer(s, 200*time.Millisecond)
	// On time: request 0 is due now.
	if w, stop := p.Pace(0, 0); stop || w != 0 {
		t.Fatalf("first pace: wait %s stop %v, want 0 false", w, stop)
	}
	// 1.5 s in, only 1 request sent: requests 1..129 are due before 1.3 s and are dropped;
	// request 130 (due 1.3 s) is within the lag and goes out at once.
	w, stop := p.Pace(1500*time.Millisecond, 1)
	if stop || w > 0 {
		t.Fatalf("late pace: wait %s stop %v, want <= 0 false", w, stop)
	}
	got := p.Skipped()
	if got[0] != 99 || got[1] != 30 {
		t.Errorf("dropped per interval %v, want [99 30]", got)
	}
	// Within the lag nothing more is dropped.
	p.Pace(1500*time.Millisecond, 2)
	if g := p.Skipped(); g[0] != 99 || g[1] != 30 {
		t.Errorf("dropped %v after an on-lag pace, want unchanged", g)
	}
}

func TestPacerStopsAtEndOfSchedule(t *testing.T) {
	p := newPacer(mustSchedule(t, []float64{2}, time.Second), time.Second)
	if _, stop := p.Pace(time.Second, 2); !stop {
		t.Fatal("pacer did not stop after the last scheduled request")
	}
}

func TestGenerateFollowsScheduleAndRecordsEveryResult(t *testing.T) {
	var served atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if served.Add(1)%10 == 0 {
			http.Error(w, "boom", http.StatusInternalServerError)
			return
		}
		time.Sleep(2 * time.Millisecond)
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	s := mustSchedule(t, []float64{40, 0, 20}, 500*time.Millisecond)
	run, err := Generate(context.Background(), Options{Target: srv.URL + "/fft", Schedule: s})
	if err != nil {
		t.Fatal(err)
	}
	st := run.Summarize(1000)
	want := []uint64{20, 0, 10}
	var failed uint64
	for k := range st {
		if st[k].Sent+st[k].NotSent != want[k] {
			t.Errorf("interval %d: sent %d + not sent %d, want %d scheduled", k, st[k].Sent, st[k].NotSent, want[k])
		}
		failed += st[k].Failed
		if st[k].OK > 0 && st[k].MeanMS < 2 {
			t.Errorf("interval %d: mean latency %.2f ms below the server's 2 ms sleep", k, st[k].MeanMS)
		}
	}
	if int64(len(run.Records)) != served.Load() {
		t.Errorf("%d records for %d requests served", len(run.Records), served.Load())
	}
	if failed != uint64(served.Load()/10) {
		t.Errorf("%d failed, want %d (every 10th answered 500)", failed, served.Load()/10)
	}
}

func TestGenerateRecordsShortfallWhenTargetIsTooSlow(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-block
	}))
	defer srv.Close()
	defer close(block)
	// One worker and a server that never answers: the generator falls behind at once.
	s := mustSchedule(t, []float64{50, 50}, 500*time.Millisecond)
	run, err := Generate(context.Background(), Options{Target: srv.URL, Schedule: s, MaxWorkers: 1,
		MaxLag: 100 * time.Millisecond, Timeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	var notSent, sent uint64
	for _, st := range run.Summarize(10) {
		notSent += st.NotSent
		sent += st.Sent
	}
	if notSent == 0 {
		t.Fatalf("no shortfall recorded although the only worker was blocked (sent %d)", sent)
	}
	if sent+notSent != 50 {
		t.Errorf("sent %d + not sent %d = %d, want the 50 scheduled", sent, notSent, sent+notSent)
	}
}

func TestGenerateRefusesUnsafeRuns(t *testing.T) {
	ok := mustSchedule(t, []float64{1}, time.Second)
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"remote target", Options{Target: "http://10.0.0.1/", Schedule: ok}, "loopback"},
		{"no schedule", Options{Target: "http://127.0.0.1:1/"}, "no schedule"},
		{"rate over cap", Options{Target: "http://127.0.0.1:1/", Schedule: mustSchedule(t, []float64{MaxRateCap + 1}, time.Second)}, "cap"},
		{"too long", Options{Target: "http://127.0.0.1:1/", Schedule: mustSchedule(t, make([]float64, 4*3600), time.Second)}, "cap"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Generate(context.Background(), tc.o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}

func absDur(d time.Duration) time.Duration {
	if d < 0 {
		return -d
	}
	return d
}
