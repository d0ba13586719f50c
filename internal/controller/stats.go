package controller

import (
	"errors"

	"github.com/prometheus/client_golang/prometheus"
)

// Stats are the controller's own bascaler_* series on /metrics.
type Stats struct {
	Desired      *prometheus.GaugeVec
	Current      *prometheus.GaugeVec
	Forecast     *prometheus.GaugeVec
	Burst        *prometheus.GaugeVec
	Fallback     *prometheus.GaugeVec
	Decision     *prometheus.HistogramVec
	ReadErrors   *prometheus.CounterVec
	ScaleChanges *prometheus.CounterVec
	// Workload holds the series of the workload dashboard (workloadstats.go).
	Workload *WorkloadStats
}

// NewStats creates the series and registers them with reg (a second registration of the
// same series, e.g. two managers in one test process, reuses the first).
func NewStats(reg prometheus.Registerer) *Stats {
	obj := []string{"namespace", "name"}
	s := &Stats{
		Desired: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_desired_replicas",
			Help: "Replicas the autoscaler last decided (after behavior and bounds)."}, obj),
		Current: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_current_replicas",
			Help: "The target's replicas when last read."}, obj),
		Forecast: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_forecast_requests_per_second",
			Help: "The policy's forecast of the next interval's arrival rate."}, append(obj, "quantile")),
		Burst: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_burst_state",
			Help: "1 while the policy is in burst mode, else 0."}, obj),
		Fallback: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_fallback_active",
			Help: "1 while metrics are failing and the fallback action decides."}, obj),
		Decision: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "bascaler_decision_duration_seconds",
			Help: "Time the policy's Decide call took.", Buckets: prometheus.ExponentialBuckets(1e-5, 4, 10)}, obj),
		ReadErrors: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bascaler_metric_read_errors_total",
			Help: "Failed metric reads, by error kind."}, append(obj, "kind")),
		ScaleChanges: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bascaler_scale_changes_total",
			Help: "Replica changes written to scale targets, by direction."}, append(obj, "direction")),
	}
	s.Desired = register(reg, s.Desired)
	s.Current = register(reg, s.Current)
	s.Forecast = register(reg, s.Forecast)
	s.Burst = register(reg, s.Burst)
	s.Fallback = register(reg, s.Fallback)
	s.Decision = register(reg, s.Decision)
	s.ReadErrors = register(reg, s.ReadErrors)
	s.ScaleChanges = register(reg, s.ScaleChanges)
	s.Workload = newWorkloadStats(reg)
	return s
}

func register[C prometheus.Collector](reg prometheus.Registerer, c C) C {
	if reg == nil {
		return c
	}
	if err := reg.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing
			}
		}
		panic("controller: register " + err.Error()) // a programming error: two different series with one name
	}
	return c
}

// forget drops an object's series when it is deleted.
func (s *Stats) forget(ns, name string) {
	l := prometheus.Labels{"namespace": ns, "name": name}
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{s.Desired, s.Current, s.Forecast, s.Burst, s.Fallback, s.Decision, s.ReadErrors, s.ScaleChanges} {
		v.DeletePartialMatch(l)
	}
	s.Workload.forget(ns, name)
}
