package metrics

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Point is what was measured over one period (a control interval or a tick). A value that
// could not be measured is NaN; BuildObservation decides what to do with gaps.
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
	// MemoryBytes is the pods' summed working-set memory (reported, not used by policies).
	MemoryBytes float64
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
type Source interface {
	Range(ctx context.Context, w Window) ([]Point, error)
}

// Error kinds, for errors.Is on a *QueryError.
var (
	// ErrUnavailable: the server could not be reached or answered with an HTTP error.
	ErrUnavailable = errors.New("metrics server unavailable")
	// ErrTimeout: the query did not finish in time.
	ErrTimeout = errors.New("metrics query timed out")
	// ErrBadResponse: the answer was not a valid Prometheus API response.
	ErrBadResponse = errors.New("bad response from metrics server")
	// ErrQuery: the server rejected the query (bad PromQL, execution error).
	ErrQuery = errors.New("query rejected")
	// ErrNoData: the query matched no series in the whole window (wrong labels, or no
	// traffic ever recorded).
	ErrNoData = errors.New("query returned no data")
	// ErrManySeries: the query returned several series where one value is needed.
	ErrManySeries = errors.New("query returned more than one series")
)

// QueryError is a failed metric read: which query, against which server, and why.
type QueryError struct {
	Address string
	Query   string
	Kind    error // one of the Err* kinds above
	Err     error // the underlying cause, may be nil
}

func (e *QueryError) Error() string {
	msg := fmt.Sprintf("prometheus %s: query %q: %v", e.Address, e.Query, e.Kind)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap exposes both the kind and the cause to errors.Is/As.
func (e *QueryError) Unwrap() []error {
	if e.Err == nil {
		return []error{e.Kind}
	}
	return []error{e.Kind, e.Err}
}
