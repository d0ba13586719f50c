// Package rl is a PPO-Clip agent with categorical actions (Schulman et al., 2017): rollout
// buffer with GAE(λ), clipped-surrogate updates with value loss, entropy bonus and
// gradient-norm clipping, running observation normalisation, and checkpoints with a manifest.
package rl
