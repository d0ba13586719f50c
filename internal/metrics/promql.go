package metrics

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Presets name the query sets.
const (
	PresetIstio        = "istio"
	PresetHTTP         = "http"
	PresetLinkerd      = "linkerd"
	PresetOTel         = "otel"
	PresetNginxIngress = "nginx-ingress"
	PresetEnvoy        = "envoy"
	PresetCustom       = "custom"
)

// Presets lists the valid preset names, for messages and flag help.
var Presets = []string{PresetIstio, PresetHTTP, PresetLinkerd, PresetOTel, PresetNginxIngress, PresetEnvoy, PresetCustom}

// CPU sources.
const (
	CPUCadvisor = "cadvisor" // container_cpu_usage_seconds_total through Prometheus
	CPUNone     = "none"     // no CPU data: Observation.CPU stays 0
)

// Queries configures which PromQL reads a workload's metrics.
type Queries struct {
	// Preset is istio, http or custom.
	Preset string
	// Namespace and Target name the scaled workload (used by the presets' label matchers).
	Namespace, Target string
	// Selector holds extra label matchers, e.g. `job="shop"`. With the http preset it
	// replaces the default matchers namespace="<ns>",pod=~"<target>-.*".
	Selector string
	// Custom queries (preset custom). Placeholders $interval, $namespace, $target.
	CustomRate, CustomLatency, CustomErrors, CustomCPU string
	// CustomHistogram (preset custom, optional) returns per-bucket rates, one series per
	// `le` label, e.g. `sum by (le) (rate(x_bucket[$interval]))`; it yields p95, p99 and the
	// share over the SLO (CustomLatency then supplies only the mean).
	CustomHistogram string
	// CustomMemory, when set, replaces the memory query (any preset; with custom it is the
	// only one): the pods' summed working-set bytes, one series. Placeholders as above.
	CustomMemory string
	// CustomHistogramUnit is the unit of the histogram's le bounds: "ms" (default) or "s".
	CustomHistogramUnit string
	// CPUSource is cadvisor (default) or none.
	CPUSource string
	// PodRegex selects the target's pods in cAdvisor series; default "<target>-.*".
	PodRegex string
	// RequestMillicores is one pod's CPU request; 0 means read it from
	// kube_pod_container_resource_requests (kube-state-metrics).
	RequestMillicores int
	// MinWindow is the shortest range a rate() reads. A period shorter than two scrape
	// intervals holds fewer than two samples and has no rate; such periods are read with
	// this window instead (a trailing average, still only past data). 0: the period itself.
	MinWindow time.Duration
	// CPUOnly reads only CPU (Rate and latency stay NaN): the HPA-style fallback when the
	// request metrics fail but cAdvisor's may still be there.
	CPUOnly bool

	// WakeUp names a request count that needs no pod (WakeUpSources; "" for none): it
	// fills Point.Held, and a period it measured while the destination's series were gone
	// (no pod) reads as rate 0 instead of a gap. Needed to scale from zero.
	WakeUp string
	// WakeUpQuery is the wake-up source custom's PromQL, a rate in requests per second
	// (placeholders as in the custom queries); WakeUpCounts says whether it counts every
	// arrival (CountsArrivals, the default) or only held requests (CountsHeld).
	WakeUpQuery, WakeUpCounts string
}

// querySet is the PromQL of one window step.
type querySet struct {
	rate, errors  string
	latencyMean   string // mean latency, in the histogram's unit
	buckets       string // sum by (le) of bucket rates; "" for custom
	bucketScale   float64
	customLatency string // custom: latency in ms, one series
	cpu, memory   string
	wakeUp        string // "" without a wake-up source
	wakeCounts    string // CountsArrivals or CountsHeld
}

// promDuration renders d as a PromQL duration ("90s", "1500ms").
func promDuration(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", int64(d/time.Second))
	}
	return fmt.Sprintf("%dms", d.Milliseconds())
}

func joinMatchers(ms ...string) string {
	var parts []string
	for _, m := range ms {
		if m = strings.TrimSpace(m); m != "" {
			parts = append(parts, m)
		}
	}
	return "{" + strings.Join(parts, ",") + "}"
}

