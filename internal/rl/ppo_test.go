package rl

import (
	"math"
	"math/rand/v2"
	"testing"
)

// chain is the test's control task: an agent on positions 0..n-1 must walk to a target and
// stay there. Actions: 0 left, 1 stay, 2 right (walls clamp). Reward after each move is
// −|pos−target|/(n−1), so the optimal policy is known exactly: step toward the target, then
// stay. Episodes last 2n steps and start from a random position and target.
type chain struct {
	n, pos, target, t int
}

func (c *chain) state() []float64 {
	s := float64(c.n - 1)
	return []float64{float64(c.pos) / s, float64(c.target) / s}
}

func (c *chain) reset(rng *rand.Rand) {
	c.pos, c.target, c.t = rng.IntN(c.n), rng.IntN(c.n), 0
}

func (c *chain) step(a int) (r float64, done bool) {
	c.pos = min(max(c.pos+a-1, 0), c.n-1)
	c.t++
	return -math.Abs(float64(c.pos-c.target)) / float64(c.n-1), c.t >= 2*c.n
}

// trainChain runs PPO on the chain for steps environment steps.
func trainChain(t *testing.T, seed uint64, steps int) *Agent {
	t.Helper()
	cfg := Config{Hidden: 32, LR: 3e-3, Gamma: 0.9, Lambda: 0.95, Epochs: 4, Minibatch: 64}
	a, err := NewAgent(2, 3, cfg, seed)
	if err != nil {
		t.Fatal(err)
	}
	tr := NewTrainer(a, seed+1)
	rng := rand.New(rand.NewPCG(seed+2, 3))
	env := &chain{n: 7}
	env.reset(rng)
	var buf Buffer
	const rollout = 512
	for done := 0; done < steps; done += rollout {
		buf.Reset()
		for buf.Len() < rollout {
			st := a.Sample(env.state(), rng, true)
			r, end := env.step(st.Action)
			buf.Add(st, r, end)
			if end {
				env.reset(rng)
			}
		}
		if err := buf.Finish(a.Config.Gamma, a.Config.Lambda, a.Value(env.state())); err != nil {
			t.Fatal(err)
		}
		if _, err := tr.Update(&buf); err != nil {
			t.Fatal(err)
		}
	}
	return a
}

