// ehpa is an EffectiveHorizontalPodAutoscaler in the manner of Crane (gocrane/crane): the
// user's CPU-utilisation metric is turned into two metrics of one underlying HPA, the
// original one and a predicted one (crane_pod_cpu_usage, an AverageValue target equal to the
// utilisation target times the pod's CPU request); the HPA computes replicas for each and
// takes the largest. The predicted metric is the highest forecast of the workload over the
// prediction window (predictionWindowSeconds), so the HPA scales up ahead of a predicted peak
// and scales down only once the window no longer contains one.
//
// Defaults, from Crane's documentation (docs/tutorials/using-effective-hpa-to-scaling-with-
// effectiveness.md): predictionWindowSeconds 3600; algorithm dsp with sampleInterval 60s and
// historyLength 3d; scaleStrategy Auto; behavior: the HPA's (EHPA is compatible with it and
// passes it through). The metric target has no EHPA default; like our hpa we use 70% CPU.
//
// Parameters: prediction-window (3600s), forecaster (holt-winters: a forecast package model
// name), and every hpa parameter (target, tolerance, window, up-pods, ...).
//
// Approximations: Crane predicts with DSP (FFT-based periodic extraction) on 3 days of
// history; we use the forecast package's model (Holt-Winters by default) fitted on the
// history before the evaluated window and fed every completed interval (the 60 s sample
// interval is our control interval). The forecast is of the arrival rate; the predicted CPU
// per ready pod is rate/ready times the CPU a pod spends per req/s at its SLO capacity (the
// fft profile's CPU is linear in load), not capped at 100% so a predicted peak above the
// current capacity still asks for pods. With less history than the model needs, the
// prediction is "not ready" and the HPA runs on the original metric alone, as in Crane.

package policy

import (
	"fmt"
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/hpa"
)

func init() {
	Register("ehpa", "Crane EHPA: HPA on the max of the current CPU and the highest forecast over a 3600 s prediction window (Holt-Winters stands in for DSP); HPA defaults otherwise", false, newEHPA)
}

type ehpa struct {
	base       *hpaPolicy
	model      forecast.Forecaster // nil: prediction not ready
	mem        *workloadMemory
	horizon    int     // forecast steps in the prediction window
	cpuPerRate float64 // CPU fraction per req/s on one pod
	// The window's peak forecast, recomputed once per completed interval.
	peak      float64
	peakFor   int // mem.len() the peak was computed for; -1 before the first
	peakValid bool
}

func newEHPA(env Env) (Policy, error) {
	own, rest := splitParams(env.Params, "prediction-window", "forecaster")
	p := newParamSet("ehpa", own)
	win := p.duration("prediction-window", 3600*time.Second)
	kind := p.choice("forecaster", "holt-winters", forecast.Kinds()...)
	if p.err == nil {
		p.check(win >= env.Interval, "prediction-window", win, fmt.Sprintf("must be at least one control interval (%s)", env.Interval))
	}
	if err := p.done(); err != nil {
		return nil, err
	}
	henv := env
	henv.Params = rest
	h, err := newHPA(henv)
	if err != nil {
		return nil, err
	}
	capacity, err := env.Profile.CapacityAt(env.SLO.Metric, env.SLO.TargetMS)
	if err != nil {
		return nil, fmt.Errorf("policy ehpa: %w", err)
	}
	e := &ehpa{base: h.(*hpaPolicy), horizon: int(math.Ceil(win.Seconds() / env.Interval.Seconds())),
		cpuPerRate: env.Profile.At(capacity).CPU / capacity, peakFor: -1}
	probe, err := forecast.New(kind, nil)
	if err != nil {
		return nil, fmt.Errorf("policy ehpa: %w", err)
	}
	// Not enough history to train: Crane's prediction is not ready and the HPA runs on the
	// original metric alone. Any other failure is an error.
	if env.History.Len() >= 4*(probe.MinHistory()+e.horizon) {
		e.model, err = fitForecaster(env, kind, "", e.horizon, forecast.DefaultLevels)
		if err != nil {
			return nil, fmt.Errorf("policy ehpa: %w", err)
		}
		e.mem = newWorkloadMemory(env.History, env.Interval, max(window(e.model), e.model.MinHistory()+1))
	}
	return e, nil
}

func (e *ehpa) Name() string          { return "ehpa" }
func (e *ehpa) Period() time.Duration { return e.base.period }

func (e *ehpa) Decide(obs *Observation) Decision {
	if e.mem != nil {
		e.mem.sync(obs)
	}
	return e.base.sync(obs, e.predict)
}

// predict is the HPA's calculation on the predicted metric: the window's peak rate as CPU
// per ready pod.
func (e *ehpa) predict(in hpaSyncInput) (int, string, bool) {
	if e.model == nil {
		return 0, "", false
	}
	if n := e.mem.len(); n != e.peakFor {
		e.peakFor, e.peakValid = n, false
		if hist := e.mem.recent(e.mem.window); hist.Len() >= e.model.MinHistory() {
			if fc, err := e.model.Predict(hist, e.horizon); err == nil {
				e.peak = 0
				for s := range e.horizon {
					e.peak = max(e.peak, fc.Quantile(s, 0.5))
				}
				e.peakValid = true
			}
		}
	}
	if !e.peakValid {
		return 0, "", false
	}
	cpu := e.peak / float64(in.ready) * e.cpuPerRate
	r, _ := hpa.Replicas(in.cur, in.ready, in.cur-in.ready, 0, cpu, e.base.targetPct, e.base.tolerance)
	return r, reasonPredictionAbove, true
}
