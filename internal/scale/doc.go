// Package scale changes a workload's replica count: in Kubernetes through the scale
// subresource (Kubernetes), on this machine by starting and stopping replicas (Local).
package scale
