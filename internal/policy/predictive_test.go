package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

func TestPHPADefaultsArePinned(t *testing.T) {
	cases := []struct {
		name                   string
		params                 []string
		alpha, beta, gamma     float64
		period, stored, minN   int
		targetPct, tol         float64
		downWindow, syncPeriod time.Duration
	}{
		{"documented defaults", nil, 0.9, 0.9, 0.9, 6, 24, 16, 70, 0.1, 300 * time.Second, 15 * time.Second},
		{"overrides", []string{"alpha=0.5", "beta=0.1", "gamma=0.3", "seasonal-periods=10", "stored-seasons=2", "target=0.6", "window=60s"},
			0.5, 0.1, 0.3, 10, 20, 20, 60, 0.1, 60 * time.Second, 15 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p := mustNew(t, "phpa", testEnv(c.params...)).(*phpa)
			m := p.model
			if m.Alpha != c.alpha || m.Beta != c.beta || m.Gamma != c.gamma || m.Period != c.period {
				t.Errorf("model %+v, want alpha %g beta %g gamma %g period %d", m, c.alpha, c.beta, c.gamma, c.period)
			}
			if p.stored != c.stored || p.minN != c.minN {
				t.Errorf("stored %d minN %d, want %d and %d", p.stored, p.minN, c.stored, c.minN)
			}
			h := p.base
			_, down := h.behavior.Rules()
			if h.targetPct != c.targetPct || h.tolerance != c.tol || down.Window != c.downWindow || h.period != c.syncPeriod || p.Period() != c.syncPeriod {
				t.Errorf("hpa target %g%% tolerance %g window %s period %s, want target %g%% tolerance %g window %s period %s",
					h.targetPct, h.tolerance, down.Window, h.period, c.targetPct, c.tol, c.downWindow, c.syncPeriod)
			}
		})
	}
}

func TestEHPADefaultsArePinned(t *testing.T) {
	env := testEnv()
	env.History = periodicHistory(6 * 1440)
	cases := []struct {
		name       string
		params     []string
		horizon    int
		kind       string
		targetPct  float64
		downWindow time.Duration
	}{
		{"documented defaults", nil, 60, "holt-winters", 70, 300 * time.Second},
		{"overrides", []string{"prediction-window=10m", "forecaster=seasonal-naive", "target=0.5"}, 10, "seasonal-naive", 50, 300 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := env
			e.Params = testEnv(c.params...).Params
			p := mustNew(t, "ehpa", e).(*ehpa)
			if p.horizon != c.horizon || p.model == nil || p.model.Kind() != c.kind {
				t.Fatalf("horizon %d model %v, want %d and %s", p.horizon, p.model, c.horizon, c.kind)
			}
			_, down := p.base.behavior.Rules()
			if p.base.targetPct != c.targetPct || down.Window != c.downWindow || p.Period() != 15*time.Second {
				t.Errorf("hpa target %g%%, window %s, period %s", p.base.targetPct, down.Window, p.Period())
			}
			// fft: 100% CPU at 110 req/s, linear.
			if d := p.cpuPerRate - 1.0/110; d > 1e-9 || d < -1e-9 {
				t.Errorf("cpu per req/s %g, want 1/110", p.cpuPerRate)
			}
		})
	}
}

func TestPredictiveHPAsRejectBadParameters(t *testing.T) {
	cases := []struct {
		name, policy, param, want string
	}{
		{"alpha above 1", "phpa", "alpha=1.5", "alpha"},
		{"season of one", "phpa", "seasonal-periods=1", "seasonal-periods"},
		{"no seasons", "phpa", "stored-seasons=0", "stored-seasons"},
		{"hpa parameter checked too", "phpa", "target=0.655", "whole percentage"},
		{"unknown key", "phpa", "tagret=0.6", "tagret"},
		{"window under an interval", "ehpa", "prediction-window=10s", "prediction-window"},
		{"unknown forecaster", "ehpa", "forecaster=crystal-ball", "forecaster"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(c.policy, testEnv(c.param))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("err %v, want one naming %q", err, c.want)
			}
		})
	}
}

