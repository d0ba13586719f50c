package cluster

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// The stage documents must parse, name the kinds KWOK needs and carry the delay.
func TestKwokStages(t *testing.T) {
	docs := strings.Split(kwokStages(2500*time.Millisecond), "\n---\n")
	if len(docs) != 3 {
		t.Fatalf("%d documents, want node-ready, pod-ready, pod-delete", len(docs))
	}
	var names []string
	for i, d := range docs {
		var st struct {
			Kind     string `json:"kind"`
			Metadata struct {
				Name string `json:"name"`
			} `json:"metadata"`
			Spec struct {
				ResourceRef struct{ Kind string } `json:"resourceRef"`
				Delay       *struct {
					DurationMilliseconds int64 `json:"durationMilliseconds"`
				} `json:"delay"`
			} `json:"spec"`
		}
		if err := yaml.Unmarshal([]byte(d), &st); err != nil {
			t.Fatalf("document %d: %v", i, err)
		}
		if st.Kind != "Stage" {
			t.Errorf("document %d kind %q", i, st.Kind)
		}
		names = append(names, st.Spec.ResourceRef.Kind+"/"+st.Metadata.Name)
		if st.Metadata.Name == "pod-ready" && (st.Spec.Delay == nil || st.Spec.Delay.DurationMilliseconds != 2500) {
			t.Errorf("pod-ready delay %+v, want 2500 ms", st.Spec.Delay)
		}
	}
	if want := []string{"Node/node-ready", "Pod/pod-ready", "Pod/pod-delete"}; !reflect.DeepEqual(names, want) {
		t.Errorf("stages %v, want %v", names, want)
	}
}

func TestMissing(t *testing.T) {
	dir := t.TempDir()
	if got := Missing(""); !reflect.DeepEqual(got, Binaries) {
		t.Errorf("Missing(\"\") = %v, want all", got)
	}
	for _, b := range Binaries[:3] {
		if err := os.WriteFile(filepath.Join(dir, b), nil, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.Mkdir(filepath.Join(dir, "kwok"), 0o755); err != nil {
		t.Fatal(err)
	}
	if got, want := Missing(dir), []string{"kube-scheduler", "kwok"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Missing = %v, want %v (a folder is not a binary)", got, want)
	}
}
