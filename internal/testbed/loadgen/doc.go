// Package loadgen is the testbed's use of package load: open-loop, trace-driven HTTP load
// with evenly spaced arrivals against one loopback URL, under hard caps that keep a typo in
// a scale factor from flooding the shared machine. Every response is recorded, and requests
// the generator could not send on time are counted, not hidden.
package loadgen
