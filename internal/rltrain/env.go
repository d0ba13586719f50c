package rltrain

import (
	"fmt"
	"math"
	"math/rand/v2"
	"os"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/rl"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/sim"
)

// Options configure an environment.
type Options struct {
	// Workload supplies the data: only its History (training and validation splits) is used;
	// its evaluated window (the test split) is never touched.
	Workload sim.Workload
	// Config is the simulated cluster, the same as in evaluation.
	Config sim.Config
	// Policy is the corrected policy ("bascaler"; "bascaler-paper" once it exists).
	Policy string
	// Params are the policy's parameters (unscoped keys).
	Params map[string]string
	// Reward is "paper" or "slo-cost".
	Reward string
	// Segment is the number of intervals replayed per episode segment (default 240).
	Segment int
	// Seed drives the forecaster fit; the training loop has its own seed.
	Seed int64
}

// Env replays stretches of a workload through the simulator under a burst-aware policy whose
// Corrector is a (learning or trained) agent.
//
// Data use, so that nothing leaks from validation or test into training:
//   - the forecaster for training episodes is fitted on the first half of the training split;
//     episodes start in its second half, so the forecasts the agent learns from are
//     out-of-sample, as they are in evaluation;
//   - the forecaster for validation is fitted on the whole training split; validation replays
//     the validation split;
//   - the test split (Workload.Eval) is never read.
//
// Each segment builds a fresh policy whose History is every point before the segment, so its
// workload memory and detector are warm, and runs sim.Run over the segment. The corrector is
// called once per interval outside bursts, with what the policy knows; decision i governs
// Records[i], whose outcome gives the reward. Consecutive corrected intervals form an episode;
// a burst (no correction) or the segment's end closes it.
type Env struct {
	o           Options
	reward      Reward
	data        series.Series // train + validation, req/s
	train, val  int
	trainFrom   int // first start of a training segment
	trainModel  string
	valModel    string
	tmp         string
	modelParam  string
	extraParams map[string]string
	valEst      []int // the uncorrected policy's recommendation per validation interval
}

// forecasterParam names the parameter through which each corrected policy accepts a
// pre-fitted forecaster directory.
var forecasterParam = map[string]string{"bascaler": "model", "bascaler-paper": "model"}

// New prepares an environment: it fits the two forecasters (see Env) and checks that the
// training split holds at least one segment.
func New(o Options) (*Env, error) {
	if o.Policy == "" {
		o.Policy = "bascaler"
	}
	if o.Segment == 0 {
		o.Segment = 240
	}
	if o.Segment < 8 {
		return nil, fmt.Errorf("segment of %d intervals is too short (at least 8)", o.Segment)
	}
	rw, err := RewardByName(o.Reward)
	if err != nil {
		return nil, err
	}
	if _, err := o.Config.Validate(); err != nil {
		return nil, err
	}
	mp, ok := forecasterParam[o.Policy]
	if !ok {
		return nil, fmt.Errorf("policy %q has no RL corrector hook (valid: bascaler, bascaler-paper)", o.Policy)
	}
	w := o.Workload
	if w.Train <= 0 || w.Val <= 0 || w.Train+w.Val != w.History.Len() {
		return nil, fmt.Errorf("workload %s: need training and validation splits (train %d, validation %d, history %d points)", w.Name, w.Train, w.Val, w.History.Len())
	}
	e := &Env{o: o, reward: rw, data: w.History, train: w.Train, val: w.Val, modelParam: mp,
		extraParams: map[string]string{}}
	for k, v := range o.Params {
		e.extraParams[k] = v
	}
	e.trainFrom = w.Train / 2
	if w.Train-e.trainFrom < o.Segment {
		return nil, fmt.Errorf("workload %s: the training split has %d points; training needs at least %d (half to fit the forecaster, then one %d-interval segment)", w.Name, w.Train, 2*o.Segment, o.Segment)
	}
	if dir, given := o.Params[mp]; given {
		// A pre-trained forecaster was named: use it for both (the user vouches for its data).
		e.trainModel, e.valModel = dir, dir
		return e, nil
	}
	e.tmp, err = os.MkdirTemp("", "bascaler-rl-")
	if err != nil {
		return nil, err
	}
	lead := int(math.Ceil((o.Config.Startup + o.Config.StartupJitter).Seconds() / o.Config.Interval.Seconds()))
	kind := o.Params["forecaster"]
	if kind == "" {
		kind = "arima"
	}
	e.trainModel = e.tmp + "/train-forecaster"
	if err := fitAndSave(kind, e.data.Slice(0, e.trainFrom), w.Normalizer, lead+1, o.Seed, e.trainModel); err != nil {
		e.Close()
		return nil, err
	}
	e.valModel = e.tmp + "/val-forecaster"
	if err := fitAndSave(kind, e.data.Slice(0, w.Train), w.Normalizer, lead+1, o.Seed, e.valModel); err != nil {
		e.Close()
		return nil, err
	}
	return e, nil
}

