package series

import (
	"bytes"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

func TestWriteThenReadRoundTrips(t *testing.T) {
	tests := []struct {
		name string
		s    Series
	}{
		{"minute counts", Series{Name: "a", Start: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Step: time.Minute, Values: []float64{0, 1, 2, 1e6}}},
		{"awkward floats", Series{Name: "b", Start: time.Date(1999, 12, 31, 23, 0, 0, 0, time.UTC), Step: time.Hour, Values: []float64{0.1, 1.0 / 3, math.SmallestNonzeroFloat64, 1.7976931348623157e308}}},
		{"sub-second step", Series{Name: "c", Start: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), Step: 250 * time.Millisecond, Values: []float64{5, 6, 7}}},
		{"start in another zone", Series{Name: "d", Start: time.Date(2020, 6, 1, 12, 0, 0, 0, time.FixedZone("x", 7200)), Step: time.Minute, Values: []float64{5, 6}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tt.s); err != nil {
				t.Fatalf("Write: %v", err)
			}
			if !strings.HasPrefix(buf.String(), "timestamp,value\n") {
				t.Errorf("output does not start with the header: %q", buf.String()[:20])
			}
			got, err := Read(&buf, tt.s.Name+".csv")
			if err != nil {
				t.Fatalf("Read back: %v", err)
			}
			if !got.Start.Equal(tt.s.Start) || got.Step != tt.s.Step || got.Name != tt.s.Name {
				t.Errorf("got start %v step %v name %q, want %v %v %q", got.Start, got.Step, got.Name, tt.s.Start, tt.s.Step, tt.s.Name)
			}
			if len(got.Values) != len(tt.s.Values) {
				t.Fatalf("got %d values, want %d", len(got.Values), len(tt.s.Values))
			}
			for i, v := range tt.s.Values {
				if got.Values[i] != v {
					t.Errorf("value %d: got %v, want %v", i, got.Values[i], v)
				}
			}
		})
	}
}

func TestWriteRefusesInvalidSeries(t *testing.T) {
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name string
		s    Series
		want string
	}{
		{"too short", Series{Name: "s", Start: t0, Step: time.Minute, Values: []float64{1}}, "s: 1 points, need at least 2"},
		{"zero step", Series{Name: "s", Start: t0, Values: []float64{1, 2}}, "s: step 0s is not positive"},
		{"NaN", Series{Name: "s", Start: t0, Step: time.Minute, Values: []float64{1, math.NaN()}}, "s: point 1: value NaN is not finite"},
		{"negative", Series{Name: "s", Start: t0, Step: time.Minute, Values: []float64{-1, 2}}, "s: point 0: value -1 is negative"},
		{"year beyond 9999", Series{Name: "s", Start: time.Date(9999, 12, 31, 23, 59, 0, 0, time.UTC), Step: time.Minute, Values: []float64{1, 2}}, "outside RFC3339's years"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := Write(&buf, tt.s)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Write = %v, want an error containing %q", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Errorf("wrote %d bytes for an invalid series", buf.Len())
			}
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestWriteReportsWriterErrors(t *testing.T) {
	s := Series{Name: "s", Start: time.Unix(0, 0), Step: time.Minute, Values: []float64{1, 2}}
	if err := Write(failingWriter{}, s); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Write = %v, want the writer's error", err)
	}
}
