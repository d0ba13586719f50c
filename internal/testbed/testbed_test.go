package testbed

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/testbed/internal/proctest"
	"github.com/bascaler/bascaler/internal/testenv"
)

func TestMain(m *testing.M) {
	proctest.MaybeServe()
	os.Exit(m.Run())
}

// TestCompressedBurstRunScalesUpThenDown runs the whole rig for about a minute: one
// replica is calibrated, then an HPA (6 s period and stabilisation, 30% CPU target so that
// it reacts within the short window) faces a quiet-burst-quiet trace of 8 intervals of
// 6 s. It checks function, not performance (the machine is shared): the replicas rise in
// the burst and fall after it, Prometheus saw the load, the JSON has every field, and no
// process is left behind.
func TestCompressedBurstRunScalesUpThenDown(t *testing.T) {
	testenv.Prometheus(t)
	bin, args := proctest.Binary(t)
	out := t.TempDir()
	rounds := 32
	if raceEnabled {
		rounds = 2
	}
	cfg := Config{
		Rounds:    rounds,
		TraceName: "synthetic:testbed-burst", Shape: Synthetic(8), Interval: 6 * time.Second,
		Policies: []string{"hpa"},
		Params:   map[string]string{"hpa.period": "6s", "hpa.window": "6s", "hpa.target": "0.3"},
		Min:      1, Max: 4, StartupDelay: time.Second, CPUShare: 0.1,
		CalibrationRequests: 15, ProfileStep: 1500 * time.Millisecond, SaturationRepeats: 2, ProfileRepeats: 1,
		ReplicaBinary: bin, ReplicaArgs: args, OutDir: out, Log: testLog{t},
		// A functional test on a machine shared with other test packages: measure and
		// report the machine, the calibration's spread and the drift, but judge nothing by
		// them (TestRunRefusesReplicasThatDoNotFit checks the refusal).
		Fit: FitIgnore, MaxCalibrationSpread: 1, MaxDrift: 1, MaxShortfall: 1,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if kids := proctest.Children(os.Getpid()); len(kids) > 0 {
		t.Errorf("processes left after the run: %v", kids)
	}

	// The JSON carries the simulator's shape.
	b, err := json.Marshal(rep)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc["trace"] != "synthetic:testbed-burst" || doc["intervals"] != float64(8) {
		t.Errorf("trace %v intervals %v, want synthetic:testbed-burst and 8", doc["trace"], doc["intervals"])
	}
	results, _ := doc["results"].([]any)
	if len(results) != 1 {
		t.Fatalf("%d results, want 1", len(results))
	}
	res := results[0].(map[string]any)
	for _, key := range []string{"policy", "slo_violation_rate", "requests_over_slo", "failed_requests", "cost_pod_hours",
		"mean_replicas", "scaling_actions", "over_provision_pod_hours", "under_provision_pod_hours", "requests_not_sent",
		"repeat", "shortfall", "cpu_per_request_after_ms", "throttled_period_fraction", "throttled_seconds",
		"startups", "startup_median_s", "startup_max_s", "cpu_per_request_run_ms"} {
		if _, ok := res[key]; !ok {
			t.Errorf("result lacks %q", key)
		}
	}
	s := rep.Results[0]
	if s.Requests <= 0 || s.CostPodHours <= 0 || s.MeanReplicas < 1 {
		t.Errorf("implausible summary: %+v", s)
	}
	if c := rep.Calibration; rep.SLOMS <= 0 || c.ReplicaCapacity <= 0 || len(c.Profile) < len(profileLoads) ||
		c.ReplicaSaturation < c.Profile[len(c.Profile)-1].LoadPerPod {
		t.Errorf("calibration incomplete: SLO %g, %+v", rep.SLOMS, rep.Calibration)
	}
	if cal, _ := doc["calibration"].(map[string]any); cal["replica_saturation_rps"] == nil {
		t.Errorf("calibration JSON lacks replica_saturation_rps: %v", cal)
	}
	if c := rep.Calibration; len(c.CPUPerRequestRunsMS) != 3 {
		t.Errorf("calibration probes %v, want the default 3", c.CPUPerRequestRunsMS)
	}
	// Two intervals at 1.2x saturation measure how the capacity moves; the simulator's
	// replay gets that spread (and averages over seeds) when it is not zero.
	if c := rep.Calibration; len(c.SaturationRunsRPS) != 2 || c.SaturationRunsRPS[0] <= 0 || c.CapacityCV < 0 {
		t.Errorf("saturation repeats %v (CV %g), want 2 positive throughputs", c.SaturationRunsRPS, c.CapacityCV)
	} else if txt, err := os.ReadFile(filepath.Join(out, "simulate.txt")); err != nil {
		t.Error(err)
	} else if want := fmt.Sprintf("--capacity-jitter %.4f --seeds 10", c.CapacityCV); c.CapacityCV > 0 && !strings.Contains(string(txt), want) {
		t.Errorf("simulate.txt %q lacks %q", txt, want)
	} else if s := rep.Results[0]; s.Startups > 0 {
		// The replicas the run started took at least the 1 s delay to be ready, and the
		// simulator replays with the measured median.
		if s.StartupMedianS < 1 || s.StartupMaxS < s.StartupMedianS {
			t.Errorf("measured start-up: median %g s, max %g s over %d replicas; want at least the 1 s delay", s.StartupMedianS, s.StartupMaxS, s.Startups)
		}
		if want := fmt.Sprintf("--startup %s ", measuredStartup(rep.Runs, 0)); !strings.Contains(string(txt), want) {
			t.Errorf("simulate.txt %q lacks the measured %q", txt, want)
		}
	}
	if m := rep.Machine; m.Mode != "ignore" || m.Cores != machineCPUs() || m.IdleCores < 0 || m.RequestedMax != 4 || m.NeededCores != 0.9 {
		t.Errorf("machine fit %+v: want mode ignore, %d cores, 4 x 0.1 + 0.5 = 0.9 cores needed", m, machineCPUs())
	}
	if s.CPUPerRequestAfterMS <= 0 || s.Shortfall < 0 || s.Shortfall > 1 {
		t.Errorf("run checks not filled: cpu after %g ms, shortfall %g", s.CPUPerRequestAfterMS, s.Shortfall)
	}

	// Replicas rise under the burst and fall after it (decisions, as the scaler executed them).
	run := rep.Runs[0]
	rose, fell := false, false
	peak := 0
	for _, d := range run.Decisions {
		if d.After > d.Before {
			rose = true
		}
		if rose && d.After < d.Before {
			fell = true
		}
		peak = max(peak, d.After)
	}
	if !rose || !fell {
		t.Errorf("replicas rose %v, fell after %v; decisions: %+v", rose, fell, run.Decisions)
	}
	if last := run.Records[len(run.Records)-1].AllocatedAtTheEnd; last >= peak {
		t.Errorf("replicas at the end %d, not below the peak %d", last, peak)
	}

	// Prometheus saw the load: the quiet first interval's rate as the replicas counted it
	// is near the scheduled one, and the policy decided from Prometheus data.
	first := run.Records[0]
	if !(first.PromRate > 0.5*first.Rate && first.PromRate < 1.5*first.Rate) {
		t.Errorf("Prometheus rate for interval 0: %g req/s, scheduled %g", first.PromRate, first.Rate)
	}
	decidedOnData := 0
	for _, d := range run.Decisions {
		if d.Decided && d.SeenRate > 0 {
			decidedOnData++
		}
	}
	if decidedOnData < len(run.Decisions)/2 {
		t.Errorf("only %d of %d decisions saw a rate from Prometheus", decidedOnData, len(run.Decisions))
	}
	if _, err := perf.LoadProfileCSV(filepath.Join(out, "profile.csv")); err != nil {
		t.Errorf("the profile written for the simulator does not load: %v", err)
	}
	for _, f := range []string{"hpa-intervals.csv", "hpa-decisions.csv", "profiling.csv", "trace.csv", "replicas.svg", "latency.svg", "workload.svg"} {
		b, err := os.ReadFile(filepath.Join(out, f))
		if err != nil {
			t.Errorf("output %s: %v", f, err)
			continue
		}
		if f == "hpa-intervals.csv" && strings.Count(string(b), "\n") != 9 {
			t.Errorf("%s has %d lines, want header + 8", f, strings.Count(string(b), "\n"))
		}
	}
}

// TestRunRefusesReplicasThatDoNotFit stands for a busy machine (0.6 idle cores measured)
// and checks that the run stops before it starts a replica, saying what to change.
func TestRunRefusesReplicasThatDoNotFit(t *testing.T) {
	testenv.Prometheus(t)
	bin, args := proctest.Binary(t)
	old := idleCores
	idleCores = func(context.Context, time.Duration) (float64, error) { return 1.0, nil }
	defer func() { idleCores = old }()
	var log strings.Builder
	cfg := Config{Shape: Synthetic(8), Interval: 6 * time.Second, Policies: []string{"hpa"}, Min: 1, Max: 4,
		CPUShare: 0.25, ReplicaBinary: bin, ReplicaArgs: args, Log: &log}
	_, err := Run(context.Background(), cfg)
	if err == nil || !strings.Contains(err.Error(), "replicas do not fit") || !strings.Contains(err.Error(), "1.00 idle cores") ||
		!strings.Contains(err.Error(), "--cpu-share 0.125") || !strings.Contains(err.Error(), "--max 2") {
		t.Fatalf("error %v, want a refusal naming the idle cores and what to change", err)
	}
	if strings.Contains(log.String(), "cpu/request") {
		t.Errorf("the run calibrated before refusing:\n%s", log.String())
	}
	if kids := proctest.Children(os.Getpid()); len(kids) > 0 {
		t.Errorf("processes left after the refusal: %v", kids)
	}
}

type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func TestRunRejectsBadSetUpBeforeStartingAnything(t *testing.T) {
	good := func() Config {
		return Config{Shape: Synthetic(8), Interval: 6 * time.Second, Policies: []string{"hpa"}}
	}
	for _, tc := range []struct {
		name   string
		mutate func(*Config)
		want   string
	}{
		{"missing prometheus", func(c *Config) { c.Prometheus = "/nonexistent/prometheus" }, "apt-get install -y prometheus"},
		{"unknown policy", func(c *Config) { c.Policies = []string{"nope"} }, `unknown policy "nope"`},
		{"clairvoyant policy", func(c *Config) { c.Policies = []string{"oracle"} }, "only in the simulator"},
		{"NaN in trace", func(c *Config) { c.Shape[3] = nan() }, "trace point 3"},
		{"all-zero trace", func(c *Config) { c.Shape = make([]float64, 8) }, "all zero"},
		{"too short", func(c *Config) { c.Shape = c.Shape[:1] }, "at least 2"},
		{"interval too short", func(c *Config) { c.Interval = time.Second }, "below the minimum"},
		{"too many replicas", func(c *Config) { c.Max = MaxReplicasCap + 1 }, "replica bounds"},
		{"run too long", func(c *Config) { c.Shape = make([]float64, 300); c.Shape[0] = 1; c.Interval = 15 * time.Second }, "above the cap"},
		{"no policy", func(c *Config) { c.Policies = nil }, "no policy"},
		{"one saturation repeat", func(c *Config) { c.SaturationRepeats = 1 }, "saturation repeats 1 out of range"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good()
			tc.mutate(&c)
			_, err := Run(context.Background(), c)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one containing %q", err, tc.want)
			}
			if kids := proctest.Children(os.Getpid()); len(kids) > 0 {
				t.Errorf("processes left after a rejected run: %v", kids)
			}
		})
	}
	_, err := Run(context.Background(), Config{Shape: Synthetic(8), Policies: []string{"hpa"}, Prometheus: "/nonexistent/prometheus"})
	if !errors.Is(err, ErrNoPrometheus) {
		t.Errorf("missing binary error %v is not ErrNoPrometheus", err)
	}
}