// TestPPOLearnsTheOptimalChainPolicy trains on the chain with a bounded budget and then
// checks the greedy policy against the known optimum from every start and target: it must
// reach the target in exactly |start−target| steps and never leave it.
func TestPPOLearnsTheOptimalChainPolicy(t *testing.T) {
	const budget = 40_000
	a := trainChain(t, 1, budget)
	env := &chain{n: 7}
	for start := 0; start < env.n; start++ {
		for target := 0; target < env.n; target++ {
			env.pos, env.target, env.t = start, target, 0
			for k := 0; k < 2*env.n; k++ {
				env.step(a.Greedy(env.state()))
				want := start + (target-start)/max(1, abs(target-start))*min(k+1, abs(target-start))
				if env.pos != want {
					t.Errorf("start %d target %d: after %d steps at %d, optimal is %d (probs at start %v)",
						start, target, k+1, env.pos, want, a.Probs([]float64{float64(start) / 6, float64(target) / 6}))
					break
				}
			}
		}
	}
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// TestTrainingIsDeterministicForASeed: same seed, same weights; another seed, other weights.
func TestTrainingIsDeterministicForASeed(t *testing.T) {
	a := trainChain(t, 5, 2048)
	b := trainChain(t, 5, 2048)
	c := trainChain(t, 6, 2048)
	pa, pb, pc := a.ActorParams(), b.ActorParams(), c.ActorParams()
	same := true
	for i := range pa {
		for j := range pa[i].Data {
			if pa[i].Data[j] != pb[i].Data[j] {
				t.Fatalf("seed 5 twice: %s[%d] differs: %v vs %v", pa[i].Name, j, pa[i].Data[j], pb[i].Data[j])
			}
			if pa[i].Data[j] != pc[i].Data[j] {
				same = false
			}
		}
	}
	if same {
		t.Fatal("seeds 5 and 6 trained identical weights")
	}
}

// TestGAEMatchesHandComputedValues checks Finish on a three-step rollout with an episode end
// in the middle, against values worked out by hand.
func TestGAEMatchesHandComputedValues(t *testing.T) {
	var b Buffer
	b.Add(Step{Value: 1}, 1, false)
	b.Add(Step{Value: 2}, 0, true) // episode ends: no bootstrap from step 3
	b.Add(Step{Value: 0.5}, 2, false)
	const g, l, last = 0.5, 0.8, 4.0
	if err := b.Finish(g, l, last); err != nil {
		t.Fatal(err)
	}
	// t=2: δ = 2 + 0.5·4 − 0.5 = 3.5; A = 3.5
	// t=1: δ = 0 − 2 = −2 (done); A = −2
	// t=0: δ = 1 + 0.5·2 − 1 = 1; A = 1 + 0.5·0.8·(−2) = 0.2
	want := []float64{0.2, -2, 3.5}
	for i, w := range want {
		if math.Abs(b.Advantages[i]-w) > 1e-12 {
			t.Fatalf("advantage %d = %v, want %v", i, b.Advantages[i], w)
		}
		if math.Abs(b.Returns[i]-(w+b.Values[i])) > 1e-12 {
			t.Fatalf("return %d = %v, want %v", i, b.Returns[i], w+b.Values[i])
		}
	}
	var empty Buffer
	if err := empty.Finish(g, l, 0); err == nil {
		t.Fatal("Finish on an empty buffer: want an error")
	}
}

// TestSampleLogProbMatchesProbs: the log-probability recorded at sampling is the log of the
// probability the inference path reports, and sampling frequencies follow the probabilities.
func TestSampleLogProbMatchesProbs(t *testing.T) {
	a, err := NewAgent(3, 4, Config{}, 1)
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.actor[2].W.Data { // make the policy far from uniform
		a.actor[2].W.Data[i] = float64(i%5) - 2
	}
	s := []float64{0.3, -1, 2}
	p := a.Probs(s)
	rng := rand.New(rand.NewPCG(1, 2))
	counts := make([]float64, 4)
	const n = 20000
	for range n {
		st := a.Sample(s, rng, false)
		if math.Abs(st.LogP-math.Log(p[st.Action])) > 1e-12 {
			t.Fatalf("logp %v, log(prob) %v", st.LogP, math.Log(p[st.Action]))
		}
		counts[st.Action]++
	}
	for i := range p {
		if f := counts[i] / n; math.Abs(f-p[i]) > 0.015 {
			t.Fatalf("action %d sampled %.4f of the time, probability %.4f", i, f, p[i])
		}
	}
}

// TestRunningNormMatchesBatchStatistics compares the running mean/variance with a direct
// computation and checks clipping.
func TestRunningNormMatchesBatchStatistics(t *testing.T) {
	xs := [][]float64{{1, 10}, {2, 10}, {3, 10}, {6, 10}}
	r := NewRunningNorm(2)
	for _, x := range xs {
		r.Update(x)
	}
	if math.Abs(r.Mean[0]-3) > 1e-12 || math.Abs(r.Var[0]-3.5) > 1e-12 {
		t.Fatalf("mean %v var %v, want 3 and 3.5", r.Mean[0], r.Var[0])
	}
	dst := make([]float64, 2)
	r.Apply(dst, []float64{100, 10}, 5)
	if dst[0] != 5 || dst[1] != 0 {
		t.Fatalf("Apply = %v, want [5 0] (clipped; constant feature centred)", dst)
	}
}

func TestConfigValidateNamesTheBadField(t *testing.T) {
	for _, tc := range []struct {
		name string
		mod  func(*Config)
		want string
	}{
		{"clip", func(c *Config) { c.Clip = 1.5 }, "clip"},
		{"gamma", func(c *Config) { c.Gamma = -0.1 }, "gamma"},
		{"lr", func(c *Config) { c.LR = math.NaN() }, "lr"},
		{"hidden", func(c *Config) { c.Hidden = -1 }, "hidden"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := DefaultConfig()
			tc.mod(&c)
			err := c.Validate()
			if err == nil || !contains(err.Error(), tc.want) {
				t.Fatalf("Validate() = %v, want an error naming %q", err, tc.want)
			}
		})
	}
	if _, err := NewAgent(0, 3, Config{}, 1); err == nil {
		t.Fatal("state size 0: want an error")
	}
	if _, err := NewAgent(3, 1, Config{}, 1); err == nil {
		t.Fatal("1 action: want an error")
	}
}
