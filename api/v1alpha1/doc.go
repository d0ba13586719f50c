// Package v1alpha1 holds the BurstAwareAutoscaler API (group autoscaling.bascaler.io).
// +kubebuilder:object:generate=true
// +groupName=autoscaling.bascaler.io
package v1alpha1
