package metrics

import (
	"fmt"
	"strings"
	"time"
)

// Presets name the query sets.
const (
	PresetIstio  = "istio"
	PresetHTTP   = "http"
	PresetCustom = "custom"
)

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
}

// querySet is the PromQL of one window step.
type querySet struct {
	rate, errors  string
	latencyMean   string // mean latency, in the histogram's unit
	buckets       string // sum by (le) of bucket rates; "" for custom
	bucketScale   float64
	customLatency string // custom: latency in ms, one series
	cpu, memory   string
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
	case PresetIstio, PresetHTTP:
		if q.Target == "" {
			return fmt.Errorf("metrics preset %s needs the target's name", q.Preset)
		}
	case PresetCustom:
		if q.CustomRate == "" || q.CustomLatency == "" {
			return fmt.Errorf("metrics preset custom needs a rate and a latency query")
		}
	default:
		return fmt.Errorf("unknown metrics preset %q (valid: istio, http, custom)", q.Preset)
	}
	switch q.CPUSource {
	case "", CPUCadvisor, CPUNone:
	default:
		return fmt.Errorf("unknown CPU source %q for Prometheus (valid: cadvisor, none)", q.CPUSource)
	}
	return nil
}

// build renders the queries for periods of length step.
func (q Queries) build(step time.Duration) querySet {
	w := "[" + promDuration(max(step, q.MinWindow)) + "]"
	var s querySet
	switch q.Preset {
	case PresetIstio:
		sel := joinMatchers(`reporter="destination"`,
			fmt.Sprintf("destination_workload=%q", q.Target),
			fmt.Sprintf("destination_workload_namespace=%q", q.Namespace), q.Selector)
		errSel := joinMatchers(strings.Trim(sel, "{}"), `response_code=~"5.."`)
		s.rate = "sum(rate(istio_requests_total" + sel + w + "))"
		s.errors = "sum(rate(istio_requests_total" + errSel + w + ")) or vector(0)"
		s.latencyMean = "sum(rate(istio_request_duration_milliseconds_sum" + sel + w + ")) / sum(rate(istio_request_duration_milliseconds_count" + sel + w + "))"
		s.buckets = "sum by (le) (rate(istio_request_duration_milliseconds_bucket" + sel + w + "))"
		s.bucketScale = 1
	case PresetHTTP:
		sel := q.Selector
		if sel == "" {
			sel = fmt.Sprintf("namespace=%q,pod=~%q", q.Namespace, q.podRegex())
		}
		m := joinMatchers(sel)
		errSel := joinMatchers(sel, `code=~"5.."`)
		s.rate = "sum(rate(http_requests_total" + m + w + "))"
		s.errors = "sum(rate(http_requests_total" + errSel + w + ")) or vector(0)"
		s.latencyMean = "sum(rate(http_request_duration_seconds_sum" + m + w + ")) / sum(rate(http_request_duration_seconds_count" + m + w + "))"
		s.buckets = "sum by (le) (rate(http_request_duration_seconds_bucket" + m + w + "))"
		s.bucketScale = 1000 // seconds -> ms
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
	return s
}

func (q Queries) podRegex() string {
	if q.PodRegex != "" {
		return q.PodRegex
	}
	return q.Target + "-.*"
}
