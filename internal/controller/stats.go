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

	// The serving forecaster's drift scores and lifecycle (model.go).
	Coverage *prometheus.GaugeVec
	Pinball  *prometheus.GaugeVec
	RelError *prometheus.GaugeVec
	PSI      *prometheus.GaugeVec
	Seasonal *prometheus.GaugeVec
	Drifting *prometheus.GaugeVec
	ModelAge *prometheus.GaugeVec
	Round    *prometheus.GaugeVec
	Retrains *prometheus.CounterVec
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
		Coverage: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_forecast_coverage",
			Help: "Share of the last drift window's intervals inside the serving forecast's 80% band (nominal 0.8)."}, obj),
		Pinball: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_forecast_pinball_loss",
			Help: "Mean pinball loss of the serving forecast over the last drift window, req/s."}, obj),
		RelError: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_forecast_relative_error",
			Help: "The forecast median's absolute error over the naive (last value) forecast's, last drift window; above 1 the naive forecast is better."}, obj),
		PSI: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_drift_psi",
			Help: "Population stability index of the recent arrival rates against the serving model's training data (decile bins)."}, obj),
		Seasonal: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_drift_seasonal_error",
			Help: "Median error of the value one day earlier over the recent drift window, as a multiple of the same median over the serving model's training data (about 1 while the workload repeats its day)."}, obj),
		Drifting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_model_drifting",
			Help: "1 while the ModelDrifting condition is true."}, obj),
		ModelAge: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_model_age_seconds",
			Help: "Time since the serving forecaster started serving."}, obj),
		Round: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "bascaler_model_last_retrain_interval",
			Help: "Interval index (since the loop started) of the last retrain."}, obj),
		Retrains: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "bascaler_model_retrains_total",
			Help: "Retrains by result: promoted, rejected, failed, rolled-back."}, append(obj, "result")),
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
	s.Coverage = register(reg, s.Coverage)
	s.Pinball = register(reg, s.Pinball)
	s.RelError = register(reg, s.RelError)
	s.PSI = register(reg, s.PSI)
	s.Seasonal = register(reg, s.Seasonal)
	s.Drifting = register(reg, s.Drifting)
	s.ModelAge = register(reg, s.ModelAge)
	s.Round = register(reg, s.Round)
	s.Retrains = register(reg, s.Retrains)
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
	for _, v := range []interface{ DeletePartialMatch(prometheus.Labels) int }{s.Desired, s.Current, s.Forecast, s.Burst, s.Fallback, s.Decision, s.ReadErrors, s.ScaleChanges,
		s.Coverage, s.Pinball, s.RelError, s.PSI, s.Seasonal, s.Drifting, s.ModelAge, s.Round, s.Retrains} {
		v.DeletePartialMatch(l)
	}
	s.Workload.forget(ns, name)
}
