package sim

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sort"
	"strconv"
	"strings"

	"github.com/bascaler/bascaler/internal/frontier"
	"github.com/bascaler/bascaler/internal/policy"
)

// Grid is the sweep of one policy's main knob: the policy run once per value of Param.
// For static, Param is "n" and each value is a replica count (static:N).
type Grid struct {
	Policy string   `json:"policy"`
	Param  string   `json:"param"`
	Values []string `json:"values"`
}

// DefaultGrids are the knobs swept when the caller gives none, about five settings each
// around the policy's default:
//
//	hpa, phpa, ehpa  target                         0.5 0.55 0.6 0.65 0.7 (CPU utilisation)
//	kpa              target-utilization-percentage  60 70 80 90 100
//	threshold        cpu-low                        0.3 0.4 0.5 0.6 0.7
//	bascaler         headroom                       0.8 0.85 0.9 0.95 1
//	static           n                              the pods that serve the 50, 75, 90, 99
//	                                                and 100th percentile of the evaluated
//	                                                rates at the SLO (chosen in hindsight:
//	                                                a static count is a hindsight baseline)
//
// bascaler-paper has no cost knob (its SVR says how many pods a rate needs) and the oracle
// none either: each is one point.
func DefaultGrids() []Grid {
	targets := []string{"0.5", "0.55", "0.6", "0.65", "0.7"}
	return []Grid{
		{Policy: "hpa", Param: "target", Values: targets},
		{Policy: "phpa", Param: "target", Values: targets},
		{Policy: "ehpa", Param: "target", Values: targets},
		{Policy: "kpa", Param: "target-utilization-percentage", Values: []string{"60", "70", "80", "90", "100"}},
		{Policy: "threshold", Param: "cpu-low", Values: []string{"0.3", "0.4", "0.5", "0.6", "0.7"}},
		{Policy: "bascaler", Param: "headroom", Values: []string{"0.8", "0.85", "0.9", "0.95", "1"}},
		{Policy: "static", Param: "n"},
	}
}

// ParseGrid reads "policy.param=v1,v2,..." (e.g. "hpa.target=0.5,0.6").
func ParseGrid(s string) (Grid, error) {
	k, v, ok := strings.Cut(s, "=")
	pol, param, scoped := strings.Cut(k, ".")
	if !ok || !scoped || pol == "" || param == "" {
		return Grid{}, fmt.Errorf("grid %q: want policy.param=v1,v2,... (e.g. hpa.target=0.5,0.6)", s)
	}
	g := Grid{Policy: strings.TrimSpace(pol), Param: strings.TrimSpace(param)}
	for _, x := range strings.Split(v, ",") {
		if x = strings.TrimSpace(x); x != "" {
			g.Values = append(g.Values, x)
		}
	}
	if len(g.Values) == 0 {
		return Grid{}, fmt.Errorf("grid %q: no values", s)
	}
	if g.Policy == "static" {
		if g.Param != "n" {
			return Grid{}, fmt.Errorf("grid %q: static's knob is n (the replica count)", s)
		}
		for _, x := range g.Values {
			if n, err := strconv.Atoi(x); err != nil || n < 1 {
				return Grid{}, fmt.Errorf("grid %q: replica count %q is not a positive integer", s, x)
			}
		}
	}
	return g, nil
}

// Sweep runs every policy over its grid on each workload and computes the frontiers.
type Sweep struct {
	// Experiment carries the workloads, seeds, cluster, shared parameters, workers and
	// progress; its Policies are the policies to sweep (Variants is filled by the sweep).
	Experiment
	// Grids override DefaultGrids per policy.
	Grids []Grid
	// Subject is the policy compared against every other one and against the best of them
	// ("bascaler" when empty). Without it among the policies there are no comparisons.
	Subject string
}

// SweepPoint is one setting's result.
type SweepPoint struct {
	// Value is the knob's value ("" for a policy without a knob).
	Value string `json:"value"`
	Aggregate
}

// PolicyFrontier is one policy's sweep on one workload.
type PolicyFrontier struct {
	Policy   string            `json:"policy"`
	Param    string            `json:"param,omitempty"`
	Points   []SweepPoint      `json:"points"`
	Frontier frontier.Frontier `json:"frontier"`
}

// PairComparison is the subject's frontier against another's.
type PairComparison struct {
	Subject  string `json:"subject"`
	Baseline string `json:"baseline"`
	frontier.Comparison
}

// BestBaseline names the frontier of the union of every baseline's points.
const BestBaseline = "best baseline"

// SweepResult is a sweep's outcome on one workload.
type SweepResult struct {
	Workload  string `json:"trace"`
	Intervals int    `json:"intervals"`
	// Oracle is the clairvoyant floor's point, when the oracle was among the policies.
	Oracle      *frontier.Point  `json:"oracle,omitempty"`
	Policies    []PolicyFrontier `json:"policies"`
	Comparisons []PairComparison `json:"comparisons"`
}

