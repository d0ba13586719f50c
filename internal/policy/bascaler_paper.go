package policy

import (
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/burst"
	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/perf"
)

// bascalerPaper is a faithful, causal port of the BAScaler paper's pipeline (Meng et al.,
// arXiv 2402.12962, and its published code), once per control interval:
//
//  1. The workload model forecasts the next interval with quantiles 0.01/0.5/0.99 (the
//     configured forecaster stands in for the paper's Informer; param forecaster).
//  2. The paper's burst detector (package burst, "paper") compares the completed intervals
//     with the stored forecasts; its q-risk thresholds are learned on history.
//  3. Outside bursts the estimate is the one-step median forecast; in a burst it is the
//     AR(2) prediction on the z-scored recent workload plus the 99.5% quantile of its
//     residuals (the paper's variant), floored by the forecast's 0.99 quantile.
//  4. Replicas = ceil(workload / capacity), capacity from an RBF ε-SVR (C=100, ε=0.1)
//     fitted on profiling data sampled from the performance profile with the paper's
//     balanced sampling: the largest load whose predicted latency meets the SLO.
//  5. Outside bursts, a PPO agent may correct the estimate (param rl-model, package rl).
//
// Differences from the published code, all on purpose: the burst state for interval t is
// decided from data up to t-1 (the code reads t's load); the detector's thresholds come from
// history, not the evaluated window; and only min/max limits apply — no reactive floor, no
// stabilisation, no lead-time planning (those are bascaler's improvements).
type bascalerPaper struct {
	mem       *workloadMemory
	model     forecast.Forecaster
	detector  burstDetector
	capacity  float64
	min, max  int
	inBurst   bool
	corrector Corrector
}

func init() {
	Register("bascaler-paper", "the BAScaler paper's method, made causal: one-step median forecast, paper burst detector, AR(2)+99.5% residual quantile in bursts, SVR capacity", false, newBascalerPaper)
}

func newBascalerPaper(env Env) (Policy, error) {
	ps := newParamSet("bascaler-paper", env.Params)
	kind := ps.choice("forecaster", "arima", forecast.Kinds()...)
	modelDir, _ := ps.raw("model")
	samples := ps.integer("profiling-samples", 300)
	rlModel, _ := ps.raw("rl-model")
	ps.check(samples >= 20, "profiling-samples", samples, "must be at least 20")
	if err := ps.done(); err != nil {
		return nil, err
	}
	prof, err := perf.SampleProfile(env.Profile, perf.SamplingOptions{Samples: samples, Seed: uint64(env.Seed)})
	if err != nil {
		return nil, err
	}
	cm, err := perf.FitCapacityModel(prof, perf.CapacityOptions{Metric: env.SLO.Metric})
	if err != nil {
		return nil, err
	}
	capacity, err := cm.CapacityAt(env.SLO.Metric, env.SLO.TargetMS)
	if err != nil {
		return nil, err
	}
	levels := []float64{0.01, 0.5, 0.99}
	model, err := fitForecaster(env, kind, modelDir, 3, levels)
	if err != nil {
		return nil, err
	}
	det, err := newBurstDetector("paper", env, model, 0.995, burst.PaperQuantile)
	if err != nil {
		return nil, err
	}
	corr, err := correctorFor("bascaler-paper", env, rlModel)
	if err != nil {
		return nil, err
	}
	return &bascalerPaper{mem: newWorkloadMemory(env.History, env.Interval, window(model)), model: model,
		detector: det, capacity: capacity, min: env.Min, max: env.Max, corrector: corr}, nil
}

func (b *bascalerPaper) Name() string          { return "bascaler-paper" }
func (b *bascalerPaper) Period() time.Duration { return 0 }

func (b *bascalerPaper) Decide(obs *Observation) Decision {
	added := b.mem.sync(obs)
	kv := make([]KV, 0, 4)
	hist := b.mem.recent(b.mem.window)
	var fc forecast.Forecast
	fcOK := false
	if hist.Len() >= b.model.MinHistory() {
		if f, err := b.model.Predict(hist, 3); err == nil {
			fc, fcOK = f, true
		}
	}
	if added > 0 {
		var err error
		if b.inBurst, err = b.detector.observe(b.mem.last(), fc, fcOK); err != nil {
			kv = append(kv, KV{"detector_error", 1})
		}
	}
	mode, reason := ModeSteady, "one-step median forecast"
	var fcInfo ForecastInfo
	workload := b.mem.last()
	if fcOK {
		workload = fc.Quantile(0, 0.5)
		kv = append(kv, KV{"forecast_p50", workload}, KV{"forecast_p99", fc.Quantile(0, 0.99)})
		fcInfo = ForecastInfo{Set: true, P50: workload, Upper: fc.Quantile(0, 0.99), UpperQuantile: 0.99}
	} else {
		mode, reason = ModeWarmingUp, "no forecast yet: last observed rate"
	}
	if b.inBurst {
		mode, reason = ModeBurst, "burst: AR(2) + 99.5% residual quantile"
		over, err := b.detector.overestimate(b.mem.recent(336).Values, 1)
		if err != nil {
			over = b.mem.last()
		}
		if fcOK {
			over = math.Max(over, fc.Quantile(0, 0.99))
		}
		workload = over
		kv = append(kv, KV{"overestimate", over})
	}
	raw := perf.PodsFor(workload, b.capacity)
	kv = append(kv, KV{"capacity", b.capacity})
	if b.corrector != nil && !b.inBurst {
		n := min(b.mem.len(), 64)
		corrected, ckv := b.corrector.Correct(CorrectionInput{Obs: obs, Estimate: raw, Forecast: fc, HaveForecast: fcOK,
			Lead: 0, Capacity: b.capacity, Workload: b.mem.values[b.mem.len()-n:]})
		kv = append(kv, ckv...)
		if corrected != raw {
			kv = append(kv, KV{"rl_delta", float64(corrected - raw)})
			raw = max(corrected, 0)
			reason = "RL-corrected estimate"
		}
	}
	lo, hi := bounds(obs, b.min, b.max)
	out, limit := clampExplained(raw, lo, hi)
	return Decision{Replicas: out, Explanation: Explanation{Mode: mode, Reason: reason, Metric: workload,
		Target: b.capacity, Raw: raw, Limit: limit, Values: kv, Forecast: fcInfo}}
}
