package series

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Header is the only header line a trace CSV may have (compared case-insensitively, with
// surrounding spaces ignored).
const Header = "timestamp,value"

// maxLine bounds one CSV line, so a corrupted file without newlines cannot make Read buffer
// it all before failing.
const maxLine = 64 << 10

// ParseError is a problem at one place of a trace file. Line is 1-based (the header is line
// 1; 0 means the problem concerns the whole file); Field is "timestamp", "value", "header"
// or "" when the line as a whole is wrong.
type ParseError struct {
	File  string
	Line  int
	Field string
	Text  string // the offending field's text, as found
	Msg   string
}

func (e *ParseError) Error() string {
	var b strings.Builder
	b.WriteString(e.File)
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		fmt.Fprintf(&b, "%s %q: ", e.Field, e.Text)
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Load reads a trace CSV file (see Read). The series is named after the file's base name
// without the .csv extension.
func Load(path string) (Series, error) {
	f, err := os.Open(path)
	if err != nil {
		return Series{}, fmt.Errorf("load trace: %w", err)
	}
	defer f.Close()
	return Read(f, path)
}

// Read parses a trace in the CSV format `timestamp,value`: a header line "timestamp,value",
// then one row per interval, oldest first. Timestamps are RFC3339 (converted to UTC) or
// integer seconds (read as Unix time, UTC); every row must use the same form as the first.
// The step is the gap between the first two rows and every later gap must equal it. Values
// are finite, non-negative numbers (counts per interval for the real traces). At least two
// rows are required. A UTF-8 byte-order mark, CRLF line endings and blank lines (which hold
// no data) are accepted.
//
// name labels error messages ("name:line: field ...") and names the series (base name
// without .csv). Errors are *ParseError values, except read errors from r.
func Read(r io.Reader, name string) (Series, error) {
	if name == "" {
		name = "input"
	}
	p := parser{file: name}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64<<10), maxLine)
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if line == 1 {
			b = bytes.TrimPrefix(b, []byte("\xef\xbb\xbf"))
		}
		b = bytes.TrimSuffix(b, []byte{'\r'})
		if err := p.line(line, b); err != nil {
			return Series{}, err
		}
	}
	if err := sc.Err(); err != nil {
		if errors.Is(err, bufio.ErrTooLong) {
			return Series{}, p.errf(line+1, "", "", "line longer than %d bytes", maxLine)
		}
		return Series{}, fmt.Errorf("read %s: %w", name, err)
	}
	return p.finish()
}

// parser holds the state of one Read: it validates each row against the previous ones as it
// goes, so an error names the first offending line.
type parser struct {
	file      string
	sawHeader bool
	intTime   bool      // timestamps are integer seconds (decided by the first row)
	first     time.Time // timestamp of the first row
	prev      time.Time
	step      time.Duration
	values    []float64
}

