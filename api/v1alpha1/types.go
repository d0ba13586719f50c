package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BurstAwareAutoscaler scales a workload with a scale subresource (a Deployment, StatefulSet,
// ...) so that its latency SLO holds through bursts, using the same policy code as the
// simulator.
//
// +kubebuilder:object:root=true
// +kubebuilder:subresource:status
// +kubebuilder:resource:shortName=baa,categories=autoscaling
// +kubebuilder:printcolumn:name="Target",type=string,JSONPath=`.spec.scaleTargetRef.name`
// +kubebuilder:printcolumn:name="Min",type=integer,JSONPath=`.spec.minReplicas`
// +kubebuilder:printcolumn:name="Max",type=integer,JSONPath=`.spec.maxReplicas`
// +kubebuilder:printcolumn:name="Current",type=integer,JSONPath=`.status.currentReplicas`
// +kubebuilder:printcolumn:name="Desired",type=integer,JSONPath=`.status.desiredReplicas`
// +kubebuilder:printcolumn:name="Mode",type=string,JSONPath=`.spec.mode`
// +kubebuilder:printcolumn:name="Burst",type=string,JSONPath=`.status.burst`
// +kubebuilder:printcolumn:name="Forecast",type=string,JSONPath=`.status.forecast.p50`,description="median forecast of the next interval's arrival rate, req/s"
// +kubebuilder:printcolumn:name="Age",type=date,JSONPath=`.metadata.creationTimestamp`
type BurstAwareAutoscaler struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata,omitempty"`

	Spec   BurstAwareAutoscalerSpec   `json:"spec"`
	Status BurstAwareAutoscalerStatus `json:"status,omitempty"`
}

// BurstAwareAutoscalerList is a list of BurstAwareAutoscalers.
//
// +kubebuilder:object:root=true
type BurstAwareAutoscalerList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata,omitempty"`
	Items           []BurstAwareAutoscaler `json:"items"`
}

// PausedAnnotation, set to "true" on a BurstAwareAutoscaler, stops it from changing the
// target's replicas; it keeps reporting status.
const PausedAnnotation = "autoscaling.bascaler.io/paused"

// Mode says whether the autoscaler acts or only recommends.
// +kubebuilder:validation:Enum=Auto;Observe
type Mode string

// The modes.
const (
	// ModeAuto writes the decision to the target's scale subresource.
	ModeAuto Mode = "Auto"
	// ModeObserve only records the decision in status (a dry run next to an existing HPA).
	ModeObserve Mode = "Observe"
)

