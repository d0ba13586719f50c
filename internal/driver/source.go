package driver

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Point is what was measured over one period (a control interval or a tick). A value that
// could not be measured is NaN; the Feed decides what to do with gaps.
type Point struct {
	// Start is the beginning of the period; it ends at Start + the window's step.
	Start time.Time
	// Rate is the arrival rate, requests per second; Errors the rate of failed (5xx) ones.
	Rate, Errors float64
	// Latency of the period's requests, milliseconds.
	LatencyMeanMS, LatencyP95MS, LatencyP99MS float64
	// OverSLO is the share of requests slower than the SLO target (from histogram buckets).
	OverSLO float64
	// CPU is the pods' CPU use as a fraction of their CPU request.
	CPU float64
	// MemoryBytes is the pods' summed working-set memory, optional: NaN when not measured
	// (policies that scale on memory then leave it out).
	MemoryBytes float64
	// Held is the rate (requests per second) of arrivals the activator held because no pod
	// was ready (policy.Interval.Held): the scale-from-zero signal. Zero where the backend
	// has no activator; NaN is a gap like any other value.
	Held float64
}

// Recorded is a completed interval as a Feed's Record persists it: what was measured and the
// replica counts that label it.
type Recorded struct {
	Point
	Replicas, Ready float64
}

// Record persists a workload's completed intervals across restarts (the controller's
// feature record, package features). Load returns the recorded intervals starting in
// [from, to), oldest first; Append persists intervals just read. Append reports its own
// failures (a record that cannot be written must not stop the autoscaler).
type Record interface {
	Load(from, to time.Time) []Recorded
	Append(ivs []Recorded)
}

// Window asks for Count consecutive periods of length Step, the last of which ends at End.
type Window struct {
	End   time.Time
	Step  time.Duration
	Count int
}

// Start returns the start of the window's first period.
func (w Window) Start() time.Time { return w.End.Add(-time.Duration(w.Count) * w.Step) }

// Validate reports a window that cannot be queried.
func (w Window) Validate() error {
	if w.Step <= 0 || w.Count <= 0 || w.End.IsZero() {
		return fmt.Errorf("metrics window: need step > 0, count > 0 and an end time (got step %v, count %d, end %v)", w.Step, w.Count, w.End)
	}
	return nil
}

// Source returns the measured periods of a window, oldest first, exactly Count of them.
// Implementations: metrics.Prometheus (the presets), the controller's metrics-API record.
type Source interface {
	Range(ctx context.Context, w Window) ([]Point, error)
}

// Error kinds of a failed read, for errors.Is. Sources wrap one of them.
var (
	// ErrUnavailable: the server could not be reached or answered with an HTTP error.
	ErrUnavailable = errors.New("metrics server unavailable")
	// ErrTimeout: the query did not finish in time.
	ErrTimeout = errors.New("metrics query timed out")
	// ErrBadResponse: the answer was not a valid API response.
	ErrBadResponse = errors.New("bad response from metrics server")
	// ErrQuery: the server rejected the query (bad PromQL, execution error).
	ErrQuery = errors.New("query rejected")
	// ErrNoData: the query matched no series in the whole window (no traffic recorded yet,
	// or wrong labels). The Loop treats it as "no data yet", not as a failure.
	ErrNoData = errors.New("query returned no data")
	// ErrManySeries: the query returned several series where one value is needed.
	ErrManySeries = errors.New("query returned more than one series")
	// ErrStale: the most recent period has no measured rate: deciding on older data would
	// be deciding blind.
	ErrStale = errors.New("no rate measured for the last completed period")
	// ErrNoPods: the metrics API lists no ready pod of the target.
	ErrNoPods = errors.New("no ready pods")
	// ErrNoCPURequest: the target's pods declare no CPU request, so utilisation is undefined.
	ErrNoCPURequest = errors.New("pod has no CPU request")
)

// Failure names why a step could not decide from metrics.
type Failure uint8

// The failure kinds, one per error kind above, and Other for anything else.
const (
	FailureNone Failure = iota
	FailureUnavailable
	FailureTimeout
	FailureBadResponse
	FailureQuery
	FailureNoData
	FailureManySeries
	FailureStale
	FailureNoPods
	FailureNoCPURequest
	FailureOther
)

var failureNames = [...]string{"", "unavailable", "timeout", "bad_response", "query", "no_data", "many_series", "stale", "no_pods", "no_cpu_request", "other"}

// String returns the kind as used in metric labels ("unavailable", "stale", ...).
func (f Failure) String() string {
	if int(f) < len(failureNames) {
		return failureNames[f]
	}
	return "other"
}

// Classify returns the kind of a failed read.
func Classify(err error) Failure {
	if err == nil {
		return FailureNone
	}
	for _, k := range []struct {
		err  error
		kind Failure
	}{{ErrUnavailable, FailureUnavailable}, {ErrTimeout, FailureTimeout}, {ErrBadResponse, FailureBadResponse},
		{ErrQuery, FailureQuery}, {ErrNoData, FailureNoData}, {ErrManySeries, FailureManySeries}, {ErrStale, FailureStale},
		{ErrNoPods, FailureNoPods}, {ErrNoCPURequest, FailureNoCPURequest}} {
		if errors.Is(err, k.err) {
			return k.kind
		}
	}
	return FailureOther
}
