package series

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/testenv"
)

func TestReadAcceptsValidTraces(t *testing.T) {
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name   string
		input  string
		start  time.Time
		step   time.Duration
		values []float64
	}{
		{"RFC3339 timestamps", "timestamp,value\n2020-01-01T00:00:00Z,1\n2020-01-01T00:01:00Z,2.5\n2020-01-01T00:02:00Z,0\n",
			t0, time.Minute, []float64{1, 2.5, 0}},
		{"integer seconds are Unix time in UTC", "timestamp,value\n0,18\n60,11\n120,3\n",
			time.Unix(0, 0).UTC(), time.Minute, []float64{18, 11, 3}},
		{"RFC3339 offsets become UTC", "timestamp,value\n2020-01-01T01:00:00+01:00,5\n2020-01-01T02:00:00+01:00,6\n",
			t0, time.Hour, []float64{5, 6}},
		{"fractional seconds set a sub-second step", "timestamp,value\n2020-01-01T00:00:00Z,1\n2020-01-01T00:00:00.5Z,2\n2020-01-01T00:00:01Z,3\n",
			t0, 500 * time.Millisecond, []float64{1, 2, 3}},
		{"CRLF line endings", "timestamp,value\r\n2020-01-01T00:00:00Z,1\r\n2020-01-01T00:01:00Z,2\r\n",
			t0, time.Minute, []float64{1, 2}},
		{"UTF-8 BOM before the header", "\xef\xbb\xbftimestamp,value\n2020-01-01T00:00:00Z,1\n2020-01-01T00:01:00Z,2\n",
			t0, time.Minute, []float64{1, 2}},
		{"trailing blank lines and no final newline", "timestamp,value\n0,1\n60,2\n\n\n",
			time.Unix(0, 0).UTC(), time.Minute, []float64{1, 2}},
		{"no final newline", "timestamp,value\n0,1\n60,2",
			time.Unix(0, 0).UTC(), time.Minute, []float64{1, 2}},
		{"header case and spaces do not matter", "Timestamp, Value\n0, 1\n60 ,2\n",
			time.Unix(0, 0).UTC(), time.Minute, []float64{1, 2}},
		{"exponents and negative zero", "timestamp,value\n0,1e3\n60,-0\n",
			time.Unix(0, 0).UTC(), time.Minute, []float64{1000, 0}},
		{"negative integer seconds", "timestamp,value\n-60,1\n0,2\n",
			time.Unix(-60, 0).UTC(), time.Minute, []float64{1, 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Read(strings.NewReader(tt.input), "dir/trace.csv")
			if err != nil {
				t.Fatalf("Read: %v", err)
			}
			if s.Name != "trace" {
				t.Errorf("Name = %q, want %q", s.Name, "trace")
			}
			if !s.Start.Equal(tt.start) || s.Start.Location() != time.UTC {
				t.Errorf("Start = %v, want %v in UTC", s.Start, tt.start)
			}
			if s.Step != tt.step {
				t.Errorf("Step = %v, want %v", s.Step, tt.step)
			}
			if len(s.Values) != len(tt.values) {
				t.Fatalf("Values = %v, want %v", s.Values, tt.values)
			}
			for i := range tt.values {
				if s.Values[i] != tt.values[i] {
					t.Errorf("Values[%d] = %v, want %v", i, s.Values[i], tt.values[i])
				}
			}
		})
	}
}

