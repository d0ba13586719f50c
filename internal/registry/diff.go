package registry

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Change is one field that differs between two versions: its path (lineage.data.train.points,
// manifest.params.order, ...) and its JSON value in each ("" when absent).
type Change struct {
	Path string `json:"path"`
	A    string `json:"a"`
	B    string `json:"b"`
}

// Diff compares the lineage and manifest.json of versions a and b (references) field by
// field. Both are verified first.
func (r *Registry) Diff(a, b string) (va, vb Version, changes []Change, err error) {
	if va, err = r.Get(a); err != nil {
		return
	}
	if vb, err = r.Get(b); err != nil {
		return
	}
	fa, err := flatVersion(va)
	if err != nil {
		return
	}
	fb, err := flatVersion(vb)
	if err != nil {
		return
	}
	keys := map[string]bool{}
	for k := range fa {
		keys[k] = true
	}
	for k := range fb {
		keys[k] = true
	}
	for _, k := range sortedKeys(keys) {
		if fa[k] != fb[k] {
			changes = append(changes, Change{Path: k, A: fa[k], B: fb[k]})
		}
	}
	return va, vb, changes, nil
}

func flatVersion(v Version) (map[string]string, error) {
	out := map[string]string{}
	raw, err := json.Marshal(v.Lineage)
	if err != nil {
		return nil, err
	}
	var doc any
	if err := json.Unmarshal(raw, &doc); err != nil {
		return nil, err
	}
	flatten("lineage", doc, out)
	if raw, err := os.ReadFile(filepath.Join(v.Dir, "manifest.json")); err == nil {
		var m any
		if err := json.Unmarshal(raw, &m); err != nil {
			return nil, fmt.Errorf("version %s: manifest.json: %w", Short(v.ID), err)
		}
		flatten("manifest", m, out)
	}
	return out, nil
}

// flatten writes every leaf of a decoded JSON document as path -> JSON text.
func flatten(prefix string, v any, out map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		ks := make([]string, 0, len(x))
		for k := range x {
			ks = append(ks, k)
		}
		sort.Strings(ks)
		for _, k := range ks {
			flatten(prefix+"."+k, x[k], out)
		}
	case []any:
		// Short arrays of scalars (levels, calibration offsets) read best whole.
		raw, _ := json.Marshal(x)
		if len(raw) <= 120 || !containsComposite(x) {
			out[prefix] = string(raw)
			return
		}
		for i, e := range x {
			flatten(fmt.Sprintf("%s[%d]", prefix, i), e, out)
		}
	default:
		raw, _ := json.Marshal(x)
		out[prefix] = strings.TrimSpace(string(raw))
	}
}

func containsComposite(xs []any) bool {
	for _, e := range xs {
		switch e.(type) {
		case map[string]any, []any:
			return true
		}
	}
	return false
}
