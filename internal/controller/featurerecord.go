package controller

import (
	"fmt"
	"time"

	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/features"
)

// featureRecord adapts one target's features.Record to the driver's Record: the Feed
// appends each interval it reads and, after a restart or a leader change, takes back the
// intervals already recorded. A failed append is logged, never a failed step: scaling must
// not depend on the disk.
type featureRecord struct {
	rec      *features.Record
	interval time.Duration
	target   string
}

func (f *featureRecord) Load(from, to time.Time) []driver.Recorded {
	ivs := f.rec.Range(from, to)
	out := make([]driver.Recorded, 0, len(ivs))
	for _, iv := range ivs {
		if iv.Step != f.interval {
			continue // recorded under another interval: not this grid
		}
		out = append(out, driver.Recorded{Point: driver.Point{
			Start: iv.Start, Rate: iv.Rate, Errors: iv.Errors, LatencyMeanMS: iv.LatencyMeanMS,
			LatencyP95MS: iv.LatencyP95MS, LatencyP99MS: iv.LatencyP99MS, OverSLO: iv.OverSLO,
			CPU: iv.CPU, MemoryBytes: iv.MemoryBytes}, Replicas: iv.Replicas, Ready: iv.Ready})
	}
	return out
}

func (f *featureRecord) Append(ivs []driver.Recorded) {
	out := make([]features.Interval, 0, len(ivs))
	for _, r := range ivs {
		out = append(out, features.Interval{Start: r.Start, Step: f.interval, Rate: r.Rate, Errors: r.Errors,
			LatencyMeanMS: r.LatencyMeanMS, LatencyP95MS: r.LatencyP95MS, LatencyP99MS: r.LatencyP99MS,
			OverSLO: r.OverSLO, CPU: r.CPU, MemoryBytes: r.MemoryBytes, Replicas: r.Replicas, Ready: r.Ready})
	}
	if err := f.rec.Append(out...); err != nil {
		ctrl.Log.WithName("features").Error(err, "append to the feature record failed", "target", f.target)
	}
}

// featureRecordFor returns the Feed record of namespace/name, or nil without a FeatureDir
// (or when the record cannot be opened: logged, and the loop runs without it).
func (r *Reconciler) featureRecordFor(namespace, name string, interval time.Duration) driver.Record {
	if r.FeatureDir == "" {
		return nil
	}
	r.mu.Lock()
	if r.features == nil {
		s, err := features.Open(r.FeatureDir)
		if err != nil {
			r.mu.Unlock()
			ctrl.Log.WithName("features").Error(err, "open the feature record failed; running without it")
			return nil
		}
		s.Logf = func(format string, args ...any) {
			ctrl.Log.WithName("features").Info("repaired", "detail", fmt.Sprintf(format, args...))
		}
		r.features = s
	}
	s := r.features
	r.mu.Unlock()
	key := features.TargetKey(namespace, name)
	rec, err := s.Record(key)
	if err != nil {
		ctrl.Log.WithName("features").Error(err, "open the feature record failed; running without it", "target", key)
		return nil
	}
	return &featureRecord{rec: rec, interval: interval, target: key}
}