func TestReadRejectsBadInputNamingFileLineAndField(t *testing.T) {
	const h = "timestamp,value\n"
	tests := []struct {
		name  string
		input string
		line  int
		field string
		msg   string // the full expected error text
	}{
		{"empty file", "", 0, "", `x.csv: empty file (expected header "timestamp,value" and at least 2 rows)`},
		{"header only", h, 0, "", "x.csv: no data rows after the header (need at least 2)"},
		{"header and blank lines only", h + "\n\r\n", 0, "", "x.csv: no data rows after the header (need at least 2)"},
		{"one row", h + "0,1\n", 0, "", "x.csv: only 1 data row (need at least 2 to know the step)"},
		{"wrong header", "time,count\n0,1\n60,2\n", 1, "header", `x.csv:1: header "time,count": expected "timestamp,value"`},
		{"header with three columns", "timestamp,value,extra\n0,1\n60,2\n", 1, "header", `x.csv:1: header "timestamp,value,extra": expected "timestamp,value"`},
		{"data where the header belongs", "0,1\n60,2\n120,3\n", 1, "header", `x.csv:1: header "0,1": expected "timestamp,value"`},
		{"blank first line", "\ntimestamp,value\n0,1\n60,2\n", 1, "", `x.csv:1: expected header "timestamp,value", found a blank line`},
		{"value not a number", h + "0,1\n60,abc\n", 3, "value", `x.csv:3: value "abc": not a number`},
		{"empty value", h + "0,1\n60,\n", 3, "value", `x.csv:3: value "": empty`},
		{"NaN value", h + "0,1\n60,NaN\n", 3, "value", `x.csv:3: value "NaN": not finite`},
		{"infinite value", h + "0,+Inf\n60,1\n", 2, "value", `x.csv:2: value "+Inf": not finite`},
		{"value overflows", h + "0,1\n60,1e999\n", 3, "value", `x.csv:3: value "1e999": out of range`},
		{"negative value", h + "0,1\n60,-3\n", 3, "value", `x.csv:3: value "-3": negative`},
		{"one field", h + "0,1\n60\n", 3, "", `x.csv:3: expected 2 fields timestamp,value, found 1: "60"`},
		{"three fields", h + "0,1\n60,2,3\n", 3, "", `x.csv:3: expected 2 fields timestamp,value, found 3: "60,2,3"`},
		{"empty timestamp", h + ",1\n60,2\n", 2, "timestamp", `x.csv:2: timestamp "": empty`},
		{"unparseable timestamp", h + "2020-01-01T00:00:00Z,1\n2020-13-01T00:00:00Z,2\n", 3, "timestamp",
			`x.csv:3: timestamp "2020-13-01T00:00:00Z": not RFC3339 (like 2006-01-02T15:04:05Z) or integer seconds`},
		{"date without time", h + "2020-01-01,1\n2020-01-02,2\n", 2, "timestamp",
			`x.csv:2: timestamp "2020-01-01": not RFC3339 (like 2006-01-02T15:04:05Z) or integer seconds`},
		{"integer seconds after RFC3339", h + "2020-01-01T00:00:00Z,1\n60,2\n", 3, "timestamp",
			`x.csv:3: timestamp "60": integer seconds, but the first row used RFC3339`},
		{"RFC3339 after integer seconds", h + "0,1\n1970-01-01T00:01:00Z,2\n", 3, "timestamp",
			`x.csv:3: timestamp "1970-01-01T00:01:00Z": not integer seconds like the first row`},
		{"integer seconds beyond year 9999", h + "0,1\n99999999999999,2\n", 3, "timestamp", `x.csv:3: timestamp "99999999999999": integer seconds out of range`},
		{"offset moves the time before year 0", h + "0000-01-01T00:30:00+01:00,1\n0000-01-01T00:31:00+01:00,2\n", 2, "timestamp",
			`x.csv:2: timestamp "0000-01-01T00:30:00+01:00": outside years 0000-9999 in UTC`},
		{"duplicate timestamp", h + "0,1\n0,2\n", 3, "timestamp",
			`x.csv:3: timestamp "0": not after the previous row's 0 (rows must be sorted, strictly increasing)`},
		{"unsorted rows", h + "2020-01-01T00:00:00Z,1\n2020-01-01T00:01:00Z,1\n2020-01-01T00:00:30Z,1\n", 4, "timestamp",
			`x.csv:4: timestamp "2020-01-01T00:00:30Z": not after the previous row's 2020-01-01T00:01:00Z (rows must be sorted, strictly increasing)`},
		{"missing interval", h + "2020-01-01T00:00:00Z,1\n2020-01-01T00:01:00Z,1\n2020-01-01T00:02:00Z,1\n2020-01-01T00:04:00Z,1\n", 5, "timestamp",
			`x.csv:5: timestamp "2020-01-01T00:04:00Z": not evenly spaced (gap 120s, expected 60s)`},
		{"uneven integer seconds", h + "0,1\n60,1\n90,1\n", 4, "timestamp", `x.csv:4: timestamp "90": not evenly spaced (gap 30s, expected 60s)`},
		{"over-long line", h + "0,1\n60," + strings.Repeat("1", maxLine+1) + "\n", 3, "", "x.csv:3: line longer than 65536 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(strings.NewReader(tt.input), "x.csv")
			if err == nil {
				t.Fatal("Read succeeded, want an error")
			}
			if err.Error() != tt.msg {
				t.Errorf("error\n got %s\nwant %s", err, tt.msg)
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %T is not a *ParseError", err)
			}
			if pe.File != "x.csv" || pe.Line != tt.line || pe.Field != tt.field {
				t.Errorf("ParseError{File %q, Line %d, Field %q}, want {x.csv, %d, %q}", pe.File, pe.Line, pe.Field, tt.line, tt.field)
			}
		})
	}
}

