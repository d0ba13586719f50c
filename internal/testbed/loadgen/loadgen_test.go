package loadgen

import (
	"context"
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

func TestGenerateCountsTheRestOfACancelledScheduleAsNotSent(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	s := mustSchedule(t, []float64{20, 20}, time.Second) // 40 requests over 2 s
	ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel()
	run, err := Generate(ctx, Options{Target: srv.URL, Schedule: s})
	if err != nil {
		t.Fatal(err)
	}
	if !run.Cancelled {
		t.Fatal("run not marked cancelled")
	}
	var sent, notSent uint64
	for _, st := range run.Summarize(1000) {
		sent += st.Sent
		notSent += st.NotSent
	}
	if sent+notSent != 40 || sent == 0 || sent > 15 {
		t.Errorf("sent %d + not sent %d, want about 10 sent of the 40 scheduled", sent, notSent)
	}
}
