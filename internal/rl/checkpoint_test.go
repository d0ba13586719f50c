package rl

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func savedAgent(t *testing.T) (*Agent, string) {
	t.Helper()
	a, err := NewAgent(5, 7, Config{Hidden: 16}, 3)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 1))
	for range 50 {
		a.Norm.Update([]float64{rng.NormFloat64(), rng.Float64() * 10, 1, -3, rng.ExpFloat64()})
	}
	dir := filepath.Join(t.TempDir(), "model")
	if err := Save(dir, a, Manifest{Seed: 3, Steps: 100, ValidationScore: -1.25,
		Meta: map[string]string{"policy": "bascaler"}}); err != nil {
		t.Fatal(err)
	}
	return a, dir
}

// TestCheckpointRoundTripKeepsDecisions: a loaded agent decides exactly as the saved one.
func TestCheckpointRoundTripKeepsDecisions(t *testing.T) {
	a, dir := savedAgent(t)
	b, m, err := Load(dir, 5, 7)
	if err != nil {
		t.Fatal(err)
	}
	if m.ValidationScore != -1.25 || m.Meta["policy"] != "bascaler" || m.Steps != 100 || m.Config.Hidden != 16 {
		t.Fatalf("manifest did not round-trip: %+v", m)
	}
	rng := rand.New(rand.NewPCG(9, 9))
	for range 100 {
		s := []float64{rng.NormFloat64(), rng.NormFloat64() * 10, 1, -3, rng.ExpFloat64()}
		pa, pb := a.Probs(s), b.Probs(s)
		for i := range pa {
			if pa[i] != pb[i] {
				t.Fatalf("state %v: probs %v after load, %v before", s, pb, pa)
			}
		}
		if a.Value(s) != b.Value(s) {
			t.Fatalf("value differs after load")
		}
	}
}

func TestLoadRefusesBadOrMismatchedModels(t *testing.T) {
	corrupt := func(file string, f func([]byte) []byte) func(string) {
		return func(dir string) {
			p := filepath.Join(dir, file)
			raw, err := os.ReadFile(p)
			if err != nil {
				panic(err)
			}
			if err := os.WriteFile(p, f(raw), 0o644); err != nil {
				panic(err)
			}
		}
	}
	for _, tc := range []struct {
		name           string
		breakIt        func(dir string)
		states, action int
		want           string
	}{
		{"state size mismatch", func(string) {}, 6, 7, "state of 5 features, this policy builds 6"},
		{"action space mismatch", func(string) {}, 5, 21, "trained for 7 actions, this policy has 21"},
		{"missing manifest", func(d string) { os.Remove(filepath.Join(d, ManifestFile)) }, 5, 7, "no manifest.json"},
		{"missing weights", func(d string) { os.Remove(filepath.Join(d, CriticFile)) }, 5, 7, "critic.bin is missing"},
		{"flipped byte in weights", corrupt(ActorFile, func(b []byte) []byte { b[len(b)/2] ^= 0xff; return b }), 5, 7, "checksum"},
		{"truncated weights", corrupt(ActorFile, func(b []byte) []byte { return b[:len(b)-10] }), 5, 7, "actor.bin"},
		{"manifest not JSON", corrupt(ManifestFile, func(b []byte) []byte { return b[:20] }), 5, 7, "corrupted manifest"},
		{"other kind", corrupt(ManifestFile, func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"kind": "ppo"`, `"kind": "dqn"`, 1))
		}), 5, 7, `kind "dqn"`},
		{"other version", corrupt(ManifestFile, func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"format_version": 1`, `"format_version": 9`, 1))
		}), 5, 7, "format_version 9"},
		{"hidden width changed", corrupt(ManifestFile, func(b []byte) []byte {
			return []byte(strings.Replace(string(b), `"hidden": 16`, `"hidden": 8`, 1))
		}), 5, 7, "shape"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, dir := savedAgent(t)
			tc.breakIt(dir)
			_, _, err := Load(dir, tc.states, tc.action)
			if err == nil || !contains(err.Error(), tc.want) {
				t.Fatalf("Load = %v, want an error containing %q", err, tc.want)
			}
		})
	}
	if _, _, err := Load(filepath.Join(t.TempDir(), "nope"), 0, 0); err == nil || !contains(err.Error(), "does not exist") {
		t.Fatalf("missing directory: %v", err)
	}
}
