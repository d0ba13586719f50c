package controller

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/drift"
	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/metrics"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/retrain"
	"github.com/bascaler/bascaler/internal/rl"
)

// settings are a spec's values with defaults applied, in the units the loop works in.
type settings struct {
	interval, startup, timeout time.Duration
	min, max                   int
	slo                        policy.SLO
	policyName                 string
	params                     map[string]string
	historyIntervals           int
	failuresBeforeFallback     int
	fallbackAction             string
	fallbackReplicas           int
	fallbackCPUTarget          float64
	queries                    metrics.Queries
	address                    string
	cpuFromAPI                 bool             // cpu.source metrics-api: CPU only, from metrics.k8s.io, no Prometheus
	models                     []modelUse       // the models the spec refers to, paths resolved
	profileModel               string           // spec.policy.capacity.model, resolved against --model-dir
	training                   retrain.Schedule // spec.policy.training with defaults (used when it is set)
	drift                      drift.Options    // spec.policy.drift with defaults
}

// resolve reads the spec. The API server already validated it (CRD schema and CEL); the
// checks here guard against objects written before the schema existed.
func resolve(baa *v1alpha1.BurstAwareAutoscaler, modelDir string) (settings, error) {
	sp := baa.Spec
	s := settings{interval: 60 * time.Second, startup: 30 * time.Second, timeout: 10 * time.Second,
		min: 1, max: int(sp.MaxReplicas), historyIntervals: 512,
		failuresBeforeFallback: 3, fallbackAction: v1alpha1.FallbackHold, fallbackCPUTarget: 0.7,
		policyName: sp.Policy.Name, params: map[string]string{}}
	if sp.Interval != nil {
		s.interval = sp.Interval.Duration
	}
	if s.interval < 100*time.Millisecond {
		return s, fmt.Errorf("spec.interval %v is too short", s.interval)
	}
	if sp.MinReplicas != nil {
		s.min = int(*sp.MinReplicas)
	}
	if s.min > s.max || s.max < 1 {
		return s, fmt.Errorf("spec: need 0 <= minReplicas <= maxReplicas and maxReplicas >= 1 (got %d, %d)", s.min, s.max)
	}
	m, err := perf.ParseLatencyMetric(sp.SLO.Metric)
	if err != nil {
		return s, fmt.Errorf("spec.slo.metric: %w", err)
	}
	target, err := time.ParseDuration(sp.SLO.Target)
	if err != nil || target <= 0 {
		return s, fmt.Errorf("spec.slo.target %q must be a positive duration such as 16ms", sp.SLO.Target)
	}
	s.slo = policy.SLO{Metric: m, TargetMS: float64(target) / float64(time.Millisecond)}
	if s.policyName == "" {
		s.policyName = "hpa"
	}
	for k, v := range sp.Policy.Params {
		s.params[k] = v
	}
	p := sp.Policy
	if p.StartupDelay != nil {
		s.startup = p.StartupDelay.Duration
	}
	if p.HistoryIntervals > 0 {
		s.historyIntervals = int(p.HistoryIntervals)
	}
	if f := p.Forecaster; f != nil {
		if f.Kind != "" {
			s.params["forecaster"] = f.Kind
		}
		if f.Path != "" {
			s.params["model"] = modelPath(modelDir, f.Path)
			s.models = append(s.models, modelUse{field: "spec.policy.forecaster.path", kind: "forecaster", spec: f.Path, path: s.params["model"], kinds: forecast.Kinds()})
		}
	}
	if err := s.resolveModelLife(p); err != nil {
		return s, err
	}
	if r := p.RLModel; r != nil && r.Path != "" {
		s.params["rl-model"] = modelPath(modelDir, r.Path)
		s.models = append(s.models, modelUse{field: "spec.policy.rlModel.path", kind: "rl", spec: r.Path, path: s.params["rl-model"], kinds: []string{rl.Kind}})
	}
	if c := p.Capacity; c != nil && c.Model != "" {
		s.profileModel = modelPath(modelDir, c.Model)
		s.models = append(s.models, modelUse{field: "spec.policy.capacity.model", kind: "profile", spec: c.Model, path: s.profileModel, kinds: []string{perf.ProfileKind}})
	}
	if b := p.Burst; b != nil {
		if b.Detector != "" {
			s.params["detector"] = b.Detector
		}
		if b.Confidence != "" {
			s.params["confidence"] = b.Confidence
		}
		if b.HoldIntervals != nil {
			s.params["hold"] = strconv.Itoa(int(*b.HoldIntervals))
		}
	}
	if fb := sp.Fallback; fb != nil {
		if fb.AfterFailures > 0 {
			s.failuresBeforeFallback = int(fb.AfterFailures)
		}
		if fb.Action != "" {
			s.fallbackAction = fb.Action
		}
		if fb.Replicas != nil {
			s.fallbackReplicas = int(*fb.Replicas)
		}
		if fb.CPUTargetPercent > 0 {
			s.fallbackCPUTarget = float64(fb.CPUTargetPercent) / 100
		}
	}
	mt := sp.Metrics
	s.address = mt.Prometheus.Address
	if mt.Prometheus.Timeout != nil {
		s.timeout = mt.Prometheus.Timeout.Duration
	}
	s.queries = metrics.Queries{Preset: mt.Preset, Namespace: baa.Namespace, Target: sp.ScaleTargetRef.Name, Selector: mt.Selector}
	if mt.Prometheus.MinWindow != nil {
		s.queries.MinWindow = mt.Prometheus.MinWindow.Duration
	}
	if s.queries.Preset == "" {
		s.queries.Preset = metrics.PresetIstio
	}
	if c := mt.Custom; c != nil {
		s.queries.CustomRate, s.queries.CustomLatency, s.queries.CustomErrors, s.queries.CustomCPU = c.Rate, c.Latency, c.Errors, c.CPU
		s.queries.CustomHistogram, s.queries.CustomHistogramUnit = c.Histogram, c.HistogramUnit
	}
	if w := mt.WakeUp; w != nil {
		s.queries.WakeUp, s.queries.WakeUpQuery, s.queries.WakeUpCounts = w.Source, w.Query, w.Counts
	}
	if s.min == 0 && !s.queries.CountsWithoutPods() {
		// The CRD's CEL rule says the same at admission; this guards older objects.
		return s, fmt.Errorf("spec: %s", v1alpha1.MinReplicasZeroMessage)
	}
	if c := mt.CPU; c != nil {
		s.queries.CPUSource, s.queries.PodRegex = c.Source, c.PodRegex
		if c.RequestMillicores != nil {
			s.queries.RequestMillicores = int(*c.RequestMillicores)
		}
	}
	if mt.CPU != nil && mt.CPU.Source == v1alpha1.CPUSourceMetricsAPI {
		s.cpuFromAPI = true
		if err := s.checkCPUOnly(); err != nil {
			return s, err
		}
	} else if s.address == "" {
		return s, fmt.Errorf("spec.metrics.prometheus.address is required unless metrics.cpu.source is %s", v1alpha1.CPUSourceMetricsAPI)
	}
	return s, nil
}

