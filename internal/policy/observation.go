package policy

import (
	"time"

	"github.com/bascaler/bascaler/internal/perf"
)

// Observation is everything a policy may know when it decides: metrics of completed periods
// only, the replica counts now, and the fixed settings. A decision made at Now governs the
// period that starts at Now; nothing in an Observation describes that period or any later
// one. Backends build it; policies only read it, and only during the Decide call (backends
// reuse the storage behind the slices).
type Observation struct {
	// Now is the instant of the decision.
	Now time.Time
	// Interval is the control interval: the resolution of History.
	Interval time.Duration
	// Index is the number of the control interval that contains Now, counted from the start
	// of the run. History holds intervals before it (possibly fewer, after a warm start).
	Index int
	// History holds completed control intervals, oldest first. The last entry is interval
	// Index-1.
	History []Interval
	// Recent holds completed ticks (periods of length Tick), oldest first, ending at Now.
	// It is short (about a minute or more) and serves policies that decide faster than once
	// per interval (HPA every 15 s, KPA every 2 s). With a once-per-interval policy a tick is
	// an interval.
	Recent []Sample
	// Tick is the length of one Recent sample; equal to the policy's period.
	Tick time.Duration
	// Replicas is the number of allocated replicas now (the scale target's spec.replicas).
	Replicas int
	// Ready is the number of those that are ready to serve now.
	Ready int
	// NotReady and Unschedulable split the allocated pods that do not serve: NotReady are
	// placed and starting (pods are coming), Unschedulable are pending because the scheduler
	// cannot place them (pods cannot come: no node has room). Ready + NotReady +
	// Unschedulable may be below Replicas while pods are being created. Backends without pod
	// detail report NotReady = Replicas - Ready and Unschedulable 0 (the simulator: every pod
	// it allocates starts).
	NotReady, Unschedulable int
	// Min and Max bound the replicas a decision may ask for.
	Min, Max int
	// SLO is the latency objective.
	SLO SLO
}

// Interval summarises one completed control interval.
type Interval struct {
	Start time.Time
	// Rate is the mean arrival rate, requests per second (what the workload asked for).
	Rate float64
	// Served and Failed are request rates (per second) completed and failed.
	Served, Failed float64
	// Latency of served requests, milliseconds: request-weighted mean, p95 and p99.
	LatencyMeanMS, LatencyP95MS, LatencyP99MS float64
	// OverSLO is the share of served requests slower than the SLO.
	OverSLO float64
	// CPU is the mean CPU utilisation of ready pods, as a fraction of their CPU request.
	CPU float64
	// MemoryBytes is the ready pods' summed working-set memory; NaN when not measured
	// (memory is an optional metric: its failed read leaves it out).
	MemoryBytes float64
	// Replicas and Ready are time-averaged allocated and ready replicas.
	Replicas, Ready float64
	// Held is the rate (requests per second) of arrivals that found no ready pod and were
	// held by the activator (Knative's activator, the KEDA HTTP add-on's interceptor, the
	// testbed's load balancer). It is the wake-up signal that exists while no pod does:
	// destination-side metrics are zero then. Zero for backends without an activator.
	Held float64
}

// PodsCannotCome reports whether some allocated pods cannot be scheduled: adding replicas
// will not add capacity until nodes do, so an explanation should say so rather than "pods
// are coming".
func (o *Observation) PodsCannotCome() bool { return o.Unschedulable > 0 }

// Latency returns the interval's latency statistic m.
func (iv *Interval) Latency(m perf.LatencyMetric) float64 {
	return m.Pick(iv.LatencyMeanMS, iv.LatencyP95MS, iv.LatencyP99MS)
}

// Sample summarises one completed tick (a period shorter than or equal to an interval).
type Sample struct {
	Start time.Time
	// Rate is the mean arrival rate in the tick, requests per second.
	Rate float64
	// Concurrency is the mean number of requests in the system (in service or queued).
	Concurrency float64
	// CPU is the mean CPU utilisation of ready pods, as a fraction of their CPU request.
	CPU float64
	// LatencyMeanMS is the mean latency of requests served in the tick.
	LatencyMeanMS float64
	// MemoryBytes is the ready pods' summed working-set memory; NaN when not measured.
	MemoryBytes float64
	// Ready is the number of ready pods at the end of the tick.
	Ready int
	// Replicas is the number of allocated pods at the end of the tick.
	Replicas int
	// Held is the rate (requests per second) of arrivals in the tick that found no ready
	// pod and were held by the activator (see Interval.Held).
	Held float64
}

// SLO is a latency objective on one statistic of an interval.
type SLO struct {
	Metric   perf.LatencyMetric
	TargetMS float64
}

// Decision is a policy's answer: the replicas it wants allocated from now on, and why.
// "No data yet" is a decision too: Replicas equal to the current count with a reason.
type Decision struct {
	Replicas    int
	Explanation Explanation
}

// Explanation says why a decision came out as it did. Reason and Limit are constant phrases
// (no formatting in the hot path); String renders the whole.
type Explanation struct {
	// Mode names the policy's regime (steady, burst, panic, warming-up, ...).
	Mode Mode
	// Forecast is the forecast the decision used, if any.
	Forecast ForecastInfo
	// Reason is the rule that produced Raw, e.g. "cpu above target".
	Reason string
	// Metric and Target are the observed value and the target that the rule compared.
	Metric, Target float64
	// Raw is the recommendation before stabilisation and limits.
	Raw int
	// Limit names the limit that changed Raw into the final number ("" when none).
	Limit string
	// Values carries further numbers (forecast quantiles, burst score, capacity...).
	Values []KV
}

// KV is one named number of an explanation.
type KV struct {
	Key   string
	Value float64
}
