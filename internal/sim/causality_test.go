package sim

import (
	"fmt"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/series"
)

// decisionLog wraps a policy and records every decision, checking on each call that the
// Observation cannot reach the period being decided.
type decisionLog struct {
	policy.Policy
	t         *testing.T
	start     time.Time
	decisions []loggedDecision
}

type loggedDecision struct {
	at       time.Duration
	replicas int
}

func (l *decisionLog) Decide(obs *policy.Observation) policy.Decision {
	if cap(obs.History) != len(obs.History) || cap(obs.Recent) != len(obs.Recent) {
		l.t.Fatalf("%s at %s: observation slices can be resliced past their end (len/cap history %d/%d, recent %d/%d)",
			l.Name(), obs.Now, len(obs.History), cap(obs.History), len(obs.Recent), cap(obs.Recent))
	}
	if n := len(obs.History); n > 0 && obs.History[n-1].Start.Add(obs.Interval).After(obs.Now) {
		l.t.Fatalf("%s at %s: history ends at %s, after the decision time", l.Name(), obs.Now, obs.History[n-1].Start.Add(obs.Interval))
	}
	if n := len(obs.Recent); n > 0 && obs.Recent[n-1].Start.Add(obs.Tick).After(obs.Now) {
		l.t.Fatalf("%s at %s: a recent sample ends after the decision time", l.Name(), obs.Now)
	}
	d := l.Policy.Decide(obs)
	l.decisions = append(l.decisions, loggedDecision{obs.Now.Sub(l.start), d.Replicas})
	return d
}

// causalityEnv is the environment every policy is built with in the causality check.
func causalityEnv(t *testing.T, future []float64) policy.Env {
	t.Helper()
	hist := make([]float64, 2000)
	for i := range hist {
		hist[i] = 400 + 150*float64(i%60)/60
	}
	return policy.Env{Interval: time.Minute, SLO: policy.SLO{Metric: perf.Mean, TargetMS: 16}, Min: 1, Max: 100,
		Startup: 30 * time.Second, Profile: perf.FFT(), Seed: 1, Future: future,
		History: series.Series{Name: "causality", Start: t0.Add(-2000 * time.Minute), Step: time.Minute, Values: hist}}
}

// firstDivergence runs the named policy on two workloads that agree before interval k and
// returns the time of the first decision taken at or before interval k's start that differs.
func firstDivergence(t *testing.T, name string, a, b []float64, k int) (time.Duration, bool) {
	t.Helper()
	return firstDivergenceMin(t, name, a, b, k, 1)
}

// firstDivergenceMin is firstDivergence with the given minimum replicas (0: scale to zero).
func firstDivergenceMin(t *testing.T, name string, a, b []float64, k, minReplicas int) (time.Duration, bool) {
	t.Helper()
	cfg := DefaultConfig()
	cfg.Initial = 5
	cfg.Min = minReplicas
	logs := [2]*decisionLog{}
	for j, rates := range [][]float64{a, b} {
		var future []float64
		if policy.NeedsFuture(name) {
			future = rates
		}
		env := causalityEnv(t, future)
		env.Min = minReplicas
		p, err := policy.New(name, env)
		if err != nil {
			t.Fatalf("build %s: %v", name, err)
		}
		logs[j] = &decisionLog{Policy: p, t: t, start: t0}
		if _, err := Run(cfg, rates, t0, logs[j]); err != nil {
			t.Fatalf("run %s: %v", name, err)
		}
	}
	cut := time.Duration(k) * cfg.Interval
	for i := range logs[0].decisions {
		da, db := logs[0].decisions[i], logs[1].decisions[i]
		if da.at > cut {
			break
		}
		if da.replicas != db.replicas {
			return da.at, true
		}
	}
	return 0, false
}

func perturbedWorkloads(n, k int) (a, b []float64) {
	a = make([]float64, n)
	b = make([]float64, n)
	for i := range a {
		a[i] = 300 + 200*float64((i*7)%11)/11
		b[i] = a[i]
		if i >= k {
			b[i] = a[i] * 4 // a burst that starts exactly at interval k
		}
	}
	return a, b
}

