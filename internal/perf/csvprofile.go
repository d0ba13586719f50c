package perf

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// ProfileHeader is the header of a performance-profile CSV: one row per operating point of a
// single pod, CPU in % of the pod's CPU request.
var ProfileHeader = []string{"load", "mean_ms", "p95_ms", "p99_ms", "cpu_pct"}

// LoadProfileCSV reads a performance profile from a file (see ReadProfileCSV); the profile is
// named after the file's base name without extension.
func LoadProfileCSV(path string) (*Profile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load profile: %w", err)
	}
	name := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	return ReadProfileCSV(bytes.NewReader(b), path, name)
}

// ReadProfileCSV reads a performance profile. Two layouts are accepted, told apart by the
// header (required):
//
//   - a profile: columns ProfileHeader (any order, extra columns ignored), one operating
//     point per row. Rows may come in any order; loads must be distinct. The heaviest load
//     is the saturation load.
//   - profiling data: columns ProfilingHeader (see ReadProfilingCSV). Then SVRs are fitted
//     (FitProfile) and tabulated into a profile.
//
// source names the input in errors ("file:line: field: problem"); name is the profile's name.
func ReadProfileCSV(r io.Reader, source, name string) (*Profile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	first, _, _ := bytes.Cut(data, []byte("\n"))
	if slices.Contains(splitHeader(first), "load_per_pod") {
		samples, err := ReadProfilingCSV(bytes.NewReader(data), source)
		if err != nil {
			return nil, err
		}
		p, err := FitProfile(name, samples, nil)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		return p, nil
	}
	return readProfilePoints(data, source, name)
}

func splitHeader(line []byte) []string {
	parts := strings.Split(strings.TrimSpace(strings.TrimPrefix(string(line), "\ufeff")), ",")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

func readProfilePoints(data []byte, source, name string) (*Profile, error) {
	cr := csv.NewReader(bytes.NewReader(data))
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err == io.EOF {
		return nil, fmt.Errorf("%s: empty file: need the header %v", source, ProfileHeader)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	col, err := columnIndex(source, header, ProfileHeader)
	if err != nil {
		return nil, fmt.Errorf("%w (or a profiling CSV with %v)", err, ProfilingHeader)
	}
	var pts []Point
	lineOf := map[float64]int{}
	for {
		rec, line, err := nextRecord(cr, source, len(header))
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		var v [5]float64
		for k, field := range ProfileHeader {
			s := rec[col[field]]
			x, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil {
				return nil, fmt.Errorf("%s:%d: %s: %q is not a number", source, line, field, s)
			}
			if math.IsNaN(x) || math.IsInf(x, 0) || x < 0 {
				return nil, fmt.Errorf("%s:%d: %s: %s must be finite and non-negative", source, line, field, s)
			}
			v[k] = x
		}
		p := Point{Load: v[0], MeanMS: v[1], P95MS: v[2], P99MS: v[3], CPU: v[4] / 100}
		switch {
		case p.MeanMS <= 0:
			return nil, fmt.Errorf("%s:%d: mean_ms: must be positive", source, line)
		case p.P95MS < p.MeanMS/2:
			return nil, fmt.Errorf("%s:%d: p95_ms: %g is below half the mean (%g)", source, line, p.P95MS, p.MeanMS)
		case p.P99MS < p.P95MS:
			return nil, fmt.Errorf("%s:%d: p99_ms: %g is below p95_ms (%g)", source, line, p.P99MS, p.P95MS)
		}
		if prev, dup := lineOf[p.Load]; dup {
			return nil, fmt.Errorf("%s:%d: load: %g already given on line %d", source, line, p.Load, prev)
		}
		lineOf[p.Load] = line
		pts = append(pts, p)
	}
	if len(pts) == 0 {
		return nil, fmt.Errorf("%s: no data rows after the header", source)
	}
	p, err := NewProfile(name, pts, 0)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", source, err)
	}
	return p, nil
}

// profilePoints is the number of operating points FitProfile tabulates.
const profilePoints = 64

// FitProfile turns profiling data into a Profile: one SVR per statistic (mean, p95, p99
// latency and CPU; grid nil means DefaultSVRParams, else cross-validated), evaluated at 64
// loads across [0, heaviest profiled load], which becomes the saturation load. Below the
// lightest profiled load the curve is held flat (no extrapolation). The tabulated values are
// made consistent for the simulator: latency at least 0.01 ms, p95 >= mean, p99 >= p95,
// CPU >= 0.
func FitProfile(name string, samples []ProfilingSample, grid *Grid) (*Profile, error) {
	return FitProfileWith(name, samples, CapacityOptions{Grid: grid})
}

// FitProfileWith is FitProfile with o's SVR parameters or grid (o.Metric is ignored: every
// statistic gets its curve).
func FitProfileWith(name string, samples []ProfilingSample, o CapacityOptions) (*Profile, error) {
	o.Metric = Mean
	m, err := FitCapacityModel(samples, o)
	if err != nil {
		return nil, fmt.Errorf("fit profile %s: %w", name, err)
	}
	x := make([][]float64, len(samples))
	p95 := make([]float64, len(samples))
	p99 := make([]float64, len(samples))
	for i, s := range samples {
		x[i], p95[i], p99[i] = []float64{s.LoadPerPod}, s.P95MS, s.P99MS
	}
	f95, _, err := fitLoadCurve(x, p95, "p95 latency", o)
	if err != nil {
		return nil, fmt.Errorf("fit profile %s: %w", name, err)
	}
	f99, _, err := fitLoadCurve(x, p99, "p99 latency", o)
	if err != nil {
		return nil, fmt.Errorf("fit profile %s: %w", name, err)
	}
	lo, hi := m.MinLoad, m.MaxLoad
	pts := make([]Point, profilePoints+1)
	for k := range pts {
		load := hi * float64(k) / profilePoints
		at := math.Max(load, lo)
		mean := math.Max(0.01, m.LatencyAt(at))
		q95 := math.Max(mean, f95.Predict1(at))
		q99 := math.Max(q95, f99.Predict1(at))
		pts[k] = Point{Load: load, MeanMS: mean, P95MS: q95, P99MS: q99, CPU: m.CPUAt(at)}
	}
	return NewProfile(name, pts, hi)
}

// WriteProfileCSV writes p in the profile layout ReadProfileCSV reads (ProfileHeader): its
// points up to the saturation load, ending with the point at MaxLoad, so the profile read
// back answers At as p does. The memory model is not part of the layout and is not written.
func WriteProfileCSV(w io.Writer, p *Profile) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(ProfileHeader); err != nil {
		return err
	}
	num := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	row := func(pt Point) error {
		return cw.Write([]string{num(pt.Load), num(pt.MeanMS), num(pt.P95MS), num(pt.P99MS), num(100 * pt.CPU)})
	}
	for _, pt := range p.Points {
		if pt.Load >= p.MaxLoad {
			break
		}
		if err := row(pt); err != nil {
			return err
		}
	}
	if err := row(p.interpolate(p.MaxLoad)); err != nil {
		return err
	}
	cw.Flush()
	return cw.Error()
}
