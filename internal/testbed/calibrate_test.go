package testbed

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
)

// TestProfileOfTakesMonotoneEnvelope: the third point (33.5 req/s) missed a 17.5 ms SLO but
// the fourth, by chance, measured 12.4 ms. Without the envelope CapacityAt would report
// 43 req/s (the heaviest point meets the SLO); with it the capacity lies between 24 and
// 33.5 req/s, where the curve crosses 17.5 ms.
func TestProfileOfTakesMonotoneEnvelope(t *testing.T) {
	samples := []perf.ProfilingSample{ // the calibration of a real bench run, out of order
		{LoadPerPod: 43, MeanMS: 12.4, P95MS: 59.5, P99MS: 94.2, CPUPct: 80},
		{LoadPerPod: 5, MeanMS: 8.8, P95MS: 14.1, P99MS: 17.8, CPUPct: 14},
		{LoadPerPod: 14.5, MeanMS: 6.3, P95MS: 13.6, P99MS: 22.1, CPUPct: 27},
		{LoadPerPod: 24, MeanMS: 11.0, P95MS: 20.8, P99MS: 62.4, CPUPct: 54},
		{LoadPerPod: 33.5, MeanMS: 24.3, P95MS: 132.8, P99MS: 211.3, CPUPct: 72},
	}
	p, err := profileOf(samples, 0)
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i < len(p.Points); i++ {
		a, b := p.Points[i-1], p.Points[i]
		if b.MeanMS < a.MeanMS || b.P95MS < a.P95MS || b.P99MS < a.P99MS || b.CPU < a.CPU {
			t.Errorf("point %d (load %g) below point %d: %+v < %+v", i, b.Load, i-1, b, a)
		}
	}
	c, err := p.CapacityAt(perf.Mean, 17.5)
	if err != nil {
		t.Fatal(err)
	}
	if c <= 24 || c >= 33.5 {
		t.Errorf("capacity at 17.5 ms = %g req/s, want between 24 and 33.5", c)
	}
	if p.MaxLoad != 43 {
		t.Errorf("saturation %g, want the heaviest measured load 43", p.MaxLoad)
	}
}

// fakeReplica serves /fft and counts 5 ms of process CPU per request it answered itself.
type fakeReplica struct {
	mu sync.Mutex
	n  int
}

func (f *fakeReplica) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	switch r.URL.Path {
	case "/fft":
		f.n++
		fmt.Fprintln(w, "ok")
	case "/metrics":
		fmt.Fprintf(w, "process_cpu_seconds_total %g\n", 0.005*float64(f.n))
	default:
		http.NotFound(w, r)
	}
}

// TestProbeSingleReadsTheReplicaItLoads: the probe's requests go to the replica whose CPU
// it reads, so the CPU per request is that replica's (5 ms) however many replicas a load
// balancer would spread them over; sending them through a balancer of three replicas (as
// the after-run probe once did) read a third of it.
func TestProbeSingleReadsTheReplicaItLoads(t *testing.T) {
	a := &fakeReplica{}
	srv := httptest.NewServer(a)
	defer srv.Close()
	_, cpu, err := probeSingle(context.Background(), strings.TrimPrefix(srv.URL, "http://"), 12, 1)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(cpu-0.005) > 1e-12 {
		t.Fatalf("CPU per request %g s, want the replica's 0.005 s", cpu)
	}
	if a.n != 12+5 {
		t.Fatalf("the replica answered %d requests, want 12 probed + 5 warm-up", a.n)
	}
	if _, _, err := probeSingle(context.Background(), "127.0.0.1:1", 3, 1); err == nil {
		t.Fatal("probing a closed port: no error")
	}
}

// cappedReplica serves /fft one request at a time, each taking 1/rate seconds of (counted)
// CPU: a replica whose saturation throughput is rate.
type cappedReplica struct {
	mu   sync.Mutex
	cpu  sync.Mutex
	rate float64
	n    int
}

func (f *cappedReplica) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/fft":
		f.mu.Lock()
		time.Sleep(time.Duration(float64(time.Second) / f.rate))
		f.mu.Unlock()
		f.cpu.Lock()
		f.n++
		f.cpu.Unlock()
		fmt.Fprintln(w, "ok")
	case "/metrics":
		f.cpu.Lock()
		fmt.Fprintf(w, "process_cpu_seconds_total %g\n", float64(f.n)/f.rate)
		f.cpu.Unlock()
	default:
		http.NotFound(w, r)
	}
}

