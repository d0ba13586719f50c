package policy

import (
	"errors"
	"fmt"

	"github.com/bascaler/bascaler/internal/forecast"
	modelreg "github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/rl"
)

// Corrector adjusts a burst-aware policy's replica estimate outside bursts: BAScaler's third
// level, where a PPO agent (package rl) corrects the SVR/forecast estimate. It is called once
// per control interval with what the policy knows at that instant, and nothing else.
type Corrector interface {
	Correct(in CorrectionInput) (replicas int, explain []KV)
}

// CorrectionInput is what a Corrector may look at.
type CorrectionInput struct {
	Obs *Observation
	// Estimate is the policy's replica estimate before correction (after the reactive floor).
	Estimate int
	// Forecast covers the next Lead+1 intervals; HaveForecast is false while warming up.
	Forecast     forecast.Forecast
	HaveForecast bool
	Lead         int
	// Capacity is the per-pod load (req/s) that meets the SLO.
	Capacity float64
	// Workload is the recent workload (req/s per interval, oldest first, the last entry is the
	// last completed interval). Valid only during the call.
	Workload []float64
}

// CorrectorLoader loads a trained corrector from a model directory for the given
// environment. Package rl's adapter sets it (see rl.go); nil means no corrector support.
var CorrectorLoader func(dir string, policyName string, env Env) (Corrector, error)

// correctorFor returns the environment's injected corrector, or the one in the model
// directory named by the "rl-model" parameter, or nil.
func correctorFor(policyName string, env Env, modelDir string) (Corrector, error) {
	if env.Corrector != nil {
		return env.Corrector, nil
	}
	if modelDir == "" {
		return nil, nil
	}
	if CorrectorLoader == nil {
		return nil, fmt.Errorf("policy %s: rl-model given but this build has no RL support", policyName)
	}
	dir, _, err := modelreg.ResolveKind(modelDir, "rl-model", rl.Kind)
	if errors.Is(err, modelreg.ErrWrongKind) {
		return nil, fmt.Errorf("policy %s: %w: %w", policyName, ErrModelMismatch, err)
	}
	if err != nil {
		return nil, fmt.Errorf("policy %s: rl-model: %w", policyName, err)
	}
	c, err := CorrectorLoader(dir, policyName, env)
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w: rl-model %s: %w", policyName, ErrModel, modelDir, err)
	}
	return c, nil
}

// CorrectorSwapper is a burst-aware policy whose corrector can be replaced while it serves
// (the controller promotes a PPO agent trained by a Job). Swapping takes effect at the next
// decision; nil switches correction off. The corrector must be the policy's own: correctors
// keep per-decision buffers (NewRLCorrector).
type CorrectorSwapper interface {
	Policy
	Corrector() Corrector
	SwapCorrector(c Corrector)
}

func (b *bascaler) Corrector() Corrector      { return b.corrector }
func (b *bascaler) SwapCorrector(c Corrector) { b.corrector = c }

func (b *bascalerPaper) Corrector() Corrector      { return b.corrector }
func (b *bascalerPaper) SwapCorrector(c Corrector) { b.corrector = c }

// LoadCorrector loads the corrector for policyName from a model directory or registry
// reference (REGISTRY@alias) holding a ppo agent, as the "rl-model" parameter does.
func LoadCorrector(ref, policyName string, env Env) (Corrector, error) {
	env.Corrector = nil
	return correctorFor(policyName, env, ref)
}
