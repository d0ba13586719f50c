package perf

import (
	"math"
	"strings"
	"testing"
)

func TestPodsForIsTheCeilingOfRateOverCapacity(t *testing.T) {
	for _, c := range []struct {
		name           string
		rate, capacity float64
		want           int
	}{
		{"no load needs no pod", 0, 80, 0},
		{"a negative rate needs no pod", -5, 80, 0},
		{"a trickle needs one", 0.001, 80, 1},
		{"exactly full", 160, 80, 2},
		{"just over full", 160.01, 80, 3},
		// 0.1*3 is 0.30000000000000004: the 1e-9 slack keeps it at 3 pods of 0.1.
		{"float noise does not add a pod", 0.1 * 3, 0.1, 3},
		// The default fft SLO capacity 80.4 req/s: 500 req/s needs ceil(6.22) = 7.
		{"fft at 16 ms", 500, 80.4, 7},
	} {
		if got := PodsFor(c.rate, c.capacity); got != c.want {
			t.Errorf("%s: PodsFor(%g, %g) = %d, want %d", c.name, c.rate, c.capacity, got, c.want)
		}
	}
}

func TestPickReadsTheMetricsStatistic(t *testing.T) {
	for m, want := range map[LatencyMetric]float64{Mean: 10, P95: 20, P99: 30} {
		if got := m.Pick(10, 20, 30); got != want {
			t.Errorf("%s.Pick(10, 20, 30) = %g, want %g", m, got, want)
		}
	}
	pt := Point{MeanMS: 1, P95MS: 2, P99MS: 3}
	s := ProfilingSample{MeanMS: 1, P95MS: 2, P99MS: 3}
	for _, m := range []LatencyMetric{Mean, P95, P99} {
		if pt.Latency(m) != m.Pick(1, 2, 3) || s.latency(m) != m.Pick(1, 2, 3) {
			t.Errorf("%s: point %g, sample %g, want %g", m, pt.Latency(m), s.latency(m), m.Pick(1, 2, 3))
		}
	}
}

func TestReplicasIsTheCeilingOfWorkloadOverCapacity(t *testing.T) {
	cases := []struct {
		workload, perPod float64
		want             int
	}{
		{0, 50, 0}, {1, 50, 1}, {50, 50, 1}, {50.01, 50, 2}, {300, 100, 3}, {0.3 * 3 / 0.3 * 100, 100, 3}, {999, 10, 100},
	}
	for _, c := range cases {
		got, err := Replicas(c.workload, c.perPod)
		if err != nil || got != c.want {
			t.Errorf("Replicas(%g, %g) = %d, %v; want %d", c.workload, c.perPod, got, err, c.want)
		}
	}
	for _, bad := range [][2]float64{{10, 0}, {10, -1}, {math.NaN(), 10}, {-1, 10}, {10, math.Inf(1)}, {1e12, 1e-3}} {
		if _, err := Replicas(bad[0], bad[1]); err == nil {
			t.Errorf("Replicas(%g, %g) gave no error", bad[0], bad[1])
		}
	}
}

func TestPodCapacityAppliesHeadroom(t *testing.T) {
	p := FFT()
	raw, err := p.CapacityAt(Mean, 16)
	if err != nil {
		t.Fatal(err)
	}
	got, err := PodCapacity(p, Mean, 16, 0)
	if err != nil || math.Abs(got-0.95*raw) > 1e-9 {
		t.Errorf("default headroom: %g, %v; want %g", got, err, 0.95*raw)
	}
	got, _ = PodCapacity(p, Mean, 16, 1)
	if got != raw {
		t.Errorf("headroom 1: %g, want %g", got, raw)
	}
	if _, err := PodCapacity(p, Mean, 16, 1.2); err == nil {
		t.Error("headroom 1.2 accepted")
	}
}

// fittedFFT fits the capacity model on simulated profiling of the fft profile.
func fittedFFT(t testing.TB, metric LatencyMetric, samples int) *CapacityModel {
	t.Helper()
	s, err := SampleProfile(FFT(), SamplingOptions{Samples: samples, Seed: 4})
	if err != nil {
		t.Fatal(err)
	}
	m, err := FitCapacityModel(s, CapacityOptions{Metric: metric})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func TestCapacityModelFindsTheFFTCapacityAtTheSLO(t *testing.T) {
	m := fittedFFT(t, Mean, 300)
	for _, slo := range []float64{14, 16, 25} {
		want, _ := FFT().CapacityAt(Mean, slo)
		got, err := m.CapacityAt(Mean, slo)
		if err != nil {
			t.Fatal(err)
		}
		// The profile's knee is steep (15.7 ms at 80, 23.5 at 90), so 3 req/s is tight.
		if math.Abs(got-want) > 3 {
			t.Errorf("SLO %g ms: capacity %.2f req/s, the profile says %.2f", slo, got, want)
		}
	}
	if cpu := m.CPUAt(55); math.Abs(cpu-0.5) > 0.03 {
		t.Errorf("CPU at 55 req/s = %.3f, want about 0.5", cpu)
	}
}

func TestCapacityModelErrors(t *testing.T) {
	m := fittedFFT(t, Mean, 120)
	if _, err := m.CapacityAt(Mean, 5); err == nil || !strings.Contains(err.Error(), "no number of pods can meet it") {
		t.Errorf("SLO below the idle latency: %v", err)
	}
	if _, err := m.CapacityAt(P95, 16); err == nil {
		t.Error("asked a mean-latency model for p95 capacity without error")
	}
	if _, err := m.CapacityAt(Mean, math.NaN()); err == nil {
		t.Error("NaN SLO accepted")
	}
	if got, err := m.CapacityAt(Mean, 1000); err != nil || got != m.MaxLoad {
		t.Errorf("a loose SLO: %g, %v; want the heaviest profiled load %g", got, err, m.MaxLoad)
	}
	if _, err := FitCapacityModel(make([]ProfilingSample, 2), CapacityOptions{}); err == nil {
		t.Error("2 samples accepted")
	}
}

func TestProfileAndModelAreCapacitySources(t *testing.T) {
	var _ CapacitySource = FFT()
	var _ CapacitySource = (*CapacityModel)(nil)
}