// A steadily rising load: the HPA's calculated count grows each sync, Holt-Winters
// extrapolates the trend, so once enough counts are stored PHPA asks for more than the HPA.
func TestPHPAScalesAheadOfARisingLoad(t *testing.T) {
	p := mustNew(t, "phpa", testEnv())
	h := mustNew(t, "hpa", testEnv())
	f := newFeed(15*time.Second, 1, 100)
	replicas := 10
	ahead := 0
	for i := 0; i < 40; i++ {
		// The load grows by 4% of the current capacity per sync: cpu 0.8 -> 1.2 of request.
		cpu := 0.8 + 0.01*float64(i)
		obs := f.step(replicas, replicas, cpu, 0)
		dp, dh := p.Decide(obs), h.Decide(obs)
		if i+1 < 16 && dp.Replicas != dh.Replicas {
			t.Fatalf("sync %d: phpa %d differs from hpa %d before 16 counts are stored (%s)", i, dp.Replicas, dh.Replicas, dp.Explanation)
		}
		if dp.Replicas < dh.Replicas {
			t.Fatalf("sync %d: phpa %d below hpa %d: the decision is the max", i, dp.Replicas, dh.Replicas)
		}
		if dp.Replicas > dh.Replicas && dp.Explanation.Reason == reasonPredictionAbove {
			ahead++
		}
	}
	if ahead == 0 {
		t.Fatal("phpa never scaled ahead of the hpa on a rising load")
	}
}

// periodicHistory is n minutes of a daily cycle: 200 req/s with a bump to 800 req/s at
// minute 45 of each day (a Gaussian of 15 minutes' width).
func periodicHistory(n int) series.Series {
	v := make([]float64, n)
	for i := range v {
		d := float64(i%1440) - 45
		v[i] = 200 + 600*math.Exp(-d*d/(2*15*15))
	}
	return series.Series{Name: "daily", Start: t0.Add(-time.Duration(n) * time.Minute), Step: time.Minute, Values: v}
}

// Before the daily peak, with it due inside the prediction window, EHPA asks for the pods of the
// peak while the current load is low; with a window too short to see the peak it is the HPA.
func TestEHPAScalesAheadOfAPredictedPeak(t *testing.T) {
	env := testEnv()
	// Six whole days: the evaluated window starts 45 minutes before the daily peak.
	env.History = periodicHistory(6 * 1440)
	cases := []struct {
		name      string
		window    string
		wantAbove bool
		minWanted int
	}{
		// 800 req/s at 70% of 110 req/s per pod: ceil(800 / 77) = 11 pods (a forecast a
		// little short of the peak asks for 9 or 10).
		{"peak inside the 3600 s window", "3600s", true, 9},
		// The next 5 minutes stay near 220 req/s: 3 pods at 64% CPU, within tolerance.
		{"window too short to see it", "5m", false, 3},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := env
			e.Params = map[string]string{"prediction-window": c.window}
			p := mustNew(t, "ehpa", e)
			h := mustNew(t, "hpa", testEnv())
			f := newFeed(15*time.Second, 1, 100)
			const replicas = 3 // 200 req/s on 3 pods: 60% CPU, within the HPA's tolerance of 70%
			obs := f.step(replicas, replicas, 200.0/replicas/110, 200)
			d, hd := p.Decide(obs), h.Decide(obs)
			if hd.Replicas != replicas {
				t.Fatalf("hpa moved to %d; the test wants it to hold", hd.Replicas)
			}
			if got := d.Explanation.Raw; c.wantAbove != (got > replicas) || got < c.minWanted ||
				c.wantAbove != (d.Explanation.Reason == reasonPredictionAbove) {
				t.Errorf("ehpa raw %d (%s), want above %d: %v, at least %d", got, d.Explanation, replicas, c.wantAbove, c.minWanted)
			}
		})
	}
}

// With too little history to train, EHPA's prediction is not ready and it is the HPA.
func TestEHPAWithoutHistoryIsTheHPA(t *testing.T) {
	e := mustNew(t, "ehpa", testEnv())
	h := mustNew(t, "hpa", testEnv())
	f := newFeed(15*time.Second, 1, 100)
	replicas := 4
	for i := 0; i < 30; i++ {
		obs := f.step(replicas, replicas, 0.5+0.05*float64(i%10), 100)
		de, dh := e.Decide(obs), h.Decide(obs)
		if de.Replicas != dh.Replicas {
			t.Fatalf("sync %d: ehpa %d, hpa %d (%s)", i, de.Replicas, dh.Replicas, de.Explanation)
		}
		replicas = de.Replicas
	}
}