func (p *parser) errf(line int, field, text, format string, args ...any) *ParseError {
	return &ParseError{File: p.file, Line: line, Field: field, Text: text, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) line(n int, b []byte) error {
	if !p.sawHeader {
		h := strings.TrimSpace(string(b))
		if h == "" {
			return p.errf(n, "", "", "expected header %q, found a blank line", Header)
		}
		if f := strings.Split(h, ","); len(f) != 2 || !strings.EqualFold(strings.TrimSpace(f[0]), "timestamp") ||
			!strings.EqualFold(strings.TrimSpace(f[1]), "value") {
			return p.errf(n, "header", clip([]byte(h)), "expected %q", Header)
		}
		p.sawHeader = true
		return nil
	}
	if len(bytes.TrimSpace(b)) == 0 {
		return nil // blank lines carry no data; gaps in time are still caught below
	}
	comma := bytes.IndexByte(b, ',')
	if comma < 0 {
		return p.errf(n, "", "", "expected 2 fields timestamp,value, found 1: %q", clip(b))
	}
	if bytes.IndexByte(b[comma+1:], ',') >= 0 {
		return p.errf(n, "", "", "expected 2 fields timestamp,value, found %d: %q", bytes.Count(b, []byte{','})+1, clip(b))
	}
	tsb := bytes.TrimSpace(b[:comma])
	t, err := p.timestamp(n, tsb)
	if err != nil {
		return err
	}
	v, err := p.value(n, bytes.TrimSpace(b[comma+1:]))
	if err != nil {
		return err
	}
	switch len(p.values) {
	case 0:
		p.first = t
	case 1:
		if !t.After(p.prev) {
			return p.errf(n, "timestamp", string(tsb), "not after the previous row's %s (rows must be sorted, strictly increasing)", p.fmtTime(p.prev))
		}
		p.step = t.Sub(p.prev)
		// Sub saturates; a step that does not take us back to t cannot describe the series.
		if !p.prev.Add(p.step).Equal(t) {
			return p.errf(n, "timestamp", string(tsb), "gap from the previous row is too large to represent")
		}
	default:
		if !t.After(p.prev) {
			return p.errf(n, "timestamp", string(tsb), "not after the previous row's %s (rows must be sorted, strictly increasing)", p.fmtTime(p.prev))
		}
		if gap := t.Sub(p.prev); gap != p.step {
			return p.errf(n, "timestamp", string(tsb), "not evenly spaced (gap %s, expected %s)", fmtDur(gap), fmtDur(p.step))
		}
		// Series.Time computes i*Step; refuse series whose span overflows a Duration.
		if int64(len(p.values)) > math.MaxInt64/int64(p.step) {
			return p.errf(n, "timestamp", string(tsb), "series spans more time than can be represented")
		}
	}
	p.prev = t
	p.values = append(p.values, v)
	return nil
}

func (p *parser) timestamp(n int, b []byte) (time.Time, error) {
	if len(b) == 0 {
		return time.Time{}, p.errf(n, "timestamp", "", "empty")
	}
	isInt := isInteger(b)
	if len(p.values) == 0 {
		p.intTime = isInt
	}
	if isInt {
		if !p.intTime {
			return time.Time{}, p.errf(n, "timestamp", string(b), "integer seconds, but the first row used RFC3339")
		}
		sec, ok := parseSeconds(b)
		if !ok {
			return time.Time{}, p.errf(n, "timestamp", string(b), "integer seconds out of range")
		}
		return time.Unix(sec, 0).UTC(), nil
	}
	if p.intTime {
		return time.Time{}, p.errf(n, "timestamp", string(b), "not integer seconds like the first row")
	}
	if t, ok := parseRFC3339Z(b); ok {
		return t, nil
	}
	ts := string(b)
	t, err := time.Parse(time.RFC3339Nano, ts)
	if err != nil {
		return time.Time{}, p.errf(n, "timestamp", ts, "not RFC3339 (like 2006-01-02T15:04:05Z) or integer seconds")
	}
	t = t.UTC()
	// An offset can move a time across year 0 or 9999, where Write could not print it.
	if y := t.Year(); y < 0 || y > 9999 {
		return time.Time{}, p.errf(n, "timestamp", ts, "outside years 0000-9999 in UTC")
	}
	return t, nil
}

// parseSeconds reads optionally signed decimal seconds within [minUnix, maxUnix].
func parseSeconds(b []byte) (int64, bool) {
	neg := b[0] == '-'
	if b[0] == '-' || b[0] == '+' {
		b = b[1:]
	}
	var x int64
	for _, c := range b {
		x = x*10 + int64(c-'0')
		if x > maxUnix-minUnix { // stop before int64 can overflow; the range check decides
			return 0, false
		}
	}
	if neg {
		x = -x
	}
	return x, x >= minUnix && x <= maxUnix
}

// parseRFC3339Z is a fast path for the form every trace uses, "YYYY-MM-DDThh:mm:ssZ"
// (time.Parse costs about a quarter of loading a big trace). It reports false for anything
// else, valid or not, and the caller falls back to time.Parse.
func parseRFC3339Z(b []byte) (time.Time, bool) {
	if len(b) != 20 || b[4] != '-' || b[7] != '-' || b[10] != 'T' || b[13] != ':' || b[16] != ':' || b[19] != 'Z' {
		return time.Time{}, false
	}
	ok := true
	num := func(i, j int) int {
		x := 0
		for _, c := range b[i:j] {
			if c < '0' || c > '9' {
				ok = false
			}
			x = x*10 + int(c-'0')
		}
		return x
	}
	y, mo, d := num(0, 4), num(5, 7), num(8, 10)
	h, mi, sec := num(11, 13), num(14, 16), num(17, 19)
	if !ok || mo < 1 || mo > 12 || d < 1 || d > daysIn(y, mo) || h > 23 || mi > 59 || sec > 59 {
		return time.Time{}, false
	}
	days := daysFromCivil(y, mo, d)
	return time.Unix(days*86400+int64(h*3600+mi*60+sec), 0).UTC(), true
}

func daysIn(y, m int) int {
	switch m {
	case 2:
		if y%4 == 0 && (y%100 != 0 || y%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil counts days from 1970-01-01 to the proleptic Gregorian date y-m-d (y >= 0),
// by shifting the year to start in March so the leap day falls at its end (the well-known
// days_from_civil construction).
func daysFromCivil(y, m, d int) int64 {
	if m <= 2 {
		y--
	}
	era := y / 400
	if y < 0 {
		era = (y - 399) / 400
	}
	yoe := y - era*400 // [0, 399]
	mp := (m + 9) % 12 // March = 0
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return int64(era)*146097 + int64(doe) - 719468
}

// Integer timestamps are limited to years 0..9999 so that Write can print them as RFC3339.
const (
	minUnix = -62167219200 // 0000-01-01T00:00:00Z
	maxUnix = 253402300799 // 9999-12-31T23:59:59Z
)

func (p *parser) value(n int, b []byte) (float64, error) {
	// Fast path: most trace values are small non-negative integers.
	if len(b) > 0 && len(b) <= 15 {
		var x int64
		ok := true
		for _, c := range b {
			if c < '0' || c > '9' {
				ok = false
				break
			}
			x = x*10 + int64(c-'0')
		}
		if ok {
			return float64(x), nil
		}
	}
	s := string(b)
	if s == "" {
		return 0, p.errf(n, "value", s, "empty")
	}
	v, err := strconv.ParseFloat(s, 64)
	switch {
	case errors.Is(err, strconv.ErrRange):
		return 0, p.errf(n, "value", s, "out of range")
	case err != nil:
		return 0, p.errf(n, "value", s, "not a number")
	case math.IsNaN(v) || math.IsInf(v, 0):
		return 0, p.errf(n, "value", s, "not finite")
	}
	if v < 0 {
		return 0, p.errf(n, "value", s, "negative")
	}
	if v == 0 {
		v = 0 // turns "-0" into +0
	}
	return v, nil
}

func (p *parser) finish() (Series, error) {
	switch {
	case !p.sawHeader:
		return Series{}, p.errf(0, "", "", "empty file (expected header %q and at least 2 rows)", Header)
	case len(p.values) == 0:
		return Series{}, p.errf(0, "", "", "no data rows after the header (need at least 2)")
	case len(p.values) == 1:
		return Series{}, p.errf(0, "", "", "only 1 data row (need at least 2 to know the step)")
	}
	return Series{
		Name:   strings.TrimSuffix(filepath.Base(p.file), ".csv"),
		Start:  p.first,
		Step:   p.step,
		Values: p.values,
	}, nil
}

func (p *parser) fmtTime(t time.Time) string {
	if p.intTime {
		return strconv.FormatInt(t.Unix(), 10)
	}
	return t.Format(time.RFC3339Nano)
}

func isInteger(s []byte) bool {
	if s[0] == '-' || s[0] == '+' {
		s = s[1:]
	}
	if len(s) == 0 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// fmtDur prints whole seconds as "120s" (the unit traces are written in) and anything else
// in Go's duration syntax.
func fmtDur(d time.Duration) string {
	if d%time.Second == 0 {
		return fmt.Sprintf("%ds", d/time.Second)
	}
	return d.String()
}

// clip shortens a line quoted in an error message.
func clip(b []byte) string {
	if len(b) > 80 {
		return string(b[:80]) + "..."
	}
	return string(b)
}