// BurstAwareAutoscalerSpec is the desired behaviour of the autoscaler.
//
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas <= self.maxReplicas",message="minReplicas must be less than or equal to maxReplicas"
// +kubebuilder:validation:XValidation:rule="!has(self.metrics.cpu) || self.metrics.cpu.source != 'metrics-api' || !has(self.policy) || !has(self.policy.name) || self.policy.name == 'hpa' || self.policy.name.startsWith('static:')",message="metrics.cpu.source metrics-api gives CPU only (no request rate or latency): use policy hpa or static:N, or configure metrics.prometheus"
// +kubebuilder:validation:XValidation:rule="!has(self.metrics.cpu) || self.metrics.cpu.source != 'metrics-api' || !has(self.fallback) || !has(self.fallback.action) || self.fallback.action != 'cpu'",message="fallback action cpu would re-read the metrics API that just failed: use hold or fixed with metrics.cpu.source metrics-api"
//
// Serverless (scale to zero; serverless.go):
// +kubebuilder:validation:XValidation:rule="!has(self.minReplicas) || self.minReplicas > 0 || has(self.metrics.wakeUp) || (has(self.metrics.preset) && self.metrics.preset == 'nginx-ingress')",message="minReplicas 0 needs a wake-up source: with no pod, the destination-side request rate (preset istio, http, linkerd, otel, envoy or custom) is zero, so nothing would scale the workload up again; set metrics.wakeUp.source (istio-source, keda-http, testbed-lb or custom with a query), use preset nginx-ingress (counted at the ingress controller), or set minReplicas to 1 or more"
type BurstAwareAutoscalerSpec struct {
	// ScaleTargetRef names the workload to scale; its kind must have a scale subresource.
	ScaleTargetRef CrossVersionObjectReference `json:"scaleTargetRef"`

	// MinReplicas is the lower bound of the replica count.
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:default=1
	// +optional
	MinReplicas *int32 `json:"minReplicas,omitempty"`

	// MaxReplicas is the upper bound of the replica count.
	// +kubebuilder:validation:Minimum=1
	MaxReplicas int32 `json:"maxReplicas"`

	// SLO is the latency objective the autoscaler keeps.
	SLO SLO `json:"slo"`

	// Interval is the control interval: how often the autoscaler decides and the resolution
	// of the history it learns from.
	// +kubebuilder:default="60s"
	// +kubebuilder:validation:Type=string
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="duration(self) >= duration('1s') && duration(self) <= duration('1h')",message="interval must be between 1s and 1h"
	// +optional
	Interval *metav1.Duration `json:"interval,omitempty"`

	// Metrics says where the workload's request rate, latency and CPU come from.
	Metrics MetricsSpec `json:"metrics"`

	// Policy chooses and configures the scaling policy.
	// +optional
	Policy PolicySpec `json:"policy,omitempty"`

	// Mode is Auto (act) or Observe (only recommend, in status).
	// +kubebuilder:default=Auto
	// +optional
	Mode Mode `json:"mode,omitempty"`

	// Behavior bounds how fast replicas change, as in the HPA.
	// +optional
	Behavior *Behavior `json:"behavior,omitempty"`

	// Fallback says what to do when metrics cannot be read.
	// +optional
	Fallback *Fallback `json:"fallback,omitempty"`
}

// CrossVersionObjectReference identifies the scale target in the autoscaler's namespace.
type CrossVersionObjectReference struct {
	// APIVersion of the target, e.g. apps/v1.
	// +kubebuilder:validation:MinLength=1
	APIVersion string `json:"apiVersion"`
	// Kind of the target, e.g. Deployment.
	// +kubebuilder:validation:MinLength=1
	Kind string `json:"kind"`
	// Name of the target.
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
}

// SLO is a latency objective on one statistic of each interval.
type SLO struct {
	// Metric is the latency statistic: mean, p95 or p99.
	// +kubebuilder:validation:Enum=mean;p95;p99
	// +kubebuilder:default=mean
	// +optional
	Metric string `json:"metric,omitempty"`
	// Target is the latency bound, a positive duration such as "16ms".
	// +kubebuilder:validation:MaxLength=32
	// +kubebuilder:validation:XValidation:rule="self.matches('^[0-9]+([.][0-9]+)?(us|ms|s)$') && duration(self) > duration('0s')",message="slo.target must be a positive duration such as 16ms"
	Target string `json:"target"`
}

// Metric presets.
const (
	PresetIstio        = "istio"
	PresetHTTP         = "http"
	PresetLinkerd      = "linkerd"
	PresetOTel         = "otel"
	PresetNginxIngress = "nginx-ingress"
	PresetEnvoy        = "envoy"
	PresetCustom       = "custom"
)

// CPU sources.
const (
	CPUSourceCadvisor   = "cadvisor"
	CPUSourceNone       = "none"
	CPUSourceMetricsAPI = "metrics-api"
)

