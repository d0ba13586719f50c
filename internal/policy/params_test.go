package policy_test

import (
	"reflect"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/policy"
)

func TestParseParams(t *testing.T) {
	for _, tc := range []struct {
		name    string
		in      []string
		want    map[string]string
		wantErr string
	}{
		{"none", nil, map[string]string{}, ""},
		{"unscoped and scoped", []string{"window=10s", "hpa.target=0.6"}, map[string]string{"window": "10s", "hpa.target": "0.6"}, ""},
		{"value may hold = and be empty", []string{"a=b=c", "e="}, map[string]string{"a": "b=c", "e": ""}, ""},
		{"later value wins", []string{"k=1", "k=2"}, map[string]string{"k": "2"}, ""},
		{"no =", []string{"ok=1", "target"}, nil, `parameter "target": want key=value`},
		{"empty key", []string{"=3"}, nil, `parameter "=3": want key=value`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := policy.ParseParams(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("error %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tc.want) {
				t.Errorf("ParseParams(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}

func TestParamsForScopesByPolicyBaseName(t *testing.T) {
	all := map[string]string{"window": "10s", "hpa.target": "0.5", "kpa.target-rps": "9", "static.x": "1"}
	for _, tc := range []struct {
		name string
		want map[string]string
	}{
		{"hpa", map[string]string{"window": "10s", "target": "0.5"}},
		{"kpa", map[string]string{"window": "10s", "target-rps": "9"}},
		{"static:3", map[string]string{"window": "10s", "x": "1"}},
		{"oracle", map[string]string{"window": "10s"}},
	} {
		if got := policy.ParamsFor(tc.name, all); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("ParamsFor(%s) = %v, want %v", tc.name, got, tc.want)
		}
	}
}
