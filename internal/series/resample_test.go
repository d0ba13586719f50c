package series

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestPerSecondDividesByStepAndLeavesInputAlone(t *testing.T) {
	s := Series{Name: "s", Start: time.Unix(0, 0), Step: time.Minute, Values: []float64{600, 60, 0}}
	got := s.PerSecond()
	if want := []float64{10, 1, 0}; !slices.Equal(got.Values, want) {
		t.Errorf("PerSecond = %v, want %v", got.Values, want)
	}
	if !slices.Equal(s.Values, []float64{600, 60, 0}) {
		t.Errorf("input changed to %v", s.Values)
	}
	if got.Step != s.Step || !got.Start.Equal(s.Start) {
		t.Errorf("time axis changed: %v %v", got.Start, got.Step)
	}
}

func TestResample(t *testing.T) {
	s := Series{Name: "s", Start: time.Unix(0, 0), Step: time.Minute, Values: []float64{1, 2, 3, 4, 5, 6, 7}}
	tests := []struct {
		name string
		step time.Duration
		agg  Agg
		want []float64
	}{
		{"sum of pairs drops the incomplete tail", 2 * time.Minute, Sum, []float64{3, 7, 11}},
		{"mean of pairs", 2 * time.Minute, Mean, []float64{1.5, 3.5, 5.5}},
		{"max of triples", 3 * time.Minute, Max, []float64{3, 6}},
		{"same step is a copy", time.Minute, Sum, []float64{1, 2, 3, 4, 5, 6, 7}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Resample(s, tt.step, tt.agg)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Values, tt.want) || got.Step != tt.step || !got.Start.Equal(s.Start) {
				t.Errorf("got %v step %v, want %v step %v", got.Values, got.Step, tt.want, tt.step)
			}
		})
	}
}

func TestResampleMapsBurstLabels(t *testing.T) {
	s := Series{Name: "s", Start: time.Unix(0, 0), Step: time.Minute, Values: make([]float64, 10),
		Bursts: []Burst{{Start: 1, End: 3, Kind: "spike", Peak: 3}, {Start: 9, End: 10, Kind: "spike", Peak: 2}}}
	got, err := Resample(s, 3*time.Minute, Mean)
	if err != nil {
		t.Fatal(err)
	}
	// [1,3) lies in coarse interval 0; [9,10) lies in the dropped tail.
	if want := []Burst{{Start: 0, End: 1, Kind: "spike", Peak: 3}}; !slices.Equal(got.Bursts, want) {
		t.Errorf("Bursts = %v, want %v", got.Bursts, want)
	}
}

func TestResampleRejects(t *testing.T) {
	s := Series{Name: "s", Start: time.Unix(0, 0), Step: time.Minute, Values: []float64{1, 2, 3, 4}}
	tests := []struct {
		name string
		step time.Duration
		agg  Agg
		want string
	}{
		{"non-multiple step", 90 * time.Second, Sum, "step 1m30s is not a positive multiple of the series step 1m0s"},
		{"zero step", 0, Sum, "is not a positive multiple"},
		{"too coarse", 3 * time.Minute, Sum, "give 1 full intervals of 3m0s, need at least 2"},
		{"unknown aggregation", 2 * time.Minute, Agg(9), "unknown aggregation Agg(9)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Resample(s, tt.step, tt.agg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Resample = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseAgg(t *testing.T) {
	for _, a := range []Agg{Sum, Mean, Max} {
		got, err := ParseAgg(strings.ToUpper(a.String()))
		if err != nil || got != a {
			t.Errorf("ParseAgg(%q) = %v, %v", a, got, err)
		}
	}
	if _, err := ParseAgg("median"); err == nil || !strings.Contains(err.Error(), "sum, mean, max") {
		t.Errorf("ParseAgg(median) = %v, want an error listing the valid names", err)
	}
}
