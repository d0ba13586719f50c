// Package controller runs BurstAwareAutoscalers in a Kubernetes cluster: it reads metrics,
// asks the configured policy, applies behavior limits and writes the scale subresource.
package controller
