package perf

import (
	"fmt"
	"math"
	"sort"
)

// Point is one measured operating point of a single pod.
type Point struct {
	Load   float64 // requests per second served by the pod
	MeanMS float64 // mean response time, milliseconds
	P95MS  float64 // 95th percentile response time, milliseconds
	P99MS  float64 // 99th percentile response time, milliseconds
	CPU    float64 // CPU utilisation as a fraction of the pod's CPU request (1 = 100%)
}

// Profile maps the load on one pod to its latency and CPU. Between points it interpolates
// linearly; MaxLoad is the saturation throughput: a pod never serves more than that, and
// the excess queues (see package sim).
//
// Latency tails. A profile that only knows the mean (like fft) derives p95 and p99 from a
// shifted-exponential response time: RT = d + X, X ~ Exp(mean m), so mean = d + m,
// p_q = d + m*ln(1/(1-q)). The shift d is the no-contention service floor, the part of the
// response that queueing does not stretch. It is the simplest law that is exact for an
// M/M/1 queue's sojourn time (d = 0) and keeps tails growing with load as queueing does.
// The same law gives the share of requests slower than an SLO: P(RT > s) = exp(-(s-d)/m).
type Profile struct {
	Name    string
	Points  []Point // sorted by Load, Load[0] == 0
	MaxLoad float64 // saturation throughput, req/s per pod
	// Memory is the pod's working-set model; the zero value means memory is not modelled
	// (the simulator then reports none, so runs without it are unchanged).
	Memory Memory

	// table is Points resampled on a regular grid so that At is O(1) in the simulator's
	// inner loop; tableStep is the grid's load step.
	table     []Point
	tableStep float64
}

// tableSize is the number of grid cells of the lookup table; 2048 keeps the interpolation
// error of the piecewise-linear curve below 0.1% for every built-in profile.
const tableSize = 2048

// FFT returns the built-in profile of the BAScaler paper's FFT service: mean response time
// about 10 ms up to 50 req/s per pod, 15.7 ms at 80, 23.5 ms at 90 and 35.4 ms at 100
// (the paper's measured per-pod curve). Above 100 req/s the curve is continued with the
// M/M/1-like fit a/(mu-x)+b through the last three measured points (a≈2171, mu≈138,
// b≈-21.7), which gives 60 ms at 110 req/s; 110 req/s is taken as saturation (100% CPU).
// CPU grows linearly with load (the work per request is fixed): 100% at 110 req/s.
// The tail shift d is 8 ms (80% of the no-contention mean of 10 ms).
func FFT() *Profile {
	const sat = 110.0
	means := []struct{ load, mean float64 }{
		{0, 10}, {50, 10}, {80, 15.7}, {90, 23.5}, {100, 35.4}, {105, 45.8}, {110, 60},
	}
	pts := make([]Point, len(means))
	for i, m := range means {
		p := Point{Load: m.load, MeanMS: m.mean, CPU: m.load / sat}
		p.P95MS, p.P99MS = tailsFromMean(m.mean, 8)
		pts[i] = p
	}
	p, err := NewProfile("fft", pts, sat)
	if err != nil {
		panic("perf: built-in fft profile is invalid: " + err.Error()) // a programming error
	}
	return p
}

// tailsFromMean returns p95 and p99 of a shifted exponential with the given mean and shift.
func tailsFromMean(mean, shift float64) (p95, p99 float64) {
	m := mean - shift
	if m < 0 {
		m = 0
	}
	return shift + m*ln20, shift + m*math.Log(100)
}

