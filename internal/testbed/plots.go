package testbed

import (
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/report"
	"github.com/bascaler/bascaler/internal/sim"
)

// asSimResult presents a measured run as a simulator result, so the testbed's plots are
// drawn by the same code as the simulator's: scheduled rate, time-averaged allocated and
// ready replicas, the need from the calibrated capacity, measured latencies.
func (pr *PolicyRun) asSimResult() sim.Result {
	res := sim.Result{Policy: pr.Policy, Summary: pr.Summary.Summary, Records: make([]sim.Record, len(pr.Records))}
	for i, r := range pr.Records {
		res.Records[i] = sim.Record{
			Interval: policy.Interval{Rate: r.Rate, LatencyMeanMS: r.MeanMS, LatencyP95MS: r.P95MS, LatencyP99MS: r.P99MS,
				Replicas: r.Replicas, Ready: r.Ready},
			Need: r.Need, Violated: r.Violated,
		}
	}
	return res
}

// writePlots draws workload.svg, replicas.svg and latency.svg under dir for every policy run.
func writePlots(dir string, runs []*PolicyRun, slo policy.SLO) error {
	results := make([]sim.Result, len(runs))
	for i, pr := range runs {
		results[i] = pr.asSimResult()
	}
	_, err := report.Plots(dir, results, slo.TargetMS, slo.Metric)
	return err
}
