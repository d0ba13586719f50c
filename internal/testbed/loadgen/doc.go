// Package loadgen drives open-loop, trace-driven HTTP load with vegeta: the send rate
// follows a schedule of per-interval rates, every response is recorded, and requests the
// generator could not send on time are counted, not hidden.
package loadgen
