package live

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/bascaler/bascaler/internal/metrics"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
)

// File is a live-targets file (YAML or JSON): the workloads a server decides for. Its
// fields are the BurstAwareAutoscaler spec's, flattened, so that a target and an autoscaler
// with the same values make the same decisions (deploy/samples/serve-targets.yaml).
type File struct {
	Targets []TargetConfig `yaml:"targets"`
}

// TargetConfig is one live target.
type TargetConfig struct {
	// Name is how requests name the target ({"target": NAME}, KEDA metadata target: NAME).
	Name string `yaml:"name"`
	// Namespace and Workload are the scaled workload's (the presets' label matchers and the
	// policy's seed, as the controller derives it from its autoscaler's namespace/name;
	// requests may also name the target NAMESPACE/WORKLOAD).
	Namespace string `yaml:"namespace"`
	Workload  string `yaml:"workload"`
	// Autoscaler is the name the controller would have: the seed is derived from
	// NAMESPACE/AUTOSCALER ("" = Workload).
	Autoscaler string `yaml:"autoscaler"`
	// Interval is the control interval (default 60s).
	Interval string `yaml:"interval"`
	// Min (default 1) and Max bound the replicas.
	Min *int `yaml:"min"`
	Max int  `yaml:"max"`
	SLO struct {
		Metric string `yaml:"metric"` // mean, p95, p99
		Target string `yaml:"target"` // a duration, "16ms"
	} `yaml:"slo"`
	Policy struct {
		Name   string            `yaml:"name"` // default hpa
		Params map[string]string `yaml:"params"`
	} `yaml:"policy"`
	// Startup is the pod start-up delay policies plan for (default 30s).
	Startup string `yaml:"startup"`
	// HistoryIntervals is the warm history read at the first step (default 512).
	HistoryIntervals int `yaml:"historyIntervals"`
	// PerPodRPS, when set, is the per-pod capacity at the SLO (a linear profile, as the
	// controller's spec.policy.capacity.perPodRPS); else the fft profile.
	PerPodRPS float64 `yaml:"perPodRPS"`
	// Prometheus is where the history is read.
	Prometheus struct {
		Address   string `yaml:"address"`
		Timeout   string `yaml:"timeout"`   // default 10s
		MinWindow string `yaml:"minWindow"` // metrics.Queries.MinWindow
	} `yaml:"prometheus"`
	// Preset names the query set (metrics.Presets; default istio); Selector adds matchers.
	Preset   string `yaml:"preset"`
	Selector string `yaml:"selector"`
	Custom   struct {
		Rate          string `yaml:"rate"`
		Latency       string `yaml:"latency"`
		Errors        string `yaml:"errors"`
		CPU           string `yaml:"cpu"`
		Histogram     string `yaml:"histogram"`
		HistogramUnit string `yaml:"histogramUnit"`
	} `yaml:"custom"`
	CPU struct {
		Source            string `yaml:"source"` // cadvisor (default) or none
		PodRegex          string `yaml:"podRegex"`
		RequestMillicores int    `yaml:"requestMillicores"`
	} `yaml:"cpu"`
	// Replicas says where the current replica counts come from. Without queries the target
	// assumes its own decisions are applied (KEDA or an HPA follows them) and all pods are
	// ready; Initial is the count assumed before the first decision (default Min, at least 1).
	Replicas struct {
		Query      string `yaml:"query"`      // PromQL, one series: allocated replicas
		ReadyQuery string `yaml:"readyQuery"` // PromQL, one series: ready replicas ("" = query)
		Initial    *int   `yaml:"initial"`
	} `yaml:"replicas"`
}

// settings is a validated target: the values in the units the loop works in.
type settings struct {
	name, namespace, workload, seedName string
	interval, startup, timeout          time.Duration
	min, max, initial                   int
	slo                                 policy.SLO
	policyName                          string
	params                              map[string]string
	historyIntervals                    int
	profile                             *perf.Profile
	address                             string
	queries                             metrics.Queries
	replicasQuery, readyQuery           string
}

