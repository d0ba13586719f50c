package testbed

import (
	"github.com/bascaler/bascaler/internal/measure"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/report"
)

// asResult presents a measured run as a measure.Result, the simulator's shape, so the
// testbed's plots are drawn by the same code as the simulator's: scheduled rate,
// time-averaged allocated and ready replicas, the need from the calibrated capacity,
// measured latencies.
func (pr *PolicyRun) asResult() measure.Result {
	res := measure.Result{Policy: pr.Policy, Summary: pr.Summary.Summary, Records: make([]measure.Record, len(pr.Records))}
	for i := range pr.Records {
		res.Records[i] = pr.Records[i].measured(pr.Interval)
	}
	return res
}

// writePlots draws workload.svg, replicas.svg and latency.svg under dir for every policy run.
func writePlots(dir string, runs []*PolicyRun, slo policy.SLO) error {
	results := make([]measure.Result, len(runs))
	for i, pr := range runs {
		results[i] = pr.asResult()
	}
	_, err := report.Plots(dir, results, slo.TargetMS, slo.Metric)
	return err
}