// Run sweeps each workload in turn (the runs of one workload in parallel).
func (s Sweep) Run(ctx context.Context) ([]SweepResult, error) {
	subject := s.Subject
	if subject == "" {
		subject = "bascaler"
	}
	grids := map[string]Grid{}
	for _, g := range DefaultGrids() {
		grids[g.Policy] = g
	}
	for _, g := range s.Grids {
		if !slices.Contains(s.Policies, g.Policy) {
			return nil, fmt.Errorf("grid for %s: the policy is not among the swept ones (%s)", g.Policy, strings.Join(s.Policies, ", "))
		}
		grids[g.Policy] = g
	}
	var out []SweepResult
	for _, w := range s.Workloads {
		e := s.Experiment
		e.Workloads, e.Policies, e.Variants = []Workload{w}, nil, nil
		type member struct{ policy, param, value string }
		owner := map[string]member{}
		for _, name := range s.Policies {
			g, ok := grids[name]
			if name == "static" && ok && len(g.Values) == 0 {
				g.Values = s.staticGrid(w)
			}
			if !ok || len(g.Values) == 0 {
				e.Variants = append(e.Variants, Variant{Label: name, Policy: name})
				owner[name] = member{policy: name}
				continue
			}
			for _, v := range g.Values {
				vr := Variant{Label: name + " " + g.Param + "=" + v, Policy: name, Params: map[string]string{g.Param: v}}
				if name == "static" {
					vr = Variant{Label: "static:" + v, Policy: "static:" + v}
				}
				e.Variants = append(e.Variants, vr)
				owner[vr.Label] = member{name, g.Param, v}
			}
		}
		outs, err := e.Run(ctx)
		if err != nil {
			return nil, err
		}
		res := SweepResult{Workload: w.Name, Intervals: w.Eval.Len()}
		index := map[string]int{}
		for _, a := range Aggregates(outs, w.Name) {
			m := owner[a.Policy]
			p := frontier.Point{Label: a.Policy, Cost: a.CostPodHours, Violations: a.SLOViolationRate}
			if policy.NeedsFuture(m.policy) {
				res.Oracle = &p
				continue
			}
			i, seen := index[m.policy]
			if !seen {
				i = len(res.Policies)
				index[m.policy] = i
				res.Policies = append(res.Policies, PolicyFrontier{Policy: m.policy, Param: m.param})
			}
			res.Policies[i].Points = append(res.Policies[i].Points, SweepPoint{Value: m.value, Aggregate: a})
		}
		for i := range res.Policies {
			pf := &res.Policies[i]
			pts := make([]frontier.Point, len(pf.Points))
			for j, p := range pf.Points {
				pts[j] = frontier.Point{Label: p.Policy, Cost: p.CostPodHours, Violations: p.SLOViolationRate}
			}
			if pf.Frontier, err = frontier.Envelope(pts); err != nil {
				return nil, fmt.Errorf("frontier of %s on %s: %w", pf.Policy, w.Name, err)
			}
		}
		res.Comparisons, err = compareSubject(subject, res.Policies)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", w.Name, err)
		}
		out = append(out, res)
	}
	return out, nil
}

// compareSubject compares the subject's frontier with every other policy's and with the best
// of them.
func compareSubject(subject string, pfs []PolicyFrontier) ([]PairComparison, error) {
	var sub *frontier.Frontier
	var others []frontier.Frontier
	for i := range pfs {
		if pfs[i].Policy == subject {
			sub = &pfs[i].Frontier
		} else {
			others = append(others, pfs[i].Frontier)
		}
	}
	if sub == nil || len(others) == 0 {
		return nil, nil
	}
	var out []PairComparison
	for _, pf := range pfs {
		if pf.Policy != subject {
			out = append(out, PairComparison{Subject: subject, Baseline: pf.Policy, Comparison: frontier.Compare(*sub, pf.Frontier)})
		}
	}
	if len(others) > 1 {
		best, err := frontier.Best(others...)
		if err != nil {
			return nil, err
		}
		out = append(out, PairComparison{Subject: subject, Baseline: BestBaseline, Comparison: frontier.Compare(*sub, best)})
	}
	return out, nil
}

// staticGrid is static's default: the pods serving given percentiles of the evaluated rates
// at the SLO (deduplicated, at least 1).
func (s Sweep) staticGrid(w Workload) []string {
	capacity, err := s.Config.Profile.CapacityAt(s.Config.SLO.Metric, s.Config.SLO.TargetMS)
	if err != nil || !(capacity > 0) || w.Eval.Len() == 0 {
		return nil
	}
	rates := append([]float64(nil), w.Eval.Values...)
	sort.Float64s(rates)
	var out []string
	for _, q := range []float64{0.5, 0.75, 0.9, 0.99, 1} {
		r := rates[min(int(q*float64(len(rates)-1)+0.5), len(rates)-1)]
		n := strconv.Itoa(max(1, int(math.Ceil(r/capacity))))
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out
}
