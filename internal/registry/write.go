package registry

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"syscall"
)

// A write never makes a partial state visible: files are written under tmp/, synced, then
// renamed into place, and the directory holding the new name is synced so the rename
// itself survives a crash. A writer killed at any point leaves at most a stray entry in
// tmp/ (removed by GC), never a damaged version or alias file.

func randSuffix() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", dir, err)
	}
	return nil
}

func syncFile(path string) error {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", path, err)
	}
	return nil
}

// writeFileAtomic replaces path with data: a temp file in the registry's tmp/ (same file
// system), fsync, rename, fsync of path's directory.
func writeFileAtomic(regDir, path string, data []byte) error {
	tdir := filepath.Join(regDir, tmpDir)
	if err := os.MkdirAll(tdir, 0o755); err != nil {
		return err
	}
	tmp := filepath.Join(tdir, filepath.Base(path)+"."+randSuffix())
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return err
	}
	_, werr := f.Write(data)
	if werr == nil {
		werr = f.Sync()
	}
	if cerr := f.Close(); werr == nil {
		werr = cerr
	}
	if werr != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, werr)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write %s: %w", path, err)
	}
	return syncDir(filepath.Dir(path))
}

// Staging is a version being written: the caller fills Dir (for example with
// forecast.Save) and then calls Commit, or Abort to give up.
type Staging struct {
	r   *Registry
	dir string
}

// Stage starts a new version in a fresh directory under the registry's tmp/.
func (r *Registry) Stage() (*Staging, error) {
	dir, err := os.MkdirTemp(filepath.Join(r.dir, tmpDir), "stage-")
	if err != nil {
		return nil, fmt.Errorf("registry %s: stage: %w", r.dir, err)
	}
	return &Staging{r: r, dir: dir}, nil
}

// Dir is the directory to write the model's files into (flat: no subdirectories).
func (s *Staging) Dir() string { return s.dir }

// Abort removes the staging directory.
func (s *Staging) Abort() error { return os.RemoveAll(s.dir) }

// manifestFields are the fields of a model manifest.json the lineage copies. Every model
// bascaler saves (forecast.Save and the others) uses these names.
type manifestFields struct {
	Kind        string             `json:"kind"`
	Params      map[string]string  `json:"params"`
	Validation  map[string]float64 `json:"validation_scores"`
	Calibration json.RawMessage    `json:"calibration"`
}

// Commit seals the staged files as a version with lineage l: it syncs every file, computes
// the digest, writes lineage.json and renames the directory to versions/<digest>. If that
// version already exists (the same model was trained before), the staged copy is dropped
// and the stored version, with its original lineage, is returned with created false.
// Created and CodeVersion default to now and CodeVersion("").
func (s *Staging) Commit(l Lineage) (v Version, created bool, err error) {
	r := s.r
	defer func() {
		if err != nil {
			s.Abort()
		}
	}()
	ents, err := os.ReadDir(s.dir)
	if err != nil {
		return v, false, fmt.Errorf("registry %s: commit: %w", r.dir, err)
	}
	files := map[string]FileDigest{}
	for _, e := range ents {
		p := filepath.Join(s.dir, e.Name())
		if !e.Type().IsRegular() {
			return v, false, fmt.Errorf("registry %s: commit: %s is not a regular file (versions are flat)", r.dir, e.Name())
		}
		if e.Name() == LineageFile {
			return v, false, fmt.Errorf("registry %s: commit: the model may not have its own %s", r.dir, LineageFile)
		}
		if err := syncFile(p); err != nil {
			return v, false, fmt.Errorf("registry %s: commit: %w", r.dir, err)
		}
		d, err := digestFile(p)
		if err != nil {
			return v, false, fmt.Errorf("registry %s: commit: %w", r.dir, err)
		}
		files[e.Name()] = d
	}
	if len(files) == 0 {
		return v, false, fmt.Errorf("registry %s: commit: no model files staged", r.dir)
	}
	if raw, err := os.ReadFile(filepath.Join(s.dir, "manifest.json")); err == nil {
		var m manifestFields
		if err := json.Unmarshal(raw, &m); err != nil {
			return v, false, fmt.Errorf("registry %s: commit: manifest.json: %w", r.dir, err)
		}
		if l.Kind == "" {
			l.Kind = m.Kind
		}
		if l.Params == nil {
			l.Params = m.Params
		}
		if l.Validation == nil {
			l.Validation = m.Validation
		}
		if l.Calibration == nil && len(m.Calibration) > 0 && string(m.Calibration) != "null" {
			var b bytes.Buffer
			if err := json.Compact(&b, m.Calibration); err == nil {
				l.Calibration = b.Bytes()
			}
		}
	}
	id := Digest(files)
	l.Version, l.Files = id, files
	if l.Created.IsZero() {
		l.Created = r.now()
	}
	if l.CodeVersion == "" {
		l.CodeVersion = CodeVersion("")
	}
	raw, err := json.MarshalIndent(l, "", "  ")
	if err != nil {
		return v, false, fmt.Errorf("registry %s: commit: lineage: %w", r.dir, err)
	}
	lp := filepath.Join(s.dir, LineageFile)
	if err := os.WriteFile(lp, append(raw, '\n'), 0o644); err != nil {
		return v, false, fmt.Errorf("registry %s: commit: %w", r.dir, err)
	}
	if err := syncFile(lp); err != nil {
		return v, false, fmt.Errorf("registry %s: commit: %w", r.dir, err)
	}
	if err := syncDir(s.dir); err != nil {
		return v, false, fmt.Errorf("registry %s: commit: %w", r.dir, err)
	}
	dst := r.versionDir(id)
	if err := os.Rename(s.dir, dst); err != nil {
		if !errors.Is(err, fs.ErrExist) && !errors.Is(err, syscall.ENOTEMPTY) {
			return v, false, fmt.Errorf("registry %s: commit version %s: %w", r.dir, Short(id), err)
		}
		// Same content stored already (by us earlier or by a concurrent writer).
		s.Abort()
		got, gerr := r.Get(id)
		return got, false, gerr
	}
	if err := syncDir(filepath.Join(r.dir, versionsDir)); err != nil {
		return v, false, fmt.Errorf("registry %s: commit: %w", r.dir, err)
	}
	st, err := r.readAliases()
	if err != nil {
		return v, false, err
	}
	return Version{ID: id, Dir: dst, Lineage: l, Aliases: st.aliasesOf(id)}, true, nil
}

// sortedKeys returns m's keys in order.
func sortedKeys[V any](m map[string]V) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
