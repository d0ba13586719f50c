// Package frontier computes violation–cost frontiers of autoscaling policies and compares
// them at matched cost and at matched violations. It is pure arithmetic on points measured
// elsewhere (the simulator's sweeps); it does no I/O.
package frontier
