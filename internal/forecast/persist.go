package forecast

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

// FormatVersion is the version of the model-directory layout and manifest written by Save.
// LoadModel refuses any other version rather than guessing at a layout it does not know.
const FormatVersion = 1

// File names inside a model directory.
const (
	ManifestFile = "manifest.json"
	StateFile    = "state.bin"
)

// Persistable is implemented by every model that can be saved: its fitted state as bytes
// (the format is the model's own; JSON is fine). UnmarshalState is called on a fresh model
// built by New with the manifest's params.
type Persistable interface {
	MarshalState() ([]byte, error)
	UnmarshalState([]byte) error
}

// Window describes the training data a model was fitted on.
type Window struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"` // start of the last interval
	Step   string    `json:"step"`
	Points int       `json:"points"`
}

// WindowOf returns the Window that describes s.
func WindowOf(s series.Series) Window {
	w := Window{Start: s.Start, Step: s.Step.String(), Points: s.Len()}
	if s.Len() > 0 {
		w.End = s.Time(s.Len() - 1)
	}
	return w
}

// Manifest is the self-description of a saved model (manifest.json).
type Manifest struct {
	Kind          string             `json:"kind"`
	FormatVersion int                `json:"format_version"`
	Params        map[string]string  `json:"params,omitempty"`
	Levels        []float64          `json:"levels"`
	Horizon       int                `json:"horizon,omitempty"`
	Training      Window             `json:"training"`
	Validation    map[string]float64 `json:"validation_scores,omitempty"`
	CreatedBy     string             `json:"created_by,omitempty"`
	// Normalizer is the preprocessing fitted on the training split; Predict's history must be
	// mapped by it before the model sees it (nil: none).
	Normalizer *series.Normalizer `json:"normalizer,omitempty"`
	// RateUnit is the unit of the training values before Normalizer: UnitPerStep (counts per
	// training step; also what an empty value means) or UnitPerSecond. LoadForRates uses it to
	// feed the model from the req/s a backend observes.
	RateUnit string `json:"rate_unit,omitempty"`
	// Calibration holds the conformal adjustments when the saved model was a *Calibrated.
	Calibration *Calibration `json:"calibration,omitempty"`
}

// Save writes f into dir (created if needed): manifest.json and the model's state. A
// *Calibrated model is saved as its base model plus the calibration in the manifest, an *Auto
// as the model it selected. meta's
// Kind, FormatVersion and Calibration are filled in by Save.
func Save(dir string, f Forecaster, meta Manifest) error {
	base := f
	meta.Calibration = nil
	if a, ok := f.(*Auto); ok {
		if a.Model == nil {
			return errors.New("save model auto: not fitted")
		}
		f, base = a.Model, a.Model
		if meta.CreatedBy == "" {
			meta.CreatedBy = "auto"
		}
	}
	if c, ok := f.(*Calibrated); ok {
		base = c.Base
		cal := c.Cal
		meta.Calibration = &cal
	}
	p, ok := base.(Persistable)
	if !ok {
		return fmt.Errorf("save model %s: kind does not support saving", base.Kind())
	}
	state, err := p.MarshalState()
	if err != nil {
		return fmt.Errorf("save model %s: %w", base.Kind(), err)
	}
	meta.Kind = base.Kind()
	meta.FormatVersion = FormatVersion
	if meta.Levels == nil {
		meta.Levels = DefaultLevels
	}
	man, err := json.MarshalIndent(meta, "", "  ")
	if err != nil {
		return fmt.Errorf("save model %s: manifest: %w", base.Kind(), err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	// State first, manifest last: a directory whose manifest exists was completely written.
	if err := os.WriteFile(filepath.Join(dir, StateFile), state, 0o644); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	if err := os.WriteFile(filepath.Join(dir, ManifestFile), append(man, '\n'), 0o644); err != nil {
		return fmt.Errorf("save model: %w", err)
	}
	return nil
}

// LoadModel reads a model saved by Save. Errors name the directory and what is wrong: a
// missing directory or manifest, a manifest that is not valid JSON, an unknown kind, a format
// version other than FormatVersion, or state the model cannot decode. When the manifest holds
// a calibration, the result is a *Calibrated wrapping the base model.
func LoadModel(dir string) (Forecaster, Manifest, error) {
	var m Manifest
	st, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, m, fmt.Errorf("load model %s: directory does not exist", dir)
		}
		return nil, m, fmt.Errorf("load model %s: %w", dir, err)
	}
	if !st.IsDir() {
		return nil, m, fmt.Errorf("load model %s: not a directory", dir)
	}
	mpath := filepath.Join(dir, ManifestFile)
	raw, err := os.ReadFile(mpath)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, m, fmt.Errorf("load model %s: no %s (not a saved model?)", dir, ManifestFile)
		}
		return nil, m, fmt.Errorf("load model %s: %w", dir, err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, m, fmt.Errorf("load model %s: corrupted manifest: %w", mpath, err)
	}
	if m.FormatVersion != FormatVersion {
		return nil, m, fmt.Errorf("load model %s: manifest format_version %d, this build reads %d", mpath, m.FormatVersion, FormatVersion)
	}
	if m.Kind == "" {
		return nil, m, fmt.Errorf("load model %s: manifest has no kind", mpath)
	}
	if err := checkLevels(m.Levels); err != nil {
		return nil, m, fmt.Errorf("load model %s: manifest levels: %w", mpath, err)
	}
	f, err := New(m.Kind, m.Params)
	if err != nil {
		return nil, m, fmt.Errorf("load model %s: %w", dir, err)
	}
	p, ok := f.(Persistable)
	if !ok {
		return nil, m, fmt.Errorf("load model %s: kind %s does not support loading", dir, m.Kind)
	}
	spath := filepath.Join(dir, StateFile)
	state, err := os.ReadFile(spath)
	if err != nil {
		return nil, m, fmt.Errorf("load model %s: %w", dir, err)
	}
	if err := p.UnmarshalState(state); err != nil {
		return nil, m, fmt.Errorf("load model %s: state in %s does not decode: %w", dir, spath, err)
	}
	if m.Calibration != nil {
		if err := m.Calibration.validate(); err != nil {
			return nil, m, fmt.Errorf("load model %s: manifest calibration: %w", mpath, err)
		}
		return &Calibrated{Base: f, Cal: *m.Calibration}, m, nil
	}
	return f, m, nil
}

// checkLevels reports whether levels are strictly increasing inside (0, 1).
func checkLevels(levels []float64) error {
	if len(levels) == 0 {
		return errors.New("no quantile levels")
	}
	for i, q := range levels {
		if !(q > 0 && q < 1) {
			return fmt.Errorf("level %d is %v, want 0 < q < 1", i, q)
		}
		if i > 0 && q <= levels[i-1] {
			return fmt.Errorf("levels not strictly increasing at %d (%v after %v)", i, q, levels[i-1])
		}
	}
	return nil
}
