package series

import (
	"strings"
	"testing"
	"time"
)

func seq(n int) Series {
	s := Series{Name: "seq", Start: time.Unix(0, 0).UTC(), Step: time.Minute, Values: make([]float64, n)}
	for i := range s.Values {
		s.Values[i] = float64(i)
	}
	return s
}

func TestSplitIsChronologicalAndComplete(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		fractions [3]float64
		sizes     [3]int
	}{
		{"default 60/20/20", 10, [3]float64{0.6, 0.2, 0.2}, [3]int{6, 2, 2}},
		{"rounding goes to the nearest point", 7, [3]float64{0.6, 0.2, 0.2}, [3]int{4, 2, 1}},
		{"no validation part", 10, [3]float64{0.8, 0, 0.2}, [3]int{8, 0, 2}},
		{"everything is test", 5, [3]float64{0, 0, 1}, [3]int{0, 0, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := seq(tt.n)
			tr, va, te, err := Split(s, tt.fractions)
			if err != nil {
				t.Fatal(err)
			}
			parts := []Series{tr, va, te}
			next := 0
			for i, p := range parts {
				if p.Len() != tt.sizes[i] {
					t.Errorf("part %d has %d points, want %d", i, p.Len(), tt.sizes[i])
				}
				if !p.Start.Equal(s.Time(next)) || p.Step != s.Step {
					t.Errorf("part %d starts at %v, want %v", i, p.Start, s.Time(next))
				}
				for j, v := range p.Values {
					if v != float64(next+j) {
						t.Fatalf("part %d point %d = %v, want %v (order broken)", i, j, v, float64(next+j))
					}
				}
				next += p.Len()
			}
			if next != tt.n {
				t.Errorf("parts cover %d points, want %d", next, tt.n)
			}
		})
	}
}

func TestSplitKeepsBurstLabelsInTheirPart(t *testing.T) {
	s := seq(10)
	s.Bursts = []Burst{{Start: 1, End: 2, Kind: "spike"}, {Start: 5, End: 8, Kind: "flash-crowd"}}
	tr, va, te, err := Split(s, [3]float64{0.6, 0.2, 0.2})
	if err != nil {
		t.Fatal(err)
	}
	if len(tr.Bursts) != 2 || tr.Bursts[1] != (Burst{Start: 5, End: 6, Kind: "flash-crowd"}) {
		t.Errorf("train bursts %v", tr.Bursts)
	}
	if len(va.Bursts) != 1 || va.Bursts[0] != (Burst{Start: 0, End: 2, Kind: "flash-crowd"}) {
		t.Errorf("validation bursts %v", va.Bursts)
	}
	if len(te.Bursts) != 0 {
		t.Errorf("test bursts %v, want none", te.Bursts)
	}
}

func TestSplitRejects(t *testing.T) {
	tests := []struct {
		name      string
		n         int
		fractions [3]float64
		want      string
	}{
		{"sum below 1", 10, [3]float64{0.5, 0.2, 0.2}, "fractions sum to 0.9, must sum to 1"},
		{"negative fraction", 10, [3]float64{1.2, -0.2, 0}, "fraction 2 is -0.2, must be a finite number >= 0"},
		{"part too small for the series", 3, [3]float64{0.8, 0.1, 0.1}, "test fraction 0.1 of 3 points rounds to 0 points"},
		{"empty series", 0, [3]float64{0.6, 0.2, 0.2}, "train fraction 0.6 of 0 points rounds to 0 points"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, _, err := Split(seq(tt.n), tt.fractions)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Split = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseSplit(t *testing.T) {
	tests := []struct {
		text string
		want [3]float64
		err  string
	}{
		{"0.6,0.2,0.2", [3]float64{0.6, 0.2, 0.2}, ""},
		{" 0.7, 0.1 ,0.2 ", [3]float64{0.7, 0.1, 0.2}, ""},
		{"1,0,0", [3]float64{1, 0, 0}, ""},
		{"0.8,0.2", [3]float64{}, `split "0.8,0.2": need 3 comma-separated fractions train,val,test, found 2`},
		{"0.6,x,0.2", [3]float64{}, `split "0.6,x,0.2": fraction 2 "x" is not a number`},
		{"0.6,0.3,0.3", [3]float64{}, `split "0.6,0.3,0.3": fractions sum to 1.2, must sum to 1`},
		{"NaN,0.5,0.5", [3]float64{}, `split "NaN,0.5,0.5": fraction 1 is NaN, must be a finite number >= 0`},
		{"", [3]float64{}, `need 3 comma-separated fractions`},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			got, err := ParseSplit(tt.text)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Errorf("ParseSplit = %v, %v; want error containing %q", got, err, tt.err)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Errorf("ParseSplit = %v, %v; want %v", got, err, tt.want)
			}
		})
	}
}