// MetricsSpec says where metrics come from.
//
// +kubebuilder:validation:XValidation:rule="self.preset != 'custom' || (has(self.custom) && size(self.custom.rate) > 0 && size(self.custom.latency) > 0)",message="preset custom requires custom.rate and custom.latency queries"
// +kubebuilder:validation:XValidation:rule="has(self.prometheus) || (has(self.cpu) && self.cpu.source == 'metrics-api')",message="metrics.prometheus is required unless metrics.cpu.source is metrics-api"
// +kubebuilder:validation:XValidation:rule="!has(self.prometheus) || !has(self.cpu) || self.cpu.source != 'metrics-api'",message="metrics.cpu.source metrics-api is the CPU source for clusters without Prometheus: remove metrics.prometheus, or use cpu.source cadvisor"
// +kubebuilder:validation:XValidation:rule="!has(self.wakeUp) || has(self.prometheus)",message="metrics.wakeUp is read from Prometheus: configure metrics.prometheus"
type MetricsSpec struct {
	// Prometheus is the server the metrics are read from. It is required, except with
	// cpu.source metrics-api, which reads only CPU and must be used without it.
	// +optional
	Prometheus PrometheusSpec `json:"prometheus,omitzero"`

	// Preset picks the PromQL queries: istio (istio_requests_total and
	// istio_request_duration_milliseconds), http (http_requests_total and
	// http_request_duration_seconds), linkerd (response_total and response_latency_ms,
	// direction="inbound", deployment and namespace labels), otel (OpenTelemetry's
	// http_server_request_duration_seconds), nginx-ingress (nginx_ingress_controller_requests
	// and nginx_ingress_controller_request_duration_seconds, ingress and exported_namespace
	// labels), envoy (envoy_cluster_upstream_rq_total and envoy_cluster_upstream_rq_time,
	// envoy_cluster_name label) or custom (the queries in custom).
	// +kubebuilder:validation:Enum=istio;http;linkerd;otel;nginx-ingress;envoy;custom
	// +kubebuilder:default=istio
	// +optional
	Preset string `json:"preset,omitempty"`

	// Selector is extra PromQL label matchers added to every preset query, e.g.
	// `job="shop"` or `namespace="prod",pod=~"shop-.*"` for the http preset. With http, otel,
	// nginx-ingress and envoy it replaces the preset's default workload matchers
	// (namespace/pod, exported_namespace/ingress, envoy_cluster_name=~".*<target>.*").
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Selector string `json:"selector,omitempty"`

	// Custom holds the queries of the custom preset.
	// +optional
	Custom *CustomQueries `json:"custom,omitempty"`

	// CPU says where CPU utilisation comes from.
	// +optional
	CPU *CPUSpec `json:"cpu,omitempty"`

	// Serverless (serverless.go).

	// WakeUp is a request count that needs no pod, read from metrics.prometheus: the signal
	// that scales the workload up from zero. Required for minReplicas 0 (except with preset
	// nginx-ingress).
	// +optional
	WakeUp *WakeUpSpec `json:"wakeUp,omitempty"`
}

// PrometheusSpec locates a Prometheus server.
type PrometheusSpec struct {
	// Address is the server's base URL, e.g. http://prometheus.monitoring:9090.
	// +kubebuilder:validation:MinLength=1
	// +kubebuilder:validation:MaxLength=512
	// +kubebuilder:validation:XValidation:rule="self.startsWith('http://') || self.startsWith('https://')",message="prometheus.address must start with http:// or https://"
	Address string `json:"address"`
	// MinWindow is the shortest rate() window. Periods shorter than two scrape intervals
	// (e.g. 5 s guard ticks with a 15 s scrape) have no rate of their own and are read with
	// this trailing window instead; set it to at least twice the scrape interval.
	// +kubebuilder:validation:Type=string
	// +optional
	MinWindow *metav1.Duration `json:"minWindow,omitempty"`
	// Timeout bounds each query.
	// +kubebuilder:default="10s"
	// +kubebuilder:validation:Type=string
	// +optional
	Timeout *metav1.Duration `json:"timeout,omitempty"`
}

// CustomQueries are user PromQL queries. Each must return one series (or several, which are
// summed for rates and averaged for latency and CPU). Placeholders: $interval (the window of
// one interval, e.g. 60s), $namespace and $target (the scale target's name).
type CustomQueries struct {
	// Rate returns the arrival rate, requests per second.
	// +kubebuilder:validation:MaxLength=2048
	Rate string `json:"rate"`
	// Latency returns the latency of the SLO's statistic, milliseconds.
	// +kubebuilder:validation:MaxLength=2048
	Latency string `json:"latency"`
	// Errors returns the rate of failed requests, per second.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Errors string `json:"errors,omitempty"`
	// CPU returns CPU utilisation as a fraction of the pods' CPU request.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	CPU string `json:"cpu,omitempty"`
	// Histogram returns per-bucket request rates of a latency histogram, one series per le
	// label, e.g. `sum by (le) (rate(app_latency_seconds_bucket{app="$target"}[$interval]))`.
	// It gives p95, p99 and the share of requests over the SLO; latency then gives the mean.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Histogram string `json:"histogram,omitempty"`
	// HistogramUnit is the unit of the histogram's le bounds: ms or s.
	// +kubebuilder:validation:Enum=ms;s
	// +kubebuilder:default=ms
	// +optional
	HistogramUnit string `json:"histogramUnit,omitempty"`
}

