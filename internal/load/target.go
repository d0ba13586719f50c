package load

import (
	"fmt"
	"math"
	"net/url"
	"strconv"
	"strings"
)

// Target is one URL requests go to, with its share of the traffic.
type Target struct {
	URL    string
	Weight float64 // relative share; > 0
}

// ParseTarget reads "URL" or "URL=weight". The weight is the text after the last '=' when
// it is a number; otherwise the whole text is the URL (weight 1), so query strings such as
// ?a=b need no escaping. A URL whose query ends in "=<number>" must say its weight
// explicitly ("http://h/?n=3=1").
func ParseTarget(text string) (Target, error) {
	raw, w := text, 1.0
	if i := strings.LastIndexByte(text, '='); i >= 0 {
		if v, err := strconv.ParseFloat(text[i+1:], 64); err == nil {
			raw, w = text[:i], v
		}
	}
	t := Target{URL: raw, Weight: w}
	return t, t.Validate()
}

// Validate checks that the URL is an absolute http(s) URL with a host and that the weight
// is a finite positive number.
func (t Target) Validate() error {
	if !strings.Contains(t.URL, "://") {
		return fmt.Errorf("load target %q: want an absolute URL with scheme http or https (http://host:port/path)", t.URL)
	}
	u, err := url.Parse(t.URL)
	if err != nil {
		return fmt.Errorf("load target %q: %w", t.URL, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("load target %q: scheme must be http or https", t.URL)
	}
	if u.Host == "" {
		return fmt.Errorf("load target %q: no host", t.URL)
	}
	if math.IsNaN(t.Weight) || math.IsInf(t.Weight, 0) || t.Weight <= 0 {
		return fmt.Errorf("load target %q: weight %g is not a finite positive number", t.URL, t.Weight)
	}
	return nil
}

// picker splits requests among targets by weight with smooth weighted round robin (the
// nginx rule): deterministic, exact over every cycle of the weights, and interleaved, so a
// 3:1 split sends A A B A ... rather than bursts of A.
type picker struct {
	w, cur []float64
	total  float64
}

func newPicker(ts []Target) *picker {
	p := &picker{w: make([]float64, len(ts)), cur: make([]float64, len(ts))}
	for i, t := range ts {
		p.w[i] = t.Weight
		p.total += t.Weight
	}
	return p
}

// next returns the index of the target for the next request.
func (p *picker) next() int {
	best := 0
	for i := range p.cur {
		p.cur[i] += p.w[i]
		if p.cur[i] > p.cur[best] {
			best = i
		}
	}
	p.cur[best] -= p.total
	return best
}
