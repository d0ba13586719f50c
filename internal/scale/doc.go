// Package scale reads and changes a workload's replica count through the Kubernetes scale
// subresource.
package scale