// CPUSpec says where CPU utilisation comes from.
type CPUSpec struct {
	// Source is cadvisor (container_cpu_usage_seconds_total through Prometheus), none (no
	// CPU data; policies that need CPU, like hpa, then see 0) or metrics-api.
	//
	// metrics-api is for clusters without Prometheus: CPU comes from the metrics.k8s.io API
	// (metrics-server's PodMetrics) for the pods selected by the target's scale
	// status.selector, as the HPA reads it: the ready pods' summed container CPU usage over
	// the sum of their containers' CPU requests (a pod without a CPU request is an error
	// naming it). metrics.prometheus must then be absent, and since CPU is the only metric
	// (no request rate, no latency), only CPU-driven policies are accepted: hpa and static:N
	// (threshold scales up on latency alone, so it could only ever scale down). The metrics
	// API keeps no history: the controller records one reading per tick itself, so
	// Observation.History and Recent start empty and fill as the loop runs (no warm start),
	// and their request rate and latency are 0. podRegex and requestMillicores are ignored;
	// fallback action cpu is rejected (it would re-read the API that failed).
	// +kubebuilder:validation:Enum=cadvisor;none;metrics-api
	// +kubebuilder:default=cadvisor
	// +optional
	Source string `json:"source,omitempty"`
	// PodRegex selects the target's pods in cAdvisor series; default "<target name>-.*".
	// +kubebuilder:validation:MaxLength=256
	// +optional
	PodRegex string `json:"podRegex,omitempty"`
	// RequestMillicores is the CPU request of one pod. When unset the request is read from
	// kube_pod_container_resource_requests (kube-state-metrics).
	// +kubebuilder:validation:Minimum=1
	// +optional
	RequestMillicores *int32 `json:"requestMillicores,omitempty"`
}

// PolicySpec chooses and configures the scaling policy.
type PolicySpec struct {
	// Name is the registered policy, e.g. hpa, threshold, bascaler.
	// +kubebuilder:default=hpa
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Name string `json:"name,omitempty"`
	// Params are policy-specific options, passed as they are.
	// +optional
	Params map[string]string `json:"params,omitempty"`
	// Forecaster names the workload forecaster and its trained model.
	// +optional
	Forecaster *ModelRef `json:"forecaster,omitempty"`
	// Burst configures burst detection and overestimation.
	// +optional
	Burst *BurstSpec `json:"burst,omitempty"`
	// Capacity says how much load one pod serves within the SLO.
	// +optional
	Capacity *CapacitySpec `json:"capacity,omitempty"`
	// RLModel is the trained reinforcement-learning agent.
	// +optional
	RLModel *ModelRef `json:"rlModel,omitempty"`
	// StartupDelay is how long a new pod takes to become ready; planning policies scale
	// that far ahead.
	// +kubebuilder:default="30s"
	// +kubebuilder:validation:Type=string
	// +optional
	StartupDelay *metav1.Duration `json:"startupDelay,omitempty"`
	// HistoryIntervals is how many past intervals the controller keeps (and reads from
	// Prometheus when it starts): the policy's training history and Observation.History.
	// The default, 512, is the longest window the built-in forecasters look at.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=10080
	// +kubebuilder:default=512
	// +optional
	HistoryIntervals int32 `json:"historyIntervals,omitempty"`
}

