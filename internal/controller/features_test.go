package controller

import (
	"context"
	"fmt"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/types"

	"github.com/bascaler/bascaler/internal/features"
	"github.com/bascaler/bascaler/internal/policy"
)

// historyOf returns the driver History of the reconciler's loop for ns/name (nil if none).
func historyOf(r *Reconciler, ns, name string) []policy.Interval {
	r.mu.Lock()
	l := r.loops[types.NamespacedName{Namespace: ns, Name: name}]
	r.mu.Unlock()
	if l == nil {
		return nil
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.drv == nil {
		return nil
	}
	return append([]policy.Interval(nil), l.drv.History()...)
}

// A controller with a feature record persists the intervals it reads; after it stops, a new
// controller (a restart, or a new leader) takes the recorded intervals from the record and
// reads only the later ones from Prometheus. To see which source an interval came from, the
// test rewrites the oldest recorded interval with a marker rate before the restart.
func TestControllerResumesFeatureRecordAfterRestart(t *testing.T) {
	c := cluster(t)
	p := prom(t)
	ns := namespace(t, c, "features")
	deployment(t, c, ns, "shop", 2)
	exp.setRate(ns, "shop", 60)
	dir := t.TempDir()

	mgrA, ra := newManager(t, "")
	ra.FeatureDir = dir
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := make(chan struct{})
	go func() { _ = mgrA.Start(ctxA); close(doneA) }()
	baa := autoscaler(ns, "shop", "shop", p.URL)
	if err := c.Create(context.Background(), baa); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Delete(context.Background(), baa) }()
	eventually(t, 40*time.Second, "controller A records 4 intervals", func() (bool, string) {
		n := len(historyOf(ra, ns, "shop"))
		return n >= 4 && ra.Decisions() >= 3, fmt.Sprintf("%d intervals in A's history, %d decisions", n, ra.Decisions())
	})
	stopA()
	<-doneA

	store, err := features.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := store.Record(features.TargetKey(ns, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	recorded := rec.Range(time.Time{}, time.Now().Add(time.Hour))
	if len(recorded) < 4 {
		t.Fatalf("feature record holds %d intervals after A stopped, want at least 4", len(recorded))
	}
	histA := historyOf(ra, ns, "shop")
	if !recorded[len(recorded)-1].Start.Equal(histA[len(histA)-1].Start) {
		t.Fatalf("record ends at %v, A's history at %v", recorded[len(recorded)-1].Start, histA[len(histA)-1].Start)
	}
	marker := recorded[0]
	marker.Rate = 12345
	if err := rec.Append(marker); err != nil {
		t.Fatal(err)
	}
	recEnd := recorded[len(recorded)-1].Start

	// Let some intervals pass while no controller runs: B must read those from Prometheus.
	time.Sleep(5 * time.Second)
	mgrB, rb := newManager(t, "")
	rb.FeatureDir = dir
	ctxB, stopB := context.WithCancel(context.Background())
	doneB := make(chan struct{})
	go func() { _ = mgrB.Start(ctxB); close(doneB) }()
	defer func() { stopB(); <-doneB }()
	eventually(t, 30*time.Second, "controller B decides", func() (bool, string) {
		return rb.Decisions() >= 2, fmt.Sprintf("B %d decisions", rb.Decisions())
	})
	hist := historyOf(rb, ns, "shop")
	if len(hist) == 0 || hist[0].Rate != 12345 || !hist[0].Start.Equal(marker.Start) {
		t.Fatalf("B's history does not start with the recorded marker interval: first %+v", hist[0])
	}
	after := 0
	for k := 1; k < len(hist); k++ {
		if !hist[k].Start.Equal(hist[k-1].Start.Add(2 * time.Second)) {
			t.Fatalf("B's history not contiguous at %d: %v after %v", k, hist[k].Start, hist[k-1].Start)
		}
		if hist[k].Start.After(recEnd) {
			after++
			if hist[k].Rate == 12345 || hist[k].Rate <= 0 {
				t.Fatalf("interval %v after the record's end has rate %v, want Prometheus's", hist[k].Start, hist[k].Rate)
			}
		}
	}
	if after < 2 {
		t.Fatalf("B's history has %d intervals after the record's end, want those read from Prometheus", after)
	}
	// B appended what it read: the record on disk now runs past the restart, without holes.
	store2, _ := features.Open(dir)
	rec2, _ := store2.Record(features.TargetKey(ns, "shop"))
	all := rec2.Range(time.Time{}, time.Now().Add(time.Hour))
	if !all[len(all)-1].Start.After(recEnd) {
		t.Fatalf("B did not append to the record (ends %v)", all[len(all)-1].Start)
	}
	for k := 1; k < len(all); k++ {
		if !all[k].Start.Equal(all[k-1].Start.Add(2 * time.Second)) {
			t.Fatalf("record has a hole or duplicate at %v after %v", all[k].Start, all[k-1].Start)
		}
	}
}
