package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/rl"
)

// TestTrainRLWritesAnAgentThatSimulateLoads trains a tiny agent on the synthetic workload,
// checks the output files, and runs simulate with it.
func TestTrainRLWritesAnAgentThatSimulateLoads(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "agent")
	out, err := run(t, "train", "rl", "--trace", "synthetic", "--out", dir, "--steps", "200",
		"--rollout", "100", "--segment", "60", "--eval-every", "1")
	if err != nil {
		t.Fatalf("train rl: %v\n%s", err, out)
	}
	if !strings.Contains(out, "best validation score") {
		t.Fatalf("train output: %s", out)
	}
	for _, f := range []string{rl.ManifestFile, rl.ActorFile, rl.CriticFile, "curve.csv", "curve.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Fatalf("%s not written: %v", f, err)
		}
	}
	m, err := rl.ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if m.Meta["policy"] != "bascaler" || m.Meta["reward"] != "slo-cost" || m.Steps < 200 {
		t.Fatalf("manifest: %+v", m)
	}
	csv, _ := os.ReadFile(filepath.Join(dir, "curve.csv"))
	if lines := strings.Count(string(csv), "\n"); lines < 3 {
		t.Fatalf("curve.csv has %d lines:\n%s", lines, csv)
	}

	sout, err := run(t, "simulate", "--trace", "synthetic", "--policy", "bascaler", "--param", "bascaler.rl-model="+dir, "--format", "json")
	if err != nil {
		t.Fatalf("simulate with the agent: %v", err)
	}
	var rep simJSON
	if err := json.Unmarshal([]byte(sout), &rep); err != nil || len(rep.Results) != 1 || rep.Results[0].CostPodHours == nil {
		t.Fatalf("simulate JSON: %v\n%s", err, sout)
	}
	// A model for another policy is refused with the mismatch named.
	_, err = run(t, "simulate", "--trace", "synthetic", "--policy", "bascaler", "--param", "bascaler.rl-model="+t.TempDir(), "--format", "json")
	if err == nil || !strings.Contains(err.Error(), "manifest.json") {
		t.Fatalf("simulate with an empty model dir: %v", err)
	}
}

func TestTrainRLBadInput(t *testing.T) {
	out := filepath.Join(t.TempDir(), "x")
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no out", []string{"train", "rl", "--trace", "synthetic"}, "--out"},
		{"zero steps", []string{"train", "rl", "--trace", "synthetic", "--out", out, "--steps", "0"}, "--steps"},
		{"unknown reward", []string{"train", "rl", "--trace", "synthetic", "--out", out, "--reward", "fast"}, "unknown reward"},
		{"policy without hook", []string{"train", "rl", "--trace", "synthetic", "--out", out, "--policy", "hpa"}, "no RL corrector hook"},
		{"missing trace", []string{"train", "rl", "--trace", "/nonexistent.csv", "--out", out}, "nonexistent.csv"},
		{"missing profile", []string{"train", "rl", "--trace", "synthetic", "--out", out, "--profile", "/nonexistent-profile.csv"}, "--profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := run(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one containing %q", err, tc.want)
			}
		})
	}
}
