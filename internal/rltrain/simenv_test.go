package rltrain

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/rl"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/sim"
)

// testWorkload is a small daily-cycle workload with noise: 3000 points of history split
// 2400 train / 600 validation, mean about 500 req/s.
func testWorkload() sim.Workload {
	rng := rand.New(rand.NewPCG(4, 4))
	v := make([]float64, 3000)
	for i := range v {
		v[i] = 500 + 250*math.Sin(2*math.Pi*float64(i)/360) + 40*rng.NormFloat64()
		v[i] = math.Max(v[i], 0)
	}
	h := series.Series{Name: "test", Start: time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC), Step: time.Minute, Values: v}
	return sim.Workload{Name: "test", History: h, Train: 2400, Val: 600,
		Eval: series.Series{Start: h.Time(3000), Step: time.Minute, Values: []float64{500}}}
}

func newTestEnv(t *testing.T, reward string) *Env {
	t.Helper()
	e, err := New(Options{Workload: testWorkload(), Config: sim.DefaultConfig(), Reward: reward, Segment: 120, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	return e
}

func testAgent(t *testing.T) *rl.Agent {
	t.Helper()
	a, err := rl.NewAgent(policy.RLStateSize, policy.RLActions, rl.Config{Hidden: 16}, 7)
	if err != nil {
		t.Fatal(err)
	}
	// A non-trivial greedy policy: make the output depend strongly on the state.
	for i, p := range a.ActorParams() {
		for j := range p.Data {
			p.Data[j] += 0.3 * math.Sin(float64(7*i+j))
		}
	}
	return a
}

// leaky is a deliberately broken corrector for the check below: it adds the rate of the
// interval being decided (hindsight) to the state the honest recorder built.
type leaky struct {
	*recorder
	data []float64
	from int
}

func (l *leaky) Correct(in policy.CorrectionInput) (int, []policy.KV) {
	r, kv := l.recorder.Correct(in)
	l.log[len(l.log)-1].state[8] += l.data[l.from+in.Obs.Index]
	return r, kv
}

// futureLeak replays data[from:to] twice, the second time with every workload value from
// interval k on changed, and reports the first interval up to k whose state differed (a state
// built at the start of interval i may depend on intervals before i only). It also reports
// whether any later state changed, which shows that the perturbation reached the run at all.
func futureLeak(t *testing.T, e *Env, a *rl.Agent, from, to, k int, leak bool) (leakAt int, laterChanged bool) {
	t.Helper()
	states := func(env *Env) map[int][]float64 {
		rec := &recorder{agent: a, keepState: true}
		var c policy.Corrector = rec
		if leak {
			c = &leaky{recorder: rec, data: env.data.Values, from: from}
		}
		if _, err := env.run(from, to, env.trainModel, c, 3); err != nil {
			t.Fatal(err)
		}
		out := map[int][]float64{}
		for _, d := range rec.log {
			out[d.index] = d.state
		}
		return out
	}
	base := states(e)
	changed := *e
	changed.data = e.data.Clone()
	for i := from + k; i < changed.data.Len(); i++ {
		changed.data.Values[i] = changed.data.Values[i]*3 + 100
	}
	got := states(&changed)
	leakAt, compared := -1, 0
	for idx := 0; idx < to-from; idx++ {
		s, ok := got[idx]
		b, okb := base[idx]
		if !ok || !okb {
			if idx <= k && ok != okb {
				return idx, laterChanged // corrected in one run only: the decision path changed
			}
			continue
		}
		if idx <= k {
			compared++
			if !equal(s, b) && leakAt < 0 {
				leakAt = idx
			}
		} else if !equal(s, b) {
			laterChanged = true
		}
	}
	if compared == 0 {
		t.Fatalf("k=%d: no decision compared", k)
	}
	return leakAt, laterChanged
}

// TestStateUsesNoFutureData: changing the workload from interval k on changes no state built
// for an interval up to k, while later states do change; and the same check catches a
// corrector that peeks at the interval it decides.
func TestStateUsesNoFutureData(t *testing.T) {
	e := newTestEnv(t, "slo-cost")
	a := testAgent(t)
	from, to := 1500, 1620
	for _, k := range []int{10, 60, 100} {
		at, later := futureLeak(t, e, a, from, to, k, false)
		if at >= 0 {
			t.Fatalf("k=%d: the state for interval %d changed when data from interval %d on changed", k, at, k)
		}
		if !later {
			t.Fatalf("k=%d: no later state changed either: the perturbation reached nothing", k)
		}
	}
	if at, _ := futureLeak(t, e, a, from, to, 60, true); at != 60 {
		t.Fatalf("a corrector reading the decided interval was flagged at %d, want 60", at)
	}
}

func equal(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestCollectRewardsComeFromTheGovernedInterval re-runs a segment's decisions and checks
// that each transition's reward is the reward of the record its decision governed, and that
// episodes end exactly where corrections stop being consecutive or the segment ends.
func TestCollectRewardsComeFromTheGovernedInterval(t *testing.T) {
	e := newTestEnv(t, "slo-cost")
	a := testAgent(t)
	rng := rand.New(rand.NewPCG(1, 2))
	var buf rl.Buffer
	st, err := e.Collect(a, rng, 100, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if st.Segments != 1 || buf.Len() < 100 || st.Episodes < 1 {
		t.Fatalf("collect: %+v with %d transitions", st, buf.Len())
	}
	if !buf.Done[buf.Len()-1] {
		t.Fatal("the last transition of a segment must end its episode")
	}
	// Replay the same segment with the same draws and compare.
	rng2 := rand.New(rand.NewPCG(1, 2))
	from := e.trainFrom + rng2.IntN(e.train-e.trainFrom-e.o.Segment+1)
	a2 := testAgent(t)
	rec := &recorder{agent: a2, rng: rng2, sample: true}
	res, err := e.run(from, from+e.o.Segment, e.trainModel, rec, int64(rng2.Uint32()))
	if err != nil {
		t.Fatal(err)
	}
	if len(rec.log) != buf.Len() {
		t.Fatalf("replay made %d decisions, collect %d", len(rec.log), buf.Len())
	}
	for i, d := range rec.log {
		want := e.reward.Score(&res.Records[d.index], e.o.Config.SLO, d.estimate)
		if buf.Rewards[i] != want || buf.Actions[i] != d.step.Action {
			t.Fatalf("transition %d: reward %v action %d, want %v and %d (interval %d)", i, buf.Rewards[i], buf.Actions[i], want, d.step.Action, d.index)
		}
		wantDone := i+1 == len(rec.log) || rec.log[i+1].index != d.index+1
		if buf.Done[i] != wantDone {
			t.Fatalf("transition %d (interval %d): done %v, want %v", i, d.index, buf.Done[i], wantDone)
		}
	}
}

func TestRewardsByHand(t *testing.T) {
	slo := policy.SLO{Metric: perf.Mean, TargetMS: 16}
	rec := func(cpu, lat, replicas float64, violated bool, failed float64) *sim.Record {
		r := &sim.Record{Violated: violated, Requests: 1000, FailedCount: failed}
		r.CPU, r.LatencyMeanMS, r.Replicas = cpu, lat, replicas
		return r
	}
	paper, _ := RewardByName("paper")
	cost, _ := RewardByName("slo-cost")
	for _, tc := range []struct {
		name string
		r    Reward
		rec  *sim.Record
		est  int
		want float64
	}{
		{"paper: half CPU, SLO met", paper, rec(0.45, 10, 5, false, 0), 5, 0.1 + 0.9*0.5},
		{"paper: 95% CPU is the knee's zero", paper, rec(0.95, 10, 5, false, 0), 5, 0.1},
		{"paper: 97.5% CPU floored at -8", paper, rec(0.975, 10, 5, false, 0), 5, 0.1 - 0.9*8},
		{"paper: latency twice the SLO", paper, rec(0.45, 32, 5, true, 0), 5, 0.1*(-8*1.5) + 0.9*0.5},
		{"paper: failures", paper, rec(0.45, 10, 5, true, 3), 5, 0.1*(-16) + 0.9*0.5},
		{"slo-cost: at the estimate", cost, rec(0.5, 10, 8, false, 0), 8, -1},
		{"slo-cost: violated, one pod short", cost, rec(0.9, 20, 7, true, 0), 8, -7.0/8 - 10},
		{"slo-cost: failures", cost, rec(0.9, 20, 4, true, 100), 0, -4 - 10 - 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.r.Score(tc.rec, slo, tc.est); math.Abs(got-tc.want) > 1e-12 {
				t.Fatalf("reward = %v, want %v", got, tc.want)
			}
		})
	}
	if _, err := RewardByName("speed"); err == nil || !strings.Contains(err.Error(), "paper, slo-cost") {
		t.Fatalf("unknown reward: %v", err)
	}
}

// TestTrainKeepsTheBestValidatedSnapshot runs a tiny budget and checks model selection: the
// kept agent's score is the best validation score of the curve and re-validates to it.
func TestTrainKeepsTheBestValidatedSnapshot(t *testing.T) {
	e := newTestEnv(t, "paper")
	res, err := e.Train(TrainOptions{Steps: 600, Rollout: 200, EvalEvery: 1, Seed: 3, Config: rl.Config{Hidden: 16}})
	if err != nil {
		t.Fatal(err)
	}
	best := math.Inf(-1)
	for _, c := range res.Curve {
		if !math.IsNaN(c.ValScore) {
			best = math.Max(best, c.ValScore)
		}
	}
	if len(res.Curve) < 3 || res.Best == nil || res.BestVal.Score != best {
		t.Fatalf("curve %d points, best %v, kept %v", len(res.Curve), best, res.BestVal.Score)
	}
	again, err := e.Validate(res.Best)
	if err != nil {
		t.Fatal(err)
	}
	if again.Score != res.BestVal.Score {
		t.Fatalf("the kept agent re-validates to %v, recorded %v", again.Score, res.BestVal.Score)
	}
	if res.Baseline.Corrected != 0 || res.BestVal.Corrected == 0 {
		t.Fatalf("corrected intervals: baseline %d, agent %d", res.Baseline.Corrected, res.BestVal.Corrected)
	}
}

func TestNewRejectsBadSetups(t *testing.T) {
	w := testWorkload()
	short := w
	short.Train, short.Val = 100, 2900
	for _, tc := range []struct {
		name string
		o    Options
		want string
	}{
		{"unknown policy", Options{Workload: w, Config: sim.DefaultConfig(), Policy: "hpa"}, "no RL corrector hook"},
		{"unknown reward", Options{Workload: w, Config: sim.DefaultConfig(), Reward: "x"}, "unknown reward"},
		{"training split too short", Options{Workload: short, Config: sim.DefaultConfig()}, "training split has 100 points"},
		{"no validation split", Options{Workload: sim.Workload{Name: "w", History: w.History, Train: 3000}, Config: sim.DefaultConfig()}, "validation"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, err := New(tc.o)
			if err == nil {
				e.Close()
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New = %v, want an error containing %q", err, tc.want)
			}
		})
	}
}

// TestHoldingAgentScoresLikeTheBaseline: an agent that never corrects must reproduce the
// uncorrected policy's validation run and score exactly, so scores compare like with like.
func TestHoldingAgentScoresLikeTheBaseline(t *testing.T) {
	for _, reward := range RewardNames() {
		e := newTestEnv(t, reward)
		a := testAgent(t)
		if err := a.SetActionBias(policy.RLMaxStep, 1000); err != nil {
			t.Fatal(err)
		}
		got, err := e.Validate(a)
		if err != nil {
			t.Fatal(err)
		}
		base, err := e.Validate(nil)
		if err != nil {
			t.Fatal(err)
		}
		if got.Score != base.Score || got.Summary != base.Summary || got.Corrected == 0 {
			t.Fatalf("%s: holding agent %v (%d corrected), baseline %v", reward, got.Score, got.Corrected, base.Score)
		}
	}
}

// TestTrainIsDeterministicForASeed: the same seed reproduces the training curve exactly.
func TestTrainIsDeterministicForASeed(t *testing.T) {
	e := newTestEnv(t, "slo-cost")
	o := TrainOptions{Steps: 300, Rollout: 150, EvalEvery: 1, Seed: 9, Config: rl.Config{Hidden: 8}}
	a, err := e.Train(o)
	if err != nil {
		t.Fatal(err)
	}
	b, err := e.Train(o)
	if err != nil {
		t.Fatal(err)
	}
	if len(a.Curve) != len(b.Curve) {
		t.Fatalf("curves of %d and %d points", len(a.Curve), len(b.Curve))
	}
	for i := range a.Curve {
		if a.Curve[i] != b.Curve[i] {
			t.Fatalf("point %d: %+v vs %+v", i, a.Curve[i], b.Curve[i])
		}
	}
}