// TestProfileReplicaMeasuresSaturation: a replica that serves at most 50 req/s, profiled
// from a CPU estimate of 35 req/s (the spaced probes err low on the real service). The
// steps at 0.1..0.9 and 1.1, 1.25 of the estimate (38.5, 43.75 req/s) are kept up; the
// first step that is not (at the latest 1.6 x 35 = 56 req/s, 12% over: 2 s of it leave
// 0.24 s of queue at the end) ends the profile, and its completion rate, about 50 req/s,
// is the saturation, which the profile gets as MaxLoad. Without the overload steps the
// saturation was the estimate's 0.9 x 35 = 31.5 req/s.
func TestProfileReplicaMeasuresSaturation(t *testing.T) {
	f := &cappedReplica{rate: 50}
	srv := httptest.NewServer(f)
	defer srv.Close()
	kept, over, sat, err := profileReplica(context.Background(), srv.URL+"/fft", strings.TrimPrefix(srv.URL, "http://"), 35, 1, 2*time.Second, 1)
	if err != nil {
		t.Fatal(err)
	}
	if over == nil {
		t.Fatalf("every step kept up (%d steps, saturation %g): a replica capped at 50 req/s was driven to 2.8 x 35", len(kept), sat)
	}
	t.Logf("kept %d steps, the heaviest at %.1f req/s; overload step %+v; saturation %.1f req/s", len(kept), kept[len(kept)-1].LoadPerPod, *over, sat)
	if len(kept) < len(profileLoads)+2 {
		t.Fatalf("kept %d steps, want at least the %d profile steps and 1.1, 1.25 of the estimate", len(kept), len(profileLoads))
	}
	if sat < 45 || sat > 52.5 {
		t.Fatalf("saturation %.1f req/s, want about 50", sat)
	}
	p, err := profileOf(kept, sat)
	if err != nil {
		t.Fatal(err)
	}
	if p.MaxLoad != sat {
		t.Fatalf("profile saturation %g, want the measured %g", p.MaxLoad, sat)
	}
}

// shiftingReplica is a cappedReplica whose saturation throughput changes from one profiling
// step to the next: step k (its (2k+1)-th and (2k+2)-th scrapes of /metrics, before and
// after the step) serves at most rates[k mod len(rates)] req/s.
type shiftingReplica struct {
	cappedReplica
	rates   []float64
	scrapes int
}

func (f *shiftingReplica) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/metrics" {
		f.mu.Lock()
		f.rate = f.rates[(f.scrapes/2)%len(f.rates)]
		f.scrapes++
		f.mu.Unlock()
	}
	f.cappedReplica.ServeHTTP(w, r)
}

// TestSaturationSpreadMeasuresCapacityMoving: a replica that serves at most 40 req/s in one
// step and 60 in the next, offered 72 req/s (past both), completes about 40 and 60 per
// second: their coefficient of variation is sd(40, 60) / 50 = 14.14 / 50 = 0.283. A replica
// of fixed capacity (50 req/s) measures a CV near 0.
func TestSaturationSpreadMeasuresCapacityMoving(t *testing.T) {
	if got := coefficientOfVariation([]float64{40, 60}); math.Abs(got-math.Sqrt2*10/50) > 1e-12 {
		t.Fatalf("CV of 40, 60: %g, want 0.2828", got)
	}
	if got := coefficientOfVariation([]float64{50}); got != 0 {
		t.Fatalf("CV of one value: %g, want 0", got)
	}
	for _, tc := range []struct {
		rates  []float64
		lo, hi float64
	}{
		{[]float64{40, 60}, 0.22, 0.33},
		{[]float64{50}, 0, 0.05},
	} {
		f := &shiftingReplica{rates: tc.rates}
		srv := httptest.NewServer(f)
		runs, cv, err := saturationSpread(context.Background(), srv.URL+"/fft", strings.TrimPrefix(srv.URL, "http://"), 72, 1, 1500*time.Millisecond, 2)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("capacities %v: measured %v req/s, CV %.3f", tc.rates, runs, cv)
		if len(runs) != 2 || cv < tc.lo || cv > tc.hi {
			t.Errorf("capacities %v: measured %v req/s, CV %.3f, want 2 runs and a CV in [%g, %g]", tc.rates, runs, cv, tc.lo, tc.hi)
		}
	}
}

// TestProfileRepeatsTakeTheTypicalReplica: a replica that serves at most 60 req/s in two
// steps of every three and 40 in the third, profiled from an estimate of 50 req/s in 1 s
// steps. Measured once per load, the step at 1.1 x 50 = 55 req/s lands on a 40 req/s stretch
// and ends the profile: saturation 45 req/s, the heaviest point kept (its completions, about
// 40, are less). Measured three times per load (one slow draw each), the medians keep up
// with 55 and with 62.5 (1.04 s of work, inside the 1 s step and its 100 ms slack) and stop
// at 70: a saturation of about 60-62, the replica two stretches in three are.
func TestProfileRepeatsTakeTheTypicalReplica(t *testing.T) {
	for _, tc := range []struct {
		repeats int
		lo, hi  float64
	}{{1, 35, 47}, {3, 54, 64}} {
		f := &shiftingReplica{rates: []float64{60, 60, 40}}
		srv := httptest.NewServer(f)
		kept, _, sat, err := profileReplica(context.Background(), srv.URL+"/fft", strings.TrimPrefix(srv.URL, "http://"), 50, 1, time.Second, tc.repeats)
		srv.Close()
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("repeats %d: %d points kept, saturation %.1f req/s", tc.repeats, len(kept), sat)
		if sat < tc.lo || sat > tc.hi {
			t.Errorf("repeats %d: saturation %.1f req/s, want %g-%g", tc.repeats, sat, tc.lo, tc.hi)
		}
	}
}
