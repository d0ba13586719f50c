package rl

import (
	"fmt"
	"math"
	"math/rand/v2"

	"gonum.org/v1/gonum/floats"

	"github.com/bascaler/bascaler/internal/nn"
)

// Agent is an actor-critic pair for a categorical action space: the actor maps a normalised
// state to action logits, the critic to a state value. Both are MLPs with two tanh hidden
// layers; they share no weights, so the value loss cannot distort the policy's features.
//
// An Agent is not safe for concurrent use: inference reuses per-agent buffers so that a
// decision allocates nothing.
type Agent struct {
	StateSize, Actions int
	Config             Config
	Norm               *RunningNorm

	actor  [3]*nn.Linear
	critic [3]*nn.Linear

	// inference buffers
	z, h1, h2, out []float64
}

// NewAgent returns a freshly initialised agent. The actor's output layer starts near zero,
// so the first policy is close to uniform and explores every action.
func NewAgent(stateSize, actions int, cfg Config, seed uint64) (*Agent, error) {
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if stateSize < 1 {
		return nil, fmt.Errorf("rl: state size %d must be at least 1", stateSize)
	}
	if actions < 2 {
		return nil, fmt.Errorf("rl: %d actions: a categorical policy needs at least 2", actions)
	}
	rng := rand.New(rand.NewPCG(seed, 0x9e3779b97f4a7c15))
	h := cfg.Hidden
	a := &Agent{StateSize: stateSize, Actions: actions, Config: cfg, Norm: NewRunningNorm(stateSize)}
	a.actor = [3]*nn.Linear{nn.NewLinear(rng, "actor.l1", stateSize, h), nn.NewLinear(rng, "actor.l2", h, h),
		nn.NewLinear(rng, "actor.out", h, actions)}
	a.critic = [3]*nn.Linear{nn.NewLinear(rng, "critic.l1", stateSize, h), nn.NewLinear(rng, "critic.l2", h, h),
		nn.NewLinear(rng, "critic.out", h, 1)}
	for i := range a.actor[2].W.Data {
		a.actor[2].W.Data[i] *= 0.01
	}
	a.z = make([]float64, stateSize)
	a.h1 = make([]float64, h)
	a.h2 = make([]float64, h)
	a.out = make([]float64, max(actions, 1))
	return a, nil
}

// ActorParams lists the actor's trainable tensors in a fixed order (the order of actor.bin).
func (a *Agent) ActorParams() []*nn.Tensor { return layerParams(a.actor) }

// CriticParams lists the critic's trainable tensors in a fixed order (the order of critic.bin).
func (a *Agent) CriticParams() []*nn.Tensor { return layerParams(a.critic) }

func layerParams(ls [3]*nn.Linear) []*nn.Tensor {
	var ps []*nn.Tensor
	for _, l := range ls {
		ps = append(ps, l.Params()...)
	}
	return ps
}

// Normalize writes the normalised state into dst (len StateSize) without updating the
// statistics.
func (a *Agent) Normalize(dst, state []float64) {
	a.Norm.Apply(dst, state, a.Config.ObsClip)
}

// dense computes out = tanh?(x·W + b) for one row, allocation-free.
func dense(out, x []float64, l *nn.Linear, act bool) {
	cols := l.W.Cols
	copy(out, l.B.Data)
	for i, v := range x {
		if v == 0 {
			continue
		}
		floats.AddScaled(out, v, l.W.Data[i*cols:(i+1)*cols])
	}
	if act {
		for j, v := range out {
			out[j] = math.Tanh(v)
		}
	}
}

// logitsOf runs the actor on an already normalised state; the result aliases a.out.
func (a *Agent) logitsOf(z []float64) []float64 {
	dense(a.h1, z, a.actor[0], true)
	dense(a.h2, a.h1, a.actor[1], true)
	out := a.out[:a.Actions]
	dense(out, a.h2, a.actor[2], false)
	return out
}

// valueOf runs the critic on an already normalised state.
func (a *Agent) valueOf(z []float64) float64 {
	dense(a.h1, z, a.critic[0], true)
	dense(a.h2, a.h1, a.critic[1], true)
	var v [1]float64
	dense(v[:], a.h2, a.critic[2], false)
	return v[0]
}

// Greedy returns the most probable action for a raw (unnormalised) state: what a trained
// agent does at inference. It allocates nothing.
func (a *Agent) Greedy(state []float64) int {
	a.Normalize(a.z, state)
	logits := a.logitsOf(a.z)
	best := 0
	for i, v := range logits {
		if v > logits[best] {
			best = i
		}
	}
	return best
}

// Probs returns the action probabilities for a raw state (a new slice).
func (a *Agent) Probs(state []float64) []float64 {
	a.Normalize(a.z, state)
	p := append([]float64(nil), a.logitsOf(a.z)...)
	softmaxInPlace(p)
	return p
}

// Step is one sampled decision during training.
type Step struct {
	// Obs is the normalised state the decision was made on (a new slice).
	Obs    []float64
	Action int
	LogP   float64
	Value  float64
}

// Sample updates the observation statistics with state (when learn is true), then samples an
// action from the policy with rng and returns it with its log-probability and the critic's
// value.
func (a *Agent) Sample(state []float64, rng *rand.Rand, learn bool) Step {
	if learn {
		a.Norm.Update(state)
	}
	z := make([]float64, a.StateSize)
	a.Normalize(z, state)
	logits := a.logitsOf(z)
	lse := logSumExp(logits)
	u := rng.Float64()
	act, cum := a.Actions-1, 0.0
	for i, v := range logits {
		cum += math.Exp(v - lse)
		if u < cum {
			act = i
			break
		}
	}
	lp := logits[act] - lse
	return Step{Obs: z, Action: act, LogP: lp, Value: a.valueOf(z)}
}

// Value returns the critic's estimate for a raw state.
func (a *Agent) Value(state []float64) float64 {
	a.Normalize(a.z, state)
	return a.valueOf(a.z)
}

func logSumExp(x []float64) float64 {
	m := math.Inf(-1)
	for _, v := range x {
		m = max(m, v)
	}
	s := 0.0
	for _, v := range x {
		s += math.Exp(v - m)
	}
	return m + math.Log(s)
}

func softmaxInPlace(x []float64) {
	l := logSumExp(x)
	for i, v := range x {
		x[i] = math.Exp(v - l)
	}
}

// Clone returns a deep copy (weights and normalisation statistics): a snapshot for model
// selection.
func (a *Agent) Clone() *Agent {
	b, _ := NewAgent(a.StateSize, a.Actions, a.Config, 0)
	nn.CopyData(b.ActorParams(), a.ActorParams())
	nn.CopyData(b.CriticParams(), a.CriticParams())
	b.Norm = &RunningNorm{Mean: append([]float64(nil), a.Norm.Mean...), Var: append([]float64(nil), a.Norm.Var...), Count: a.Norm.Count}
	return b
}

// SetActionBias sets the actor's output bias for action: a prior preference before training
// (e.g. for a "do nothing" action, so early exploration stays near a known-good policy).
func (a *Agent) SetActionBias(action int, bias float64) error {
	if action < 0 || action >= a.Actions {
		return fmt.Errorf("rl: action %d outside 0..%d", action, a.Actions-1)
	}
	a.actor[2].B.Data[action] = bias
	return nil
}
