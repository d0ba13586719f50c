//go:build race

package testbed

// raceEnabled: replicas re-executed from a race-instrumented test binary compute about 20x
// slower, so the end-to-end test gives them less work per request.
const raceEnabled = true
