package rl

import (
	"fmt"
	"math"
)

// Config holds the PPO hyper-parameters. Zero fields take the defaults of DefaultConfig when
// passed through WithDefaults.
type Config struct {
	// Hidden is the width of the two tanh hidden layers of both the actor and the critic.
	Hidden int `json:"hidden"`
	// LR is Adam's learning rate.
	LR float64 `json:"lr"`
	// Gamma is the discount factor; Lambda the GAE(λ) trace parameter.
	Gamma  float64 `json:"gamma"`
	Lambda float64 `json:"lambda"`
	// Clip is PPO's ε: the probability ratio is clipped to [1−ε, 1+ε].
	Clip float64 `json:"clip"`
	// Epochs is how many passes an update makes over a rollout, in minibatches of Minibatch.
	Epochs    int `json:"epochs"`
	Minibatch int `json:"minibatch"`
	// ValueCoef and EntropyCoef weight the value loss and the entropy bonus.
	ValueCoef   float64 `json:"value_coef"`
	EntropyCoef float64 `json:"entropy_coef"`
	// MaxGradNorm bounds the global L2 norm of the gradient of each minibatch.
	MaxGradNorm float64 `json:"max_grad_norm"`
	// TargetKL, when positive, ends an update's epochs early once the approximate KL
	// divergence from the rollout policy exceeds it (a guard against destructive updates).
	TargetKL float64 `json:"target_kl,omitempty"`
	// ObsClip bounds every normalised observation to [−ObsClip, ObsClip].
	ObsClip float64 `json:"obs_clip"`
}

// DefaultConfig returns the hyper-parameters used unless told otherwise: the common PPO
// settings for small discrete-action problems.
func DefaultConfig() Config {
	return Config{Hidden: 64, LR: 3e-4, Gamma: 0.99, Lambda: 0.95, Clip: 0.2, Epochs: 4,
		Minibatch: 64, ValueCoef: 0.5, EntropyCoef: 0.01, MaxGradNorm: 0.5, ObsClip: 5}
}

// WithDefaults fills zero fields from DefaultConfig.
func (c Config) WithDefaults() Config {
	d := DefaultConfig()
	if c.Hidden == 0 {
		c.Hidden = d.Hidden
	}
	if c.LR == 0 {
		c.LR = d.LR
	}
	if c.Gamma == 0 {
		c.Gamma = d.Gamma
	}
	if c.Lambda == 0 {
		c.Lambda = d.Lambda
	}
	if c.Clip == 0 {
		c.Clip = d.Clip
	}
	if c.Epochs == 0 {
		c.Epochs = d.Epochs
	}
	if c.Minibatch == 0 {
		c.Minibatch = d.Minibatch
	}
	if c.ValueCoef == 0 {
		c.ValueCoef = d.ValueCoef
	}
	if c.MaxGradNorm == 0 {
		c.MaxGradNorm = d.MaxGradNorm
	}
	if c.ObsClip == 0 {
		c.ObsClip = d.ObsClip
	}
	return c
}

// Validate reports the first out-of-range hyper-parameter by name.
func (c Config) Validate() error {
	bad := func(name string, v any, want string) error {
		return fmt.Errorf("rl config: %s = %v %s", name, v, want)
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	switch {
	case c.Hidden < 1 || c.Hidden > 4096:
		return bad("hidden", c.Hidden, "must be in [1, 4096]")
	case !(c.LR > 0) || !finite(c.LR):
		return bad("lr", c.LR, "must be positive")
	case !(c.Gamma >= 0 && c.Gamma <= 1):
		return bad("gamma", c.Gamma, "must be in [0, 1]")
	case !(c.Lambda >= 0 && c.Lambda <= 1):
		return bad("lambda", c.Lambda, "must be in [0, 1]")
	case !(c.Clip > 0 && c.Clip < 1):
		return bad("clip", c.Clip, "must be in (0, 1)")
	case c.Epochs < 1:
		return bad("epochs", c.Epochs, "must be at least 1")
	case c.Minibatch < 1:
		return bad("minibatch", c.Minibatch, "must be at least 1")
	case !(c.ValueCoef >= 0) || !finite(c.ValueCoef):
		return bad("value_coef", c.ValueCoef, "must be non-negative")
	case !(c.EntropyCoef >= 0) || !finite(c.EntropyCoef):
		return bad("entropy_coef", c.EntropyCoef, "must be non-negative")
	case !(c.MaxGradNorm > 0) || !finite(c.MaxGradNorm):
		return bad("max_grad_norm", c.MaxGradNorm, "must be positive")
	case !(c.TargetKL >= 0) || !finite(c.TargetKL):
		return bad("target_kl", c.TargetKL, "must be non-negative")
	case !(c.ObsClip > 0):
		return bad("obs_clip", c.ObsClip, "must be positive")
	}
	return nil
}
