package perf

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
)

// ProfilingSample is one measurement of a deployment under a steady load: what a load test
// at one operating point reports. The SVR performance model is trained on these.
type ProfilingSample struct {
	LoadPerPod float64 // requests per second per pod
	Replicas   int     // pods serving during the measurement
	CPUPct     float64 // mean CPU utilisation, % of the pod's CPU request
	MeanMS     float64 // mean response time, ms
	P95MS      float64 // 95th percentile response time, ms
	P99MS      float64 // 99th percentile response time, ms
	ErrorRate  float64 // share of requests that failed, 0..1
}

// ProfilingHeader is the header of a profiling CSV, in the order WriteProfilingCSV writes it.
var ProfilingHeader = []string{"load_per_pod", "replicas", "cpu_pct", "latency_mean_ms", "latency_p95_ms", "latency_p99_ms", "error_rate"}

// WriteProfilingCSV writes samples with ProfilingHeader.
func WriteProfilingCSV(w io.Writer, samples []ProfilingSample) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ProfilingHeader); err != nil {
		return err
	}
	// Shortest exact form: a file written here reads back bit for bit (a registry version
	// fitted from it names the same data as one fitted from the samples themselves).
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	for _, s := range samples {
		rec := []string{f(s.LoadPerPod), strconv.Itoa(s.Replicas), f(s.CPUPct), f(s.MeanMS), f(s.P95MS), f(s.P99MS), f(s.ErrorRate)}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// LoadProfilingCSV reads a profiling CSV file (see ReadProfilingCSV).
func LoadProfilingCSV(path string) ([]ProfilingSample, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load profiling data: %w", err)
	}
	return ReadProfilingCSV(bytes.NewReader(b), path)
}

// ReadProfilingCSV parses profiling data. The header is required and must name every column
// of ProfilingHeader, in any order; further columns are ignored. Every value must be a
// finite, non-negative number, replicas a positive integer and error_rate at most 1. Errors
// name the source, the line and the field, e.g. "prof.csv:7: latency_p95_ms: "x" is not a
// number".
func ReadProfilingCSV(r io.Reader, name string) ([]ProfilingSample, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = true
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file: need the header %v", name, ProfilingHeader)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	col, err := columnIndex(name, header, ProfilingHeader)
	if err != nil {
		return nil, err
	}
	width := len(header)
	var out []ProfilingSample
	for {
		rec, line, err := nextRecord(cr, name, width)
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		num := func(field string) (float64, error) {
			s := strings.TrimSpace(rec[col[field]])
			v, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return 0, fmt.Errorf("%s:%d: %s: %q is not a number", name, line, field, s)
			}
			if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
				return 0, fmt.Errorf("%s:%d: %s: %s must be finite and non-negative", name, line, field, s)
			}
			return v, nil
		}
		var s ProfilingSample
		var reps float64
		for _, f := range []struct {
			name string
			dst  *float64
		}{
			{"load_per_pod", &s.LoadPerPod}, {"replicas", &reps}, {"cpu_pct", &s.CPUPct},
			{"latency_mean_ms", &s.MeanMS}, {"latency_p95_ms", &s.P95MS}, {"latency_p99_ms", &s.P99MS},
			{"error_rate", &s.ErrorRate},
		} {
			if *f.dst, err = num(f.name); err != nil {
				return nil, err
			}
		}
		if reps < 1 || reps != math.Trunc(reps) {
			return nil, fmt.Errorf("%s:%d: replicas: %s must be a positive integer", name, line, rec[col["replicas"]])
		}
		s.Replicas = int(reps)
		if s.ErrorRate > 1 {
			return nil, fmt.Errorf("%s:%d: error_rate: %s is a share and must be at most 1", name, line, rec[col["error_rate"]])
		}
		out = append(out, s)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no data rows after the header", name)
	}
	return out, nil
}

