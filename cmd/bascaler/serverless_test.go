package main

import (
	"encoding/json"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/sim"
	"github.com/bascaler/bascaler/internal/testbed/lb"
	"github.com/bascaler/bascaler/internal/testenv"
)

// serverlessTraces returns the per-function serverless traces, or skips outside CI when
// ../shared/traces/serverless is absent (in CI it must be there).
func serverlessTraces(t *testing.T) []string {
	t.Helper()
	d := filepath.Join(testenv.Traces(t), "serverless")
	paths, _ := filepath.Glob(filepath.Join(d, "*_per_minute.csv"))
	if len(paths) == 0 {
		t.Fatalf("no serverless traces (*_per_minute.csv) in %s", d)
	}
	return paths
}

type zeroJSON struct {
	Traces []struct {
		Trace   string `json:"trace"`
		Results []struct {
			Policy            string   `json:"policy"`
			Requests          float64  `json:"requests"`
			FailedRequests    float64  `json:"failed_requests"`
			CostPodHours      float64  `json:"cost_pod_hours"`
			ColdStarts        *float64 `json:"cold_starts"`
			ColdStartsPer1000 *float64 `json:"cold_starts_per_1000"`
			HeldRequests      *float64 `json:"held_requests"`
			HeldLatencyP99MS  *float64 `json:"held_latency_p99_ms"`
			IdlePodHours      *float64 `json:"idle_pod_hours"`
		} `json:"results"`
	} `json:"traces"`
}

var serverlessPolicies = "keepalive:10m,keepalive:20m,kpa,keda,hybrid-histogram,bascaler"

// checkZero checks the scale-to-zero summary of every policy on every workload: the
// fields are there, requests are the same for all policies, every cold start was held (the
// activator's queue is far from full), none failed (the 300 s hold timeout is far beyond
// the start-up), held latency is within start-up + the slowest decision period + tick, and
// idle time is part of the cost.
func checkZero(t *testing.T, out string, workloads int, maxHeldMS float64) {
	t.Helper()
	var got zeroJSON
	if err := json.Unmarshal([]byte(out), &got); err != nil || len(got.Traces) != workloads {
		t.Fatalf("bad output (%v), want %d workloads:\n%.2000s", err, workloads, out)
	}
	for _, tr := range got.Traces {
		if len(tr.Results) != 6 {
			t.Fatalf("%s: %d results, want 6", tr.Trace, len(tr.Results))
		}
		for _, r := range tr.Results {
			if r.ColdStarts == nil || r.ColdStartsPer1000 == nil || r.HeldRequests == nil || r.HeldLatencyP99MS == nil || r.IdlePodHours == nil {
				t.Fatalf("%s/%s: a scale-to-zero field is missing", tr.Trace, r.Policy)
			}
			switch {
			case math.Abs(r.Requests-tr.Results[0].Requests) > 1e-6*r.Requests:
				t.Errorf("%s/%s: %g requests, %s saw %g", tr.Trace, r.Policy, r.Requests, tr.Results[0].Policy, tr.Results[0].Requests)
			case math.Abs(*r.ColdStarts-*r.HeldRequests) > 1e-6:
				t.Errorf("%s/%s: %g cold starts but %g held", tr.Trace, r.Policy, *r.ColdStarts, *r.HeldRequests)
			case r.FailedRequests > 1e-6:
				t.Errorf("%s/%s: %g requests failed", tr.Trace, r.Policy, r.FailedRequests)
			case *r.HeldLatencyP99MS > maxHeldMS:
				t.Errorf("%s/%s: held p99 %g ms above %g", tr.Trace, r.Policy, *r.HeldLatencyP99MS, maxHeldMS)
			case *r.IdlePodHours > r.CostPodHours+1e-9:
				t.Errorf("%s/%s: idle %g pod-hours above the cost %g", tr.Trace, r.Policy, *r.IdlePodHours, r.CostPodHours)
			}
		}
	}
}

// TestSimulateScaleToZeroOnOffWorkloads: --min 0 on the synthetic on/off workloads (no
// traces needed).
func TestSimulateScaleToZeroOnOffWorkloads(t *testing.T) {
	out, err := run(t, "simulate", "--trace", "synthetic:onoff-periodic,synthetic:onoff-irregular", "--min", "0",
		"--startup", "10s", "--policy", serverlessPolicies, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	// 10 s start-up + KEDA's 30 s poll.
	checkZero(t, out, 2, 40000+1)
	if !strings.Contains(out, `"cold_starts_per_1000"`) || !strings.Contains(out, `"idle_pod_hours"`) {
		t.Error("JSON lacks the scale-to-zero fields")
	}
}

// TestSimulateServerlessTraces runs every serverless trace through the six policies.
func TestSimulateServerlessTraces(t *testing.T) {
	paths := serverlessTraces(t)
	out, err := run(t, "simulate", "--trace", strings.Join(paths, ","), "--normalize", "none", "--min", "0",
		"--startup", "10s", "--policy", serverlessPolicies, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	checkZero(t, out, len(paths), 40000+1)
}

func TestSimulateRejectsBadHoldFlags(t *testing.T) {
	for _, args := range [][]string{{"--hold-timeout", "0s"}, {"--hold-queue", "0"}, {"--hold-queue", "-2"}} {
		if _, err := run(t, append([]string{"simulate", "--trace", "synthetic:onoff-periodic", "--min", "0", "--policy", "kpa"}, args...)...); err == nil {
			t.Errorf("%v accepted", args)
		}
	}
}

// The testbed's activator (the load balancer) holds requests with the simulator's
// defaults, so that a testbed run and its replay in the simulator mean the same thing.
func TestServerlessTestbedActivatorDefaultsAreTheSimulators(t *testing.T) {
	if lb.DefaultHoldTimeout != sim.DefaultHoldTimeout || lb.DefaultHoldQueue != sim.DefaultHoldQueue {
		t.Fatalf("testbed activator: timeout %s queue %d; simulator: %s and %d", lb.DefaultHoldTimeout, lb.DefaultHoldQueue,
			sim.DefaultHoldTimeout, sim.DefaultHoldQueue)
	}
}

func TestTestbedRunRejectsBadHoldFlags(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--hold-timeout", "0s"}, "--hold-timeout must be positive"},
		{[]string{"--hold-queue", "0"}, "--hold-queue must be positive or -1"},
	} {
		_, err := run(t, append([]string{"testbed", "run", "--trace", "synthetic"}, tc.args...)...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: error %v, want %q", tc.args, err, tc.want)
		}
	}
}