// ModelRef points at a trained model: a directory with a manifest.json inside the
// controller's model volume (a ConfigMap or PersistentVolume mounted at /models).
type ModelRef struct {
	// Kind is the model's registry name, e.g. arima or gru (policy parameter "forecaster";
	// ignored for rlModel).
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Kind string `json:"kind,omitempty"`
	// Path is the model directory, absolute or relative to the controller's --model-dir
	// (policy parameter "model", or "rl-model" for rlModel).
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Path string `json:"path,omitempty"`
}

// BurstSpec configures burst detection and overestimation of the burst-aware policies
// (bascaler, bascaler-paper); other policies reject it.
type BurstSpec struct {
	// Detector names the burst detector, e.g. cusum or paper (policy parameter "detector").
	// +kubebuilder:validation:MaxLength=64
	// +optional
	Detector string `json:"detector,omitempty"`
	// Confidence of the burst overestimate, e.g. "0.99" (policy parameter "confidence").
	// +kubebuilder:validation:Pattern=`^0?[.][0-9]+$`
	// +optional
	Confidence string `json:"confidence,omitempty"`
	// HoldIntervals is how many calm intervals end a burst (policy parameter "hold").
	// +kubebuilder:validation:Minimum=0
	// +optional
	HoldIntervals *int32 `json:"holdIntervals,omitempty"`
}

// CapacitySpec says how much load one pod serves within the SLO: a fixed number, a built-in
// profile or a profile in a ConfigMap.
type CapacitySpec struct {
	// PerPodRPS is the requests per second one pod serves within the SLO, e.g. "80".
	// +kubebuilder:validation:Pattern=`^[0-9]+([.][0-9]+)?$`
	// +optional
	PerPodRPS string `json:"perPodRPS,omitempty"`
	// Profile names a built-in performance profile (fft).
	// +kubebuilder:validation:Enum=fft
	// +optional
	Profile string `json:"profile,omitempty"`
	// ProfileConfigMap holds a measured profile as JSON: [{"load":..,"meanMS":..,"p95MS":..,"p99MS":..,"cpu":..}].
	// +optional
	ProfileConfigMap *ConfigMapKeyRef `json:"profileConfigMap,omitempty"`
	// Model is a fitted performance model (bascaler profile --fit --registry): a model
	// directory or a registry reference DIR@champion or DIR@<digest prefix> naming an
	// svr-profile version, absolute or relative to the controller's --model-dir. It wins
	// over profile, perPodRPS and profileConfigMap.
	// +kubebuilder:validation:MaxLength=512
	// +optional
	Model string `json:"model,omitempty"`
}

// ConfigMapKeyRef names one key of a ConfigMap in the autoscaler's namespace.
type ConfigMapKeyRef struct {
	// +kubebuilder:validation:MinLength=1
	Name string `json:"name"`
	// +kubebuilder:validation:MinLength=1
	Key string `json:"key"`
}

// Behavior bounds how fast replicas change, with the HPA's semantics.
type Behavior struct {
	// ScaleUp: default no stabilisation, at most +100% or +4 pods per 15 s (the larger).
	// +optional
	ScaleUp *ScalingRules `json:"scaleUp,omitempty"`
	// ScaleDown: default 300 s stabilisation, at most -100% per 15 s.
	// +optional
	ScaleDown *ScalingRules `json:"scaleDown,omitempty"`
}

// Policy selection.
const (
	SelectMax      = "Max"
	SelectMin      = "Min"
	SelectDisabled = "Disabled"
)

// ScalingRules are the rules for one direction.
type ScalingRules struct {
	// StabilizationWindowSeconds: the recommendations of this many past seconds are
	// considered, and the most conservative one wins (the highest when scaling down, the
	// lowest when scaling up).
	// +kubebuilder:validation:Minimum=0
	// +kubebuilder:validation:Maximum=3600
	// +optional
	StabilizationWindowSeconds *int32 `json:"stabilizationWindowSeconds,omitempty"`
	// SelectPolicy picks the policy that allows the largest change (Max), the smallest (Min)
	// or forbids changes in this direction (Disabled).
	// +kubebuilder:validation:Enum=Max;Min;Disabled
	// +optional
	SelectPolicy string `json:"selectPolicy,omitempty"`
	// Policies limit the change per period.
	// +kubebuilder:validation:MaxItems=10
	// +listType=atomic
	// +optional
	Policies []ScalingPolicy `json:"policies,omitempty"`
}

