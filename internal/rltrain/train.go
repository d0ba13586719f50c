package rltrain

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/rl"
)

// DefaultSteps is the default training budget: on the NASA trace it trains in one to two
// minutes on a busy 2-core machine (see BenchmarkTrainNASA), inside the 10-minute goal.
const DefaultSteps = 150000

// TrainOptions configure a training run.
type TrainOptions struct {
	// Steps is the budget of environment steps (corrected decisions).
	Steps int
	// Rollout is the number of steps collected per PPO update (default 2048).
	Rollout int
	// EvalEvery is the number of updates between validation replays (default 4); the last
	// update is always validated.
	EvalEvery int
	// Config holds the PPO hyper-parameters; Gamma, when zero, is the reward's.
	Config rl.Config
	Seed   uint64
	// Progress, when set, is told the steps done so far and the budget.
	Progress func(done, total int)
}

// CurvePoint is one update of the training curve.
type CurvePoint struct {
	Steps      int
	MeanReward float64 // mean reward per step of the update's rollout
	PolicyLoss float64
	ValueLoss  float64
	Entropy    float64
	ApproxKL   float64
	// ValScore is the validation score after the update (NaN when not validated).
	ValScore float64
}

// TrainResult is the outcome of Train.
type TrainResult struct {
	// Best is the agent with the highest validation score; BestSteps when it was taken.
	Best      *rl.Agent
	BestSteps int
	BestVal   Validation
	// Baseline is the uncorrected policy on the validation split.
	Baseline Validation
	Curve    []CurvePoint
}

// holdPrior is the initial output bias of the "no correction" action.
const holdPrior = 2.0

// Train runs PPO in the environment and selects, among the validated snapshots, the one with
// the best validation score. Model selection never looks at the test split.
func (e *Env) Train(o TrainOptions) (TrainResult, error) {
	if o.Steps < 1 {
		return TrainResult{}, fmt.Errorf("training budget must be at least 1 step, got %d", o.Steps)
	}
	if o.Rollout == 0 {
		o.Rollout = 2048
	}
	if o.EvalEvery == 0 {
		o.EvalEvery = 4
	}
	cfg := o.Config
	if cfg.Gamma == 0 {
		cfg.Gamma = e.reward.Gamma
	}
	agent, err := rl.NewAgent(policy.RLStateSize, policy.RLActions, cfg, o.Seed)
	if err != nil {
		return TrainResult{}, err
	}
	// Start near the uncorrected policy: a prior on "no correction" (probability about one
	// half among the 2K+1 actions) keeps early exploration around the estimate, which is
	// already a good policy, instead of ±K pods at random.
	if err := agent.SetActionBias(policy.RLMaxStep, holdPrior); err != nil {
		return TrainResult{}, err
	}
	tr := rl.NewTrainer(agent, o.Seed+1)
	rng := rand.New(rand.NewPCG(o.Seed+2, 0x51e0))
	var res TrainResult
	if res.Baseline, err = e.Validate(nil); err != nil {
		return res, err
	}
	best := math.Inf(-1)
	var buf rl.Buffer
	done, updates := 0, 0
	for done < o.Steps {
		buf.Reset()
		st, err := e.Collect(agent, rng, min(o.Rollout, o.Steps-done), &buf)
		if err != nil {
			return res, err
		}
		us, err := tr.Update(&buf)
		if err != nil {
			return res, err
		}
		done += st.Steps
		updates++
		pt := CurvePoint{Steps: done, MeanReward: st.MeanReward, PolicyLoss: us.PolicyLoss,
			ValueLoss: us.ValueLoss, Entropy: us.Entropy, ApproxKL: us.ApproxKL, ValScore: math.NaN()}
		if updates%o.EvalEvery == 0 || done >= o.Steps {
			v, err := e.Validate(agent)
			if err != nil {
				return res, err
			}
			pt.ValScore = v.Score
			if v.Score > best {
				best = v.Score
				res.Best, res.BestSteps, res.BestVal = agent.Clone(), done, v
			}
		}
		res.Curve = append(res.Curve, pt)
		if o.Progress != nil {
			o.Progress(min(done, o.Steps), o.Steps)
		}
	}
	return res, nil
}
