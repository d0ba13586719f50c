package report

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/bascaler/bascaler/internal/measure"
)

// Table writes one row per policy: the evaluation protocol's headline numbers, and each
// policy's cost relative to the oracle when the oracle ran.
func Table(w io.Writer, workload string, intervals int, aggs []measure.Aggregate) error {
	var oracleCost float64
	for _, a := range aggs {
		if a.Policy == "oracle" {
			oracleCost = a.CostPodHours
		}
	}
	fmt.Fprintf(w, "workload %s, %d intervals\n", workload, intervals)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	head := []string{"policy", "SLO viol.", "req>SLO", "failed", "pod-hours", "x oracle", "mean pods", "actions", "over p-h", "under p-h", ""}
	fmt.Fprintln(tw, strings.Join(head, "\t"))
	for _, a := range aggs {
		ratio := "-"
		if oracleCost > 0 {
			ratio = fmt.Sprintf("%.2f", a.CostPodHours/oracleCost)
		}
		viol := fmt.Sprintf("%.2f%%", 100*a.SLOViolationRate)
		cost := fmt.Sprintf("%.1f", a.CostPodHours)
		if a.Seeds > 1 {
			viol += fmt.Sprintf("±%.2f", 100*a.SLOViolationRateStd)
			cost += fmt.Sprintf("±%.1f", a.CostPodHoursStd)
		}
		fmt.Fprintf(tw, "%s\t%s\t%.2f%%\t%.0f\t%s\t%s\t%.2f\t%d\t%.1f\t%.1f\t\n",
			a.Policy, viol, 100*a.RequestsOverSLO, a.FailedRequests, cost, ratio, a.MeanReplicas,
			a.ScalingActions, a.OverProvisionPodHours, a.UnderProvisionPodHours)
	}
	return tw.Flush()
}

// CSVSummary writes the aggregates as CSV with a header.
func CSVSummary(w io.Writer, workload string, aggs []measure.Aggregate) error {
	if _, err := fmt.Fprintln(w, "trace,policy,seeds,intervals,slo_violation_rate,slo_violation_rate_std,requests_over_slo,failed_requests,cost_pod_hours,cost_pod_hours_std,mean_replicas,scaling_actions,over_provision_pod_hours,under_provision_pod_hours,mean_latency_ms,cold_starts,cold_starts_per_1000,held_requests,held_latency_p99_ms,idle_pod_hours"); err != nil {
		return err
	}
	for _, a := range aggs {
		if _, err := fmt.Fprintf(w, "%s,%s,%d,%d,%g,%g,%g,%g,%g,%g,%g,%d,%g,%g,%g,%g,%g,%g,%g,%g\n", csvField(workload), a.Policy, a.Seeds, a.Intervals,
			a.SLOViolationRate, a.SLOViolationRateStd, a.RequestsOverSLO, a.FailedRequests, a.CostPodHours, a.CostPodHoursStd,
			a.MeanReplicas, a.ScalingActions, a.OverProvisionPodHours, a.UnderProvisionPodHours, a.MeanLatencyMS,
			a.ColdStarts, a.ColdStartsPer1000, a.HeldRequests, a.HeldLatencyP99MS, a.IdlePodHours); err != nil {
			return err
		}
	}
	return nil
}

func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}

// Intervals writes one run's per-interval records as CSV, with the decision that shaped
// each interval and its explanation.
// A run with drift scores (simulate --drift) has drift_* columns before the decision: the
// issued forecast's band and median, whether the interval was scored and covered, its
// pinball loss, the rolling coverage, pinball and error relative to the naive forecast, the
// input PSI, the seasonal error and whether the model was found drifting (and why).
func Intervals(w io.Writer, res measure.Result) error {
	withDrift := len(res.Records) > 0 && res.Records[0].Drift != nil
	head := "start,rate,served,failed,replicas,ready,need,desired,cpu,latency_mean_ms,latency_p95_ms,latency_p99_ms,over_slo,violated,cold_starts,held_requests,held_failed,held_latency_p99_ms,idle_pod_seconds,"
	if withDrift {
		head += "drift_lower,drift_p50,drift_upper,drift_scored,drift_covered,drift_pinball,drift_coverage,drift_pinball_mean,drift_relative_error,drift_psi,drift_seasonal,drift_drifting,drift_reasons,"
	}
	if _, err := fmt.Fprintln(w, head+"decision,explanation"); err != nil {
		return err
	}
	for _, r := range res.Records {
		var dcols string
		if d := r.Drift; withDrift && d != nil {
			reasons := make([]string, len(d.Reasons))
			for k, x := range d.Reasons {
				reasons[k] = string(x)
			}
			dcols = fmt.Sprintf("%.4f,%.4f,%.4f,%t,%t,%.4f,%.4f,%.4f,%.4f,%.4f,%.4f,%t,%s,", d.Lower, d.P50, d.Upper, d.Scored, d.Covered, d.Pinball,
				d.Coverage, d.PinballMean, d.RelError, d.PSI, d.Seasonal, d.Drifting, strings.Join(reasons, ";"))
		}
		if _, err := fmt.Fprintf(w, "%s,%.4f,%.4f,%.4f,%.4f,%.4f,%d,%d,%.4f,%.4f,%.4f,%.4f,%.6f,%t,%.4f,%.4f,%.4f,%.1f,%.1f,%s%d,%s\n",
			r.Start.UTC().Format("2006-01-02T15:04:05Z"), r.Rate, r.Served, r.FailedCount, r.Replicas, r.Ready, r.Need, r.Desired,
			r.CPU, r.LatencyMeanMS, r.LatencyP95MS, r.LatencyP99MS, r.OverSLO, r.Violated,
			r.ColdStarts, r.HeldRequests, r.HeldFailed, r.HeldLatencyP99MS, r.IdlePodSeconds, dcols, r.Decision.Replicas,
			csvField(r.Decision.Explanation.String())); err != nil {
			return err
		}
	}
	return nil
}