// Scaling policy types.
const (
	PodsPolicy    = "Pods"
	PercentPolicy = "Percent"
)

// ScalingPolicy allows a change of Value pods (or percent) within PeriodSeconds.
type ScalingPolicy struct {
	// +kubebuilder:validation:Enum=Pods;Percent
	Type string `json:"type"`
	// +kubebuilder:validation:Minimum=1
	Value int32 `json:"value"`
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=1800
	PeriodSeconds int32 `json:"periodSeconds"`
}

// Fallback actions.
const (
	FallbackHold  = "hold"
	FallbackFixed = "fixed"
	FallbackCPU   = "cpu"
)

// Fallback says what to do after repeated metric read failures. No action ever scales down
// without metrics.
//
// +kubebuilder:validation:XValidation:rule="self.action != 'fixed' || has(self.replicas)",message="fallback action fixed requires replicas"
type Fallback struct {
	// AfterFailures is the number of consecutive failed metric reads that trigger it.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:default=3
	// +optional
	AfterFailures int32 `json:"afterFailures,omitempty"`
	// Action: hold (keep replicas), fixed (scale up to replicas, never down) or cpu (HPA-style
	// CPU scaling from the cAdvisor CPU query alone, up only; holds when that fails too).
	// +kubebuilder:validation:Enum=hold;fixed;cpu
	// +kubebuilder:default=hold
	// +optional
	Action string `json:"action,omitempty"`
	// Replicas for the fixed action.
	// +kubebuilder:validation:Minimum=1
	// +optional
	Replicas *int32 `json:"replicas,omitempty"`
	// CPUTargetPercent is the target utilisation of the cpu action.
	// +kubebuilder:validation:Minimum=1
	// +kubebuilder:validation:Maximum=100
	// +kubebuilder:default=70
	// +optional
	CPUTargetPercent int32 `json:"cpuTargetPercent,omitempty"`
}

// BurstAwareAutoscalerStatus is what the autoscaler last saw and did.
type BurstAwareAutoscalerStatus struct {
	// ObservedGeneration is the spec generation the status describes.
	// +optional
	ObservedGeneration int64 `json:"observedGeneration,omitempty"`
	// CurrentReplicas is the target's replica count when last read.
	// +optional
	CurrentReplicas int32 `json:"currentReplicas"`
	// ReadyReplicas is the target's ready replica count when last read.
	// +optional
	ReadyReplicas int32 `json:"readyReplicas,omitempty"`
	// DesiredReplicas is the last decision after behavior and bounds.
	// +optional
	DesiredReplicas int32 `json:"desiredReplicas"`
	// LastDecision explains the last decision.
	// +optional
	LastDecision *DecisionStatus `json:"lastDecision,omitempty"`
	// Forecast is the policy's forecast for the next interval, when it makes one.
	// +optional
	Forecast *ForecastStatus `json:"forecast,omitempty"`
	// Burst is the burst state: "burst" or "normal" (or empty before the first decision).
	// +optional
	Burst string `json:"burst,omitempty"`
	// LastScaleTime is when replicas were last changed.
	// +optional
	LastScaleTime *metav1.Time `json:"lastScaleTime,omitempty"`
	// MetricFailures counts consecutive failed metric reads.
	// +optional
	MetricFailures int32 `json:"metricFailures,omitempty"`
	// Conditions: Ready, AbleToScale, ScalingActive, ScalingLimited, BurstDetected, Fallback,
	// PodsSchedulable.
	// +listType=map
	// +listMapKey=type
	// +optional
	Conditions []metav1.Condition `json:"conditions,omitempty"`

	// Serverless (serverless.go).

	// Serverless says when the target was last scaled to zero and woken up, and why.
	// +optional
	Serverless *ServerlessStatus `json:"serverless,omitempty"`
}

