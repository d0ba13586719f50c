package measure

import "math"

// Aggregate is a policy's summary over seeds: the mean of each number and the spread of the
// two headline ones.
type Aggregate struct {
	Policy string `json:"policy"`
	Summary
	Seeds               int     `json:"seeds"`
	SLOViolationRateStd float64 `json:"slo_violation_rate_std"`
	CostPodHoursStd     float64 `json:"cost_pod_hours_std"`
}

// Combine averages one policy's summaries over seeds. Counts of decisions and scaling actions
// are rounded means; the standard deviations are the sample ones (n−1), zero for one seed.
func Combine(policy string, runs []Summary) Aggregate {
	a := Aggregate{Policy: policy, Seeds: len(runs)}
	if len(runs) == 0 {
		return a
	}
	n := float64(len(runs))
	for _, s := range runs {
		a.Intervals = s.Intervals
		a.SLOViolationRate += s.SLOViolationRate / n
		a.RequestsOverSLO += s.RequestsOverSLO / n
		a.FailedRequests += s.FailedRequests / n
		a.FailedRate += s.FailedRate / n
		a.CostPodHours += s.CostPodHours / n
		a.MeanReplicas += s.MeanReplicas / n
		a.OverProvisionPodHours += s.OverProvisionPodHours / n
		a.UnderProvisionPodHours += s.UnderProvisionPodHours / n
		a.Requests += s.Requests / n
		a.MeanLatencyMS += s.MeanLatencyMS / n
		a.ColdStarts += s.ColdStarts / n
		a.ColdStartsPer1000 += s.ColdStartsPer1000 / n
		a.HeldRequests += s.HeldRequests / n
		a.HeldFailed += s.HeldFailed / n
		a.HeldLatencyMeanMS += s.HeldLatencyMeanMS / n
		a.HeldLatencyP99MS += s.HeldLatencyP99MS / n
		a.IdlePodHours += s.IdlePodHours / n
		a.ScalingActions += s.ScalingActions
		a.Decisions += s.Decisions
	}
	a.ScalingActions = int(math.Round(float64(a.ScalingActions) / n))
	a.Decisions = int(math.Round(float64(a.Decisions) / n))
	for _, s := range runs {
		a.SLOViolationRateStd += (s.SLOViolationRate - a.SLOViolationRate) * (s.SLOViolationRate - a.SLOViolationRate)
		a.CostPodHoursStd += (s.CostPodHours - a.CostPodHours) * (s.CostPodHours - a.CostPodHours)
	}
	if len(runs) > 1 {
		a.SLOViolationRateStd = math.Sqrt(a.SLOViolationRateStd / (n - 1))
		a.CostPodHoursStd = math.Sqrt(a.CostPodHoursStd / (n - 1))
	}
	return a
}