// columnIndex maps each wanted column to its position in header, or fails naming the missing
// and duplicated ones.
func columnIndex(name string, header, want []string) (map[string]int, error) {
	idx := map[string]int{}
	for i, h := range header {
		// Spreadsheets add a byte-order mark and spaces after commas; neither is part of a name.
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		if _, dup := idx[h]; dup {
			return nil, fmt.Errorf("%s:1: column %q appears twice", name, h)
		}
		idx[h] = i
	}
	var missing []string
	for _, w := range want {
		if _, ok := idx[w]; !ok {
			missing = append(missing, w)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("%s:1: header lacks column(s) %v (need %v)", name, missing, want)
	}
	return idx, nil
}

// SamplingOptions configure SampleProfile.
type SamplingOptions struct {
	Samples int
	Seed    uint64
	// HighShare is the share of samples drawn from the upper half of the load range (50-100%
	// of the profile's saturation load), where latency bends and the SLO is decided.
	// Default 0.75, the BAScaler paper's balanced sampling.
	HighShare float64
	// MaxReplicas bounds the replica count drawn per sample (uniform on 1..MaxReplicas).
	// Default 8. It changes how many requests a measurement averages over, hence its noise.
	MaxReplicas int
	// WindowSeconds is the length of one measurement; default 60.
	WindowSeconds float64
	// EnvNoise is the standard deviation of the multiplicative slowdown every latency in a
	// sample shares (a busier node, a colder cache); default 0.03.
	EnvNoise float64
	// CPUNoisePct is the standard deviation of the additive CPU measurement noise, in
	// percentage points; default 1.
	CPUNoisePct float64
}

func (o SamplingOptions) withDefaults() SamplingOptions {
	if o.HighShare == 0 {
		o.HighShare = 0.75
	}
	if o.MaxReplicas == 0 {
		o.MaxReplicas = 8
	}
	if o.WindowSeconds == 0 {
		o.WindowSeconds = 60
	}
	if o.EnvNoise == 0 {
		o.EnvNoise = 0.03
	}
	if o.CPUNoisePct == 0 {
		o.CPUNoisePct = 1
	}
	return o
}

// SampleProfile simulates a profiling campaign against a performance profile.
//
// Loads: a share HighShare of the samples is uniform on [0.5, 1]·MaxLoad, the rest uniform
// on [0, 0.5)·MaxLoad (the paper's balanced sampling), shuffled.
//
// Noise: each sample measures a window of WindowSeconds at Replicas pods, so it averages
// N = load·replicas·window requests whose response time follows the profile's shifted
// exponential d + Exp(m) (see Profile). The statistical error of the estimates is then
// m/√N for the mean and m·√(q/((1-q)N)) for the q-quantile (the asymptotic standard error
// of a sample quantile, σ_q = √(q(1-q)/N)/f(x_q), with f(x_q) = (1-q)/m). On top, every
// latency of a sample shares a slowdown factor 1+EnvNoise·Z, and CPU gets CPUNoisePct
// percentage points of additive noise. Values are clamped so that 0 < mean <= p95 <= p99
// and CPU >= 0. Error rate is 0: samples never exceed the saturation load.
func SampleProfile(p *Profile, o SamplingOptions) ([]ProfilingSample, error) {
	o = o.withDefaults()
	if o.Samples <= 0 {
		return nil, fmt.Errorf("profiling: need a positive number of samples, got %d", o.Samples)
	}
	if !(o.HighShare >= 0 && o.HighShare <= 1) {
		return nil, fmt.Errorf("profiling: high-load share must be in [0, 1], got %g", o.HighShare)
	}
	if o.MaxReplicas < 1 || !(o.WindowSeconds > 0) || !(o.EnvNoise >= 0) || !(o.CPUNoisePct >= 0) {
		return nil, fmt.Errorf("profiling: invalid options %+v", o)
	}
	r := rand.New(rand.NewPCG(o.Seed, 0x9f0f11e))
	nHigh := int(math.Round(o.HighShare * float64(o.Samples)))
	out := make([]ProfilingSample, o.Samples)
	for i := range out {
		u := r.Float64()
		load := 0.5 * u * p.MaxLoad
		if i < nHigh {
			load = (0.5 + 0.5*u) * p.MaxLoad
		}
		reps := 1 + r.IntN(o.MaxReplicas)
		pt := p.At(load)
		n := math.Max(1, load*float64(reps)*o.WindowSeconds)
		m := (pt.P95MS - pt.MeanMS) / (math.Log(20) - 1) // exponential part of the shifted law
		if m < 0 {
			m = 0
		}
		env := math.Max(0.5, 1+o.EnvNoise*r.NormFloat64())
		quantErr := func(q float64) float64 { return m * math.Sqrt(q/((1-q)*n)) * r.NormFloat64() }
		mean := env * (pt.MeanMS + m/math.Sqrt(n)*r.NormFloat64())
		p95 := env * (pt.P95MS + quantErr(0.95))
		p99 := env * (pt.P99MS + quantErr(0.99))
		mean = math.Max(mean, 0.01)
		p95 = math.Max(p95, mean)
		p99 = math.Max(p99, p95)
		out[i] = ProfilingSample{
			LoadPerPod: load,
			Replicas:   reps,
			CPUPct:     math.Max(0, 100*pt.CPU+o.CPUNoisePct*r.NormFloat64()),
			MeanMS:     mean,
			P95MS:      p95,
			P99MS:      p99,
		}
	}
	r.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out, nil
}

// nextRecord reads one CSV record and checks that it has width fields. Errors name
// source:line; io.EOF (unwrapped) marks the end of the file.
func nextRecord(cr *csv.Reader, source string, width int) (rec []string, line int, err error) {
	rec, err = cr.Read()
	if err == io.EOF {
		return nil, 0, io.EOF
	}
	line, _ = cr.FieldPos(0)
	if err != nil {
		var pe *csv.ParseError
		if errors.As(err, &pe) {
			return nil, pe.Line, fmt.Errorf("%s:%d: %v", source, pe.Line, pe.Err)
		}
		return nil, line, fmt.Errorf("%s:%d: %w", source, line, err)
	}
	if len(rec) != width {
		return nil, line, fmt.Errorf("%s:%d: %d fields, the header has %d", source, line, len(rec), width)
	}
	return rec, line, nil
}
