package testbed

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"strings"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
)

// Hard caps on a testbed run, whatever the flags say: the machine is shared.
const (
	MaxDurationPerPolicy = time.Hour
	MaxDurationTotal     = 8 * time.Hour
	MaxReplicasCap       = 32
	minInterval          = 2 * time.Second
)

// Config describes a testbed run. Zero fields take the defaults documented on each.
type Config struct {
	// TraceName labels the workload in the report; Shape is its values, one per interval,
	// in any unit: the testbed maps Shape's maximum to the calibrated peak rate.
	TraceName string
	Shape     []float64
	// History holds the points before the window, in Shape's unit (scaled by the same
	// factor): the training data forecasting policies receive as Env.History. It is never
	// replayed.
	History []float64
	// Interval is the control interval (default 15 s): one trace point per interval.
	Interval time.Duration
	// Policies run in turn, each on a fresh set of Min replicas.
	Policies []string
	// Params are policy parameters, "key=value" for all or "policy.key=value" for one.
	Params map[string]string
	// Min and Max bound replicas (defaults 1 and 8). Min 0 means 1 unless ScaleToZero.
	Min, Max int
	// ScaleToZero allows Min 0: each policy's run then starts with no replica, and the load
	// balancer's activator holds requests until one is ready (HoldTimeout, HoldQueue; the
	// simulator's defaults when 0). The activator holds requests whenever no replica is
	// ready, whatever Min is.
	ScaleToZero bool
	HoldTimeout time.Duration
	HoldQueue   int
	// StartupDelay is each replica's time to ready (default 10 s).
	StartupDelay time.Duration
	// CPUShare (cores, default 0.25) and CFSPeriod (default 100 ms, the kernel's and
	// Kubernetes' default) set each replica's cgroup quota.
	CPUShare  float64
	CFSPeriod time.Duration
	// FFTSize and Rounds set the per-request work (serve-fft defaults when 0).
	FFTSize, Rounds int
	// SLOMS is the latency objective; 0 means twice the measured unloaded mean latency.
	SLOMS     float64
	SLOMetric perf.LatencyMetric
	// PeakFraction maps the trace maximum to this fraction of the usable capacity
	// (default 0.8). Usable capacity is the smaller of Max replicas' throughput and 75% of
	// the machine's (the rest is left to the load balancer, load generator and Prometheus).
	PeakFraction float64
	// CalibrationRequests is the number of spaced single requests that measure CPU per
	// request and unloaded latency (default 40); ProfileStep is the length of each
	// profiling load step (default 4 s).
	CalibrationRequests int
	ProfileStep         time.Duration
	// ProfileRepeats is how many times each profiling load is measured (default 3); the
	// profile takes the median of each field (a replica's capacity moves by several percent
	// from one step to the next, so one step at the knee is one draw of it).
	ProfileRepeats int
	// ScrapeInterval is Prometheus' scrape interval (default 1 s).
	ScrapeInterval time.Duration
	// Prometheus is the prometheus binary (default: "prometheus" from PATH).
	Prometheus string
	// ReplicaBinary and ReplicaArgs run replicas (default: this executable, "serve-fft").
	ReplicaBinary string
	ReplicaArgs   []string
	// OutDir receives per-interval CSVs, the decision log and the profiling CSV ("" = none).
	OutDir string
	// Log receives progress lines (nil = discard).
	Log io.Writer

	// Fit and ReserveCores: before it starts replicas, the run measures the machine's idle
	// CPU and checks that Max replicas' CPU shares plus ReserveCores (default 0.5 core: the
	// load generator, load balancer and Prometheus) fit in it; Fit says what happens when
	// they do not (default: refuse, naming what to change).
	Fit          FitMode
	ReserveCores float64
	// Calibrations is how many times the single-replica probe (CPU per request, unloaded
	// latency) is repeated (default 3): the median is used and the spread reported. A
	// spread above MaxCalibrationSpread (default 0.2, a fifth of the median), beyond the
	// CPU counter's 10 ms resolution, refuses the run: the machine is too noisy for its
	// numbers to mean anything.
	Calibrations         int
	MaxCalibrationSpread float64
	// SaturationRepeats is how many times calibration offers the replica 1.2x its measured
	// saturation for one Interval (default 4): the spread of its throughput over those
	// intervals (Calibration.CapacityCV) is how much a replica's capacity moves from one
	// interval to the next, and sizes the simulator's --capacity-jitter in --compare-sim.
	SaturationRepeats int
	// MaxShortfall (default 0.01) is the share of a policy's scheduled requests the load
	// generator may fail to send on time; MaxDrift (default 0.25) is how far the CPU per
	// request the replicas used under load during a policy's run (Prometheus) may move from
	// the profiled replica's under load at calibration (a run without Prometheus CPU: the
	// spaced probe after it against the calibration's probes). Past either, the run stops
	// as invalid (an *InvalidRunError naming the policy and cause).
	MaxShortfall, MaxDrift float64
	// Repeats runs every policy this many times (default 1), rotating the order each
	// round so that slow drift of the machine does not favour one policy.
	Repeats int
}

