// Package lb is the testbed's loopback load balancer: it forwards each request to the ready
// replica with the fewest requests outstanding, and answers 503 when no replica is ready.
package lb