func TestLoadNamesSeriesAfterFileAndReportsMissingFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "my_trace.csv")
	if err := os.WriteFile(path, []byte("timestamp,value\n0,1\n60,2\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(path)
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	if s.Name != "my_trace" || s.Len() != 2 {
		t.Errorf("got Name %q Len %d, want my_trace, 2", s.Name, s.Len())
	}

	_, err = Load(filepath.Join(dir, "missing.csv"))
	if err == nil || !strings.Contains(err.Error(), "missing.csv") || !errors.Is(err, os.ErrNotExist) {
		t.Errorf("Load(missing) = %v, want a not-exist error naming the file", err)
	}

	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("timestamp,value\n0,1\n60,x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(bad); err == nil || !strings.HasPrefix(err.Error(), bad+":3: value") {
		t.Errorf("Load(bad) = %v, want an error starting with %q", err, bad+":3: value")
	}
}

func TestLoadEveryRealTrace(t *testing.T) {
	paths, err := filepath.Glob(filepath.Join(testenv.Traces(t), "*.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if len(paths) == 0 {
		t.Fatal("no *.csv files in the traces directory")
	}
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			s, err := Load(p)
			if err != nil {
				t.Fatalf("Load: %v", err)
			}
			if err := s.Validate(); err != nil {
				t.Errorf("loaded series does not validate: %v", err)
			}
			if want := strings.TrimSuffix(filepath.Base(p), ".csv"); s.Name != want {
				t.Errorf("Name = %q, want %q", s.Name, want)
			}
		})
	}
}

// The README of the traces states each file's point count; two spot checks tie Load to it.
func TestLoadRealTraceShapes(t *testing.T) {
	dir := testenv.Traces(t)
	tests := []struct {
		file   string
		points int
		step   time.Duration
		start  time.Time
	}{
		{"worldcup98_per_minute.csv", 125310, time.Minute, time.Date(1998, 4, 30, 21, 30, 0, 0, time.UTC)},
		{"sdsc_http_1995-08-22_per_minute.csv", 1440, time.Minute, time.Unix(0, 0).UTC()},
		{"wikipedia_en_desktop_hourly_2016-01.csv", 744, time.Hour, time.Date(2016, 1, 1, 0, 0, 0, 0, time.UTC)},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			s, err := Load(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if s.Len() != tt.points || s.Step != tt.step || !s.Start.Equal(tt.start) {
				t.Errorf("got %d points, step %v, start %v; want %d, %v, %v", s.Len(), s.Step, s.Start, tt.points, tt.step, tt.start)
			}
		})
	}
}