// validate checks the configuration before any query is sent.
func (q Queries) validate() error {
	switch q.Preset {
	case PresetIstio, PresetHTTP, PresetLinkerd, PresetOTel, PresetNginxIngress, PresetEnvoy:
		if q.Target == "" {
			return fmt.Errorf("metrics preset %s needs the target's name", q.Preset)
		}
	case PresetCustom:
		if q.CustomRate == "" || q.CustomLatency == "" {
			return fmt.Errorf("metrics preset custom needs a rate and a latency query")
		}
		switch q.CustomHistogramUnit {
		case "", "ms", "s":
		default:
			return fmt.Errorf("custom histogram unit %q: want ms or s", q.CustomHistogramUnit)
		}
	default:
		return fmt.Errorf("unknown metrics preset %q (valid: %s)", q.Preset, strings.Join(Presets, ", "))
	}
	switch q.CPUSource {
	case "", CPUCadvisor, CPUNone:
	default:
		return fmt.Errorf("unknown CPU source %q for Prometheus (valid: cadvisor, none)", q.CPUSource)
	}
	return q.validateWakeUp()
}

// build renders the queries for periods of length step.
func (q Queries) build(step time.Duration) querySet {
	w := "[" + promDuration(max(step, q.MinWindow)) + "]"
	var s querySet
	switch q.Preset {
	case PresetIstio, PresetHTTP, PresetLinkerd, PresetOTel, PresetNginxIngress, PresetEnvoy:
		st := q.stack()
		m := joinMatchers(st.matchers...)
		errSel := joinMatchers(append(append([]string(nil), st.matchers...), st.errMatcher)...)
		errCounter := st.requests
		if st.errRequests != "" {
			errCounter = st.errRequests
		}
		s.rate = "sum(rate(" + st.requests + m + w + "))"
		s.errors = "sum(rate(" + errCounter + errSel + w + ")) or vector(0)"
		s.latencyMean = "sum(rate(" + st.histogram + "_sum" + m + w + ")) / sum(rate(" + st.histogram + "_count" + m + w + "))"
		s.buckets = "sum by (le) (rate(" + st.histogram + "_bucket" + m + w + "))"
		s.bucketScale = st.scale
	case PresetCustom:
		r := strings.NewReplacer("$interval", promDuration(max(step, q.MinWindow)), "$namespace", q.Namespace, "$target", q.Target)
		s.rate = r.Replace(q.CustomRate)
		s.customLatency = r.Replace(q.CustomLatency)
		if q.CustomErrors != "" {
			s.errors = r.Replace(q.CustomErrors)
		}
		if q.CustomCPU != "" {
			s.cpu = r.Replace(q.CustomCPU)
		}
		if q.CustomHistogram != "" {
			s.buckets = r.Replace(q.CustomHistogram)
			s.bucketScale = 1
			if q.CustomHistogramUnit == "s" {
				s.bucketScale = 1000
			}
		}
	}
	if q.Preset != PresetCustom && (q.CPUSource == "" || q.CPUSource == CPUCadvisor) {
		pods := joinMatchers(fmt.Sprintf("namespace=%q", q.Namespace), fmt.Sprintf("pod=~%q", q.podRegex()), `container!=""`, `container!="POD"`)
		usage := "sum(rate(container_cpu_usage_seconds_total" + pods + w + "))"
		if q.RequestMillicores > 0 {
			// Ready pods are those cAdvisor reports on; each requests RequestMillicores.
			s.cpu = fmt.Sprintf("%s / (count(sum by (pod) (rate(container_cpu_usage_seconds_total%s%s))) * %g)",
				usage, pods, w, float64(q.RequestMillicores)/1000)
		} else {
			req := joinMatchers(fmt.Sprintf("namespace=%q", q.Namespace), fmt.Sprintf("pod=~%q", q.podRegex()), `resource="cpu"`)
			s.cpu = usage + " / sum(kube_pod_container_resource_requests" + req + ")"
		}
		s.memory = "sum(container_memory_working_set_bytes" + pods + ")"
	}
	if q.CustomMemory != "" {
		s.memory = strings.NewReplacer("$interval", promDuration(max(step, q.MinWindow)), "$namespace", q.Namespace, "$target", q.Target).Replace(q.CustomMemory)
	}
	s.wakeUp, s.wakeCounts = q.wakeUpQuery(w)
	return s
}

func (q Queries) podRegex() string {
	if q.PodRegex != "" {
		return q.PodRegex
	}
	return q.Target + "-.*"
}

// stack is how one telemetry stack exports request counts and latency to Prometheus.
type stack struct {
	requests    string   // counter of requests (or responses)
	errRequests string   // counter the error matcher applies to; "" means requests
	histogram   string   // latency histogram's base name (_bucket, _sum, _count)
	scale       float64  // histogram unit to milliseconds
	matchers    []string // select the scaled workload's series
	errMatcher  string   // added to matchers, selects failed requests
}

