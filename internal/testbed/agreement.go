package testbed

import (
	"encoding/csv"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"

	"github.com/bascaler/bascaler/internal/measure"
)

// Agreement bounds: the simulator agrees with the testbed on a policy when its pod-hours
// are within AgreePodHours (relative) of the testbed's and its violating-interval rate
// within AgreeViolationPoints percentage points (the aims of bench/testbed.md).
const (
	AgreePodHours        = 0.10
	AgreeViolationPoints = 3.0
)

// Agreement compares one policy's testbed runs with the simulator's replay of the same
// window, profile, SLO and bounds.
type Agreement struct {
	Policy string `json:"policy"`
	// Testbed is the mean over the policy's repeats ("seeds" counts them; the _std fields
	// are the run-to-run spread); Simulator is the simulator's summary.
	Testbed   measure.Aggregate `json:"testbed"`
	Simulator measure.Aggregate `json:"simulator"`
	// PodHoursRatio is the simulator's pod-hours over the testbed's; ViolationPoints is the
	// simulator's violating-interval rate minus the testbed's, in percentage points;
	// RequestsOverSLOPoints the same for requests over the SLO.
	PodHoursRatio         float64 `json:"pod_hours_ratio"`
	ViolationPoints       float64 `json:"violation_points"`
	RequestsOverSLOPoints float64 `json:"requests_over_slo_points"`
	// TestbedPodHoursRange and TestbedViolationRange are the smallest and largest values
	// over the repeats.
	TestbedPodHoursRange  [2]float64 `json:"testbed_pod_hours_range"`
	TestbedViolationRange [2]float64 `json:"testbed_violation_rate_range"`
	// Agrees says both differences are within AgreePodHours and AgreeViolationPoints.
	Agrees bool `json:"agrees"`
}

// Ranking orders the policies by one measure in each backend (best first).
type Ranking struct {
	Testbed   []string `json:"testbed"`
	Simulator []string `json:"simulator"`
	Same      bool     `json:"same"`
}

// Rankings are the two orders bench/testbed.md compares.
type Rankings struct {
	ByViolations Ranking `json:"by_violations"`
	ByCost       Ranking `json:"by_cost"`
}

// Agree pairs every policy's testbed runs (results, any number of repeats per policy) with
// the simulator's aggregate of the same name, in the order policies first appear in
// results. A policy the simulator did not run is an error.
func Agree(results []Summary, simulated []measure.Aggregate) ([]Agreement, Rankings, error) {
	var order []string
	runs := map[string][]Summary{}
	for _, s := range results {
		if _, ok := runs[s.Policy]; !ok {
			order = append(order, s.Policy)
		}
		runs[s.Policy] = append(runs[s.Policy], s)
	}
	simOf := map[string]measure.Aggregate{}
	for _, a := range simulated {
		simOf[a.Policy] = a
	}
	var out []Agreement
	for _, name := range order {
		sa, ok := simOf[name]
		if !ok {
			return nil, Rankings{}, fmt.Errorf("agreement: the simulator has no result for policy %s", name)
		}
		rs := runs[name]
		sums := make([]measure.Summary, len(rs))
		a := Agreement{Policy: name, Simulator: sa,
			TestbedPodHoursRange:  [2]float64{math.Inf(1), math.Inf(-1)},
			TestbedViolationRange: [2]float64{math.Inf(1), math.Inf(-1)}}
		for i, r := range rs {
			sums[i] = r.Summary
			a.TestbedPodHoursRange = widen(a.TestbedPodHoursRange, r.CostPodHours)
			a.TestbedViolationRange = widen(a.TestbedViolationRange, r.SLOViolationRate)
		}
		a.Testbed = measure.Combine(name, sums)
		if a.Testbed.CostPodHours > 0 {
			a.PodHoursRatio = sa.CostPodHours / a.Testbed.CostPodHours
		}
		a.ViolationPoints = 100 * (sa.SLOViolationRate - a.Testbed.SLOViolationRate)
		a.RequestsOverSLOPoints = 100 * (sa.RequestsOverSLO - a.Testbed.RequestsOverSLO)
		a.Agrees = a.Testbed.CostPodHours > 0 && math.Abs(a.PodHoursRatio-1) <= AgreePodHours &&
			math.Abs(a.ViolationPoints) <= AgreeViolationPoints
		out = append(out, a)
	}
	rk := Rankings{
		ByViolations: rank(out, func(a measure.Aggregate) float64 { return a.SLOViolationRate }),
		ByCost:       rank(out, func(a measure.Aggregate) float64 { return a.CostPodHours }),
	}
	return out, rk, nil
}

func widen(r [2]float64, v float64) [2]float64 {
	return [2]float64{math.Min(r[0], v), math.Max(r[1], v)}
}

// rank orders policies by key, ascending, in each backend; ties keep the input order.
func rank(as []Agreement, key func(measure.Aggregate) float64) Ranking {
	order := func(get func(Agreement) measure.Aggregate) []string {
		idx := make([]int, len(as))
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(i, j int) bool { return key(get(as[idx[i]])) < key(get(as[idx[j]])) })
		names := make([]string, len(idx))
		for i, k := range idx {
			names[i] = as[k].Policy
		}
		return names
	}
	r := Ranking{Testbed: order(func(a Agreement) measure.Aggregate { return a.Testbed }),
		Simulator: order(func(a Agreement) measure.Aggregate { return a.Simulator })}
	r.Same = len(r.Testbed) == len(r.Simulator)
	for i := range r.Testbed {
		r.Same = r.Same && r.Testbed[i] == r.Simulator[i]
	}
	return r
}

// WriteTrajectories writes dir/agreement-replicas.csv: per policy and interval, the
// testbed's time-averaged allocated replicas (mean over repeats) beside the simulator's
// (sim[policy], one value per interval).
func WriteTrajectories(dir string, runs []*PolicyRun, sim map[string][]float64) error {
	var order []string
	mean := map[string][]float64{}
	count := map[string]int{}
	for _, pr := range runs {
		m, ok := mean[pr.Policy]
		if !ok {
			order = append(order, pr.Policy)
			m = make([]float64, len(pr.Records))
		}
		for k, rec := range pr.Records {
			if k < len(m) {
				m[k] += rec.Replicas
			}
		}
		mean[pr.Policy] = m
		count[pr.Policy]++
	}
	f, err := os.Create(filepath.Join(dir, "agreement-replicas.csv"))
	if err != nil {
		return err
	}
	w := csv.NewWriter(f)
	_ = w.Write([]string{"policy", "interval", "testbed_replicas", "simulator_replicas"})
	g := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	for _, name := range order {
		s := sim[name]
		for k, v := range mean[name] {
			simV := ""
			if k < len(s) {
				simV = g(s[k])
			}
			_ = w.Write([]string{name, strconv.Itoa(k), g(v / float64(count[name])), simV})
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
