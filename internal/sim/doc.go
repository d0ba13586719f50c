// Package sim replays a workload through a simulated cluster under a scaling policy, and runs
// experiments (traces x policies x seeds) with the same measuring rules for every policy.
package sim