// Close removes the environment's temporary forecaster files.
func (e *Env) Close() {
	if e.tmp != "" {
		os.RemoveAll(e.tmp)
		e.tmp = ""
	}
}

// Reward returns the environment's reward.
func (e *Env) Reward() Reward { return e.reward }

// fitAndSave fits a forecaster as the policies do (last 20000 points at most, the last
// quarter, at most 5000, for validation and calibration) and saves it to dir. h is in the
// workload's units, req/s mapped by norm, and the manifest says so, so that the policy loads
// it back unchanged (forecast.LoadForRates).
func fitAndSave(kind string, h series.Series, norm series.Normalizer, horizon int, seed int64, dir string) error {
	f, err := forecast.New(kind, nil)
	if err != nil {
		return err
	}
	const fitMax = 20000
	if h.Len() > fitMax {
		h = h.Slice(h.Len()-fitMax, h.Len())
	}
	nval := min(h.Len()/4, 5000)
	tr, val := h.Slice(0, h.Len()-nval), h.Slice(h.Len()-nval, h.Len())
	if tr.Len() < f.MinHistory()+horizon {
		return fmt.Errorf("forecaster %s needs %d points to fit, the environment has %d", kind, f.MinHistory()+horizon, tr.Len())
	}
	if err := f.Fit(tr, val, forecast.FitOptions{Levels: forecast.DefaultLevels, Horizon: horizon, Seed: seed}); err != nil {
		return fmt.Errorf("fit forecaster %s: %w", kind, err)
	}
	return forecast.Save(dir, f, forecast.Manifest{Levels: forecast.DefaultLevels, Horizon: horizon,
		Training: forecast.WindowOf(tr), CreatedBy: "rltrain", Normalizer: &norm, RateUnit: forecast.UnitPerSecond})
}

// decision is one corrector call as recorded during a run.
type decision struct {
	index    int // the interval it governs
	estimate int
	step     rl.Step
	state    []float64 // raw state (kept only when asked)
}

// recorder is the Corrector a run uses: it asks the agent (sampling while training, greedy
// otherwise) and records every decision.
type recorder struct {
	agent     *rl.Agent
	rng       *rand.Rand
	sample    bool
	keepState bool
	state     []float64
	log       []decision
}

func (r *recorder) Correct(in policy.CorrectionInput) (int, []policy.KV) {
	if in.Obs == nil {
		return in.Estimate, nil
	}
	r.state = policy.RLState(in, r.state)
	d := decision{index: in.Obs.Index, estimate: in.Estimate}
	if r.sample {
		d.step = r.agent.Sample(r.state, r.rng, true)
	} else {
		d.step = rl.Step{Action: r.agent.Greedy(r.state)}
	}
	if r.keepState {
		d.state = append([]float64(nil), r.state...)
	}
	r.log = append(r.log, d)
	return policy.Clamp(in.Estimate+policy.RLDelta(d.step.Action, in.Estimate), in.Obs.Min, in.Obs.Max), nil
}