func (c *Config) defaults() error {
	if c.Interval == 0 {
		c.Interval = 15 * time.Second
	}
	if c.Min == 0 && !c.ScaleToZero {
		c.Min = 1
	}
	if c.Max == 0 {
		c.Max = 8
	}
	if c.StartupDelay == 0 {
		c.StartupDelay = 10 * time.Second
	}
	if c.CPUShare == 0 {
		c.CPUShare = 0.25
	}
	if c.CFSPeriod == 0 {
		c.CFSPeriod = 100 * time.Millisecond
	}
	if c.PeakFraction == 0 {
		c.PeakFraction = 0.8
	}
	if c.CalibrationRequests == 0 {
		c.CalibrationRequests = 40
	}
	if c.ProfileStep == 0 {
		c.ProfileStep = 4 * time.Second
	}
	if c.ScrapeInterval == 0 {
		c.ScrapeInterval = time.Second
	}
	if c.Log == nil {
		c.Log = io.Discard
	}
	if c.ReserveCores == 0 {
		c.ReserveCores = 0.5
	}
	if c.ProfileRepeats == 0 {
		c.ProfileRepeats = 3
	}
	if c.SaturationRepeats == 0 {
		c.SaturationRepeats = 4
	}
	if c.Calibrations == 0 {
		c.Calibrations = 3
	}
	if c.MaxCalibrationSpread == 0 {
		c.MaxCalibrationSpread = 0.2
	}
	if c.MaxShortfall == 0 {
		c.MaxShortfall = 0.01
	}
	if c.MaxDrift == 0 {
		c.MaxDrift = 0.25
	}
	if c.Repeats == 0 {
		c.Repeats = 1
	}
	if c.TraceName == "" {
		c.TraceName = "custom"
	}
	var errs []string
	bad := func(format string, a ...any) { errs = append(errs, fmt.Sprintf(format, a...)) }
	if len(c.Shape) < 2 {
		bad("trace window has %d points, need at least 2", len(c.Shape))
	}
	peak := 0.0
	for i, v := range c.Shape {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			bad("trace point %d: %g is not a finite non-negative number", i, v)
			break
		}
		peak = math.Max(peak, v)
	}
	for i, v := range c.History {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			bad("history point %d: %g is not a finite non-negative number", i, v)
			break
		}
	}
	if len(c.Shape) >= 2 && peak == 0 {
		bad("trace window is all zero: nothing to replay")
	}
	if c.Interval < minInterval {
		bad("interval %s is below the minimum %s (Prometheus needs a few scrapes per interval)", c.Interval, minInterval)
	}
	if c.ScrapeInterval < 100*time.Millisecond || c.ScrapeInterval*2 > c.Interval {
		bad("scrape interval %s must be at least 100ms and at most half the interval %s", c.ScrapeInterval, c.Interval)
	}
	if d := time.Duration(len(c.Shape)) * c.Interval; d > MaxDurationPerPolicy {
		bad("one policy's run would last %s, above the cap of %s", d, MaxDurationPerPolicy)
	}
	if len(c.Policies) == 0 {
		bad("no policy given")
	}
	switch {
	case c.ScaleToZero && c.Min != 0:
		bad("scale to zero needs min 0 (got min %d)", c.Min)
	case c.Max < 1 || c.Max < c.Min || c.Max > MaxReplicasCap || (c.Min < 1 && !c.ScaleToZero):
		bad("replica bounds must satisfy 1 <= min <= max <= %d, or min 0 to scale to zero (got min %d, max %d)", MaxReplicasCap, c.Min, c.Max)
	}
	if c.HoldTimeout < 0 {
		bad("activator hold timeout %s must not be negative", c.HoldTimeout)
	}
	if c.StartupDelay < 0 || c.StartupDelay > 10*time.Minute {
		bad("start-up delay %s out of range [0, 10m]", c.StartupDelay)
	}
	if !(c.CPUShare > 0) || c.CPUShare > 4 {
		bad("cpu share %g out of range (0, 4] cores", c.CPUShare)
	}
	if !(c.PeakFraction > 0) || c.PeakFraction > 2 {
		bad("peak fraction %g out of range (0, 2]", c.PeakFraction)
	}
	if c.SLOMS < 0 || math.IsNaN(c.SLOMS) || math.IsInf(c.SLOMS, 0) {
		bad("SLO %g ms must be a finite non-negative number (0 = calibrate)", c.SLOMS)
	}
	if c.CalibrationRequests < 5 || c.CalibrationRequests > 1000 {
		bad("calibration requests %d out of range [5, 1000]", c.CalibrationRequests)
	}
	if c.ProfileStep < 500*time.Millisecond || c.ProfileStep > time.Minute {
		bad("profile step %s out of range [500ms, 1m]", c.ProfileStep)
	}
	if !(c.ReserveCores >= 0) || c.ReserveCores > 8 {
		bad("reserve %g cores out of range [0, 8]", c.ReserveCores)
	}
	if c.ProfileRepeats < 1 || c.ProfileRepeats > 10 {
		bad("profile repeats %d out of range [1, 10]", c.ProfileRepeats)
	}
	if c.SaturationRepeats < 2 || c.SaturationRepeats > 20 {
		bad("saturation repeats %d out of range [2, 20]", c.SaturationRepeats)
	}
	if c.Calibrations < 1 || c.Calibrations > 20 {
		bad("calibrations %d out of range [1, 20]", c.Calibrations)
	}
	for _, b := range []struct {
		name string
		v    float64
	}{{"calibration spread bound", c.MaxCalibrationSpread}, {"shortfall bound", c.MaxShortfall}, {"drift bound", c.MaxDrift}} {
		if !(b.v > 0) || b.v > 1 {
			bad("%s %g out of range (0, 1]", b.name, b.v)
		}
	}
	if c.Repeats < 1 || c.Repeats > 10 {
		bad("repeats %d out of range [1, 10]", c.Repeats)
	}
	if d := time.Duration(len(c.Shape)*c.Repeats*len(c.Policies)) * c.Interval; d > MaxDurationTotal {
		bad("the whole run (%d policies x %d repeats x %s) would last %s, above the cap of %s", len(c.Policies), c.Repeats,
			time.Duration(len(c.Shape))*c.Interval, d, MaxDurationTotal)
	}
	if len(errs) > 0 {
		return fmt.Errorf("testbed config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// SyntheticHistory returns n points of training history for the synthetic window: its
// quiet level (0.2 of the peak) times seeded log-normal noise of 10% (coefficient of
// variation). The burst is not in it: a forecasting policy meets it for the first time in
// the window, as it would meet a real flash crowd.
func SyntheticHistory(n int, seed uint64) []float64 {
	rng := rand.New(rand.NewPCG(seed, 0x7e57bed))
	const cv = 0.1
	sigma := math.Sqrt(math.Log(1 + cv*cv))
	out := make([]float64, n)
	for i := range out {
		out[i] = 0.2 * math.Exp(sigma*rng.NormFloat64()-sigma*sigma/2)
	}
	return out
}

// Synthetic returns the testbed's synthetic workload of n points: a quiet level at 20% of
// the peak, a flash crowd that ramps up over one interval to the peak in the second
// quarter, holds it for a quarter of the window, and drops back, then the quiet level
// again until the end. It is deterministic: the testbed measures policies, not noise.
func Synthetic(n int) []float64 {
	out := make([]float64, n)
	up, down := n/4, n/4+max(n/4, 1)+1
	for i := range out {
		switch {
		case i == up:
			out[i] = 0.6
		case i > up && i < down:
			out[i] = 1
		default:
			out[i] = 0.2
		}
	}
	return out
}
