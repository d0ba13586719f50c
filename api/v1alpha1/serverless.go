package v1alpha1

import (
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Scale to zero and back (issue #16). This file holds the API of the serverless mode, kept
// apart from types.go: the wake-up source in spec.metrics.wakeUp, the status block
// status.serverless, and the event reasons. The rule that refuses minReplicas 0 without a
// wake-up source is on BurstAwareAutoscalerSpec (types.go, the last XValidation).

// Wake-up sources (spec.metrics.wakeUp.source).
const (
	// WakeUpIstioSource reads istio_requests_total{reporter="source"} for the target: the
	// clients' proxies count every request sent, whether a pod answers or not.
	WakeUpIstioSource = "istio-source"
	// WakeUpKEDAHTTP reads the KEDA HTTP add-on interceptor's
	// interceptor_request_count_total for the route named like the target.
	WakeUpKEDAHTTP = "keda-http"
	// WakeUpTestbed reads the testbed load balancer's activator
	// (testbed_lb_cold_starts_total).
	WakeUpTestbed = "testbed-lb"
	// WakeUpCustom reads wakeUp.query.
	WakeUpCustom = "custom"
)

// MinReplicasZeroMessage is what the API server answers to minReplicas 0 without a
// wake-up source.
const MinReplicasZeroMessage = "minReplicas 0 needs a wake-up source: with no pod, the destination-side request rate " +
	"(preset istio, http, linkerd, otel, envoy or custom) is zero, so nothing would scale the workload up again; " +
	"set metrics.wakeUp.source (istio-source, keda-http, testbed-lb or custom with a query), use preset nginx-ingress " +
	"(counted at the ingress controller), or set minReplicas to 1 or more"

// WakeUpSpec names a request count that still counts when the workload has no pod: the
// signal that scales it up from zero. Required for minReplicas 0 (except with preset
// nginx-ingress, whose rate is counted at the ingress controller).
//
// +kubebuilder:validation:XValidation:rule="self.source != 'custom' || (has(self.query) && size(self.query) > 0)",message="wakeUp.source custom requires wakeUp.query"
// +kubebuilder:validation:XValidation:rule="self.source == 'custom' || (!has(self.query) && !has(self.counts))",message="wakeUp.query and wakeUp.counts are only for wakeUp.source custom"
type WakeUpSpec struct {
	// Source is istio-source (Istio's client-side istio_requests_total{reporter="source"}
	// for the target workload), keda-http (the KEDA HTTP add-on interceptor's
	// interceptor_request_count_total, route_name = the target's name), testbed-lb (the
	// bascaler testbed's load balancer) or custom (query).
	// +kubebuilder:validation:Enum=istio-source;keda-http;testbed-lb;custom
	Source string `json:"source"`
	// Query (source custom) is PromQL returning a rate in requests per second, counted
	// where no pod is needed (a gateway, an activator). Placeholders $interval, $namespace
	// and $target, as in the custom queries.
	// +kubebuilder:validation:MaxLength=2048
	// +optional
	Query string `json:"query,omitempty"`
	// Counts (source custom) says what the query counts: arrivals (every request for the
	// workload; default) or held (only the requests an activator held because no pod was
	// ready).
	// +kubebuilder:validation:Enum=arrivals;held
	// +optional
	Counts string `json:"counts,omitempty"`
}

// ServerlessStatus says when the autoscaler last scaled the target to zero and woke it up,
// and why.
type ServerlessStatus struct {
	// ScaledToZeroTime is when the target was last scaled to zero replicas.
	// +optional
	ScaledToZeroTime *metav1.Time `json:"scaledToZeroTime,omitempty"`
	// ScaledToZeroReason is the decision's explanation then.
	// +optional
	ScaledToZeroReason string `json:"scaledToZeroReason,omitempty"`
	// WokeUpTime is when the target was last scaled up from zero replicas.
	// +optional
	WokeUpTime *metav1.Time `json:"wokeUpTime,omitempty"`
	// WokeUpReason is the decision's explanation then (a held request, a pre-warm forecast).
	// +optional
	WokeUpReason string `json:"wokeUpReason,omitempty"`
	// HeldRate is the wake-up source's rate of requests that found no ready pod in the
	// last completed interval, requests per second, as a decimal string.
	// +optional
	HeldRate string `json:"heldRate,omitempty"`
}

// Event reasons of the serverless mode.
const (
	// ReasonScaledToZero: the target was scaled to zero replicas.
	ReasonScaledToZero = "ScaledToZero"
	// ReasonWokeUp: the target was scaled up from zero replicas.
	ReasonWokeUp = "WokeUp"
)