// MaxTargets bounds a targets file (each target holds a loop and reads Prometheus).
const MaxTargets = 1000

// nameRE is a target name: what a URL, a metric label and a KEDA metric name can carry.
var nameRE = regexp.MustCompile(`^[a-z0-9]([a-z0-9.-]{0,61}[a-z0-9])?$`)

// ReadFile reads and validates a targets file.
func ReadFile(path string) ([]TargetConfig, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("targets file: %w", err)
	}
	ts, err := Parse(b)
	if err != nil {
		return nil, fmt.Errorf("targets file %s: %w", path, err)
	}
	return ts, nil
}

// Parse decodes a targets file (unknown fields are errors) and validates every target.
func Parse(b []byte) ([]TargetConfig, error) {
	var f File
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("empty: want targets: [...]")
		}
		return nil, err
	}
	if len(f.Targets) == 0 {
		return nil, errors.New("targets: none listed")
	}
	if len(f.Targets) > MaxTargets {
		return nil, fmt.Errorf("targets: %d listed, at most %d", len(f.Targets), MaxTargets)
	}
	seen := map[string]int{}
	for i := range f.Targets {
		t := &f.Targets[i]
		if _, err := t.settings(); err != nil {
			return nil, fmt.Errorf("targets[%d] (%s): %w", i, t.Name, err)
		}
		for _, key := range []string{t.Name, t.Namespace + "/" + t.Workload} {
			if j, dup := seen[key]; dup {
				return nil, fmt.Errorf("targets[%d] and targets[%d] are both named %q", j, i, key)
			}
			seen[key] = i
		}
	}
	return f.Targets, nil
}

