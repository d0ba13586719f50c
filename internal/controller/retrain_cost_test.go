package controller

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"runtime/metrics"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/features"
	bmetrics "github.com/bascaler/bascaler/internal/metrics"
)

// costSource is a synthetic workload for the retrain-cost measurement: a cycle of 720
// intervals around 200 req/s with deterministic noise, the same function the feature
// record was filled from, so the controller's reads continue it.
type costSource struct{ step time.Duration }

func costRate(start time.Time, step time.Duration) float64 {
	k := start.UnixNano() / int64(step)
	noise := float64((k*2654435761)%1000)/1000 - 0.5
	return 200 + 80*math.Sin(2*math.Pi*float64(k)/720) + 20*noise
}

func (s costSource) Range(_ context.Context, w bmetrics.Window) ([]bmetrics.Point, error) {
	pts := make([]bmetrics.Point, w.Count)
	for i := range pts {
		st := w.Start().Add(time.Duration(i) * w.Step)
		pts[i] = bmetrics.Point{Start: st, Rate: costRate(st, s.step), LatencyMeanMS: 5, LatencyP95MS: 8, LatencyP99MS: 10,
			CPU: 0.4, MemoryBytes: math.NaN()}
	}
	return pts, nil
}

// costSample is the process at one instant.
type costSample struct {
	at        time.Time
	cpu       float64 // user + system seconds
	rssMB     float64
	heapBytes uint64
}

func liveHeap() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// retrainCost is what TestRetrainRoundCostInARunningController measured.
type retrainCost struct {
	TrainIntervals, EvalIntervals int
	WallSeconds, CPUSeconds       float64
	// IdleCPUPerSecond is the controller's CPU rate over the steps before the round (the
	// share of CPUSeconds that is not the round's).
	IdleCPUPerSecond       float64
	HeapPeakAboveMB        float64
	RSSBeforeMB, RSSPeakMB float64
	Verdict                string
	Load                   string
}