// DecisionStatus is one decision and why.
type DecisionStatus struct {
	// Policy that decided.
	Policy string `json:"policy"`
	// Replicas decided (after behavior and bounds).
	Replicas int32 `json:"replicas"`
	// Recommendation is the policy's answer before behavior and bounds.
	Recommendation int32 `json:"recommendation"`
	// Explanation says why, in words and numbers.
	Explanation string `json:"explanation"`
	// Mode is the policy's regime (normal, burst, warming-up, ...) or "fallback".
	// +optional
	Mode string `json:"mode,omitempty"`
	// Applied says whether the decision was written to the target (false in Observe mode,
	// when paused or when unchanged).
	Applied bool `json:"applied"`
	// Time of the decision.
	Time metav1.Time `json:"time"`
}

// ForecastStatus is the forecast the last decision used, requests per second, rendered as
// decimal strings: the median of the next interval and the upper quantile the policy
// planned with (bascaler: the SLO's quantile over the start-up lead time).
type ForecastStatus struct {
	// P50 is the median forecast of the next interval's arrival rate.
	// +optional
	P50 string `json:"p50,omitempty"`
	// Upper is the planned-for forecast at quantile Quantile.
	// +optional
	Upper string `json:"upper,omitempty"`
	// Quantile is Upper's quantile level, e.g. "0.9".
	// +optional
	Quantile string `json:"quantile,omitempty"`
	// P99 is the 0.99 quantile when that is the planned-for one (bascaler-paper; bascaler
	// with a p99 SLO).
	// +optional
	P99 string `json:"p99,omitempty"`
}

// Condition types.
const (
	ConditionReady          = "Ready"
	ConditionAbleToScale    = "AbleToScale"
	ConditionScalingActive  = "ScalingActive"
	ConditionScalingLimited = "ScalingLimited"
	ConditionBurstDetected  = "BurstDetected"
	ConditionFallback       = "Fallback"
	// ConditionPodsSchedulable is False while some of the target's pods cannot be placed on
	// any node; the controller then adds no replicas.
	ConditionPodsSchedulable = "PodsSchedulable"
)

// Condition reasons (also used as event reasons where they name an event).
const (
	ReasonReconciled         = "Reconciled"
	ReasonSucceededGetScale  = "SucceededGetScale"
	ReasonFailedGetScale     = "FailedGetScale"
	ReasonFailedUpdateScale  = "FailedUpdateScale"
	ReasonSucceededRescale   = "SucceededRescale"
	ReasonValidMetricFound   = "ValidMetricFound"
	ReasonNoMetricsYet       = "NoMetricsYet"
	ReasonFailedGetMetrics   = "FailedGetMetrics"
	ReasonWarmingUp          = "WarmingUp"
	ReasonUnknownPolicy      = "UnknownPolicy"
	ReasonInvalidPolicy      = "InvalidPolicy"
	ReasonModelNotFound      = "ModelNotFound"
	ReasonPaused             = "Paused"
	ReasonObserveOnly        = "ObserveOnly"
	ReasonTooFewReplicas     = "TooFewReplicas"
	ReasonTooManyReplicas    = "TooManyReplicas"
	ReasonScaleUpLimit       = "ScaleUpLimit"
	ReasonScaleDownLimit     = "ScaleDownLimit"
	ReasonStabilized         = "ScaleDownStabilized"
	ReasonDesiredWithinRange = "DesiredWithinRange"
	ReasonBurst              = "BurstDetected"
	ReasonNoBurst            = "NoBurst"
	ReasonFallbackActive     = "FallbackActive"
	ReasonMetricsHealthy     = "MetricsHealthy"
	ReasonInvalidSpec        = "InvalidSpec"
	ReasonSuccessfulRescale  = "SuccessfulRescale"
	ReasonFailedRescale      = "FailedRescale"
	ReasonTargetNotFound     = "TargetNotFound"
	ReasonNoScaleSubresource = "NoScaleSubresource"
	ReasonModelMismatch      = "ModelMismatch" // a model's training step or kind differs from the spec; the message names both
	ReasonPodsUnschedulable  = "PodsUnschedulable"
	ReasonPodsScheduled      = "PodsScheduled"
)
