package serve

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// spec is the OpenAPI document, parsed once: responses are checked against the schemas it
// declares, so the file and the server cannot drift apart silently.
type spec struct {
	doc map[string]any
}

func loadSpec(t *testing.T) *spec {
	t.Helper()
	raw, err := os.ReadFile("../../api/openapi/serve.yaml")
	if err != nil {
		t.Fatal(err)
	}
	js, err := yaml.YAMLToJSON(raw)
	if err != nil {
		t.Fatalf("api/openapi/serve.yaml: %v", err)
	}
	var doc map[string]any
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	return &spec{doc: doc}
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// response returns the schema of the answer of method path with the given status.
func (s *spec) response(method, path string, code int) (map[string]any, error) {
	r := dig(s.doc, "paths", path, strings.ToLower(method), "responses", fmt.Sprint(code))
	if r == nil {
		return nil, fmt.Errorf("the spec declares no %d answer for %s %s", code, method, path)
	}
	r = s.resolve(r)
	sc, _ := dig(r, "content", "application/json", "schema").(map[string]any)
	if sc == nil {
		return nil, fmt.Errorf("%s %s %d: no application/json schema", method, path, code)
	}
	return sc, nil
}

func (s *spec) resolve(v any) any {
	for {
		ref, ok := dig(v, "$ref").(string)
		if !ok {
			return v
		}
		parts := strings.Split(strings.TrimPrefix(ref, "#/"), "/")
		v = dig(s.doc, parts...)
	}
}

// validate checks v (decoded JSON) against schema sc: the subset of JSON Schema the spec
// uses (type, required, properties, additionalProperties, items, min/maxItems,
// minimum/maximum, enum, pattern, format date-time).
func (s *spec) validate(sc any, v any, at string) error {
	m, _ := s.resolve(sc).(map[string]any)
	if m == nil {
		return fmt.Errorf("%s: schema %v does not resolve", at, sc)
	}
	if en, ok := m["enum"].([]any); ok {
		found := false
		for _, e := range en {
			if e == v {
				found = true
			}
		}
		if !found {
			return fmt.Errorf("%s: %v not in %v", at, v, en)
		}
	}
	switch m["type"] {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %T", at, v)
		}
		req, _ := m["required"].([]any)
		for _, r := range req {
			if _, ok := obj[r.(string)]; !ok {
				return fmt.Errorf("%s: required property %s missing", at, r)
			}
		}
		props, _ := m["properties"].(map[string]any)
		keys := make([]string, 0, len(obj))
		for k := range obj {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k]; ok {
				if err := s.validate(ps, obj[k], at+"."+k); err != nil {
					return err
				}
				continue
			}
			switch ap := m["additionalProperties"].(type) {
			case bool:
				if !ap {
					return fmt.Errorf("%s: property %s is not in the spec", at, k)
				}
			case map[string]any:
				if err := s.validate(ap, obj[k], at+"."+k); err != nil {
					return err
				}
			case nil:
				if props != nil {
					return fmt.Errorf("%s: property %s is not in the spec", at, k)
				}
			}
		}
	case "array":
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want an array, got %T", at, v)
		}
		if mi, ok := m["minItems"].(float64); ok && float64(len(arr)) < mi {
			return fmt.Errorf("%s: %d items, at least %v", at, len(arr), mi)
		}
		if mx, ok := m["maxItems"].(float64); ok && float64(len(arr)) > mx {
			return fmt.Errorf("%s: %d items, at most %v", at, len(arr), mx)
		}
		if it, ok := m["items"]; ok {
			for i, e := range arr {
				if err := s.validate(it, e, fmt.Sprintf("%s[%d]", at, i)); err != nil {
					return err
				}
			}
		}
	case "number", "integer":
		f, ok := v.(float64)
		if !ok {
			return fmt.Errorf("%s: want a number, got %T", at, v)
		}
		if m["type"] == "integer" && f != float64(int64(f)) {
			return fmt.Errorf("%s: %v is not an integer", at, f)
		}
		if mi, ok := m["minimum"].(float64); ok && (f < mi || (f == mi && m["exclusiveMinimum"] == true)) {
			return fmt.Errorf("%s: %v below the minimum %v", at, f, mi)
		}
		if mx, ok := m["maximum"].(float64); ok && f > mx {
			return fmt.Errorf("%s: %v above the maximum %v", at, f, mx)
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want a string, got %T", at, v)
		}
		if p, ok := m["pattern"].(string); ok && !regexp.MustCompile(p).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", at, str, p)
		}
		if m["format"] == "date-time" {
			if _, err := time.Parse(time.RFC3339Nano, str); err != nil {
				return fmt.Errorf("%s: %q is not a date-time", at, str)
			}
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want a boolean, got %T", at, v)
		}
	case nil:
	default:
		return fmt.Errorf("%s: schema type %v not supported by the test's checker", at, m["type"])
	}
	return nil
}

// TestServeSchemaCheckerFails makes sure the checker rejects what it should: a checker
// that accepts everything would make the contract test vacuous.
func TestServeSchemaCheckerFails(t *testing.T) {
	s := loadSpec(t)
	sc, err := s.response("POST", "/v1/forecast", 200)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"missing field": `{"model":"m","version":"v","kind":"k","step":"1m0s","levels":[0.5]}`,
		"extra field":   `{"model":"m","version":"v","kind":"k","step":"1m0s","levels":[0.5],"quantiles":[[1]],"x":1}`,
		"bad step":      `{"model":"m","version":"v","kind":"k","step":"soon","levels":[0.5],"quantiles":[[1]]}`,
		"level > 1":     `{"model":"m","version":"v","kind":"k","step":"1m0s","levels":[1.5],"quantiles":[[1]]}`,
		"wrong type":    `{"model":"m","version":"v","kind":"k","step":"1m0s","levels":[0.5],"quantiles":[["a"]]}`,
	} {
		var v any
		if err := json.Unmarshal([]byte(body), &v); err != nil {
			t.Fatal(err)
		}
		if err := s.validate(sc, v, "$"); err == nil {
			t.Errorf("%s: the checker accepted %s", name, body)
		}
	}
}
