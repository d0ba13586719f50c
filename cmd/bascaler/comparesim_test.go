package main

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// writeTestbedOutputs lays out what a testbed run writes for the simulator: a trace of
// requests per interval, a measured profile and the simulate command.
func writeTestbedOutputs(t *testing.T, dir, command string) {
	t.Helper()
	var b strings.Builder
	b.WriteString("timestamp,value\n")
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for k := 0; k < 16; k++ {
		rate := 20.0
		if k >= 6 && k < 10 {
			rate = 60 // the burst
		}
		fmt.Fprintf(&b, "%s,%.3f\n", start.Add(time.Duration(k)*6*time.Second).Format(time.RFC3339), rate*6)
	}
	files := map[string]string{
		"trace.csv":    b.String(),
		"profile.csv":  "load,mean_ms,p95_ms,p99_ms,cpu_pct\n4,5.2,9,12,20\n10,6,11,15,50\n16,9,18,25,80\n19,20,40,60,100\n",
		"simulate.txt": command + "\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCompareSimReplaysTheTestbedWindow, with a fixed capacity and with the capacity
// jitter a testbed writes when its calibration measured the replica's capacity moving
// (averaged over seeds: the trajectories are then the seeds' mean).
func TestCompareSimReplaysTheTestbedWindow(t *testing.T) {
	for name, extra := range map[string]string{"fixed capacity": "", "capacity jitter": " --capacity-jitter 0.05 --seeds 3"} {
		t.Run(name, func(t *testing.T) { compareSimReplays(t, extra) })
	}
}

func compareSimReplays(t *testing.T, extra string) {
	dir := t.TempDir()
	writeTestbedOutputs(t, dir, "bascaler simulate --trace trace.csv --normalize none --split 0.6,0.2,0.2 --eval all --interval 6s --startup 10s --profile profile.csv --slo 12ms --slo-metric mean --min 1 --max 8 --policy hpa,threshold --format json --param hpa.window=12s"+extra)
	rep, replicas, err := simulateLikeTestbed(dir)
	if err != nil {
		t.Fatal(err)
	}
	// The trajectories are the per-interval replicas whose time average is the summary's.
	for _, a := range rep.Results {
		traj := replicas[a.Policy]
		if len(traj) != 16 {
			t.Fatalf("%s: %d trajectory points, want one per interval (16)", a.Policy, len(traj))
		}
		sum := 0.0
		for _, v := range traj {
			sum += v
		}
		if got := sum / 16; math.Abs(got-a.MeanReplicas) > 1e-9 {
			t.Errorf("%s: trajectory mean %.4f, summary mean replicas %.4f", a.Policy, got, a.MeanReplicas)
		}
	}
	if rep.Intervals != 16 || len(rep.Results) != 2 || rep.Results[0].Policy != "hpa" || rep.Results[1].Policy != "threshold" {
		t.Fatalf("got %d intervals and results %+v; want the 16-interval window under hpa and threshold", rep.Intervals, rep.Results)
	}
	if rep.SLOms != 12 {
		t.Errorf("SLO %v ms, want the testbed's 12", rep.SLOms)
	}
	// The trace holds 6 s counts: 60 req/s in the burst needs more than one 19 req/s replica.
	if rep.Results[0].MeanReplicas <= 1 {
		t.Errorf("hpa never scaled in the simulator (mean replicas %.2f)", rep.Results[0].MeanReplicas)
	}
}

func TestCompareSimNamesWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	if _, _, err := simulateLikeTestbed(dir); err == nil || !strings.Contains(err.Error(), "simulate.txt") {
		t.Fatalf("empty folder: error %v, want one naming simulate.txt", err)
	}
	writeTestbedOutputs(t, dir, "rm -rf /")
	if _, _, err := simulateLikeTestbed(dir); err == nil || !strings.Contains(err.Error(), "bascaler simulate") {
		t.Fatalf("foreign command: error %v, want a refusal", err)
	}
	if _, err := run(t, "testbed", "run", "--trace", "synthetic", "--compare-sim"); err == nil || !strings.Contains(err.Error(), "--out") {
		t.Fatalf("--compare-sim without --out: error %v", err)
	}
}

func TestTestbedRunRefusesBadFitAndRepeatFlags(t *testing.T) {
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--fit", "maybe"}, "--fit"},
		{[]string{"--repeats", "11"}, "repeats 11 out of range"},
		{[]string{"--max-drift", "2"}, "drift bound 2 out of range"},
	} {
		args := append([]string{"testbed", "run", "--trace", "synthetic", "--duration", "1m"}, c.args...)
		if _, err := run(t, args...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%v: error %v, want one containing %q", c.args, err, c.want)
		}
	}
}
