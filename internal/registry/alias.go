package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// MaxHistory bounds the alias history kept in aliases.json (oldest events are dropped).
const MaxHistory = 1000

// Actions recorded in the alias history.
const (
	ActionPromote  = "promote"
	ActionRollback = "rollback"
)

// Event is one alias move.
type Event struct {
	Time   time.Time `json:"time"`
	Alias  string    `json:"alias"`
	Action string    `json:"action"`
	From   string    `json:"from,omitempty"` // "" when the alias was new
	To     string    `json:"to"`
}

// aliasState is the content of aliases.json.
type aliasState struct {
	Aliases map[string]string `json:"aliases"`
	History []Event           `json:"history"`
}

func (st aliasState) aliasesOf(id string) []string {
	var out []string
	for a, v := range st.Aliases {
		if v == id {
			out = append(out, a)
		}
	}
	sort.Strings(out)
	return out
}

// readAliases reads aliases.json without locking: it is only ever replaced by rename, so
// a reader sees the old or the new file, never a torn one.
func (r *Registry) readAliases() (aliasState, error) {
	st := aliasState{Aliases: map[string]string{}}
	p := filepath.Join(r.dir, aliasesFile)
	raw, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("registry %s: %w", r.dir, err)
	}
	if err := json.Unmarshal(raw, &st); err != nil {
		return st, fmt.Errorf("registry %s: %s is not valid JSON: %w", r.dir, p, err)
	}
	if st.Aliases == nil {
		st.Aliases = map[string]string{}
	}
	return st, nil
}

// withLock runs fn holding the registry's lock.
func (r *Registry) withLock(fn func() error) error {
	unlock, err := lockFile(filepath.Join(r.dir, lockName))
	if err != nil {
		return fmt.Errorf("registry %s: %w", r.dir, err)
	}
	defer unlock()
	return fn()
}

// updateAliases is the read-modify-write of aliases.json under the lock.
func (r *Registry) updateAliases(fn func(*aliasState) error) error {
	return r.withLock(func() error {
		st, err := r.readAliases()
		if err != nil {
			return err
		}
		if err := fn(&st); err != nil {
			return err
		}
		if n := len(st.History); n > MaxHistory {
			st.History = append([]Event(nil), st.History[n-MaxHistory:]...)
		}
		raw, err := json.MarshalIndent(st, "", "  ")
		if err != nil {
			return err
		}
		return writeFileAtomic(r.dir, filepath.Join(r.dir, aliasesFile), append(raw, '\n'))
	})
}

// validAlias: lower-case letters, digits, '-', '_' and '.', starting with a letter, so an
// alias never reads as a digest prefix or a path.
func validAlias(a string) error {
	if a == "" || len(a) > 64 || a[0] < 'a' || a[0] > 'z' {
		return fmt.Errorf("alias %q: want 1-64 characters starting with a lower-case letter", a)
	}
	for _, c := range a {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return fmt.Errorf("alias %q: character %q not allowed (a-z, 0-9, - _ .)", a, c)
		}
	}
	if isHex(a) {
		return fmt.Errorf("alias %q: spells a digest prefix; pick a name with a letter beyond f", a)
	}
	return nil
}

// Aliases returns alias -> version id.
func (r *Registry) Aliases() (map[string]string, error) {
	st, err := r.readAliases()
	return st.Aliases, err
}

// History returns the alias history, oldest first.
func (r *Registry) History() ([]Event, error) {
	st, err := r.readAliases()
	return st.History, err
}

// Promote points alias at the version ref names (an alias or digest prefix), after
// verifying that version: a damaged version is never promoted, so the alias keeps serving
// what it served. It returns the event recorded (From == To when nothing changed; no event
// is recorded then).
func (r *Registry) Promote(alias, ref string) (Event, error) {
	if err := validAlias(alias); err != nil {
		return Event{}, fmt.Errorf("registry %s: promote: %w", r.dir, err)
	}
	id, err := r.Find(ref)
	if err != nil {
		return Event{}, err
	}
	var ev Event
	err = r.updateAliases(func(st *aliasState) error {
		// Verified under the lock, so gc cannot remove the version before the alias names it.
		if _, err := r.Verify(id); err != nil {
			return fmt.Errorf("promote %s to %s: %w", Short(id), alias, err)
		}
		ev = Event{Time: r.now(), Alias: alias, Action: ActionPromote, From: st.Aliases[alias], To: id}
		if ev.From == id {
			return nil
		}
		st.Aliases[alias] = id
		st.History = append(st.History, ev)
		return nil
	})
	return ev, err
}

// Rollback points alias back at the version it pointed at before its latest promotion to
// the current version. Repeated rollbacks walk further back. The version rolled back to is
// verified first; an alias with no earlier version is an error.
func (r *Registry) Rollback(alias string) (Event, error) {
	var ev Event
	err := r.updateAliases(func(st *aliasState) error {
		cur, ok := st.Aliases[alias]
		if !ok {
			return fmt.Errorf("registry %s: rollback: no alias %q (aliases: %s): %w", r.dir, alias, aliasNames(*st), ErrNotFound)
		}
		prev := ""
		for i := len(st.History) - 1; i >= 0; i-- {
			e := st.History[i]
			if e.Alias == alias && e.Action == ActionPromote && e.To == cur {
				prev = e.From
				break
			}
		}
		if prev == "" {
			return fmt.Errorf("registry %s: rollback %s: no earlier version in the history of %s", r.dir, alias, Short(cur))
		}
		if _, err := r.Verify(prev); err != nil {
			return fmt.Errorf("rollback %s to %s: %w", alias, Short(prev), err)
		}
		ev = Event{Time: r.now(), Alias: alias, Action: ActionRollback, From: cur, To: prev}
		st.Aliases[alias] = prev
		st.History = append(st.History, ev)
		return nil
	})
	return ev, err
}