// stack returns the metric names and label matchers of the preset. With the http, otel,
// nginx-ingress and envoy presets a Selector replaces the default workload matchers (those
// stacks label series by scrape target or route, which differ between installations); with
// istio and linkerd, whose proxies label by workload, it is added to them.
func (q Queries) stack() stack {
	or := func(def ...string) []string {
		if q.Selector != "" {
			return []string{q.Selector}
		}
		return def
	}
	switch q.Preset {
	case PresetIstio:
		return stack{requests: "istio_requests_total", histogram: "istio_request_duration_milliseconds", scale: 1,
			matchers: []string{`reporter="destination"`, fmt.Sprintf("destination_workload=%q", q.Target),
				fmt.Sprintf("destination_workload_namespace=%q", q.Namespace), q.Selector},
			errMatcher: `response_code=~"5.."`}
	case PresetLinkerd:
		// Linkerd proxy metrics (linkerd.io/2/reference/proxy-metrics): response_total counts
		// responses, response_latency_ms is a histogram in milliseconds; direction="inbound"
		// is the traffic the workload's own proxy received. The deployment and namespace
		// labels are added by Linkerd's scrape configuration (linkerd-viz's Prometheus).
		// classification="failure" is Linkerd's own error classification (5xx or a gRPC error).
		return stack{requests: "response_total", histogram: "response_latency_ms", scale: 1,
			matchers: []string{`direction="inbound"`, fmt.Sprintf("deployment=%q", q.Target),
				fmt.Sprintf("namespace=%q", q.Namespace), q.Selector},
			errMatcher: `classification="failure"`}
	case PresetOTel:
		// OpenTelemetry HTTP semantic conventions (opentelemetry.io/docs/specs/semconv/http/
		// http-metrics): the histogram http.server.request.duration in seconds, attribute
		// http.response.status_code. The Prometheus exporter turns dots into underscores and
		// appends the unit: http_server_request_duration_seconds_{bucket,sum,count}. There is
		// no separate request counter: _count is the number of requests.
		return stack{requests: "http_server_request_duration_seconds_count", histogram: "http_server_request_duration_seconds", scale: 1000,
			matchers:   or(fmt.Sprintf("namespace=%q", q.Namespace), fmt.Sprintf("pod=~%q", q.podRegex())),
			errMatcher: `http_response_status_code=~"5.."`}
	case PresetNginxIngress:
		// ingress-nginx controller metrics (kubernetes/ingress-nginx docs/user-guide/
		// monitoring.md): nginx_ingress_controller_requests counts requests with the labels
		// ingress, namespace (the Ingress's), service and status; the request duration
		// histogram is in seconds. Scraped through Kubernetes service discovery, the target's
		// own namespace label wins and the Ingress's becomes exported_namespace.
		return stack{requests: "nginx_ingress_controller_requests", histogram: "nginx_ingress_controller_request_duration_seconds", scale: 1000,
			matchers:   or(fmt.Sprintf("exported_namespace=%q", q.Namespace), fmt.Sprintf("ingress=%q", q.Target)),
			errMatcher: `status=~"5.."`}
	case PresetEnvoy:
		// Envoy's native Prometheus stats (/stats/prometheus), as Envoy Gateway and Gateway
		// API implementations on Envoy export them: envoy_cluster_upstream_rq_total counts
		// upstream requests and envoy_cluster_upstream_rq_time is a histogram in milliseconds,
		// both labelled envoy_cluster_name; failed requests are counted by
		// envoy_cluster_upstream_rq_xx{envoy_response_code_class="5"}, so the error query below
		// uses that counter. Cluster names embed the backend
		// (e.g. httproute/<ns>/<route>/rule/0, outbound|80||<svc>.<ns>.svc.cluster.local); the
		// default matcher picks any cluster naming the target; set Selector to the exact one.
		return stack{requests: "envoy_cluster_upstream_rq_total", errRequests: "envoy_cluster_upstream_rq_xx", histogram: "envoy_cluster_upstream_rq_time", scale: 1,
			matchers:   or(fmt.Sprintf("envoy_cluster_name=~%q", ".*"+regexp.QuoteMeta(q.Target)+".*")),
			errMatcher: `envoy_response_code_class="5"`}
	default: // PresetHTTP
		return stack{requests: "http_requests_total", histogram: "http_request_duration_seconds", scale: 1000,
			matchers:   or(fmt.Sprintf("namespace=%q", q.Namespace), fmt.Sprintf("pod=~%q", q.podRegex())),
			errMatcher: `code=~"5.."`}
	}
}
