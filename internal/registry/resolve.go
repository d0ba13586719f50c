package registry

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"
)

// Ref is a parsed model reference DIR@REF: a registry directory and a version in it.
type Ref struct {
	Registry string // the registry directory
	Version  string // an alias or a digest prefix
}

// ParseRef splits s at its last '@' into a registry reference. ok is false when s is a
// plain model directory: it has no '@', or it names an existing directory while the part
// before the '@' is not a registry (a directory whose name happens to contain '@').
func ParseRef(s string) (ref Ref, ok bool) {
	i := strings.LastIndexByte(s, '@')
	if i < 0 {
		return Ref{}, false
	}
	dir, v := s[:i], s[i+1:]
	if !IsRegistry(dir) {
		if st, err := os.Stat(s); err == nil && st.IsDir() {
			return Ref{}, false
		}
	}
	return Ref{Registry: dir, Version: v}, true
}

// Resolve turns a model reference into the directory to load. A plain directory is
// returned as it is; DIR@champion, DIR@challenger (any alias) or DIR@<digest prefix> is
// looked up in the registry at DIR and the version verified, so a damaged version is
// reported (naming version and file) instead of being loaded. The version's id is
// returned too ("" for a plain directory).
func Resolve(s string) (dir, id string, err error) {
	ref, ok := ParseRef(s)
	if !ok {
		return s, "", nil
	}
	if ref.Registry == "" || ref.Version == "" {
		return "", "", fmt.Errorf("model reference %q: want DIR@ALIAS or DIR@DIGEST-PREFIX", s)
	}
	r, err := Open(ref.Registry)
	if err != nil {
		return "", "", fmt.Errorf("model reference %q: %w", s, err)
	}
	v, err := r.Get(ref.Version)
	if err != nil {
		return "", "", fmt.Errorf("model reference %q: %w", s, err)
	}
	return v.Dir, v.ID, nil
}

// ErrWrongKind is wrapped by ResolveKind's error for a version of a kind the loader cannot use.
var ErrWrongKind = errors.New("wrong model kind")

// ResolveKind is Resolve for a loader of some kinds of model only: role names the loader in
// the message (rl-model, forecaster, profile), kinds are the kinds it loads. A registry
// version of another kind is refused with an error naming the version's kind and the kinds
// wanted (wrapping ErrWrongKind), before any file of it is read as the wrong model. A plain
// directory is returned unchecked: its loader reads the kind from its manifest.
func ResolveKind(s, role string, kinds ...string) (dir, id string, err error) {
	dir, id, err = Resolve(s)
	if err != nil || id == "" {
		return dir, id, err
	}
	ref, _ := ParseRef(s)
	r, err := Open(ref.Registry)
	if err != nil {
		return "", "", err
	}
	l, err := r.Verify(id)
	if err != nil {
		return "", "", fmt.Errorf("model reference %q: %w", s, err)
	}
	if !slices.Contains(kinds, l.Kind) {
		return "", "", fmt.Errorf("%s %q: version %s is of kind %s, want %s: %w", role, s, Short(id), kindName(l.Kind), wantKinds(kinds), ErrWrongKind)
	}
	return dir, id, nil
}

func kindName(k string) string {
	if k == "" {
		return "kind-less"
	}
	return k
}

func wantKinds(kinds []string) string {
	switch len(kinds) {
	case 0:
		return "no kind"
	case 1:
		return kinds[0]
	default:
		return "one of " + strings.Join(kinds, ", ")
	}
}