// resolveModelLife reads spec.policy.training and spec.policy.drift with their defaults:
// retrain every 24 h on 14 days, judged on the last day, and on drift at most once per
// evaluation window; drift windows of 60 intervals (forecast scores) and 1440 (inputs),
// thresholds coverage < 0.5, error > 2x naive, PSI > 0.25; the seasonal score over a day
// (spec.policy.drift.season; 0s: off), its median over 120 intervals, drifting above 3x the
// training data's (package drift's defaults).
func (s *settings) resolveModelLife(p v1alpha1.PolicySpec) error {
	s.training = retrain.Schedule{Every: 24 * time.Hour, TrainWindow: retrain.DefaultTrainWindow, EvalWindow: retrain.DefaultEvalWindow, OnDrift: true}
	if tr := p.Training; tr != nil {
		if tr.Every != nil {
			s.training.Every = tr.Every.Duration
		}
		if tr.TrainingWindow != nil {
			s.training.TrainWindow = tr.TrainingWindow.Duration
		}
		if tr.EvaluationWindow != nil {
			s.training.EvalWindow = tr.EvaluationWindow.Duration
		}
		if tr.OnDrift != nil {
			s.training.OnDrift = *tr.OnDrift
		}
		if tr.DriftCooldown != nil {
			s.training.Cooldown = tr.DriftCooldown.Duration
		}
		// Windows of whole intervals: round the schedule to the interval's grid, so a
		// "24h" schedule with a 7 s interval still works.
		for _, d := range []*time.Duration{&s.training.Every, &s.training.TrainWindow, &s.training.EvalWindow, &s.training.Cooldown} {
			if *d > 0 {
				*d = max(d.Round(s.interval), s.interval)
			}
		}
		if err := s.training.Validate(s.interval); err != nil {
			return fmt.Errorf("spec.policy.training: %w", err)
		}
	}
	s.drift.Season = drift.DailySeason(s.interval)
	if d := p.Drift; d != nil {
		s.drift.Window, s.drift.PSIWindow, s.drift.SeasonalWindow = int(d.Window), int(d.PSIWindow), int(d.SeasonalWindow)
		if d.Season != nil {
			switch n := int(d.Season.Duration.Round(s.interval) / s.interval); {
			case d.Season.Duration == 0:
				s.drift.Season = -1 // off
			case d.Season.Duration < 0 || n < 2:
				return fmt.Errorf("spec.policy.drift.season %v must be 0s (off) or at least two control intervals (%v)", d.Season.Duration, 2*s.interval)
			default:
				s.drift.Season = n
			}
		}
		for _, f := range []struct {
			name, v string
			dst     *float64
		}{{"coverageBelow", d.CoverageBelow, &s.drift.CoverageBelow}, {"relativeErrorAbove", d.RelativeErrorAbove, &s.drift.RelErrorAbove},
			{"psiAbove", d.PSIAbove, &s.drift.PSIAbove}, {"seasonalAbove", d.SeasonalAbove, &s.drift.SeasonalAbove}} {
			if f.v == "" {
				continue
			}
			x, err := strconv.ParseFloat(f.v, 64)
			if err != nil || !(x > 0) {
				return fmt.Errorf("spec.policy.drift.%s %q must be a positive number", f.name, f.v)
			}
			*f.dst = x
		}
	}
	return nil
}