// NewProfile validates points and builds a profile. Points are sorted by load; a point at
// load 0 is added (a copy of the lightest point) when missing. maxLoad <= 0 means "the
// heaviest point's load".
func NewProfile(name string, points []Point, maxLoad float64) (*Profile, error) {
	if len(points) == 0 {
		return nil, fmt.Errorf("profile %s: no points", name)
	}
	pts := append([]Point(nil), points...)
	sort.Slice(pts, func(i, j int) bool { return pts[i].Load < pts[j].Load })
	for i, p := range pts {
		for _, v := range []float64{p.Load, p.MeanMS, p.P95MS, p.P99MS, p.CPU} {
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return nil, fmt.Errorf("profile %s: point %d (load %g): values must be finite and non-negative", name, i+1, p.Load)
			}
		}
		if p.MeanMS <= 0 {
			return nil, fmt.Errorf("profile %s: point %d (load %g): mean latency must be positive", name, i+1, p.Load)
		}
		if p.P95MS < p.MeanMS*0.5 || p.P99MS < p.P95MS {
			return nil, fmt.Errorf("profile %s: point %d (load %g): need p99 >= p95 and p95 >= mean/2", name, i+1, p.Load)
		}
		if i > 0 && p.Load == pts[i-1].Load {
			return nil, fmt.Errorf("profile %s: two points at load %g", name, p.Load)
		}
	}
	if pts[0].Load > 0 {
		first := pts[0]
		first.Load = 0
		first.CPU = 0
		pts = append([]Point{first}, pts...)
	}
	if maxLoad <= 0 {
		maxLoad = pts[len(pts)-1].Load
	}
	if maxLoad <= 0 {
		return nil, fmt.Errorf("profile %s: saturation load must be positive", name)
	}
	p := &Profile{Name: name, Points: pts, MaxLoad: maxLoad}
	p.buildTable()
	return p, nil
}

func (p *Profile) buildTable() {
	p.tableStep = p.MaxLoad / tableSize
	p.table = make([]Point, tableSize+1)
	for i := range p.table {
		p.table[i] = p.interpolate(float64(i) * p.tableStep)
	}
}

// interpolate evaluates the piecewise-linear curve exactly (slow path, used to build the
// table). Beyond the last point the curve is held flat.
func (p *Profile) interpolate(load float64) Point {
	pts := p.Points
	if load <= pts[0].Load {
		return withLoad(pts[0], load)
	}
	last := pts[len(pts)-1]
	if load >= last.Load {
		return withLoad(last, load)
	}
	j := sort.Search(len(pts), func(i int) bool { return pts[i].Load >= load })
	a, b := pts[j-1], pts[j]
	w := (load - a.Load) / (b.Load - a.Load)
	return Point{
		Load:   load,
		MeanMS: a.MeanMS + w*(b.MeanMS-a.MeanMS),
		P95MS:  a.P95MS + w*(b.P95MS-a.P95MS),
		P99MS:  a.P99MS + w*(b.P99MS-a.P99MS),
		CPU:    a.CPU + w*(b.CPU-a.CPU),
	}
}

func withLoad(p Point, load float64) Point { p.Load = load; return p }

// At returns the pod's operating point at the given load (req/s). Loads above MaxLoad are
// clamped to MaxLoad: a pod cannot serve more, the excess waits (the simulator adds it).
func (p *Profile) At(load float64) Point {
	if !(load > 0) { // also catches NaN
		return p.table[0]
	}
	x := load / p.tableStep
	if x >= tableSize {
		return p.table[tableSize]
	}
	i := int(x)
	w := x - float64(i)
	a, b := &p.table[i], &p.table[i+1]
	return Point{
		Load:   load,
		MeanMS: a.MeanMS + w*(b.MeanMS-a.MeanMS),
		P95MS:  a.P95MS + w*(b.P95MS-a.P95MS),
		P99MS:  a.P99MS + w*(b.P99MS-a.P99MS),
		CPU:    a.CPU + w*(b.CPU-a.CPU),
	}
}

// Latency returns the chosen latency statistic at a point.
func (pt Point) Latency(m LatencyMetric) float64 { return m.Pick(pt.MeanMS, pt.P95MS, pt.P99MS) }

// FracOver returns the share of requests slower than sloMS at this operating point when
// every request also waits extraMS in a queue first, under the shifted-exponential law of
// the Profile doc comment (fitted to the point's mean and p95).
func (pt Point) FracOver(sloMS, extraMS float64) float64 {
	m := (pt.P95MS - pt.MeanMS) / (ln20 - 1)
	if m <= 0 {
		if pt.MeanMS+extraMS > sloMS {
			return 1
		}
		return 0
	}
	d := pt.MeanMS - m + extraMS
	if sloMS <= d {
		return 1
	}
	return math.Exp(-(sloMS - d) / m)
}

