package registry

import (
	"errors"
	"fmt"
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
	if l.Parent == "" {
		if cur, err := r.Find(Champion); err == nil {
			l.Parent = cur
		} else if !errors.Is(err, ErrNotFound) {
			return v, false, err
		}
	}
	st, err := r.Stage()
	if err != nil {
		return v, false, err
	}
	if err := save(st.Dir()); err != nil {
		st.Abort()
		return v, false, fmt.Errorf("registry %s: write model: %w", dir, err)
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
