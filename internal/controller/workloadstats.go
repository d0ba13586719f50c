package controller

import (
	"math"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
)

// WorkloadStats are the per-autoscaler series the workload dashboard
// (deploy/grafana/bascaler-workload-dashboard.json) draws beside the forecast and burst
// gauges of Stats: what the controller observed of the workload in its newest completed
// interval (the values its policy decided on, whichever preset read them), the SLO, pod
// health, the decision's mode and which models serve.
//
// Cardinality is bounded per autoscaler: one series per gauge, three per latency statistic,
// one mode series (the current one; the previous is deleted), one info series and one per
// referenced model (replaced when the spec or the resolved version changes). Every series
// carries namespace and name and is deleted with the autoscaler (Stats.forget).
type WorkloadStats struct {
	Rate          *prometheus.GaugeVec // bascaler_observed_requests_per_second
	Errors        *prometheus.GaugeVec // bascaler_observed_errors_per_second
	Latency       *prometheus.GaugeVec // bascaler_observed_latency_milliseconds{statistic}
	OverSLO       *prometheus.GaugeVec // bascaler_observed_over_slo_ratio
	CPU           *prometheus.GaugeVec // bascaler_observed_cpu_utilization
	Memory        *prometheus.GaugeVec // bascaler_observed_memory_bytes
	SLO           *prometheus.GaugeVec // bascaler_slo_target_milliseconds{statistic}
	Ready         *prometheus.GaugeVec // bascaler_ready_replicas
	Pending       *prometheus.GaugeVec // bascaler_pending_replicas
	Unschedulable *prometheus.GaugeVec // bascaler_unschedulable_replicas
	UpperLevel    *prometheus.GaugeVec // bascaler_forecast_upper_quantile
	Mode          *prometheus.GaugeVec // bascaler_decision_mode{mode}
	Info          *prometheus.GaugeVec // bascaler_autoscaler_info{policy,mode,target}
	Model         *prometheus.GaugeVec // bascaler_model_info{kind,model,version,alias}
}

func newWorkloadStats(reg prometheus.Registerer) *WorkloadStats {
	obj := []string{"namespace", "name"}
	g := func(name, help string, extra ...string) *prometheus.GaugeVec {
		return register(reg, prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, append(append([]string{}, obj...), extra...)))
	}
	return &WorkloadStats{
		Rate:   g("bascaler_observed_requests_per_second", "Arrival rate of the newest completed interval, as the policy observed it."),
		Errors: g("bascaler_observed_errors_per_second", "Failed requests per second in the newest completed interval."),
		Latency: g("bascaler_observed_latency_milliseconds",
			"Request latency of the newest completed interval (request-weighted mean, p95, p99).", "statistic"),
		OverSLO: g("bascaler_observed_over_slo_ratio", "Share of the newest completed interval's requests slower than the SLO target."),
		CPU:     g("bascaler_observed_cpu_utilization", "Mean CPU of ready pods in the newest completed interval, as a fraction of their CPU request."),
		Memory:  g("bascaler_observed_memory_bytes", "Summed working-set memory of ready pods in the newest completed interval (absent when not measured)."),
		SLO:     g("bascaler_slo_target_milliseconds", "The SLO's latency target; statistic is the one it is stated on.", "statistic"),
		Ready:   g("bascaler_ready_replicas", "Ready replicas serving (pods on NotReady nodes left out)."),
		Pending: g("bascaler_pending_replicas", "Replicas that have a node or may get one but are not ready yet (pods that are coming)."),
		Unschedulable: g("bascaler_unschedulable_replicas",
			"Pods of the target the scheduler could not place (pods that cannot come)."),
		UpperLevel: g("bascaler_forecast_upper_quantile", "Quantile level of bascaler_forecast_requests_per_second{quantile=\"upper\"} (e.g. 0.95)."),
		Mode:       g("bascaler_decision_mode", "1 for the regime of the newest decision (steady, burst, fallback, ...); one series per autoscaler.", "mode"),
		Info: g("bascaler_autoscaler_info",
			"1, labelled with the autoscaler's policy, spec mode (Auto or Observe) and target (Kind/name).", "policy", "mode", "target"),
		Model: g("bascaler_model_info",
			"1 per model a policy was built with: kind (forecaster or rl), the spec's reference, the registry version (12 hex digits) and the alias it named.",
			"kind", "model", "version", "alias"),
	}
}

