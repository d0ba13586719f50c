package hpa

import (
	"testing"
	"time"
)

// TestGroupPods pins groupPods (replica_calculator.go) for a CPU metric with the
// controller's defaults: --horizontal-pod-autoscaler-cpu-initialization-period 5 min and
// --horizontal-pod-autoscaler-initial-readiness-delay 30 s.
func TestGroupPods(t *testing.T) {
	now := t0.Add(time.Hour)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	// running: a pod started `started` ago, Ready (or not) since `since` ago, with a sample
	// taken now over a 15 s window.
	running := func(started, since time.Duration, ready bool) Pod {
		return Pod{Phase: PhaseRunning, HasReady: true, Ready: ready, ReadySince: ago(since), Started: ago(started),
			HasMetric: true, MetricAt: now, MetricWindow: 15 * time.Second}
	}
	with := func(p Pod, f func(*Pod)) Pod { f(&p); return p }
	cases := []struct {
		name string
		pod  Pod
		want Groups
	}{
		{"ready long ago", running(time.Hour, time.Hour, true), Groups{Ready: 1}},
		{"deleting: ignored", with(running(time.Hour, time.Hour, true), func(p *Pod) { p.Deleting = true }), Groups{Ignored: 1}},
		{"failed: ignored", with(running(time.Hour, time.Hour, true), func(p *Pod) { p.Phase = PhaseFailed }), Groups{Ignored: 1}},
		{"pending: unready, sample or not", with(running(time.Hour, time.Hour, true), func(p *Pod) { p.Phase = PhasePending }), Groups{Unready: 1}},
		{"running without a sample: missing", with(running(time.Hour, time.Hour, true), func(p *Pod) { p.HasMetric = false }), Groups{Missing: 1}},
		{"succeeded is not ignored", with(running(time.Hour, time.Hour, true), func(p *Pod) { p.Phase = PhaseSucceeded }), Groups{Ready: 1}},
		{"no Ready condition: unready", with(running(time.Hour, time.Hour, true), func(p *Pod) { p.HasReady = false }), Groups{Unready: 1}},
		{"no start time: unready", with(running(time.Hour, time.Hour, true), func(p *Pod) { p.Started = time.Time{} }), Groups{Unready: 1}},
		{"in the initialisation period, ready a window before the sample: ready", running(2*time.Minute, 15*time.Second, true), Groups{Ready: 1}},
		{"in the initialisation period, ready less than a window before the sample: unready", running(2*time.Minute, 14*time.Second, true), Groups{Unready: 1}},
		{"in the initialisation period, not ready: unready", running(2*time.Minute, time.Minute, false), Groups{Unready: 1}},
		{"after the initialisation period, ready 1 s ago: ready", running(5*time.Minute+time.Second, time.Second, true), Groups{Ready: 1}},
		{"exactly 5 min after its start the period is over", running(5*time.Minute, time.Second, true), Groups{Ready: 1}},
		{"after the period, not ready, went unready within 30 s of start (never ready): unready", running(time.Hour, time.Hour-29*time.Second, false), Groups{Unready: 1}},
		{"after the period, not ready but was ready once: ready", running(time.Hour, 10*time.Minute, false), Groups{Ready: 1}},
		{"after the period, not ready exactly 30 s after start: ready", running(time.Hour, time.Hour-30*time.Second, false), Groups{Ready: 1}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := GroupPods([]Pod{c.pod}, now, CPUInitializationPeriod, InitialReadinessDelay); got != c.want {
				t.Errorf("GroupPods = %+v, want %+v", got, c.want)
			}
		})
	}
	all := make([]Pod, 0, len(cases))
	var want Groups
	for _, c := range cases {
		all = append(all, c.pod)
		want.Ready += c.want.Ready
		want.Unready += c.want.Unready
		want.Missing += c.want.Missing
		want.Ignored += c.want.Ignored
	}
	if got := GroupPods(all, now, CPUInitializationPeriod, InitialReadinessDelay); got != want {
		t.Errorf("all pods at once: %+v, want %+v", got, want)
	}
}
