// Package scale changes a workload's replica count in Kubernetes through the scale
// subresource. (The testbed's counterpart, starting and stopping local processes, is
// replica.Scaler in the testbed, so the controller links no testbed code.)
package scale