func duration(field, s string, def time.Duration, positive bool) (time.Duration, error) {
	if s == "" {
		return def, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || (positive && d == 0) {
		return 0, fmt.Errorf("%s: %q is not a positive duration", field, s)
	}
	return d, nil
}

// settings validates c and applies the defaults (the controller's).
func (c *TargetConfig) settings() (settings, error) {
	s := settings{name: c.Name, namespace: c.Namespace, workload: c.Workload, seedName: c.Autoscaler,
		min: 1, max: c.Max, policyName: c.Policy.Name, params: map[string]string{}, historyIntervals: 512,
		address: c.Prometheus.Address, replicasQuery: c.Replicas.Query, readyQuery: c.Replicas.ReadyQuery}
	if !nameRE.MatchString(c.Name) {
		return s, fmt.Errorf("name: %q must be lower-case letters, digits, '-' or '.', at most 63", c.Name)
	}
	if c.Namespace == "" || c.Workload == "" {
		return s, errors.New("namespace and workload: both required (the workload the metrics are of)")
	}
	if s.seedName == "" {
		s.seedName = c.Workload
	}
	var err error
	if s.interval, err = duration("interval", c.Interval, time.Minute, true); err != nil {
		return s, err
	}
	if s.interval < 100*time.Millisecond {
		return s, fmt.Errorf("interval: %v is too short", s.interval)
	}
	if s.startup, err = duration("startup", c.Startup, 30*time.Second, false); err != nil {
		return s, err
	}
	if s.timeout, err = duration("prometheus.timeout", c.Prometheus.Timeout, 10*time.Second, true); err != nil {
		return s, err
	}
	if c.Min != nil {
		s.min = *c.Min
	}
	if s.max < 1 || s.min < 0 || s.min > s.max {
		return s, fmt.Errorf("min, max: need 0 <= min <= max and max >= 1 (got %d, %d)", s.min, s.max)
	}
	s.initial = max(s.min, 1)
	if c.Replicas.Initial != nil {
		if s.initial = *c.Replicas.Initial; s.initial < 0 || s.initial > s.max {
			return s, fmt.Errorf("replicas.initial: %d is outside 0..max (%d)", s.initial, s.max)
		}
	}
	if s.readyQuery != "" && s.replicasQuery == "" {
		return s, errors.New("replicas.readyQuery: needs replicas.query too")
	}
	m, err := perf.ParseLatencyMetric(c.SLO.Metric)
	if err != nil {
		return s, fmt.Errorf("slo.metric: %w", err)
	}
	target, err := time.ParseDuration(c.SLO.Target)
	if err != nil || target <= 0 {
		return s, fmt.Errorf("slo.target: %q must be a positive duration such as 16ms", c.SLO.Target)
	}
	s.slo = policy.SLO{Metric: m, TargetMS: float64(target) / float64(time.Millisecond)}
	if s.policyName == "" {
		s.policyName = "hpa"
	}
	if err := knownPolicy(s.policyName); err != nil {
		return s, fmt.Errorf("policy.name: %w", err)
	}
	for k, v := range c.Policy.Params {
		if k == "model" || k == "rl-model" {
			return s, fmt.Errorf("policy.params.%s: model files are not loaded for live targets yet", k)
		}
		s.params[k] = v
	}
	if c.HistoryIntervals < 0 {
		return s, fmt.Errorf("historyIntervals: %d is negative", c.HistoryIntervals)
	} else if c.HistoryIntervals > 0 {
		s.historyIntervals = c.HistoryIntervals
	}
	if s.profile, err = profileFor(c.PerPodRPS, s.slo); err != nil {
		return s, err
	}
	if s.address == "" {
		return s, errors.New("prometheus.address: required (the live history is read there)")
	}
	s.queries = metrics.Queries{Preset: c.Preset, Namespace: c.Namespace, Target: c.Workload, Selector: c.Selector,
		CustomRate: c.Custom.Rate, CustomLatency: c.Custom.Latency, CustomErrors: c.Custom.Errors, CustomCPU: c.Custom.CPU,
		CustomHistogram: c.Custom.Histogram, CustomHistogramUnit: c.Custom.HistogramUnit,
		CPUSource: c.CPU.Source, PodRegex: c.CPU.PodRegex, RequestMillicores: c.CPU.RequestMillicores}
	if s.queries.Preset == "" {
		s.queries.Preset = metrics.PresetIstio
	}
	if s.queries.MinWindow, err = duration("prometheus.minWindow", c.Prometheus.MinWindow, 0, false); err != nil {
		return s, err
	}
	if _, err := metrics.NewPrometheus(metrics.PrometheusOptions{Address: s.address, Queries: s.queries}); err != nil {
		return s, fmt.Errorf("metrics: %w", err)
	}
	return s, nil
}

// knownPolicy refuses a name the registry does not have and the clairvoyant oracle.
func knownPolicy(name string) error {
	base := name
	if i := strings.IndexByte(name, ':'); i >= 0 {
		base = name[:i] + ":N"
	}
	if !slices.Contains(policy.Names(), base) {
		return fmt.Errorf("%w %q (valid: %s)", policy.ErrUnknownPolicy, name, strings.Join(policy.Names(), ", "))
	}
	if policy.NeedsFuture(name) {
		return fmt.Errorf("policy %s is clairvoyant: it runs only in the simulator", name)
	}
	return nil
}

// profileFor is the controller's capacity rule: perPodRPS builds a linear profile whose
// capacity at the SLO is exactly perPodRPS (latency half the SLO when idle, at the SLO at
// perPodRPS, three times it at saturation, 1.2 x perPodRPS); 0 means the fft profile.
func profileFor(rps float64, slo policy.SLO) (*perf.Profile, error) {
	if rps == 0 {
		return perf.FFT(), nil
	}
	if !(rps > 0) || rps > 1e9 {
		return nil, fmt.Errorf("perPodRPS: %s must be a positive number", strconv.FormatFloat(rps, 'g', -1, 64))
	}
	s := slo.TargetMS
	pt := func(load, lat float64) perf.Point {
		return perf.Point{Load: load, MeanMS: lat, P95MS: lat, P99MS: lat, CPU: load / (1.2 * rps)}
	}
	return perf.NewProfile("perPodRPS", []perf.Point{pt(0, s/2), pt(rps, s), pt(1.2*rps, 3*s)}, 1.2*rps)
}