func (w *WorkloadStats) all() []*prometheus.GaugeVec {
	return []*prometheus.GaugeVec{w.Rate, w.Errors, w.Latency, w.OverSLO, w.CPU, w.Memory, w.SLO, w.Ready,
		w.Pending, w.Unschedulable, w.UpperLevel, w.Mode, w.Info, w.Model}
}

// forget drops an autoscaler's series.
func (w *WorkloadStats) forget(ns, name string) {
	l := prometheus.Labels{"namespace": ns, "name": name}
	for _, v := range w.all() {
		v.DeletePartialMatch(l)
	}
}

// setOrDelete sets a gauge, or deletes it when v is not a number: a value that was not
// measured is absent, never a stale last value or NaN.
func setOrDelete(v *prometheus.GaugeVec, v0 float64, labels ...string) {
	if math.IsNaN(v0) || math.IsInf(v0, 0) {
		v.DeleteLabelValues(labels...)
		return
	}
	v.WithLabelValues(labels...).Set(v0)
}

// spec records the autoscaler's settings: the info series and the SLO.
func (w *WorkloadStats) spec(ns, name, policyName, mode, target string, slo policy.SLO) {
	l := prometheus.Labels{"namespace": ns, "name": name}
	w.Info.DeletePartialMatch(l)
	w.Info.WithLabelValues(ns, name, policyName, mode, target).Set(1)
	w.SLO.DeletePartialMatch(l)
	w.SLO.WithLabelValues(ns, name, slo.Metric.String()).Set(slo.TargetMS)
}

// pods records the replica counts of one step.
func (w *WorkloadStats) pods(ns, name string, current, ready, unschedulable int) {
	w.Ready.WithLabelValues(ns, name).Set(float64(ready))
	w.Pending.WithLabelValues(ns, name).Set(float64(max(current-unschedulable-ready, 0)))
	w.Unschedulable.WithLabelValues(ns, name).Set(float64(unschedulable))
}

// observed records the newest completed interval the policy saw (nothing while there is
// none yet).
func (w *WorkloadStats) observed(ns, name string, hist []policy.Interval) {
	if len(hist) == 0 {
		return
	}
	iv := hist[len(hist)-1]
	setOrDelete(w.Rate, iv.Rate, ns, name)
	setOrDelete(w.Errors, iv.Failed, ns, name)
	for _, m := range []perf.LatencyMetric{perf.Mean, perf.P95, perf.P99} {
		setOrDelete(w.Latency, iv.Latency(m), ns, name, m.String())
	}
	setOrDelete(w.OverSLO, iv.OverSLO, ns, name)
	setOrDelete(w.CPU, iv.CPU, ns, name)
	setOrDelete(w.Memory, iv.MemoryBytes, ns, name)
}

// mode records the regime of the newest decision, replacing the previous one.
func (w *WorkloadStats) mode(ns, name string, m policy.Mode) {
	w.Mode.DeletePartialMatch(prometheus.Labels{"namespace": ns, "name": name})
	w.Mode.WithLabelValues(ns, name, m.String()).Set(1)
}

// upper records the quantile level of the forecast's upper value.
func (w *WorkloadStats) upper(ns, name string, level float64) {
	setOrDelete(w.UpperLevel, level, ns, name)
}

// models records the models a policy was built with, replacing those of an earlier build.
func (w *WorkloadStats) models(ns, name string, ms []servedModel) {
	w.Model.DeletePartialMatch(prometheus.Labels{"namespace": ns, "name": name})
	for _, m := range ms {
		w.Model.WithLabelValues(ns, name, m.kind, m.ref, m.version, m.alias).Set(1)
	}
}