// checkCPUOnly rejects what cannot work when CPU from the metrics API is the only metric.
// The CRD's CEL rules say the same at admission; this guards objects written before them.
func (s settings) checkCPUOnly() error {
	if s.address != "" {
		return fmt.Errorf("spec.metrics: cpu.source %s is for clusters without Prometheus; remove metrics.prometheus or use cpu.source cadvisor", v1alpha1.CPUSourceMetricsAPI)
	}
	if !cpuOnlyPolicy(s.policyName) {
		return fmt.Errorf("spec.policy.name %q needs request rate or latency, which only Prometheus provides; with metrics.cpu.source %s (CPU only) use hpa or static:N", s.policyName, v1alpha1.CPUSourceMetricsAPI)
	}
	if s.fallbackAction == v1alpha1.FallbackCPU {
		return fmt.Errorf("spec.fallback.action cpu would re-read the metrics API that just failed; use hold or fixed with metrics.cpu.source %s", v1alpha1.CPUSourceMetricsAPI)
	}
	return nil
}

// cpuOnlyPolicy says whether a policy decides from CPU alone (or from nothing). threshold
// is not one: its only scale-up rule is on latency, so on CPU alone it could only shrink.
func cpuOnlyPolicy(name string) bool {
	return name == "hpa" || strings.HasPrefix(name, "static:")
}

func modelPath(dir, p string) string {
	if filepath.IsAbs(p) || dir == "" {
		return p
	}
	return filepath.Join(dir, p)
}

// modelUse is one model the spec refers to: the field, its role ("forecaster", "rl",
// "profile": the model_info label), the path as the spec writes it, the path resolved
// against --model-dir, and the kinds it may be.
type modelUse struct {
	field, kind, spec, path string
	kinds                   []string
}

// checkModels reports the first referenced model directory without a manifest. A registry
// reference (DIR@champion, DIR@<digest prefix>) is resolved, its version verified and its
// kind checked against the field's (a forecaster given as rlModel is refused naming both).
// It returns the models as resolved: the version each reference names now.
func (s settings) checkModels() ([]servedModel, error) {
	var out []servedModel
	for _, m := range s.models {
		dir, id, err := registry.ResolveKind(m.path, m.field, m.kinds...)
		if err != nil {
			return nil, fmt.Errorf("model %s: %w", m.path, err)
		}
		if _, err := os.Stat(filepath.Join(dir, "manifest.json")); err != nil {
			return nil, fmt.Errorf("model %s: no manifest.json (%v); mount the model volume at the controller's --model-dir", m.path, err)
		}
		sm := servedModel{kind: m.kind, ref: m.spec, version: registry.Short(id)}
		// An alias names no hex prefix of the id (registry rule), so a reference whose
		// version part is not a prefix of the id names an alias.
		if ref, ok := registry.ParseRef(m.path); ok && ref.Version != "" && !strings.HasPrefix(id, strings.ToLower(ref.Version)) {
			sm.alias = ref.Version
		}
		out = append(out, sm)
	}
	return out, nil
}

