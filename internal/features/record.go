// Package features is the feature record: each autoscaled target's completed control
// intervals, persisted in append-only segment files so that a restarted controller (or a new
// leader) resumes with history, and so that a training set can be rebuilt exactly from the
// digest of the series it was trained on. Standard library only.
//
// Layout: <dir>/<target>/seg-<n>.bfr, n increasing. A segment is a sequence of records:
//
//	magic "BFR1" | payload length (uint32, BE) | CRC-32C of payload (uint32, BE) | payload
//
// the payload being the interval's start (Unix ns), its length (ns) and 11 float64 fields,
// big-endian IEEE-754 bits. A torn tail (a short header or payload: the writer died mid-write)
// or a corrupt record (bad magic, length or checksum) ends the segment: what follows is cut
// when the record is opened, with a log line naming file and offset; it is never a panic and
// never an error that stops the controller. A segment is rotated at MaxSegmentBytes and at
// most MaxSegments are kept (the oldest is deleted), so the record of a target is bounded.
package features

import (
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"log"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Interval is one completed control interval as the controller measured it.
type Interval struct {
	Start time.Time
	Step  time.Duration
	// Rate is the arrival rate (req/s), Errors the failed rate.
	Rate, Errors float64
	// Latency statistics of the interval's requests, milliseconds.
	LatencyMeanMS, LatencyP95MS, LatencyP99MS float64
	// OverSLO is the share of requests slower than the SLO target.
	OverSLO float64
	// CPU as a fraction of the request; MemoryBytes the summed working set.
	CPU, MemoryBytes float64
	// Replicas and Ready label the interval (allocated and ready pods at its end).
	Replicas, Ready float64
}

const (
	magic      = "BFR1"
	headerLen  = 12
	nFloats    = 11
	payloadLen = 16 + 8*nFloats
	recordLen  = headerLen + payloadLen
)

// Defaults of a Store's bounds: 4 segments of 1 MiB hold about 40,000 intervals (27 days of
// one-minute intervals) per target.
const (
	DefaultMaxSegmentBytes = 1 << 20
	DefaultMaxSegments     = 4
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Store is a directory of feature records, one per target. Safe for concurrent use; appends
// to different targets proceed in parallel. One process writes a directory at a time (the
// controller's leader).
type Store struct {
	dir string
	// MaxSegmentBytes rotates a segment once it holds this many bytes; MaxSegments bounds the
	// segments kept per target. Set them before the first Record call.
	MaxSegmentBytes int64
	MaxSegments     int
	// Logf reports cut tails and dropped segments (log.Printf when nil).
	Logf func(format string, args ...any)

	mu      sync.Mutex
	records map[string]*Record
}

// Open returns the store at dir, creating the directory.
func Open(dir string) (*Store, error) {
	if dir == "" {
		return nil, errors.New("feature record: empty directory")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("feature record: %w", err)
	}
	return &Store{dir: dir, MaxSegmentBytes: DefaultMaxSegmentBytes, MaxSegments: DefaultMaxSegments, records: map[string]*Record{}}, nil
}

// Dir returns the store's directory.
func (s *Store) Dir() string { return s.dir }

var targetName = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9._-]*$`)

// TargetKey turns a namespace and name into a record name ("ns_name"); Kubernetes names
// cannot contain '_', so distinct targets never share a record.
func TargetKey(namespace, name string) string { return namespace + "_" + name }

// Record returns the record of target (opening it, and cutting a damaged tail, on first use).
func (s *Store) Record(target string) (*Record, error) {
	if !targetName.MatchString(target) || strings.Contains(target, "..") {
		return nil, fmt.Errorf("feature record: invalid target name %q", target)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.records[target]; ok {
		return r, nil
	}
	logf := s.Logf
	if logf == nil {
		logf = log.Printf
	}
	r := &Record{dir: filepath.Join(s.dir, target), maxBytes: s.MaxSegmentBytes, maxSegs: s.MaxSegments, logf: logf}
	if r.maxBytes < recordLen {
		r.maxBytes = recordLen
	}
	if r.maxSegs < 1 {
		r.maxSegs = 1
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	s.records[target] = r
	return r, nil
}

// Record is one target's feature record.
type Record struct {
	dir      string
	maxBytes int64
	maxSegs  int
	logf     func(string, ...any)

	mu   sync.Mutex
	segs []int // segment numbers, oldest first
	ivs  []Interval
	size int64 // bytes in the newest segment
}

func segName(n int) string { return fmt.Sprintf("seg-%08d.bfr", n) }

// open lists the segments, reads them, and truncates a damaged segment at its last good record.
func (r *Record) open() error {
	if err := os.MkdirAll(r.dir, 0o755); err != nil {
		return fmt.Errorf("feature record: %w", err)
	}
	ents, err := os.ReadDir(r.dir)
	if err != nil {
		return fmt.Errorf("feature record: %w", err)
	}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasPrefix(name, "seg-") || !strings.HasSuffix(name, ".bfr") {
			continue
		}
		n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimPrefix(name, "seg-"), ".bfr"))
		if err != nil || n < 0 {
			continue
		}
		r.segs = append(r.segs, n)
	}
	sort.Ints(r.segs)
	for _, n := range r.segs {
		path := filepath.Join(r.dir, segName(n))
		ivs, good, total, why, err := readSegment(path)
		if err != nil {
			return err
		}
		if good < total {
			r.logf("feature record: %s: %s at offset %d; cutting %d bytes", path, why, good, total-good)
			if err := os.Truncate(path, good); err != nil {
				return fmt.Errorf("feature record: cut %s: %w", path, err)
			}
		}
		r.ivs = append(r.ivs, ivs...)
		r.size = good
	}
	r.ivs = normalise(r.ivs)
	return nil
}

// normalise sorts by start and keeps the last record of each start (a re-appended interval
// replaces the old one).
func normalise(ivs []Interval) []Interval {
	sort.SliceStable(ivs, func(i, j int) bool { return ivs[i].Start.Before(ivs[j].Start) })
	out := ivs[:0]
	for _, iv := range ivs {
		if n := len(out); n > 0 && out[n-1].Start.Equal(iv.Start) {
			out[n-1] = iv
			continue
		}
		out = append(out, iv)
	}
	return out
}

// readSegment returns the good records of a segment, the length of its good prefix, the
// file's length and why the rest (if any) was rejected.
func readSegment(path string) (ivs []Interval, good, total int64, why string, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, "", fmt.Errorf("feature record: %w", err)
	}
	total = int64(len(b))
	off := 0
	for off < len(b) {
		rest := b[off:]
		if len(rest) < headerLen {
			return ivs, int64(off), total, "torn record header", nil
		}
		if string(rest[:4]) != magic {
			return ivs, int64(off), total, "bad record marker", nil
		}
		n := binary.BigEndian.Uint32(rest[4:8])
		if n != payloadLen {
			return ivs, int64(off), total, fmt.Sprintf("bad record length %d", n), nil
		}
		if len(rest) < headerLen+payloadLen {
			return ivs, int64(off), total, "torn record", nil
		}
		p := rest[headerLen : headerLen+payloadLen]
		if crc32.Checksum(p, castagnoli) != binary.BigEndian.Uint32(rest[8:12]) {
			return ivs, int64(off), total, "checksum mismatch", nil
		}
		ivs = append(ivs, decode(p))
		off += recordLen
	}
	return ivs, int64(off), total, "", nil
}

func (iv *Interval) floats() [nFloats]float64 {
	return [nFloats]float64{iv.Rate, iv.Errors, iv.LatencyMeanMS, iv.LatencyP95MS, iv.LatencyP99MS, iv.OverSLO, iv.CPU, iv.MemoryBytes, iv.Replicas, iv.Ready, 0}
}

func encode(iv Interval) []byte {
	b := make([]byte, recordLen)
	copy(b, magic)
	binary.BigEndian.PutUint32(b[4:], payloadLen)
	p := b[headerLen:]
	binary.BigEndian.PutUint64(p[0:], uint64(iv.Start.UnixNano()))
	binary.BigEndian.PutUint64(p[8:], uint64(iv.Step))
	for k, v := range iv.floats() {
		binary.BigEndian.PutUint64(p[16+8*k:], math.Float64bits(v))
	}
	binary.BigEndian.PutUint32(b[8:], crc32.Checksum(p, castagnoli))
	return b
}

func decode(p []byte) Interval {
	f := func(k int) float64 { return math.Float64frombits(binary.BigEndian.Uint64(p[16+8*k:])) }
	return Interval{
		Start: time.Unix(0, int64(binary.BigEndian.Uint64(p[0:]))).UTC(), Step: time.Duration(binary.BigEndian.Uint64(p[8:])),
		Rate: f(0), Errors: f(1), LatencyMeanMS: f(2), LatencyP95MS: f(3), LatencyP99MS: f(4), OverSLO: f(5),
		CPU: f(6), MemoryBytes: f(7), Replicas: f(8), Ready: f(9),
	}
}

// Append writes completed intervals (fsynced before it returns). An interval must have a
// positive Step and a finite, non-negative Rate; intervals are kept ordered by start, and
// one already recorded at the same start is replaced.
func (r *Record) Append(ivs ...Interval) error {
	for i, iv := range ivs {
		if iv.Step <= 0 || iv.Start.IsZero() {
			return fmt.Errorf("feature record: interval %d: need a start and a positive step", i)
		}
		if math.IsNaN(iv.Rate) || math.IsInf(iv.Rate, 0) || iv.Rate < 0 {
			return fmt.Errorf("feature record: interval %d (start %s): rate %v is not a finite non-negative number", i, iv.Start.Format(time.RFC3339), iv.Rate)
		}
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for len(ivs) > 0 {
		if len(r.segs) == 0 || r.size+recordLen > r.maxBytes {
			if err := r.rotate(); err != nil {
				return err
			}
		}
		room := int((r.maxBytes - r.size) / recordLen)
		if room < 1 {
			room = 1
		}
		batch := ivs[:min(room, len(ivs))]
		ivs = ivs[len(batch):]
		buf := make([]byte, 0, len(batch)*recordLen)
		for _, iv := range batch {
			buf = append(buf, encode(iv)...)
		}
		path := filepath.Join(r.dir, segName(r.segs[len(r.segs)-1]))
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
		if err != nil {
			return fmt.Errorf("feature record: %w", err)
		}
		_, werr := f.Write(buf)
		if werr == nil {
			werr = f.Sync()
		}
		if cerr := f.Close(); werr == nil {
			werr = cerr
		}
		if werr != nil {
			return fmt.Errorf("feature record: append to %s: %w", path, werr)
		}
		r.size += int64(len(buf))
		for _, iv := range batch {
			iv.Start = iv.Start.UTC()
			if n := len(r.ivs); n == 0 || r.ivs[n-1].Start.Before(iv.Start) {
				r.ivs = append(r.ivs, iv)
			} else {
				r.ivs = normalise(append(r.ivs, iv))
			}
		}
	}
	return nil
}

// rotate starts a new segment and drops the oldest beyond maxSegs (and its intervals).
func (r *Record) rotate() error {
	next := 1
	if n := len(r.segs); n > 0 {
		next = r.segs[n-1] + 1
	}
	path := filepath.Join(r.dir, segName(next))
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		return fmt.Errorf("feature record: rotate: %w", err)
	}
	f.Close()
	r.segs = append(r.segs, next)
	r.size = 0
	for len(r.segs) > r.maxSegs {
		old := filepath.Join(r.dir, segName(r.segs[0]))
		if err := os.Remove(old); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("feature record: drop %s: %w", old, err)
		}
		r.segs = r.segs[1:]
		r.reload()
	}
	return nil
}

// reload rebuilds the in-memory intervals from the remaining segments after one was dropped.
func (r *Record) reload() {
	var all []Interval
	for _, n := range r.segs {
		ivs, _, _, _, err := readSegment(filepath.Join(r.dir, segName(n)))
		if err != nil {
			r.logf("feature record: %v", err)
			continue
		}
		all = append(all, ivs...)
	}
	r.ivs = normalise(all)
}

// Range returns the recorded intervals starting in [from, to), oldest first.
func (r *Record) Range(from, to time.Time) []Interval {
	r.mu.Lock()
	defer r.mu.Unlock()
	i := sort.Search(len(r.ivs), func(i int) bool { return !r.ivs[i].Start.Before(from) })
	j := sort.Search(len(r.ivs), func(i int) bool { return !r.ivs[i].Start.Before(to) })
	return append([]Interval(nil), r.ivs[i:j]...)
}

// Len returns how many intervals the record holds.
func (r *Record) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ivs)
}

// Rates returns the arrival rates of the intervals in [from, to) on a grid of step from
// from, for training and for its digest (registry.DigestSeries(from, step, rates) names the
// data exactly). A missing or mis-aligned interval is an error naming it: a training set
// must be exactly what was recorded.
func (r *Record) Rates(from, to time.Time, step time.Duration) ([]float64, error) {
	if step <= 0 || !to.After(from) {
		return nil, fmt.Errorf("feature record: bad range %s..%s step %v", from, to, step)
	}
	ivs := r.Range(from, to)
	n := int(to.Sub(from) / step)
	out := make([]float64, 0, n)
	for k := 0; k < n; k++ {
		want := from.Add(time.Duration(k) * step)
		if k >= len(ivs) || !ivs[k].Start.Equal(want) || ivs[k].Step != step {
			return nil, fmt.Errorf("feature record %s: no interval of %v recorded at %s", filepath.Base(r.dir), step, want.UTC().Format(time.RFC3339))
		}
		out = append(out, ivs[k].Rate)
	}
	return out, nil
}
