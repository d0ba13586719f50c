// Package extmetrics serves bascaler's decisions on the Kubernetes external metrics API
// (external.metrics.k8s.io/v1beta1), so a plain HorizontalPodAutoscaler with an External
// metric follows bascaler without handing it replica writes.
//
// The metric is MetricName (bascaler-desired-replicas). Each BurstAwareAutoscaler in the
// request's namespace is one series, labelled LabelAutoscaler (its name) and LabelTarget
// (its scaleTargetRef's name); the request's label selector picks the series, and the
// value is status.desiredReplicas, the decision the controller last wrote through the
// driver loop. With an AverageValue target of 1 the HPA's desired count is that value.
//
// Values are read from the BurstAwareAutoscalers' status, never recomputed: the controller
// is the one place that decides, with the driver's history, burst state and behavior
// limits, and any number of API server replicas answer the same. A value the HPA must not
// act on is an error, so the HPA keeps its replicas and says why in its ScalingActive
// condition: an autoscaler that has not decided yet, one whose last decision is older than
// StaleIntervals of its interval (the controller stopped), and a paused one.
//
// Server runs the aggregated API server (sigs.k8s.io/custom-metrics-apiserver: delegated
// authentication and authorization, the front-proxy CA from
// kube-system/extension-apiserver-authentication, discovery and OpenAPI) as a
// controller-runtime Runnable next to the controller.
package extmetrics
