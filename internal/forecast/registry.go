package forecast

import (
	"fmt"
	"sort"
	"strings"
	"sync"
)

// Factory builds an unfitted model of one kind from its string parameters. It rejects
// unknown or malformed parameters with an error that names them.
type Factory func(params map[string]string) (Forecaster, error)

type registration struct {
	help    string
	factory Factory
}

var (
	registryMu sync.RWMutex
	registry   = map[string]registration{}
)

// Register makes a model kind available to New, LoadModel and the CLI. Models call it from an
// init function. Registering a kind twice is a programming error and panics at start-up,
// before any user input is read.
func Register(kind string, help string, f func(params map[string]string) (Forecaster, error)) {
	registryMu.Lock()
	defer registryMu.Unlock()
	if kind == "" || f == nil {
		panic("forecast: Register needs a kind and a factory")
	}
	if _, dup := registry[kind]; dup {
		panic("forecast: kind registered twice: " + kind)
	}
	registry[kind] = registration{help: help, factory: f}
}

// New builds an unfitted model of the given kind. An unknown kind is an error that lists the
// valid ones. params may be nil.
func New(kind string, params map[string]string) (Forecaster, error) {
	registryMu.RLock()
	r, ok := registry[kind]
	registryMu.RUnlock()
	if !ok {
		return nil, fmt.Errorf("unknown model kind %q (valid: %s)", kind, strings.Join(Kinds(), ", "))
	}
	if params == nil {
		params = map[string]string{}
	}
	f, err := r.factory(params)
	if err != nil {
		return nil, fmt.Errorf("model %s: %w", kind, err)
	}
	return f, nil
}

// Kinds returns the registered kinds, sorted.
func Kinds() []string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	out := make([]string, 0, len(registry))
	for k := range registry {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Help returns the one-line description a kind was registered with ("" if unknown).
func Help(kind string) string {
	registryMu.RLock()
	defer registryMu.RUnlock()
	return registry[kind].help
}