// TestNoPolicyReadsTheIntervalItDecides perturbs the workload from interval k on and checks
// that every decision taken at or before the start of interval k is unchanged, for every
// registered policy that is not clairvoyant.
func TestNoPolicyReadsTheIntervalItDecides(t *testing.T) {
	for _, name := range policy.Names() {
		if policy.NeedsFuture(name) {
			continue
		}
		name = exampleName(name)
		for _, k := range []int{40, 77, 150} {
			t.Run(fmt.Sprintf("%s/k=%d", name, k), func(t *testing.T) {
				a, b := perturbedWorkloads(200, k)
				if at, diverged := firstDivergence(t, name, a, b, k); diverged {
					t.Fatalf("decision at %s changed when only intervals >= %d changed: the policy reads the future", at, k)
				}
			})
		}
	}
}

// TestCausalityCheckCatchesALeak shows that the check above can fail: the clairvoyant
// oracle, which reads the future by design, must be caught.
func TestCausalityCheckCatchesALeak(t *testing.T) {
	a, b := perturbedWorkloads(200, 77)
	if _, diverged := firstDivergence(t, "oracle", a, b, 77); !diverged {
		t.Fatal("the oracle reads the future, but the causality check did not notice")
	}
}

// exampleName turns a parameterised registry name into one that can be built.
func exampleName(name string) string {
	switch name {
	case "static:N":
		return "static:3"
	case "keepalive:N":
		return "keepalive:10m"
	}
	return name
}

// onOffWorkloads are a serverless-like workload (bursts of traffic separated by idle gaps
// of 3 to 25 intervals) and its copy changed from interval k on: the gap that follows k is
// filled with traffic, so a policy that pre-warms on what it will see would diverge.
func onOffWorkloads(n, k int) (a, b []float64) {
	a = make([]float64, n)
	gaps := []int{3, 25, 7, 12, 4, 18}
	for i, g := 0, 0; i < n; g++ {
		for j := 0; j < 3 && i < n; j++ { // three busy intervals
			a[i] = 20 + 5*float64(j)
			i++
		}
		i += gaps[g%len(gaps)]
	}
	b = append([]float64(nil), a...)
	for i := k; i < n; i++ {
		b[i] = a[i] + 30
	}
	return a, b
}

// TestCausalityWithScaleToZero runs every registered policy with min 0 on on/off traffic:
// decisions before interval k must not depend on traffic from k on, also while the
// activator holds requests and policies pre-warm.
func TestCausalityWithScaleToZero(t *testing.T) {
	for _, name := range policy.Names() {
		if policy.NeedsFuture(name) {
			continue
		}
		name = exampleName(name)
		for _, k := range []int{41, 90} {
			t.Run(fmt.Sprintf("%s/k=%d", name, k), func(t *testing.T) {
				a, b := onOffWorkloads(160, k)
				if at, diverged := firstDivergenceMin(t, name, a, b, k, 0); diverged {
					t.Fatalf("decision at %s changed when only intervals >= %d changed: the policy reads the future", at, k)
				}
			})
		}
	}
}

// TestEveryPolicyRunsAtAnyInterval: with default parameters every registered policy builds
// and runs at control intervals its default period does not divide (kpa's 2 s under 15 s
// and 7 s, the hpa's 15 s under 20 s and 45 s): the default period shortens to one that
// divides the interval, which the driver requires.
func TestEveryPolicyRunsAtAnyInterval(t *testing.T) {
	for _, iv := range []time.Duration{7 * time.Second, 15 * time.Second, 20 * time.Second, 45 * time.Second, 90 * time.Second} {
		for _, name := range policy.Names() {
			name = exampleName(name)
			t.Run(fmt.Sprintf("%s/%s", name, iv), func(t *testing.T) {
				rates, _ := perturbedWorkloads(30, 30)
				var future []float64
				if policy.NeedsFuture(name) {
					future = rates
				}
				env := causalityEnv(t, future)
				env.Interval = iv
				env.History.Step = iv
				p, err := policy.New(name, env)
				if err != nil {
					t.Fatalf("build %s at a %s interval: %v", name, iv, err)
				}
				if per := p.Period(); per > 0 && per < iv && iv%per != 0 {
					t.Fatalf("%s's default period %s does not divide the interval %s", name, per, iv)
				}
				cfg := DefaultConfig()
				cfg.Interval = iv
				if _, err := Run(cfg, rates, t0, p); err != nil {
					t.Fatalf("run %s at a %s interval: %v", name, iv, err)
				}
			})
		}
	}
}