// TestRetrainRoundCostInARunningController measures one in-process retrain round of a
// classic model (arima) inside a running controller (a manager against the package's
// kube-apiserver, the round run by its own step): the feature record holds 14 days' worth
// of intervals (20,160 training + 1,440 evaluation, the per-minute defaults' counts, here
// at 2 s so the test takes seconds), the schedule starts a round 16 s in, and a sampler
// reads the process's CPU time, RSS and live heap every 10 ms. bench/mlops.md has the
// numbers; BASCALER_RETRAIN_COST_OUT writes them as JSON.
func TestRetrainRoundCostInARunningController(t *testing.T) {
	if testing.Short() {
		t.Skip("fits arima on 20,000 points inside a running controller")
	}
	c := cluster(t)
	const step = 2 * time.Second
	const trainN, evalN = 20160, 1440
	ns := namespace(t, c, "retraincost")
	deployment(t, c, ns, "shop", 2)

	dir := t.TempDir()
	st, err := features.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := st.Record(features.TargetKey(ns, "shop"))
	if err != nil {
		t.Fatal(err)
	}
	end := time.Now().Truncate(step)
	ivs := make([]features.Interval, trainN+evalN)
	for k := range ivs {
		s := end.Add(-time.Duration(len(ivs)-k) * step)
		ivs[k] = features.Interval{Start: s, Step: step, Rate: costRate(s, step), LatencyMeanMS: 5, LatencyP95MS: 8,
			LatencyP99MS: 10, CPU: 0.4, MemoryBytes: math.NaN(), Replicas: 2, Ready: 2}
	}
	if err := rec.Append(ivs...); err != nil {
		t.Fatal(err)
	}

	mgr, r := newManager(t, "")
	r.FeatureDir = dir
	r.NewSource = func(bmetrics.PrometheusOptions) (bmetrics.Source, error) { return costSource{step: step}, nil }
	var (
		mu      sync.Mutex
		samples []costSample
		rounds  [][2]time.Time
	)
	r.onRetrain = func(began time.Time, took time.Duration) {
		mu.Lock()
		rounds = append(rounds, [2]time.Time{began, began.Add(took)})
		mu.Unlock()
	}
	stopSampling := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		tick := time.NewTicker(10 * time.Millisecond)
		defer tick.Stop()
		for {
			s := costSample{at: time.Now(), cpu: cpuSeconds(), rssMB: procStatusMB("VmRSS"), heapBytes: liveHeap()}
			mu.Lock()
			samples = append(samples, s)
			mu.Unlock()
			select {
			case <-stopSampling:
				return
			case <-tick.C:
			}
		}
	}()
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { _ = mgr.Start(ctx); close(done) }()
	defer func() { stop(); <-done }()

	baa := autoscaler(ns, "shop", "shop", "http://127.0.0.1:9")
	baa.Spec.Mode = v1alpha1.ModeObserve
	baa.Spec.Policy = v1alpha1.PolicySpec{Name: "bascaler", Params: map[string]string{"forecaster": "arima", "guard-period": "0"},
		StartupDelay: &metav1.Duration{Duration: 4 * time.Second}, Capacity: &v1alpha1.CapacitySpec{PerPodRPS: "50"},
		Training: &v1alpha1.TrainingSpec{Every: &metav1.Duration{Duration: 16 * time.Second},
			TrainingWindow: &metav1.Duration{Duration: trainN * step}, EvaluationWindow: &metav1.Duration{Duration: evalN * step},
			OnDrift: ptr.To(false), Runner: v1alpha1.RunnerInProcess}}
	if err := c.Create(context.Background(), baa); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = c.Delete(context.Background(), baa) }()
	eventually(t, 120*time.Second, "a retrain round judged", func() (bool, string) {
		m := getBAA(t, c, ns, "shop").Status.Model
		mu.Lock()
		n := len(rounds)
		mu.Unlock()
		return m != nil && m.LastEvaluation != nil && n > 0, fmt.Sprintf("%d rounds, model %+v", n, m)
	})
	time.Sleep(200 * time.Millisecond) // samples past the round's end
	close(stopSampling)
	<-sampled

	ev := getBAA(t, c, ns, "shop").Status.Model.LastEvaluation
	if ev.Champion == nil || ev.Challenger == nil || ev.TrainingWindow == nil || ev.EvaluationWindow == nil {
		t.Fatalf("the round judged nothing: %+v", ev)
	}
	gotTrain := int(ev.TrainingWindow.To.Sub(ev.TrainingWindow.From.Time) / step)
	gotEval := int(ev.EvaluationWindow.To.Sub(ev.EvaluationWindow.From.Time) / step)
	if gotTrain < trainN-2 || gotEval < evalN-2 {
		t.Fatalf("the round trained on %d and replayed %d intervals, want about %d and %d from the feature record", gotTrain, gotEval, trainN, evalN)
	}
	mu.Lock()
	defer mu.Unlock()
	round := rounds[0]
	at := func(when time.Time) costSample { // the last sample at or before when
		best := samples[0]
		for _, s := range samples {
			if !s.at.After(when) {
				best = s
			}
		}
		return best
	}
	before, after := at(round[0]), at(round[1].Add(20*time.Millisecond))
	res := retrainCost{TrainIntervals: gotTrain, EvalIntervals: gotEval, WallSeconds: round[1].Sub(round[0]).Seconds(),
		CPUSeconds: after.cpu - before.cpu, RSSBeforeMB: before.rssMB, Verdict: ev.Message, Load: loadAvg()}
	idleFrom := at(round[0].Add(-4 * time.Second))
	if d := before.at.Sub(idleFrom.at).Seconds(); d > 0 {
		res.IdleCPUPerSecond = (before.cpu - idleFrom.cpu) / d
	}
	var peakHeap uint64
	for _, s := range samples {
		if s.at.Before(round[0]) || s.at.After(round[1]) {
			continue
		}
		peakHeap = max(peakHeap, s.heapBytes)
		res.RSSPeakMB = max(res.RSSPeakMB, s.rssMB)
	}
	if peakHeap > before.heapBytes {
		res.HeapPeakAboveMB = float64(peakHeap-before.heapBytes) / (1 << 20)
	}
	t.Logf("retrain round in a running controller: train %d, eval %d intervals; wall %.2f s, CPU %.2f s (idle controller %.3f CPU-s/s); heap peak +%.1f MB; RSS %.1f MB before, %.1f MB peak; load %s\n%s",
		res.TrainIntervals, res.EvalIntervals, res.WallSeconds, res.CPUSeconds, res.IdleCPUPerSecond, res.HeapPeakAboveMB, res.RSSBeforeMB, res.RSSPeakMB, res.Load, res.Verdict)
	if res.CPUSeconds <= 0 || res.WallSeconds <= 0 {
		t.Errorf("the round used %.3f CPU-s in %.3f s: the sampler missed it", res.CPUSeconds, res.WallSeconds)
	}
	if out := os.Getenv("BASCALER_RETRAIN_COST_OUT"); out != "" {
		b, _ := json.MarshalIndent(res, "", "  ")
		if err := os.WriteFile(filepath.Clean(out), append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	return string(b[:len(b)-1])
}
