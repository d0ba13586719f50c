// static:N keeps the replica count fixed at N (clamped to the bounds). It is the "no
// autoscaler" baseline: the cost of provisioning for a known level and the violations that
// follow when the load leaves it.
//
// This file also holds the parameter reader the baselines share (paramSet).

package policy

import (
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"time"
)

func init() {
	Register("static:N", "fixed N replicas (clamped to the bounds), e.g. static:4", false, newStatic)
}

type static struct {
	n      int
	envMin int
	envMax int
}

func newStatic(env Env) (Policy, error) {
	arg, ok := env.Params["arg"]
	if !ok {
		return nil, fmt.Errorf("policy static: needs a replica count, e.g. static:4")
	}
	n, err := strconv.Atoi(arg)
	if err != nil || n <= 0 {
		return nil, fmt.Errorf("policy static: replicas %q is not a positive integer", arg)
	}
	for k := range env.Params {
		if k != "arg" {
			return nil, fmt.Errorf("policy static: unknown parameter %q (static takes none besides N)", k)
		}
	}
	return &static{n: n, envMin: env.Min, envMax: env.Max}, nil
}

func (s *static) Name() string          { return "static:" + strconv.Itoa(s.n) }
func (s *static) Period() time.Duration { return 0 }

func (s *static) Decide(obs *Observation) Decision {
	lo, hi := bounds(obs, s.envMin, s.envMax)
	r, limit := clampExplained(s.n, lo, hi)
	return Decision{Replicas: r, Explanation: Explanation{
		Mode: ModeStatic, Reason: "fixed replica count", Raw: s.n, Limit: limit,
	}}
}

// Limit phrases shared by the baselines.
const (
	limitMax = "max replicas"
	limitMin = "min replicas"
)

// bounds returns the replica bounds of a decision: the observation's when the backend set
// them (a CRD may change them while running), otherwise the ones the policy was built with.
func bounds(obs *Observation, envMin, envMax int) (lo, hi int) {
	if obs.Max > 0 && obs.Min <= obs.Max {
		return obs.Min, obs.Max
	}
	return envMin, envMax
}

// clampExplained bounds r to [lo, hi] and names the bound that applied ("" when none).
func clampExplained(r, lo, hi int) (int, string) {
	if r > hi {
		return hi, limitMax
	}
	if r < lo {
		return lo, limitMin
	}
	return r, ""
}

// paramSet reads a policy's Params. It remembers the keys the policy asked for so that a
// key nobody asked for (a typo such as "tagret") is an error instead of silently ignored,
// and it keeps the first error so a factory can read every key and check once.
type paramSet struct {
	policy string
	m      map[string]string
	known  map[string]bool
	err    error
}

func newParamSet(policy string, m map[string]string) *paramSet {
	return &paramSet{policy: policy, m: m, known: map[string]bool{}}
}

func (p *paramSet) fail(format string, args ...any) {
	if p.err == nil {
		p.err = fmt.Errorf("policy %s: "+format, append([]any{p.policy}, args...)...)
	}
}

// raw returns the value of key and whether it was given.
func (p *paramSet) raw(key string) (string, bool) {
	p.known[key] = true
	v, ok := p.m[key]
	return strings.TrimSpace(v), ok
}

// float reads a finite number.
func (p *paramSet) float(key string, def float64) float64 {
	s, ok := p.raw(key)
	if !ok {
		return def
	}
	v, err := strconv.ParseFloat(strings.TrimSuffix(s, "%"), 64)
	if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
		p.fail("parameter %s=%q is not a finite number", key, s)
		return def
	}
	if strings.HasSuffix(s, "%") {
		v /= 100
	}
	return v
}

// integer reads a whole number.
func (p *paramSet) integer(key string, def int) int {
	s, ok := p.raw(key)
	if !ok {
		return def
	}
	v, err := strconv.Atoi(s)
	if err != nil {
		p.fail("parameter %s=%q is not an integer", key, s)
		return def
	}
	return v
}

// duration reads a Go duration ("15s", "5m") or a plain number of seconds ("15").
func (p *paramSet) duration(key string, def time.Duration) time.Duration {
	s, ok := p.raw(key)
	if !ok {
		return def
	}
	if sec, err := strconv.ParseFloat(s, 64); err == nil && !math.IsNaN(sec) && !math.IsInf(sec, 0) {
		return time.Duration(sec * float64(time.Second))
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		p.fail("parameter %s=%q is not a duration (e.g. 15s, 5m, or seconds)", key, s)
		return def
	}
	return d
}

// choice reads one of the listed words.
func (p *paramSet) choice(key, def string, valid ...string) string {
	s, ok := p.raw(key)
	if !ok {
		return def
	}
	for _, v := range valid {
		if s == v {
			return s
		}
	}
	p.fail("parameter %s=%q is not one of %s", key, s, strings.Join(valid, ", "))
	return def
}

// check records an error "parameter key=value: must ..." when ok is false.
func (p *paramSet) check(ok bool, key string, value any, must string) {
	if !ok {
		p.fail("parameter %s=%v: %s", key, value, must)
	}
}

// done reports the first error, or a key that no reader asked for.
func (p *paramSet) done() error {
	if p.err != nil {
		return p.err
	}
	var unknown []string
	for k := range p.m {
		if !p.known[k] {
			unknown = append(unknown, k)
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	sort.Strings(unknown)
	valid := make([]string, 0, len(p.known))
	for k := range p.known {
		valid = append(valid, k)
	}
	sort.Strings(valid)
	return fmt.Errorf("policy %s: unknown parameter %q (valid: %s)", p.policy, unknown[0], strings.Join(valid, ", "))
}
