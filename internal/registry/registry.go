package registry

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime/debug"
	"sort"
	"strings"
	"time"
)

// Layout of a registry directory:
//
//	registry.json        marker and format version
//	versions/<digest>/   one immutable version: the model's files and lineage.json
//	aliases.json         alias -> version, and the history of alias moves
//	lock                 flock(2) target for read-modify-write of aliases.json and for gc
//	tmp/                 versions and alias files being written; never read
const (
	markerFile   = "registry.json"
	versionsDir  = "versions"
	aliasesFile  = "aliases.json"
	lockName     = "lock"
	tmpDir       = "tmp"
	LineageFile  = "lineage.json"
	formatNumber = 1
)

// Common aliases.
const (
	Champion   = "champion"
	Challenger = "challenger"
)

// MinPrefix is the shortest digest prefix accepted as a version reference.
const MinPrefix = 4

// Registry is an open registry directory. Its methods are safe for concurrent use by
// goroutines and by processes sharing the directory.
type Registry struct {
	dir string
	// Now is the clock used for creation times and gc ages (time.Now when nil); tests set it.
	Now func() time.Time
}

// Window describes a span of evenly spaced training data (the same fields as
// forecast.Window, so a manifest's window can be copied across).
type Window struct {
	Start  time.Time `json:"start"`
	End    time.Time `json:"end"` // start of the last interval
	Step   string    `json:"step"`
	Points int       `json:"points"`
}

// PromRange is a Prometheus range read: which server, which query, over which range.
type PromRange struct {
	Address string    `json:"address,omitempty"`
	Query   string    `json:"query"`
	Start   time.Time `json:"start"`
	End     time.Time `json:"end"`
	Step    string    `json:"step"`
}

// Data says what a version was trained on, precisely enough to fetch the same data again
// and to check that it is the same (SeriesDigest).
type Data struct {
	// Source is trace, synthetic or prometheus.
	Source string `json:"source"`
	// Trace is the trace file (or synthetic:NAME) and TraceDigest the SHA-256 of its bytes.
	Trace       string `json:"trace,omitempty"`
	TraceDigest string `json:"trace_digest,omitempty"`
	// Prometheus is the range query the series came from (source prometheus).
	Prometheus *PromRange `json:"prometheus,omitempty"`
	// SeriesDigest is DigestSeries of the whole series the training and validation splits
	// were cut from, before normalisation: equal digests mean equal data, whatever the source.
	SeriesDigest string `json:"series_digest,omitempty"`
	// Split and Normalize are the preprocessing options (as the CLI spells them).
	Split     string `json:"split,omitempty"`
	Normalize string `json:"normalize,omitempty"`
	// Train and Validation are the windows the model was fitted and validated on.
	Train      Window  `json:"train"`
	Validation *Window `json:"validation,omitempty"`
}

// FileDigest is one stored file's SHA-256 and size.
type FileDigest struct {
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
}

// Lineage is a version's record of where it came from (lineage.json). Kind, Params,
// Validation and Calibration are copied from the model's manifest.json when the caller
// leaves them empty.
type Lineage struct {
	Version     string             `json:"version"`
	Kind        string             `json:"kind"`
	Params      map[string]string  `json:"params,omitempty"`
	CodeVersion string             `json:"code_version"`
	Data        Data               `json:"data"`
	Validation  map[string]float64 `json:"validation_scores,omitempty"`
	Calibration json.RawMessage    `json:"calibration,omitempty"`
	// Seed is the training's random seed (and a synthetic trace's).
	Seed      int64     `json:"seed,omitempty"`
	Parent    string    `json:"parent,omitempty"`
	Created   time.Time `json:"created"`
	CreatedBy string    `json:"created_by,omitempty"`
	// Files are the model's files with their digests; the version's identity is derived
	// from them (see Digest).
	Files map[string]FileDigest `json:"files"`
}

// Version is one stored model version.
type Version struct {
	ID      string   // full hex digest
	Dir     string   // the model directory to load
	Lineage Lineage  // as stored
	Aliases []string // aliases pointing at it, sorted
}

// Short returns the first 12 hex digits of a version id, as lists print it.
func Short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

// CorruptError reports a stored version that does not match its digest or cannot be read.
type CorruptError struct {
	Registry, Version, File, Reason string
}

func (e *CorruptError) Error() string {
	return fmt.Sprintf("registry %s: version %s: %s: %s", e.Registry, Short(e.Version), e.File, e.Reason)
}

