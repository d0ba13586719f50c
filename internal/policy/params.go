package policy

import (
	"fmt"
	"strings"
	"time"
)

// ParseParams reads policy parameters written "key=value" (for every policy) or
// "policy.key=value" (for one, e.g. "hpa.target=0.6") into a map, the form every backend
// keeps them in until ParamsFor picks one policy's. A later value for the same key wins,
// as with repeated flags. An entry without "=" or with an empty key is an error naming it.
func ParseParams(kvs []string) (map[string]string, error) {
	out := make(map[string]string, len(kvs))
	for _, kv := range kvs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok || k == "" {
			return nil, fmt.Errorf("parameter %q: want key=value or policy.key=value", kv)
		}
		out[k] = v
	}
	return out, nil
}

// ParamsFor selects the parameters of one policy from all: unscoped keys go to every
// policy, keys scoped "name.key" (or "base.key" for a "base:arg" name such as "static:5")
// only to that policy, with the scope removed. Keys scoped to other policies are dropped.
func ParamsFor(name string, all map[string]string) map[string]string {
	base, _, _ := strings.Cut(name, ":")
	out := map[string]string{}
	for k, v := range all {
		scope, key, scoped := strings.Cut(k, ".")
		switch {
		case !scoped:
			out[k] = v
		case scope == base:
			out[key] = v
		}
	}
	return out
}

// periodUnder is the default decision period want under a control interval: want when it
// divides the interval, else the longest period under want that does (interval/n for the
// smallest such n: 1.875 s for a 2 s period under 15 s, 10 s for a 15 s period under
// 20 s), so the ticks never straddle an interval boundary (driver.Tick refuses a period
// that does not divide). An interval no longer than want, or none, keeps want (the driver
// then ticks once per interval).
func periodUnder(want, interval time.Duration) time.Duration {
	if want <= 0 || interval <= want {
		return want
	}
	for n := (interval + want - 1) / want; n <= 1000; n++ {
		if interval%n == 0 {
			return interval / n
		}
	}
	return want
}