// run replays data[from:to] under the policy with corrector c (nil: uncorrected), the
// policy's forecaster loaded from model.
func (e *Env) run(from, to int, model string, c policy.Corrector, seed int64) (sim.Result, error) {
	params := map[string]string{}
	for k, v := range e.extraParams {
		params[k] = v
	}
	params[e.modelParam] = model
	cfg := e.o.Config
	env := policy.Env{Interval: cfg.Interval, SLO: cfg.SLO, Min: cfg.Min, Max: cfg.Max,
		Startup: cfg.Startup + cfg.StartupJitter, Profile: cfg.Profile, History: e.data.Slice(0, from),
		Normalizer: e.o.Workload.Normalizer, Seed: seed, Params: params, Corrector: c}
	p, err := policy.New(e.o.Policy, env)
	if err != nil {
		return sim.Result{}, err
	}
	cfg.Seed = seed
	seg := e.data.Slice(from, to)
	return sim.Run(cfg, seg.Values, seg.Start, p)
}

// EpisodeStats summarises a collection.
type EpisodeStats struct {
	Steps, Episodes, Segments int
	MeanReward                float64
}

// Collect fills buf with at least n transitions from random training segments, sampling
// actions from agent (whose observation statistics it updates), and finishes the buffer's
// advantages with the agent's γ and λ.
func (e *Env) Collect(agent *rl.Agent, rng *rand.Rand, n int, buf *rl.Buffer) (EpisodeStats, error) {
	var st EpisodeStats
	sum := 0.0
	empty := 0 // consecutive segments without a single correction
	for buf.Len() < n {
		if empty >= 50 {
			return st, fmt.Errorf("policy %s made no correction in %d training segments in a row (always in burst mode?)", e.o.Policy, empty)
		}
		from := e.trainFrom + rng.IntN(e.train-e.trainFrom-e.o.Segment+1)
		rec := &recorder{agent: agent, rng: rng, sample: true}
		res, err := e.run(from, from+e.o.Segment, e.trainModel, rec, int64(rng.Uint32()))
		if err != nil {
			return st, fmt.Errorf("training segment at %d: %w", from, err)
		}
		st.Segments++
		if len(rec.log) == 0 {
			empty++
		} else {
			empty = 0
		}
		for i, d := range rec.log {
			r := e.reward.Score(&res.Records[d.index], e.o.Config.SLO, d.estimate)
			done := i+1 == len(rec.log) || rec.log[i+1].index != d.index+1
			if done {
				st.Episodes++
			}
			buf.Add(d.step, r, done)
			sum += r
		}
	}
	st.Steps = buf.Len()
	if st.Steps > 0 {
		st.MeanReward = sum / float64(st.Steps)
	}
	return st, buf.Finish(agent.Config.Gamma, agent.Config.Lambda, 0)
}

// Validation is a replay of the validation split.
type Validation struct {
	// Score is the mean reward per interval over the whole split (higher is better): the
	// model-selection criterion.
	Score   float64
	Summary sim.Summary
	// Corrected is how many intervals the corrector decided (outside bursts).
	Corrected int
}

// Validate replays the validation split under the policy corrected by agent greedily (nil:
// uncorrected, the baseline). Every interval is scored with the environment's reward. The
// estimate that scales a size-free reward is, for every run, the uncorrected policy's
// recommendation for that interval (replayed once and kept), so scores of different agents
// and of the baseline are comparable: an agent cannot improve its score by changing the
// yardstick (later steps of a policy, e.g. a guard, may raise a corrected recommendation).
func (e *Env) Validate(agent *rl.Agent) (Validation, error) {
	if agent != nil && e.valEst == nil {
		if _, err := e.Validate(nil); err != nil {
			return Validation{}, err
		}
	}
	var c policy.Corrector
	var rec *recorder
	if agent != nil {
		rec = &recorder{agent: agent}
		c = rec
	}
	res, err := e.run(e.train, e.train+e.val, e.valModel, c, e.o.Seed)
	if err != nil {
		return Validation{}, fmt.Errorf("validation: %w", err)
	}
	if agent == nil {
		e.valEst = make([]int, len(res.Records))
		for i := range res.Records {
			e.valEst[i] = res.Records[i].Decision.Explanation.Raw
		}
	}
	v := Validation{Summary: res.Summary}
	if rec != nil {
		v.Corrected = len(rec.log)
	}
	sum := 0.0
	for i := range res.Records {
		sum += e.reward.Score(&res.Records[i], e.o.Config.SLO, e.valEst[i])
	}
	v.Score = sum / float64(len(res.Records))
	return v, nil
}