// ln20 is ln(1/(1-0.95)): the p95 of a unit exponential.
const ln20 = 2.995732273553991

// LatencyMetric names the latency statistic an SLO is stated on.
type LatencyMetric int

// The latency statistics an SLO can be stated on.
const (
	Mean LatencyMetric = iota
	P95
	P99
)

// String returns "mean", "p95" or "p99".
func (m LatencyMetric) String() string {
	switch m {
	case P95:
		return "p95"
	case P99:
		return "p99"
	default:
		return "mean"
	}
}

// Pick returns the one of three values that belongs to the metric: mean for Mean, p95 for
// P95, p99 for P99. It is the one place that maps an SLO's metric onto a latency triple
// (profile points, profiling samples, measured intervals in every backend), so that every
// judge of an SLO reads the same statistic.
func (m LatencyMetric) Pick(mean, p95, p99 float64) float64 {
	switch m {
	case P95:
		return p95
	case P99:
		return p99
	default:
		return mean
	}
}

// ParseLatencyMetric parses "mean", "p95" or "p99".
func ParseLatencyMetric(s string) (LatencyMetric, error) {
	switch s {
	case "mean", "avg", "":
		return Mean, nil
	case "p95":
		return P95, nil
	case "p99":
		return P99, nil
	}
	return Mean, fmt.Errorf("unknown SLO metric %q (valid: mean, p95, p99)", s)
}

// CapacityAt returns the largest per-pod load (req/s) at which the profile's latency metric
// stays at or below sloMS, searching the curve. It returns an error when even an idle pod
// misses the SLO.
func (p *Profile) CapacityAt(metric LatencyMetric, sloMS float64) (float64, error) {
	if !(sloMS > 0) {
		return 0, fmt.Errorf("SLO must be positive, got %g ms", sloMS)
	}
	if p.At(0).Latency(metric) > sloMS {
		return 0, fmt.Errorf("profile %s: an idle pod's %s latency is %.3g ms, above the SLO of %g ms: no number of pods can meet it",
			p.Name, metric, p.At(0).Latency(metric), sloMS)
	}
	if p.At(p.MaxLoad).Latency(metric) <= sloMS {
		return p.MaxLoad, nil
	}
	lo, hi := 0.0, p.MaxLoad
	for range 60 {
		mid := (lo + hi) / 2
		if p.At(mid).Latency(metric) <= sloMS {
			lo = mid
		} else {
			hi = mid
		}
	}
	return lo, nil
}

// Memory models one pod's working set as a function of its load: BaseBytes when idle (the
// runtime, caches, loaded model) plus BytesPerRPS for each request per second it serves
// (per-request buffers alive for the request's duration and caches that grow with the
// traffic mix). Linear is the simplest model that makes a workload memory-bound: working set
// reaches a per-pod limit at a load below the CPU target's. Under saturation the load is the
// pod's capacity.
type Memory struct {
	BaseBytes, BytesPerRPS float64
}

// Modelled reports whether the profile carries memory.
func (m Memory) Modelled() bool { return m.BaseBytes > 0 || m.BytesPerRPS > 0 }

// At returns one pod's working set at load req/s per pod.
func (m Memory) At(load float64) float64 { return m.BaseBytes + m.BytesPerRPS*load }

// Validate rejects negative or non-finite coefficients.
func (m Memory) Validate() error {
	for _, v := range []struct {
		name string
		v    float64
	}{{"memory base bytes", m.BaseBytes}, {"memory bytes per req/s", m.BytesPerRPS}} {
		if !(v.v >= 0) || math.IsInf(v.v, 0) {
			return fmt.Errorf("profile %s: %g, want a finite number >= 0", v.name, v.v)
		}
	}
	return nil
}
