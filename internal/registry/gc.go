package registry

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// Defaults of GCOptions, as the CLI uses them.
const (
	DefaultKeepHistory = 20
	DefaultMinAge      = time.Hour
)

// GCOptions says what garbage collection keeps besides aliased versions. The zero value
// keeps only aliased versions.
type GCOptions struct {
	// KeepHistory keeps the versions named by the last KeepHistory alias events (rollback
	// targets).
	KeepHistory int
	// MinAge keeps versions created less than MinAge ago, and staging directories as young,
	// so that a version a trainer has just written (and is about to promote) is not taken
	// from under it.
	MinAge time.Duration
	// DryRun reports what would be removed without removing it.
	DryRun bool
}

// GC removes versions no alias refers to, that the last KeepHistory alias events do not
// name and that are older than MinAge, and stale staging files left by killed writers. It
// returns the ids removed (or to be removed, with DryRun). It runs under the lock, so no
// promotion can name a version while it is being removed; a removed version is first
// renamed into tmp/ so no half-deleted version is ever visible.
func (r *Registry) GC(o GCOptions) ([]string, error) {
	if o.KeepHistory < 0 || o.MinAge < 0 {
		return nil, fmt.Errorf("registry %s: gc: keep-history %d and min-age %v must not be negative", r.dir, o.KeepHistory, o.MinAge)
	}
	var removed []string
	err := r.withLock(func() error {
		st, err := r.readAliases()
		if err != nil {
			return err
		}
		keep := map[string]bool{}
		for _, id := range st.Aliases {
			keep[id] = true
		}
		for i := max(len(st.History)-o.KeepHistory, 0); i < len(st.History); i++ {
			keep[st.History[i].From], keep[st.History[i].To] = true, true
		}
		ids, err := r.ids()
		if err != nil {
			return err
		}
		now := r.now()
		for _, id := range ids {
			if keep[id] {
				continue
			}
			created := time.Time{}
			if l, err := r.Verify(id); err == nil || l.Version == id {
				created = l.Created
			}
			if created.IsZero() { // unreadable lineage: judge by the directory's age
				if fi, err := os.Stat(r.versionDir(id)); err == nil {
					created = fi.ModTime()
				}
			}
			if now.Sub(created) < o.MinAge {
				continue
			}
			removed = append(removed, id)
			if o.DryRun {
				continue
			}
			trash := filepath.Join(r.dir, tmpDir, "gc-"+id+"-"+randSuffix())
			if err := os.Rename(r.versionDir(id), trash); err != nil {
				return fmt.Errorf("registry %s: gc %s: %w", r.dir, Short(id), err)
			}
			if err := os.RemoveAll(trash); err != nil {
				return fmt.Errorf("registry %s: gc %s: %w", r.dir, Short(id), err)
			}
		}
		if !o.DryRun {
			if err := syncDir(filepath.Join(r.dir, versionsDir)); err != nil {
				return err
			}
			ents, err := os.ReadDir(filepath.Join(r.dir, tmpDir))
			if err != nil {
				return fmt.Errorf("registry %s: gc: %w", r.dir, err)
			}
			for _, e := range ents {
				fi, err := e.Info()
				if err == nil && now.Sub(fi.ModTime()) >= o.MinAge {
					os.RemoveAll(filepath.Join(r.dir, tmpDir, e.Name()))
				}
			}
		}
		return nil
	})
	return removed, err
}