// TestCancelledRunStopsEveryProcess cancels a run midway, as SIGINT/SIGTERM do in the
// command, and checks that Run returns the cancellation and leaves no child behind.
func TestCancelledRunStopsEveryProcess(t *testing.T) {
	testenv.Prometheus(t)
	bin, args := proctest.Binary(t)
	cfg := Config{Shape: Synthetic(20), Interval: 5 * time.Second, Policies: []string{"hpa"},
		Min: 2, Max: 3, StartupDelay: 500 * time.Millisecond, CPUShare: 0.1, Rounds: 16,
		// process_cpu_seconds_total moves in 10 ms clock ticks: calibration needs requests
		// that add up to several ticks, or it (rightly) fails before the cancellation.
		CalibrationRequests: 10, ProfileStep: time.Second, SaturationRepeats: 2, ProfileRepeats: 1, ReplicaBinary: bin, ReplicaArgs: args,
		// It tests the cancellation, so it judges neither the machine nor the calibration: one
		// probe (no spread: [1 3 4] ms over 3 probes was refused beside other test packages).
		Calibrations: 1, Fit: FitIgnore, MaxDrift: 1, MaxShortfall: 1}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(12*time.Second, cancel)
	start := time.Now()
	_, err := Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 60*time.Second {
		t.Errorf("Run took %s to return after cancellation", d)
	}
	if kids := proctest.Children(os.Getpid()); len(kids) > 0 {
		t.Errorf("processes left after cancellation: %v", kids)
	}
}