// ErrNotFound is wrapped by errors for an unknown alias or version.
var ErrNotFound = errors.New("not found")

// Create opens the registry at dir, creating it (and dir) if needed. It refuses a
// directory that already holds something else (a model directory given by mistake).
func Create(dir string) (*Registry, error) {
	if !IsRegistry(dir) {
		ents, err := os.ReadDir(dir)
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("create registry %s: %w", dir, err)
		}
		for _, e := range ents {
			switch e.Name() {
			case versionsDir, tmpDir, aliasesFile, lockName: // a registry being created concurrently
			default:
				return nil, fmt.Errorf("create registry %s: directory exists and is not a model registry (it holds %s, no %s)", dir, e.Name(), markerFile)
			}
		}
	}
	for _, d := range []string{dir, filepath.Join(dir, versionsDir), filepath.Join(dir, tmpDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("create registry %s: %w", dir, err)
		}
	}
	mpath := filepath.Join(dir, markerFile)
	if _, err := os.Stat(mpath); errors.Is(err, fs.ErrNotExist) {
		b, _ := json.Marshal(map[string]int{"format": formatNumber})
		if err := writeFileAtomic(dir, mpath, append(b, '\n')); err != nil {
			return nil, fmt.Errorf("create registry %s: %w", dir, err)
		}
	}
	return Open(dir)
}

// Open opens an existing registry; it fails when dir holds none.
func Open(dir string) (*Registry, error) {
	raw, err := os.ReadFile(filepath.Join(dir, markerFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("open registry %s: not a model registry (no %s)", dir, markerFile)
		}
		return nil, fmt.Errorf("open registry %s: %w", dir, err)
	}
	var m struct {
		Format int `json:"format"`
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, fmt.Errorf("open registry %s: %s: %w", dir, markerFile, err)
	}
	if m.Format != formatNumber {
		return nil, fmt.Errorf("open registry %s: format %d, this build reads %d", dir, m.Format, formatNumber)
	}
	for _, d := range []string{versionsDir, tmpDir} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return nil, fmt.Errorf("open registry %s: %w", dir, err)
		}
	}
	return &Registry{dir: dir}, nil
}

// IsRegistry reports whether dir holds a registry.
func IsRegistry(dir string) bool {
	_, err := os.Stat(filepath.Join(dir, markerFile))
	return err == nil
}

// Dir returns the registry's directory.
func (r *Registry) Dir() string { return r.dir }

func (r *Registry) now() time.Time {
	if r.Now != nil {
		return r.Now().UTC()
	}
	return time.Now().UTC()
}

func (r *Registry) versionDir(id string) string { return filepath.Join(r.dir, versionsDir, id) }