func BenchmarkLoadWorldCup(b *testing.B) {
	path := testenv.Trace(b, "worldcup98_per_minute.csv")
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Load(path); err != nil {
			b.Fatal(err)
		}
	}
}

// FuzzRead checks that Read never panics and that whatever it accepts is a valid series
// which survives a Write/Read round trip unchanged. The seed corpus (valid and malformed
// files) is in testdata/fuzz/FuzzRead.
func FuzzRead(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := Read(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || pe.File != "fuzz.csv" {
				t.Fatalf("error %v (%T) is not a ParseError naming the file", err, err)
			}
			return
		}
		if err := s.Validate(); err != nil {
			t.Fatalf("Read accepted an invalid series: %v", err)
		}
		if s.Len() > bytes.Count(data, []byte{'\n'})+1 {
			t.Fatalf("%d points from %d lines", s.Len(), bytes.Count(data, []byte{'\n'})+1)
		}
		var buf bytes.Buffer
		if err := Write(&buf, s); err != nil {
			t.Fatalf("Write of an accepted series failed: %v", err)
		}
		back, err := Read(&buf, "fuzz.csv")
		if err != nil {
			t.Fatalf("re-reading written series: %v\n%s", err, buf.String())
		}
		if !back.Start.Equal(s.Start) || back.Step != s.Step || !slices.Equal(back.Values, s.Values) {
			t.Fatalf("round trip changed the series: %v %v %v -> %v %v %v", s.Start, s.Step, s.Values, back.Start, back.Step, back.Values)
		}
	})
}

// The RFC3339 fast path must agree with time.Parse wherever it answers, and hand every
// string it does not fully understand back to time.Parse.
func TestRFC3339FastPathAgreesWithTimeParse(t *testing.T) {
	edge := []string{
		"1970-01-01T00:00:00Z", "0000-01-01T00:00:00Z", "0000-02-29T12:00:00Z", "9999-12-31T23:59:59Z",
		"2000-02-29T00:00:00Z", "2024-02-29T23:59:59Z", "1900-02-28T00:00:00Z", "1998-04-30T21:30:00Z",
		"1969-12-31T23:59:59Z", "0399-03-01T00:00:00Z", "0400-02-29T00:00:00Z",
	}
	for _, s := range edge {
		got, ok := parseRFC3339Z([]byte(s))
		want, err := time.Parse(time.RFC3339, s)
		if !ok || err != nil || !got.Equal(want) {
			t.Errorf("%s: fast path %v (ok %v), time.Parse %v (%v)", s, got, ok, want, err)
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		want := time.Unix(minUnix+rng.Int64N(maxUnix-minUnix+1), 0).UTC()
		s := want.Format(time.RFC3339)
		got, ok := parseRFC3339Z([]byte(s))
		if !ok || !got.Equal(want) {
			t.Fatalf("%s: fast path %v (ok %v), want %v", s, got, ok, want)
		}
	}
	for _, s := range []string{
		"1900-02-29T00:00:00Z", "2023-02-29T00:00:00Z", "2023-04-31T00:00:00Z", "2023-13-01T00:00:00Z",
		"2023-00-10T00:00:00Z", "2023-01-00T00:00:00Z", "2023-01-01T24:00:00Z", "2023-01-01T23:60:00Z",
		"2023-01-01T23:59:60Z", "2023-01-01t00:00:00Z", "2023-01-01T00:00:00+00:00", "2023-01-01T00:00:00.5Z",
		"2o23-01-01T00:00:00Z", "+023-01-01T00:00:00Z",
	} {
		if got, ok := parseRFC3339Z([]byte(s)); ok {
			t.Errorf("%s: fast path accepted it as %v; it must defer to time.Parse", s, got)
		}
	}
}
