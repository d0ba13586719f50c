package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Publish writes a new version into the registry at dir, creating the registry if needed:
// save writes the model's files into the directory it is given (forecast.Save, for one),
// the lineage's Parent defaults to the current champion, and with promote the version
// becomes the champion. created is false when an identical version was already stored (its
// original lineage is kept; promote still applies).
func Publish(dir string, save func(modelDir string) error, l Lineage, promote bool) (v Version, created bool, err error) {
	r, err := Create(dir)
	if err != nil {
		return v, false, err
	}
	st, err := r.Stage()
	if err != nil {
		return v, false, err
	}
	if err := save(st.Dir()); err != nil {
		st.Abort()
		return v, false, fmt.Errorf("registry %s: write model: %w", dir, err)
	}
	if l.Parent == "" {
		// The parent is the champion this version would replace: one of the same kind (a
		// registry holding several roles' models does not make a forecaster the parent of
		// an RL agent).
		kind := l.Kind
		if kind == "" {
			kind = stagedKind(st.Dir())
		}
		if cur, err := r.Find(Champion); err == nil {
			if cl, err := r.Verify(cur); err == nil && cl.Kind == kind {
				l.Parent = cur
			}
		} else if !errors.Is(err, ErrNotFound) {
			st.Abort()
			return v, false, err
		}
	}
	v, created, err = st.Commit(l)
	if err != nil {
		return v, false, err
	}
	if promote {
		if _, err := r.Promote(Champion, v.ID); err != nil {
			return v, created, err
		}
		v.Aliases = appendUnique(v.Aliases, Champion)
	}
	return v, created, nil
}

// stagedKind is the kind the staged manifest.json names ("" without one).
func stagedKind(dir string) string {
	raw, err := os.ReadFile(filepath.Join(dir, "manifest.json"))
	if err != nil {
		return ""
	}
	var m manifestFields
	if json.Unmarshal(raw, &m) != nil {
		return ""
	}
	return m.Kind
}

func appendUnique(xs []string, x string) []string {
	for _, y := range xs {
		if y == x {
			return xs
		}
	}
	return append(xs, x)
}

// WindowOf describes n evenly spaced points from start, step apart.
func WindowOf(start time.Time, step time.Duration, n int) Window {
	w := Window{Start: start, Step: step.String(), Points: n}
	if n > 0 {
		w.End = start.Add(time.Duration(n-1) * step)
	}
	return w
}
