package rl

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
)

// Checkpoint layout: a directory holding
//
//	manifest.json  what the model is (kind, version, sizes, hyper-parameters, seed, scores,
//	               normalisation statistics); written last, so its presence means complete
//	actor.bin      actor weights (nn parameter file, checksummed)
//	critic.bin     critic weights
const (
	Kind          = "ppo"
	FormatVersion = 1
	ManifestFile  = "manifest.json"
	ActorFile     = "actor.bin"
	CriticFile    = "critic.bin"
)

// Manifest describes a saved agent.
type Manifest struct {
	Kind          string `json:"kind"`
	FormatVersion int    `json:"format_version"`
	StateSize     int    `json:"state_size"`
	Actions       int    `json:"actions"`
	Config        Config `json:"config"`
	Seed          uint64 `json:"seed"`
	// Steps is the number of environment steps the agent was trained for.
	Steps int `json:"steps"`
	// ValidationScore is the model-selection score on the validation split (higher is
	// better); Validation holds further validation numbers by name.
	ValidationScore float64            `json:"validation_score"`
	Validation      map[string]float64 `json:"validation,omitempty"`
	// Meta records what the agent was trained for (policy, reward, feature set, trace...),
	// so a loader can refuse a model built for something else.
	Meta map[string]string `json:"meta,omitempty"`
	Norm RunningNorm       `json:"obs_norm"`
}

// Save writes the agent into dir (created if needed). m's Kind, FormatVersion, sizes, Config
// and Norm are filled in from the agent.
func Save(dir string, a *Agent, m Manifest) error {
	m.Kind, m.FormatVersion = Kind, FormatVersion
	m.StateSize, m.Actions, m.Config = a.StateSize, a.Actions, a.Config
	m.Norm = *a.Norm
	if math.IsNaN(m.ValidationScore) || math.IsInf(m.ValidationScore, 0) {
		m.ValidationScore = 0 // JSON cannot hold it; a missing score reads as 0
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save agent: %w", err)
	}
	for _, f := range []struct {
		name string
		save func(*bytes.Buffer) error
	}{
		{ActorFile, func(b *bytes.Buffer) error { return saveParams(b, a.ActorParams()) }},
		{CriticFile, func(b *bytes.Buffer) error { return saveParams(b, a.CriticParams()) }},
	} {
		var b bytes.Buffer
		if err := f.save(&b); err != nil {
			return fmt.Errorf("save agent %s: %w", f.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), b.Bytes(), 0o644); err != nil {
			return fmt.Errorf("save agent: %w", err)
		}
	}
	raw, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("save agent manifest: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("save agent: %w", err)
	}
	return nil
}

// ReadManifest reads and checks dir's manifest without loading weights.
func ReadManifest(dir string) (Manifest, error) {
	var m Manifest
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return m, fmt.Errorf("rl model %s: directory does not exist", dir)
		}
		return m, fmt.Errorf("rl model %s: %w", dir, err)
	}
	if !st.IsDir() {
		return m, fmt.Errorf("rl model %s: not a directory", dir)
	}
	path := filepath.Join(dir, ManifestFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return m, fmt.Errorf("rl model %s: no %s (not a trained agent, or training did not finish)", dir, ManifestFile)
		}
		return m, fmt.Errorf("rl model %s: %w", dir, err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return m, fmt.Errorf("rl model %s: corrupted manifest: %w", path, err)
	}
	switch {
	case m.Kind != Kind:
		return m, fmt.Errorf("rl model %s: manifest kind %q, want %q", path, m.Kind, Kind)
	case m.FormatVersion != FormatVersion:
		return m, fmt.Errorf("rl model %s: manifest format_version %d, this build reads %d", path, m.FormatVersion, FormatVersion)
	case m.StateSize < 1 || m.Actions < 2:
		return m, fmt.Errorf("rl model %s: manifest has state_size %d and actions %d (need >= 1 and >= 2)", path, m.StateSize, m.Actions)
	case len(m.Norm.Mean) != m.StateSize || len(m.Norm.Var) != m.StateSize:
		return m, fmt.Errorf("rl model %s: obs_norm has %d means and %d variances for state_size %d", path, len(m.Norm.Mean), len(m.Norm.Var), m.StateSize)
	}
	for i := range m.Norm.Mean {
		if v, s := m.Norm.Mean[i], m.Norm.Var[i]; math.IsNaN(v) || math.IsInf(v, 0) || math.IsNaN(s) || math.IsInf(s, 0) || s < 0 {
			return m, fmt.Errorf("rl model %s: obs_norm feature %d has mean %v, variance %v", path, i, v, s)
		}
	}
	if err := m.Config.Validate(); err != nil {
		return m, fmt.Errorf("rl model %s: %w", path, err)
	}
	return m, nil
}

// Load reads an agent saved by Save. When stateSize or actions are positive they must match
// the manifest: a model trained for another state layout or action space is refused with an
// error that names both numbers.
func Load(dir string, stateSize, actions int) (*Agent, Manifest, error) {
	m, err := ReadManifest(dir)
	if err != nil {
		return nil, m, err
	}
	if stateSize > 0 && m.StateSize != stateSize {
		return nil, m, fmt.Errorf("rl model %s: trained for a state of %d features, this policy builds %d (another feature set or version)", dir, m.StateSize, stateSize)
	}
	if actions > 0 && m.Actions != actions {
		return nil, m, fmt.Errorf("rl model %s: trained for %d actions, this policy has %d (another action space)", dir, m.Actions, actions)
	}
	a, err := NewAgent(m.StateSize, m.Actions, m.Config, m.Seed)
	if err != nil {
		return nil, m, fmt.Errorf("rl model %s: %w", dir, err)
	}
	if err := loadParamFile(filepath.Join(dir, ActorFile), a.ActorParams()); err != nil {
		return nil, m, fmt.Errorf("rl model %s: %w", dir, err)
	}
	if err := loadParamFile(filepath.Join(dir, CriticFile), a.CriticParams()); err != nil {
		return nil, m, fmt.Errorf("rl model %s: %w", dir, err)
	}
	norm := m.Norm
	a.Norm = &RunningNorm{Mean: append([]float64(nil), norm.Mean...), Var: append([]float64(nil), norm.Var...), Count: norm.Count}
	return a, m, nil
}
