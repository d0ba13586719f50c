package policy

import (
	"errors"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/series"
)

// Policy decides how many replicas a workload should have. Implementations are
// deterministic state machines: their state advances only inside Decide, they never read the
// clock (Observation.Now is the time) and never see data from the period being decided.
type Policy interface {
	// Name is the registry name, e.g. "hpa".
	Name() string
	// Period is how often the policy decides. Zero means once per control interval.
	Period() time.Duration
	// Decide returns the replicas wanted from obs.Now on. obs is valid only during the call.
	Decide(obs *Observation) Decision
}

// Env is what a policy is built with: the fixed settings of the run and, for models, the data
// they may train on. It never holds the evaluated window's data, with one exception:
// Future, given only to the clairvoyant oracle (see NeedsFuture).
type Env struct {
	Interval time.Duration // control interval
	SLO      SLO
	Min, Max int
	Startup  time.Duration // pod start-up delay the backend applies (policies may plan for it)
	Profile  *perf.Profile // per-pod performance profile (capacity, CPU model)
	// History is workload data from before the evaluated window (training and validation
	// splits), in requests per second per control interval. Models train on it.
	History series.Series
	// Normalizer is what the backend applied to the trace's req/s to get History and the
	// observed rates: the simulator's workload normaliser; the zero value (identity) for
	// backends that observe live req/s. A loaded model undoes it before its own units apply.
	Normalizer series.Normalizer
	Seed       int64
	// Future holds the arrival rate of every interval of the evaluated window. Only policies
	// registered as clairvoyant receive it; for all others it is nil.
	Future []float64
	// Params are policy-specific options from the command line or the CRD, "key=value".
	Params map[string]string
	// Corrector, when set, is used by the burst-aware policies to correct their estimate
	// outside bursts (a trainer injects its learning agent here); see Corrector.
	Corrector Corrector
	// Forecaster, when set, is a trained forecaster the forecasting policies use instead of
	// fitting or loading one (a retrain's replay of a challenger or champion).
	Forecaster forecast.Forecaster
}

// Errors of New that a backend tells apart (with errors.Is): a name not in the registry, a
// model directory that cannot be loaded, and a loaded model that does not fit its use.
var (
	ErrUnknownPolicy = errors.New("unknown policy")
	ErrModel         = errors.New("model cannot be loaded")
	ErrModelMismatch = errors.New("model does not match the configuration")
)

// Factory builds a fresh policy for one run.
type Factory func(env Env) (Policy, error)

type entry struct {
	factory     Factory
	clairvoyant bool
	help        string
}

var registry = map[string]entry{}

// Register adds a policy to the registry. clairvoyant marks policies that are given the
// future (only the oracle); backends refuse to run them anywhere but in the simulator.
func Register(name, help string, clairvoyant bool, f Factory) {
	if _, dup := registry[name]; dup {
		panic("policy: duplicate registration of " + name)
	}
	registry[name] = entry{factory: f, clairvoyant: clairvoyant, help: help}
}

// Names lists the registered policies, sorted. "static:N" is listed as "static:N".
func Names() []string {
	out := make([]string, 0, len(registry))
	for n := range registry {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Help returns the one-line description of a registered policy.
func Help(name string) string { return registry[baseName(name)].help }

// NeedsFuture reports whether the named policy is clairvoyant.
func NeedsFuture(name string) bool { return registry[baseName(name)].clairvoyant }

// baseName maps "static:4" to "static:N", the registry key of parameterised names.
func baseName(name string) string {
	if i := strings.IndexByte(name, ':'); i >= 0 {
		return name[:i] + ":N"
	}
	return name
}

// New builds the named policy. Names of the form "base:arg" pass arg as Params["arg"].
func New(name string, env Env) (Policy, error) {
	e, ok := registry[baseName(name)]
	if !ok {
		return nil, fmt.Errorf("%w %q (valid: %s)", ErrUnknownPolicy, name, strings.Join(Names(), ", "))
	}
	if i := strings.IndexByte(name, ':'); i >= 0 {
		p := map[string]string{}
		for k, v := range env.Params {
			p[k] = v
		}
		p["arg"] = name[i+1:]
		env.Params = p
	}
	if e.clairvoyant && env.Future == nil {
		return nil, fmt.Errorf("policy %s is clairvoyant: it needs the future workload and runs only in the simulator", name)
	}
	if !e.clairvoyant {
		env.Future = nil
	}
	if env.Min < 0 || env.Max < env.Min || env.Max == 0 {
		return nil, fmt.Errorf("policy %s: replica bounds must satisfy 0 <= min <= max, max >= 1 (got min %d, max %d)", name, env.Min, env.Max)
	}
	return e.factory(env)
}

// Clamp bounds replicas to [min, max].
func Clamp(replicas, min, max int) int {
	if replicas < min {
		return min
	}
	if replicas > max {
		return max
	}
	return replicas
}

// SeedOf is the seed of the policy of the autoscaler ns/name (FNV-64a of "ns/name",
// shifted to be non-negative): derived from the object's identity, so a restart draws the
// same numbers, and a live target or a replay of the same name draws what the controller
// does.
func SeedOf(ns, name string) int64 {
	h := fnv.New64a()
	h.Write([]byte(ns + "/" + name))
	return int64(h.Sum64() >> 1)
}
