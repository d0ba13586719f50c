package metrics

import (
	"fmt"
	"math"
	"strings"
)

// This file is the wake-up source: a request count that does not need a pod, so that a
// workload scaled to zero can be woken up (issue #16). With no pod, the destination-side
// rate of the pod presets (Istio reporter="destination", the pods' http_requests_total,
// Linkerd inbound, OpenTelemetry server metrics) has no series at all, and a loop that
// reads only it would stay at zero while requests fail.

// WakeUp sources.
const (
	// WakeUpIstioSource: Istio's client-side proxies, istio_requests_total{reporter="source"}
	// for the target workload: every request sent to it, whether a pod answers or not.
	WakeUpIstioSource = "istio-source"
	// WakeUpKEDAHTTP: the KEDA HTTP add-on's interceptor, interceptor_request_count_total
	// for the route named like the target (route_name, route_namespace labels): every
	// request it proxied or held for a cold start.
	WakeUpKEDAHTTP = "keda-http"
	// WakeUpTestbed: the testbed load balancer's activator, testbed_lb_cold_starts_total:
	// the requests that found no ready replica (held, or refused on a full queue).
	WakeUpTestbed = "testbed-lb"
	// WakeUpCustom: the query in Queries.WakeUpQuery, of the kind Queries.WakeUpCounts.
	WakeUpCustom = "custom"
)

// WakeUpSources lists the valid wake-up sources, for messages and flag help.
var WakeUpSources = []string{WakeUpIstioSource, WakeUpKEDAHTTP, WakeUpTestbed, WakeUpCustom}

// What a wake-up query counts.
const (
	// CountsArrivals: every request for the workload (a gateway's or client proxy's count).
	// Where the destination counted nothing in a period (no pod, or no pod answered), what
	// arrived was held or refused, so Point.Held is the arrivals; otherwise Held is 0.
	CountsArrivals = "arrivals"
	// CountsHeld: only the requests an activator held because no pod was ready (the
	// simulator's Point.Held exactly).
	CountsHeld = "held"
)

// wakeUpQuery renders the wake-up query for window w (the rate() range, e.g. "[60s]") and
// what it counts; "" when none is configured.
func (q Queries) wakeUpQuery(w string) (query, counts string) {
	switch q.WakeUp {
	case WakeUpIstioSource:
		m := joinMatchers(`reporter="source"`, fmt.Sprintf("destination_workload=%q", q.Target),
			fmt.Sprintf("destination_workload_namespace=%q", q.Namespace))
		return "sum(rate(istio_requests_total" + m + w + "))", CountsArrivals
	case WakeUpKEDAHTTP:
		m := joinMatchers(fmt.Sprintf("route_name=%q", q.Target), fmt.Sprintf("route_namespace=%q", q.Namespace))
		return "sum(rate(interceptor_request_count_total" + m + w + "))", CountsArrivals
	case WakeUpTestbed:
		return "sum(rate(testbed_lb_cold_starts_total" + w + "))", CountsHeld
	case WakeUpCustom:
		r := strings.NewReplacer("$interval", strings.Trim(w, "[]"), "$namespace", q.Namespace, "$target", q.Target)
		counts := q.WakeUpCounts
		if counts == "" {
			counts = CountsArrivals
		}
		return r.Replace(q.WakeUpQuery), counts
	}
	return "", ""
}

func (q Queries) validateWakeUp() error {
	switch q.WakeUp {
	case "", WakeUpIstioSource, WakeUpKEDAHTTP, WakeUpTestbed:
		if q.WakeUpQuery != "" {
			return fmt.Errorf("wake-up query %q is only for wake-up source custom (got %q)", q.WakeUpQuery, q.WakeUp)
		}
	case WakeUpCustom:
		if strings.TrimSpace(q.WakeUpQuery) == "" {
			return fmt.Errorf("wake-up source custom needs a query (the rate of requests counted where no pod is needed)")
		}
	default:
		return fmt.Errorf("unknown wake-up source %q (valid: %s)", q.WakeUp, strings.Join(WakeUpSources, ", "))
	}
	switch q.WakeUpCounts {
	case "", CountsArrivals, CountsHeld:
	default:
		return fmt.Errorf("wake-up counts %q: want %s or %s", q.WakeUpCounts, CountsArrivals, CountsHeld)
	}
	return nil
}

// CountsWithoutPods says whether the queries still count requests when the workload has no
// pod: a wake-up source is configured, or the preset's rate is measured at a gateway
// (nginx-ingress counts at the ingress controller, which answers with no endpoint too).
// minReplicas 0 is safe only then.
func (q Queries) CountsWithoutPods() bool {
	return q.WakeUp != "" || q.Preset == PresetNginxIngress
}

// applyWakeUp merges the wake-up readings (NaN where not measured) into the points. A
// period the wake-up source measured but the destination did not (its series vanish with
// the last pod) is a period with no pod: the destination counted nothing, so its rate is 0,
// and so are its latency and CPU (nothing ran to measure).
func applyWakeUp(pts []Point, wake []float64, counts string) {
	for i := range pts {
		v := wake[i]
		if math.IsNaN(v) {
			continue
		}
		pt := &pts[i]
		if math.IsNaN(pt.Rate) {
			pt.Rate = 0
			if math.IsNaN(pt.CPU) {
				pt.CPU = 0
			}
		}
		switch counts {
		case CountsHeld:
			pt.Held = v
		default:
			// Arrivals: held where the destination counted none of them.
			if pt.Rate <= 0 {
				pt.Held = v
			} else {
				pt.Held = 0
			}
		}
	}
}
