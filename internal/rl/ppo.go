package rl

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/bascaler/bascaler/internal/nn"
)

// Trainer runs PPO-Clip updates on an Agent.
type Trainer struct {
	Agent *Agent
	opt   *nn.Adam
	tape  *nn.Tape
	rng   *rand.Rand
	// scratch for minibatch assembly
	xs, oldLP, adv, ret []float64
	acts                []int
}

// NewTrainer returns a trainer whose minibatch shuffling draws from seed.
func NewTrainer(a *Agent, seed uint64) *Trainer {
	params := append(a.ActorParams(), a.CriticParams()...)
	return &Trainer{Agent: a, opt: nn.NewAdam(params, a.Config.LR), tape: nn.NewTape(),
		rng: rand.New(rand.NewPCG(seed, 0xa5a5a5a5))}
}

// UpdateStats summarises one update.
type UpdateStats struct {
	PolicyLoss, ValueLoss, Entropy float64
	// ApproxKL is the mean of (ratio−1) − log ratio over the last epoch, an unbiased,
	// non-negative estimate of KL(old‖new) (Schulman's k3 estimator).
	ApproxKL float64
	// ClipFraction is the share of samples whose ratio left [1−ε, 1+ε] in the last epoch.
	ClipFraction float64
	GradNorm     float64
	Epochs       int
}

// Update runs Config.Epochs passes of minibatch gradient steps over b, which must be
// Finished. The loss of a minibatch of advantages A (normalised to zero mean, unit variance
// over the minibatch), old log-probabilities ℓ₀ and returns R is
//
//	L = −mean(min(ρ·A, clip(ρ, 1−ε, 1+ε)·A)) + c_v·mean((V−R)²) − c_e·mean(H(π)),  ρ = e^(ℓ−ℓ₀)
//
// with the gradient's global norm clipped to MaxGradNorm before each Adam step.
func (t *Trainer) Update(b *Buffer) (UpdateStats, error) {
	n := b.Len()
	if n == 0 || len(b.Advantages) != n {
		return UpdateStats{}, fmt.Errorf("rl: update needs a finished, non-empty rollout")
	}
	cfg := t.Agent.Config
	params := append(t.Agent.ActorParams(), t.Agent.CriticParams()...)
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	mb := min(cfg.Minibatch, n)
	var st UpdateStats
	for ep := 0; ep < cfg.Epochs; ep++ {
		t.rng.Shuffle(n, func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		var sums [5]float64
		batches := 0
		for from := 0; from+mb <= n; from += mb {
			s, err := t.step(b, idx[from:from+mb], params)
			if err != nil {
				return st, err
			}
			for k := range sums {
				sums[k] += s[k]
			}
			batches++
		}
		f := 1 / float64(batches)
		st = UpdateStats{PolicyLoss: sums[0] * f, ValueLoss: sums[1] * f, Entropy: sums[2] * f,
			ApproxKL: sums[3] * f, ClipFraction: sums[4] * f, Epochs: ep + 1}
		if cfg.TargetKL > 0 && st.ApproxKL > cfg.TargetKL {
			break
		}
	}
	return st, nil
}

// step is one gradient step on the minibatch rows; it returns policy loss, value loss,
// entropy, approximate KL and clip fraction.
func (t *Trainer) step(b *Buffer, rows []int, params []*nn.Tensor) ([5]float64, error) {
	a := t.Agent
	cfg := a.Config
	m, s := len(rows), a.StateSize
	t.xs = t.xs[:0]
	t.oldLP, t.adv, t.ret, t.acts = t.oldLP[:0], t.adv[:0], t.ret[:0], t.acts[:0]
	for _, r := range rows {
		t.xs = append(t.xs, b.Obs[r]...)
		t.oldLP = append(t.oldLP, b.LogP[r])
		t.adv = append(t.adv, b.Advantages[r])
		t.ret = append(t.ret, b.Returns[r])
		t.acts = append(t.acts, b.Actions[r])
	}
	normalizeAdvantages(t.adv)

	tp := t.tape
	tp.Reset()
	x := tp.Const(m, s, t.xs)
	h := tp.Tanh(a.actor[0].Forward(tp, x))
	h = tp.Tanh(a.actor[1].Forward(tp, h))
	logp := tp.LogSoftmaxRows(a.actor[2].Forward(tp, h))
	lpa := tp.PickCols(logp, t.acts)
	ratio := tp.Exp(tp.Sub(lpa, tp.Const(m, 1, t.oldLP)))
	adv := tp.Const(m, 1, t.adv)
	surr := tp.Min(tp.Mul(ratio, adv), tp.Mul(tp.Clamp(ratio, 1-cfg.Clip, 1+cfg.Clip), adv))
	policyLoss := tp.Scale(tp.Mean(surr), -1)
	entropy := tp.Scale(tp.Mean(tp.SumCols(tp.Mul(tp.Exp(logp), logp))), -1)

	v := tp.Tanh(a.critic[0].Forward(tp, x))
	v = tp.Tanh(a.critic[1].Forward(tp, v))
	v = a.critic[2].Forward(tp, v)
	valueLoss := tp.MSE(v, tp.Const(m, 1, t.ret))

	loss := tp.Add(policyLoss, tp.Scale(valueLoss, cfg.ValueCoef))
	if cfg.EntropyCoef > 0 {
		loss = tp.Sub(loss, tp.Scale(entropy, cfg.EntropyCoef))
	}
	if err := tp.Backward(loss); err != nil {
		return [5]float64{}, err
	}
	nn.ClipGradNorm(params, cfg.MaxGradNorm)
	t.opt.Step()
	nn.ZeroGrad(params)

	kl, clipped := 0.0, 0.0
	for _, r := range ratio.Data {
		kl += (r - 1) - math.Log(r)
		if r < 1-cfg.Clip || r > 1+cfg.Clip {
			clipped++
		}
	}
	fm := float64(m)
	return [5]float64{policyLoss.Data[0], valueLoss.Data[0], entropy.Data[0], kl / fm, clipped / fm}, nil
}

// normalizeAdvantages standardises x in place (PPO's per-minibatch advantage normalisation:
// the step size then does not depend on the reward's scale).
func normalizeAdvantages(x []float64) {
	if len(x) < 2 {
		return
	}
	mean := 0.0
	for _, v := range x {
		mean += v
	}
	mean /= float64(len(x))
	ss := 0.0
	for _, v := range x {
		ss += (v - mean) * (v - mean)
	}
	sd := math.Sqrt(ss / float64(len(x)))
	for i := range x {
		x[i] = (x[i] - mean) / (sd + 1e-8)
	}
}
