// Package promserver starts and stops a real Prometheus server on loopback, for integration
// tests and the local testbed.
package promserver
