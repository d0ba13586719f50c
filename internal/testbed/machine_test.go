package testbed

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

func TestParseCPULine(t *testing.T) {
	// user nice system idle iowait irq softirq steal guest guest_nice
	idle, total, err := parseCPULine("cpu  100 5 50 800 20 3 2 20 7 1")
	if err != nil || idle != 820 || total != 1000 {
		t.Fatalf("idle %d total %d err %v; want 820 of 1000 (guest fields are inside user/nice)", idle, total, err)
	}
	for _, bad := range []string{"", "intr 1 2 3", "cpu 1 2 x 4"} {
		if _, _, err := parseCPULine(bad); err == nil || !strings.Contains(err.Error(), "/proc/stat") {
			t.Errorf("%q: error %v, want one naming /proc/stat", bad, err)
		}
	}
}

func TestMeasureIdleCoresIsWithinTheMachine(t *testing.T) {
	idle, err := measureIdleCores(context.Background(), 200*time.Millisecond)
	if err != nil {
		t.Skipf("no /proc/stat here: %v", err)
	}
	if idle < 0 || idle > float64(machineCPUs())+1e-9 {
		t.Fatalf("idle %.2f cores on a %d-core machine", idle, machineCPUs())
	}
}

func TestFitMachine(t *testing.T) {
	old := machineCPUs
	machineCPUs = func() int { return 2 }
	defer func() { machineCPUs = old }()
	base := Config{Min: 1, Max: 8, ReserveCores: 0.5}
	// 8 x 0.25 + 0.5 = 2.5 cores; the machine has 1.3 idle: 3 replicas fit (0.75 + 0.5).
	cfg := base
	_, err := fitMachine(&cfg, 0.25, 1.3)
	if err == nil {
		t.Fatal("8 replicas of 0.25 core on 1.3 idle cores: want a refusal")
	}
	for _, want := range []string{"1.30 idle cores", "need 2.50", "--max 3", "--cpu-share 0.1", "--fit scale-down"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("refusal %q does not say %q", err, want)
		}
	}
	cfg = base
	cfg.Fit = FitScaleDown
	f, err := fitMachine(&cfg, 0.25, 1.3)
	if err != nil || f.Max != 3 || !f.Fits || f.RequestedMax != 8 || f.NeededCores != 1.25 {
		t.Errorf("scale-down: %+v, %v; want max 3 of 8 requested, 1.25 cores", f, err)
	}
	cfg = base
	cfg.Fit, cfg.Min = FitScaleDown, 4
	if _, err := fitMachine(&cfg, 0.25, 1.3); err == nil {
		t.Error("scale-down below the minimum replicas: want a refusal")
	}
	// Almost nothing idle: no replica fits and a share under 50 millicores would throttle
	// every request, so the refusal only says to wait.
	cfg = base
	cfg.Fit = FitScaleDown
	_, err = fitMachine(&cfg, 0.1, 0.54)
	if err == nil || strings.Contains(err.Error(), "--cpu-share") || strings.Contains(err.Error(), "--fit scale-down") || strings.Contains(err.Error(), "--max ") ||
		!strings.Contains(err.Error(), "; wait until the machine is idler") {
		t.Errorf("0.54 idle cores: refusal %v, want only the advice to wait", err)
	}
	cfg = base
	cfg.Fit = FitIgnore
	if f, err := fitMachine(&cfg, 0.25, 1.3); err != nil || f.Fits || f.Max != 8 {
		t.Errorf("ignore: %+v, %v; want max 8, fits false, no error", f, err)
	}
	cfg = base
	if f, err := fitMachine(&cfg, 0.1, 1.9); err != nil || !f.Fits || f.Max != 8 {
		t.Errorf("8 x 0.1 + 0.5 = 1.3 of 1.9 idle: %+v, %v; want it to fit", f, err)
	}
}

func TestSpreadAndMedian(t *testing.T) {
	if m := series.Median([]float64{3, 1, 2}); m != 2 {
		t.Errorf("median %v", m)
	}
	if m := series.Median([]float64{4, 1, 2, 3}); m != 2.5 {
		t.Errorf("median %v", m)
	}
	if s := spread([]float64{6, 6.5, 7.5}); s != 1.5/6.5 {
		t.Errorf("spread %v, want (7.5-6)/6.5", s)
	}
	if s := spread([]float64{5}); s != 0 {
		t.Errorf("one value: spread %v", s)
	}
}
