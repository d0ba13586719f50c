package serve

import (
	"fmt"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/series"
)

// DefaultModel is the name of the built-in model every server has.
const DefaultModel = "default"

// DefaultKind is the forecaster the built-in model uses: a classic model, fitted in well
// under a second, so the server needs no files.
const DefaultKind = "holt-winters"

// DefaultHorizon is the largest horizon the built-in model is fitted for.
const DefaultHorizon = 60

// Model is one servable forecaster: its name, where it came from and how it is used.
type Model struct {
	// Name is how requests select it ("default", a registry version's short id, or the
	// name given with --model NAME=SPEC).
	Name string
	// Version identifies the fitted state that produced a forecast: a registry version id,
	// or a description of the built-in model's training data.
	Version string
	Kind    string
	// Step is the model's training step: a forecast request's step must equal it.
	Step time.Duration
	// Horizon is the largest number of steps a forecast may ask for.
	Horizon int
	// Levels are the quantile levels the model predicts.
	Levels []float64
	// Aliases are the registry aliases pointing at this version (champion, challenger, ...).
	Aliases []string
	// Source says where it was loaded from ("built-in", a directory, DIR@REF).
	Source string

	f forecast.Forecaster
}

// MinHistory is the number of history points a forecast needs.
func (m *Model) MinHistory() int { return m.f.MinHistory() }

// Builtin fits the built-in model on the embedded synthetic workload (series preset
// bursty-day, seed 1, req/s at one-minute steps): the first 80% trains it, the rest
// calibrates its intervals.
func Builtin() (*Model, error) {
	o := series.DefaultSynthetic()
	s, err := series.Synthetic(o)
	if err != nil {
		return nil, fmt.Errorf("built-in model: workload: %w", err)
	}
	f, err := forecast.New(DefaultKind, nil)
	if err != nil {
		return nil, fmt.Errorf("built-in model: %w", err)
	}
	cut := s.Len() * 8 / 10
	train, val := s.Slice(0, cut), s.Slice(cut, s.Len())
	opts := forecast.FitOptions{Levels: forecast.DefaultLevels, Horizon: DefaultHorizon, Seed: o.Seed}
	if err := f.Fit(train, val, opts); err != nil {
		return nil, fmt.Errorf("built-in model: fit %s: %w", DefaultKind, err)
	}
	return &Model{Name: DefaultModel, Version: fmt.Sprintf("builtin:%s:%s-seed%d", DefaultKind, series.DefaultSyntheticName, o.Seed),
		Kind: DefaultKind, Step: s.Step, Horizon: DefaultHorizon, Levels: forecast.DefaultLevels, Source: "built-in", f: f}, nil
}

// Load loads a saved model: a model directory or a registry reference DIR@ALIAS or
// DIR@DIGEST-PREFIX (verified before loading). name "" derives one from spec. The model
// takes and returns req/s whatever unit it was trained in (forecast.LoadForRates).
func Load(name, spec string) (*Model, error) {
	dir, id, err := registry.ResolveKind(spec, "model", forecast.Kinds()...)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", spec, err)
	}
	return load(name, spec, dir, id, nil)
}

func load(name, spec, dir, id string, aliases []string) (*Model, error) {
	f, m, err := forecast.LoadModel(dir)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", spec, err)
	}
	step, err := time.ParseDuration(m.Training.Step)
	if err != nil || step <= 0 {
		return nil, fmt.Errorf("model %s: manifest training.step %q is not a positive duration", spec, m.Training.Step)
	}
	rf, err := forecast.ForRates(f, m, forecast.Use{Interval: step})
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", spec, err)
	}
	version := id
	if version == "" {
		version = "dir:" + filepath.Clean(dir)
	}
	if name == "" {
		name = registry.Short(id)
		if id == "" {
			name = filepath.Base(filepath.Clean(dir))
		}
	}
	h := m.Horizon
	if h <= 0 {
		h = DefaultHorizon
	}
	return &Model{Name: name, Version: version, Kind: m.Kind, Step: step, Horizon: h, Levels: m.Levels,
		Aliases: aliases, Source: spec, f: rf}, nil
}

// LoadRegistry loads every verified version of the registry at dir, named by its short id
// and carrying its aliases. Damaged versions are skipped and reported in skipped.
func LoadRegistry(dir string) (models []*Model, skipped []error, err error) {
	r, err := registry.Open(dir)
	if err != nil {
		return nil, nil, err
	}
	list, err := r.List()
	if err != nil {
		return nil, nil, err
	}
	for _, v := range list {
		if v.Err != nil {
			skipped = append(skipped, v.Err)
			continue
		}
		if !slices.Contains(forecast.Kinds(), v.Lineage.Kind) {
			continue // an RL agent or a performance profile: not a forecaster to serve
		}
		m, err := load("", dir+"@"+registry.Short(v.ID), v.Dir, v.ID, v.Aliases)
		if err != nil {
			skipped = append(skipped, err)
			continue
		}
		models = append(models, m)
	}
	return models, skipped, nil
}

// modelSet finds models by name, alias or version id prefix.
type modelSet struct {
	byName map[string]*Model
	order  []*Model
}

func newModelSet(ms []*Model) (*modelSet, error) {
	s := &modelSet{byName: map[string]*Model{}}
	for _, m := range ms {
		if _, dup := s.byName[m.Name]; dup {
			return nil, fmt.Errorf("two models are named %q", m.Name)
		}
		s.byName[m.Name] = m
		s.order = append(s.order, m)
	}
	sort.SliceStable(s.order, func(i, j int) bool { return s.order[i].Name == DefaultModel && s.order[j].Name != DefaultModel })
	return s, nil
}

// find resolves a request's model field: "" is the default, then a name, an alias, or a
// unique prefix of a version id.
func (s *modelSet) find(ref string) (*Model, error) {
	if ref == "" {
		ref = DefaultModel
	}
	if m, ok := s.byName[ref]; ok {
		return m, nil
	}
	var hits []*Model
	for _, m := range s.order {
		for _, a := range m.Aliases {
			if a == ref {
				return m, nil
			}
		}
		if len(ref) >= 4 && strings.HasPrefix(m.Version, ref) && (len(hits) == 0 || hits[0].Version != m.Version) {
			// The same version served under two names is one hit.
			hits = append(hits, m)
		}
	}
	if len(hits) == 1 {
		return hits[0], nil
	}
	names := make([]string, len(s.order))
	for i, m := range s.order {
		names[i] = m.Name
	}
	if len(hits) > 1 {
		return nil, fmt.Errorf("model %q is ambiguous (%d versions match)", ref, len(hits))
	}
	return nil, fmt.Errorf("unknown model %q (served: %s)", ref, strings.Join(names, ", "))
}