// servedModel is a model a policy was built with: kind, the spec's reference, the registry
// version it resolved to (12 hex digits; empty for a plain directory) and the alias the
// reference named (empty for a digest prefix or a plain directory).
type servedModel struct {
	kind, ref, version, alias string
}

// profile returns the per-pod performance profile the spec asks for. A fitted model
// (capacity.model, model the resolved path or registry reference) wins. perPodRPS builds a
// linear profile whose capacity at the SLO is exactly perPodRPS: latency half the SLO when
// idle, at the SLO at perPodRPS, three times the SLO at saturation (1.2 x perPodRPS); CPU
// reaches 100% at saturation. Without a capacity the simulator's default (fft) is used.
//
// A profile is read-only once built, and its lookup table takes 82 kB, so the built-in and
// the perPodRPS ones are built once per distinct (perPodRPS, SLO) and shared by the
// autoscalers that name them (sharedProfiles).
func profile(baa *v1alpha1.BurstAwareAutoscaler, slo policy.SLO, model string, cm func(name, key string) (string, error)) (*perf.Profile, error) {
	c := baa.Spec.Policy.Capacity
	switch {
	case model != "":
		dir, _, err := registry.ResolveKind(model, "spec.policy.capacity.model", perf.ProfileKind)
		if err != nil {
			return nil, err
		}
		p, _, err := perf.LoadProfileModel(dir)
		return p, err
	case c == nil || c.Profile == "fft" || (c.PerPodRPS == "" && c.ProfileConfigMap == nil):
		return sharedProfiles.get("fft", func() (*perf.Profile, error) { return perf.FFT(), nil })
	case c.PerPodRPS != "":
		rps, err := strconv.ParseFloat(c.PerPodRPS, 64)
		if err != nil || !(rps > 0) {
			return nil, fmt.Errorf("spec.policy.capacity.perPodRPS %q must be a positive number", c.PerPodRPS)
		}
		s := slo.TargetMS
		pt := func(load, lat float64) perf.Point {
			return perf.Point{Load: load, MeanMS: lat, P95MS: lat, P99MS: lat, CPU: load / (1.2 * rps)}
		}
		return sharedProfiles.get(fmt.Sprintf("perPodRPS %g, SLO %g ms", rps, s), func() (*perf.Profile, error) {
			return perf.NewProfile("perPodRPS", []perf.Point{pt(0, s/2), pt(rps, s), pt(1.2*rps, 3*s)}, 1.2*rps)
		})
	default:
		ref := c.ProfileConfigMap
		data, err := cm(ref.Name, ref.Key)
		if err != nil {
			return nil, err
		}
		var pts []struct {
			Load, MeanMS, P95MS, P99MS, CPU float64
		}
		if err := json.Unmarshal([]byte(data), &pts); err != nil {
			return nil, fmt.Errorf("profile ConfigMap %s key %s: %w", ref.Name, ref.Key, err)
		}
		ps := make([]perf.Point, len(pts))
		for i, p := range pts {
			ps[i] = perf.Point{Load: p.Load, MeanMS: p.MeanMS, P95MS: p.P95MS, P99MS: p.P99MS, CPU: p.CPU}
		}
		pr, err := perf.NewProfile(ref.Name, ps, 0)
		if err != nil {
			return nil, fmt.Errorf("profile ConfigMap %s key %s: %w", ref.Name, ref.Key, err)
		}
		return pr, nil
	}
}

// profileCache shares built profiles by key. It holds at most maxProfiles (then starts
// over): specs name few distinct capacities, and a miss only costs a rebuild.
type profileCache struct {
	mu sync.Mutex
	m  map[string]*perf.Profile
}

const maxProfiles = 256

var sharedProfiles = &profileCache{}

func (c *profileCache) get(key string, build func() (*perf.Profile, error)) (*perf.Profile, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.m[key]; ok {
		return p, nil
	}
	p, err := build()
	if err != nil {
		return nil, err
	}
	if c.m == nil || len(c.m) >= maxProfiles {
		c.m = map[string]*perf.Profile{}
	}
	c.m[key] = p
	return p, nil
}
