package testbed

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"
)

// FitMode says what a run does when the replicas it may start would not fit in the
// machine's idle CPU.
type FitMode int

const (
	// FitRefuse (the default) refuses to start and says what to change.
	FitRefuse FitMode = iota
	// FitScaleDown lowers the maximum replicas to what fits (refusing if even the minimum
	// does not).
	FitScaleDown
	// FitIgnore runs anyway; the report records the measured shortfall.
	FitIgnore
)

func (m FitMode) String() string {
	switch m {
	case FitScaleDown:
		return "scale-down"
	case FitIgnore:
		return "ignore"
	default:
		return "refuse"
	}
}

// ParseFitMode reads refuse, scale-down or ignore.
func ParseFitMode(s string) (FitMode, error) {
	for _, m := range []FitMode{FitRefuse, FitScaleDown, FitIgnore} {
		if s == m.String() {
			return m, nil
		}
	}
	return FitRefuse, fmt.Errorf("fit mode %q: want refuse, scale-down or ignore", s)
}

// MachineFit is what the run measured of the machine before it started anything of its own
// but the load balancer and Prometheus, and what it decided.
type MachineFit struct {
	// IdleCores is the machine's idle CPU, in cores, averaged over the measuring window.
	IdleCores float64 `json:"idle_cores"`
	// Cores is the machine's core count.
	Cores int `json:"cores"`
	// ReserveCores is the CPU set aside for the load generator, load balancer and
	// Prometheus (Config.ReserveCores).
	ReserveCores float64 `json:"reserve_cores"`
	// NeededCores is ReserveCores plus the maximum replicas' CPU shares (requested).
	NeededCores float64 `json:"needed_cores"`
	// RequestedMax and Max are the maximum replicas asked for and used.
	RequestedMax int    `json:"requested_max_replicas"`
	Max          int    `json:"max_replicas"`
	Mode         string `json:"mode"`
	// Fits says whether NeededCores for Max replicas is within IdleCores.
	Fits bool `json:"fits"`
}

// idleCores measures the machine's idle CPU over window, in cores (a variable for tests).
var idleCores = measureIdleCores

// measureIdleCores reads /proc/stat's aggregate line twice, window apart: idle (with
// iowait) jiffies over all jiffies, times the core count.
func measureIdleCores(ctx context.Context, window time.Duration) (float64, error) {
	idle0, total0, err := readProcStat()
	if err != nil {
		return 0, err
	}
	select {
	case <-ctx.Done():
		return 0, ctx.Err()
	case <-time.After(window):
	}
	idle1, total1, err := readProcStat()
	if err != nil {
		return 0, err
	}
	if total1 <= total0 {
		return 0, fmt.Errorf("/proc/stat: no CPU time passed in %s", window)
	}
	return float64(idle1-idle0) / float64(total1-total0) * float64(machineCPUs()), nil
}

func readProcStat() (idle, total uint64, err error) {
	f, err := os.Open("/proc/stat")
	if err != nil {
		return 0, 0, fmt.Errorf("measure idle CPU: %w", err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	if !sc.Scan() {
		return 0, 0, fmt.Errorf("measure idle CPU: /proc/stat is empty")
	}
	return parseCPULine(sc.Text())
}

// parseCPULine reads "cpu user nice system idle iowait irq softirq steal ..." (jiffies).
func parseCPULine(line string) (idle, total uint64, err error) {
	fields := strings.Fields(line)
	if len(fields) < 5 || fields[0] != "cpu" {
		return 0, 0, fmt.Errorf("measure idle CPU: /proc/stat first line %q is not the aggregate cpu line", line)
	}
	for i, f := range fields[1:] {
		if i >= 8 { // guest and guest_nice are already counted in user and nice
			break
		}
		v, err := strconv.ParseUint(f, 10, 64)
		if err != nil {
			return 0, 0, fmt.Errorf("measure idle CPU: /proc/stat field %d %q: %w", i+1, f, err)
		}
		total += v
		if i == 3 || i == 4 { // idle, iowait
			idle += v
		}
	}
	return idle, total, nil
}

// fitMachine decides the maximum replicas from the measured idle CPU: share cores each,
// plus the reserve for the rest of the rig, must fit in idle. Under the GOMAXPROCS
// fallback (no cgroup quota) a replica may use a whole core, so share is 1.
func fitMachine(cfg *Config, share, idle float64) (MachineFit, error) {
	f := MachineFit{IdleCores: round2(idle), Cores: machineCPUs(), ReserveCores: cfg.ReserveCores,
		RequestedMax: cfg.Max, Max: cfg.Max, Mode: cfg.Fit.String()}
	need := func(n int) float64 { return cfg.ReserveCores + float64(n)*share }
	f.NeededCores = round2(need(cfg.Max))
	f.Fits = need(cfg.Max) <= idle
	if f.Fits || cfg.Fit == FitIgnore {
		return f, nil
	}
	fitting := int(math.Floor((idle - cfg.ReserveCores) / share))
	advice := fmt.Sprintf("the machine has %.2f idle cores (of %d, measured over %s); %d replicas x %.3g cores + %.2g cores for the load generator, load balancer and Prometheus need %.2f",
		idle, f.Cores, fitWindow, cfg.Max, share, cfg.ReserveCores, need(cfg.Max))
	if cfg.Fit == FitScaleDown && fitting >= cfg.Min {
		f.Max = fitting
		f.NeededCores = round2(need(fitting))
		f.Fits = true
		return f, nil
	}
	var fix []string
	if fitting >= cfg.Min {
		fix = append(fix, fmt.Sprintf("--max %d", fitting))
	}
	if s := math.Floor((idle-cfg.ReserveCores)/float64(cfg.Max)*1000) / 1000; s >= minAdvisedShare {
		fix = append(fix, fmt.Sprintf("--cpu-share %.3g", s))
	}
	if fitting >= cfg.Min {
		fix = append(fix, "--fit scale-down")
	}
	what := "wait until the machine is idler"
	if len(fix) > 0 {
		what = "use " + strings.Join(fix, ", ") + ", or " + what
	}
	return f, fmt.Errorf("testbed: replicas do not fit: %s; %s (--fit ignore runs anyway, and its numbers measure the other load too)",
		advice, what)
}

// minAdvisedShare is the smallest CPU share the refusal suggests: below 50 millicores a
// replica's CFS quota is under 5 ms per 100 ms period, shorter than one request of the fft
// service at its defaults, so every request would be throttled.
const minAdvisedShare = 0.05

// fitWindow is how long the run measures the machine's idle CPU before it starts.
const fitWindow = 2 * time.Second

func round2(v float64) float64 { return math.Round(v*100) / 100 }
