package driver

import (
	"context"
	"testing"
	"time"
)

// memRecord is an in-memory Record (the real one is package features).
type memRecord struct{ ivs []Recorded }

func (m *memRecord) Load(from, to time.Time) []Recorded {
	var out []Recorded
	for _, r := range m.ivs {
		if !r.Start.Before(from) && r.Start.Before(to) {
			out = append(out, r)
		}
	}
	return out
}
func (m *memRecord) Append(ivs []Recorded) { m.ivs = append(m.ivs, ivs...) }

// A Feed with a Record appends what it reads; a second Feed (a restart) takes the recorded
// intervals from the record and reads only the missing ones from the source.
func TestFeedResumesFromRecord(t *testing.T) {
	rec := &memRecord{}
	now := t0.Add(5 * time.Minute)
	src := &memSource{t: t, now: &now}
	for k := -3; k < 12; k++ {
		src.put(time.Minute, pt(t0.Add(time.Duration(k)*time.Minute), float64(100+k)))
	}
	f := &Feed{Source: src, Interval: time.Minute, Origin: t0, Start: now, Warm: 10, Record: rec}
	ivs, err := f.Intervals(context.Background(), now, 2, 2)
	if err != nil || len(ivs) != 8 || ivs[0].Rate != 97 || ivs[7].Rate != 104 {
		t.Fatalf("first feed: %d intervals (%v)", len(ivs), err)
	}
	if len(rec.ivs) != 8 || rec.ivs[7].Replicas != 2 {
		t.Fatalf("record holds %d intervals, want the 8 read", len(rec.ivs))
	}
	// Restart three minutes later; the record's values are changed so we can see which
	// intervals come from it.
	for i := range rec.ivs {
		rec.ivs[i].Rate += 1000
	}
	now = t0.Add(8 * time.Minute)
	reads := src.reads
	g := &Feed{Source: src, Interval: time.Minute, Origin: t0, Start: now, Warm: 10, Record: rec}
	ivs, err = g.Intervals(context.Background(), now, 3, 3)
	if err != nil || len(ivs) != 10 {
		t.Fatalf("resumed feed: %d intervals (%v), want 10 (Warm)", len(ivs), err)
	}
	for k, iv := range ivs {
		want := float64(98 + k)
		if k < 7 {
			want += 1000 // from the record
		}
		if iv.Rate != want || !iv.Start.Equal(t0.Add(time.Duration(k-2)*time.Minute)) {
			t.Fatalf("interval %d: start %v rate %v, want rate %v", k, iv.Start, iv.Rate, want)
		}
	}
	if src.reads != reads+1 || len(rec.ivs) != 11 {
		t.Fatalf("source reads %d (want 1), record %d intervals (want 11)", src.reads-reads, len(rec.ivs))
	}
	// A source with no past (Warm 0, the metrics API) still resumes from the record.
	now = t0.Add(9 * time.Minute)
	h := &Feed{Source: src, Interval: time.Minute, Origin: t0, Start: now, Resume: 10, Record: rec}
	ivs, err = h.Intervals(context.Background(), now, 3, 3)
	if err != nil || len(ivs) != 9 || ivs[8].Rate != 107 {
		t.Fatalf("Warm 0 with a record: %d intervals (%v), want the 9 recorded since Start - Resume", len(ivs), err)
	}
}

// Only the newest contiguous run of the record is taken (a hole means an outage whose data
// the source may still have).
func TestFeedResumesNewestContiguousRun(t *testing.T) {
	rec := &memRecord{}
	for _, k := range []int{0, 1, 3, 4} {
		rec.ivs = append(rec.ivs, Recorded{Point: pt(t0.Add(time.Duration(k)*time.Minute), 1000+float64(k))})
	}
	now := t0.Add(6 * time.Minute)
	src := &memSource{t: t, now: &now}
	for k := 0; k < 6; k++ {
		src.put(time.Minute, pt(t0.Add(time.Duration(k)*time.Minute), float64(k)))
	}
	f := &Feed{Source: src, Interval: time.Minute, Origin: t0, Start: now, Warm: 6, Record: rec}
	ivs, err := f.Intervals(context.Background(), now, 1, 1)
	if err != nil || len(ivs) != 3 || ivs[0].Rate != 1003 || ivs[1].Rate != 1004 || ivs[2].Rate != 5 {
		t.Fatalf("got %+v (%v)", ivs, err)
	}
}
