// Package load generates HTTP load against one or more weighted URLs: open loop, where a
// schedule of rates (a trace, a constant rate, a ramp or steps) and an arrival process
// (evenly spaced or Poisson) fix when each request is due, or closed loop, where N users
// each send a request, wait for the answer and think. Every response is recorded; requests
// an open-loop run could not send on schedule are counted as shortfall, never hidden or
// fired in a catch-up burst.
package load
