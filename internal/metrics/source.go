package metrics

import (
	"fmt"

	"github.com/bascaler/bascaler/internal/driver"
)

// The measured-period types and error kinds are the driver's (internal/driver declares the
// Source interface the loop reads); these aliases keep this package's API readable.
type (
	// Point is one measured period; see driver.Point.
	Point = driver.Point
	// Window asks for consecutive periods; see driver.Window.
	Window = driver.Window
	// Source returns measured periods; see driver.Source.
	Source = driver.Source
)

// Error kinds, for errors.Is on a *QueryError (see the driver's documentation of each).
var (
	ErrUnavailable  = driver.ErrUnavailable
	ErrTimeout      = driver.ErrTimeout
	ErrBadResponse  = driver.ErrBadResponse
	ErrQuery        = driver.ErrQuery
	ErrNoData       = driver.ErrNoData
	ErrManySeries   = driver.ErrManySeries
	ErrStale        = driver.ErrStale
	ErrNoPods       = driver.ErrNoPods
	ErrNoCPURequest = driver.ErrNoCPURequest
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
