// Package driver is the control step every backend runs: the simulator, the local testbed,
// the Kubernetes controller (and the model server) feed one Loop and act on its Steps, so a
// number from the simulator is a statement about the controller.
//
// The Loop owns:
//   - the decision grid: a policy period shorter than the control interval must divide it
//     (Tick); otherwise the policy decides once per interval;
//   - the Observation: History (completed intervals, at most HistoryIntervals) and Recent
//     (completed ticks, RecentTicks), both windows over double-written rings, cut with full
//     slice expressions so a policy cannot reach past the last completed period;
//   - "no data yet": a source that has no series yet (ErrNoData) gives empty windows, and the
//     policy decides on them exactly as in the simulator's first tick; any other failed read
//     is a Failure, counted towards the fallback;
//   - the policy's Decide, then HPA behavior (package hpa) when configured, then bounds;
//   - the fallback after consecutive failed reads (hold, a fixed count, or the HPA rule on
//     CPU), which never scales down blind.
//
// Backends only bring completed periods: the simulator pushes them from its own bookkeeping,
// real backends read them from a Source through a Feed (which repairs gaps and labels past
// periods with the replica counts of a ReplicaLog). Both turn a measured Point into the
// Observation's Interval and Sample with the same functions (IntervalOf, SampleOf).
package driver