// ids returns the stored version ids, sorted.
func (r *Registry) ids() ([]string, error) {
	ents, err := os.ReadDir(filepath.Join(r.dir, versionsDir))
	if err != nil {
		return nil, fmt.Errorf("registry %s: %w", r.dir, err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && isDigest(e.Name()) {
			ids = append(ids, e.Name())
		}
	}
	sort.Strings(ids)
	return ids, nil
}

func isDigest(s string) bool {
	if len(s) != 64 {
		return false
	}
	return isHex(s)
}

func isHex(s string) bool {
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return s != ""
}

// Find turns a reference (an alias, or a digest prefix of at least MinPrefix hex digits)
// into a full version id. An alias wins over a prefix that happens to spell it.
func (r *Registry) Find(ref string) (string, error) {
	if ref == "" {
		return "", fmt.Errorf("registry %s: empty version reference", r.dir)
	}
	st, err := r.readAliases()
	if err != nil {
		return "", err
	}
	if id, ok := st.Aliases[ref]; ok {
		return id, nil
	}
	if p := strings.ToLower(ref); !isHex(p) || len(p) < MinPrefix {
		return "", fmt.Errorf("registry %s: no alias %q (aliases: %s; a version prefix needs %d+ hex digits): %w", r.dir, ref, aliasNames(st), MinPrefix, ErrNotFound)
	}
	ref = strings.ToLower(ref)
	ids, err := r.ids()
	if err != nil {
		return "", err
	}
	var hits []string
	for _, id := range ids {
		if strings.HasPrefix(id, ref) {
			hits = append(hits, id)
		}
	}
	switch len(hits) {
	case 0:
		return "", fmt.Errorf("registry %s: no version %s and no such alias (aliases: %s): %w", r.dir, ref, aliasNames(st), ErrNotFound)
	case 1:
		return hits[0], nil
	default:
		return "", fmt.Errorf("registry %s: version prefix %s is ambiguous (%d versions: %s, ...)", r.dir, ref, len(hits), Short(hits[0]))
	}
}

func aliasNames(st aliasState) string {
	var names []string
	for a := range st.Aliases {
		names = append(names, a)
	}
	if len(names) == 0 {
		return "none"
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// Get returns the version ref names after verifying its files against its digest. A
// damaged version yields a *CorruptError naming the version and the file.
func (r *Registry) Get(ref string) (Version, error) {
	id, err := r.Find(ref)
	if err != nil {
		return Version{}, err
	}
	l, err := r.Verify(id)
	if err != nil {
		return Version{}, err
	}
	st, err := r.readAliases()
	if err != nil {
		return Version{}, err
	}
	return Version{ID: id, Dir: r.versionDir(id), Lineage: l, Aliases: st.aliasesOf(id)}, nil
}

// Listed is one line of List: a version, or the error that makes it unusable.
type Listed struct {
	Version
	Err error // non-nil: the version failed verification (it is listed, never served)
}

// List returns every stored version, newest first, each verified. A damaged version is
// listed with its error rather than failing the whole list.
func (r *Registry) List() ([]Listed, error) {
	ids, err := r.ids()
	if err != nil {
		return nil, err
	}
	st, err := r.readAliases()
	if err != nil {
		return nil, err
	}
	out := make([]Listed, 0, len(ids))
	for _, id := range ids {
		l, err := r.Verify(id)
		if l.Version == "" {
			l.Version = id
		}
		out = append(out, Listed{Version: Version{ID: id, Dir: r.versionDir(id), Lineage: l, Aliases: st.aliasesOf(id)}, Err: err})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if !out[i].Lineage.Created.Equal(out[j].Lineage.Created) {
			return out[i].Lineage.Created.After(out[j].Lineage.Created)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// Verify reads a version's lineage and checks every file against it and the version id
// against the files. It returns the lineage even on a digest mismatch, so a list can still
// say what the damaged version was.
func (r *Registry) Verify(id string) (Lineage, error) {
	var l Lineage
	dir := r.versionDir(id)
	corrupt := func(file, format string, args ...any) error {
		return &CorruptError{Registry: r.dir, Version: id, File: file, Reason: fmt.Sprintf(format, args...)}
	}
	raw, err := os.ReadFile(filepath.Join(dir, LineageFile))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return l, fmt.Errorf("registry %s: version %s: %w", r.dir, Short(id), ErrNotFound)
		}
		return l, corrupt(LineageFile, "%v", err)
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		return l, corrupt(LineageFile, "not valid JSON: %v", err)
	}
	if l.Version != id {
		return l, corrupt(LineageFile, "names version %s", Short(l.Version))
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		return l, corrupt(".", "%v", err)
	}
	for _, e := range ents {
		if e.Name() == LineageFile {
			continue
		}
		if _, ok := l.Files[e.Name()]; !ok {
			return l, corrupt(e.Name(), "not listed in %s", LineageFile)
		}
	}
	names := make([]string, 0, len(l.Files))
	for n := range l.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		want := l.Files[n]
		got, err := digestFile(filepath.Join(dir, n))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return l, corrupt(n, "missing")
			}
			return l, corrupt(n, "%v", err)
		}
		if got.Size != want.Size {
			return l, corrupt(n, "size %d, lineage says %d (truncated or overwritten)", got.Size, want.Size)
		}
		if got.SHA256 != want.SHA256 {
			return l, corrupt(n, "SHA-256 %s, lineage says %s (contents changed)", Short(got.SHA256), Short(want.SHA256))
		}
	}
	if d := Digest(l.Files); d != id {
		return l, corrupt(LineageFile, "file digests give version %s", Short(d))
	}
	return l, nil
}

// CodeVersion describes the running build: mainVersion (the -ldflags version, may be
// empty) and the VCS revision Go stamped into the binary, "+dirty" when it had local changes.
func CodeVersion(mainVersion string) string {
	parts := []string{}
	if mainVersion != "" {
		parts = append(parts, mainVersion)
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		var rev string
		dirty := false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if rev != "" {
			if len(rev) > 12 {
				rev = rev[:12]
			}
			if dirty {
				rev += "+dirty"
			}
			parts = append(parts, rev)
		} else if mainVersion == "" && bi.Main.Version != "" {
			parts = append(parts, bi.Main.Version)
		}
	}
	if len(parts) == 0 {
		return "unknown"
	}
	return strings.Join(parts, " ")
}
