package metrics

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// PrometheusOptions configure a Prometheus source.
type PrometheusOptions struct {
	// Address is the server's base URL, e.g. http://127.0.0.1:9090.
	Address string
	// Timeout bounds each query; default 10 s.
	Timeout time.Duration
	// Queries choose the PromQL.
	Queries Queries
	// SLOMS is the latency target used to compute Point.OverSLO, milliseconds.
	SLOMS float64
	// Client is the HTTP client; nil means a default one.
	Client *http.Client
	// OnOptional, when set, is told of each optional query (memory) that failed: the read
	// goes on without it (the value stays NaN). The controller reports it; nil ignores it.
	OnOptional func(err error)
}

// Prometheus reads Points from a Prometheus server with range queries.
//
// Series handling: preset queries aggregate with sum() so they return at most one series.
// Custom queries may return several: rate and error queries are summed, latency and CPU
// queries must return exactly one series (averaging latencies of unequal traffic would be
// wrong), otherwise the read fails with ErrManySeries.
type Prometheus struct {
	addr    string
	api     promv1.API
	timeout time.Duration
	q       Queries
	sloMS   float64
	onOpt   func(error)
}

// NewPrometheus checks the options and builds the source; it does not contact the server.
func NewPrometheus(o PrometheusOptions) (*Prometheus, error) {
	if err := o.Queries.validate(); err != nil {
		return nil, err
	}
	cfg := api.Config{Address: o.Address}
	if o.Client != nil {
		cfg.Client = o.Client
	}
	c, err := api.NewClient(cfg)
	if err != nil {
		return nil, fmt.Errorf("prometheus address %q: %w", o.Address, err)
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	return &Prometheus{addr: o.Address, api: promv1.NewAPI(c), timeout: o.Timeout, q: o.Queries, sloMS: o.SLOMS, onOpt: o.OnOptional}, nil
}

// Range implements Source.
func (p *Prometheus) Range(ctx context.Context, w Window) ([]Point, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	qs := p.q.build(w.Step)
	pts := make([]Point, w.Count)
	for i := range pts {
		pts[i] = Point{Start: w.Start().Add(time.Duration(i) * w.Step),
			Rate: math.NaN(), Errors: 0, LatencyMeanMS: math.NaN(), LatencyP95MS: math.NaN(),
			LatencyP99MS: math.NaN(), OverSLO: math.NaN(), CPU: math.NaN(), MemoryBytes: math.NaN()}
	}
	set := func(f func(*Point, float64)) func(i int, v float64) { return func(i int, v float64) { f(&pts[i], v) } }
	if p.q.CPUOnly {
		if qs.cpu == "" {
			return nil, fmt.Errorf("prometheus %s: CPU-only read needs a CPU query (preset %s, CPU source %q)", p.addr, p.q.Preset, p.q.CPUSource)
		}
		if err := p.single(ctx, w, qs.cpu, false, set(func(pt *Point, v float64) { pt.CPU = v })); err != nil {
			return nil, err
		}
		return pts, nil
	}

	// With a wake-up source the destination may have no series at all (no pod in the whole
	// window): that is not "no data" as long as the wake-up source counted.
	noPods := func(err error) bool { return qs.wakeUp != "" && errors.Is(err, ErrNoData) }
	if err := p.single(ctx, w, qs.rate, true, set(func(pt *Point, v float64) { pt.Rate = v })); err != nil && !noPods(err) {
		return nil, err
	}
	if qs.errors != "" {
		if err := p.single(ctx, w, qs.errors, true, set(func(pt *Point, v float64) { pt.Errors = v })); err != nil && !errors.Is(err, ErrNoData) {
			return nil, err
		}
	}
	if qs.latencyMean != "" {
		if err := p.single(ctx, w, qs.latencyMean, false, set(func(pt *Point, v float64) { pt.LatencyMeanMS = v * qs.bucketScale })); err != nil && !errors.Is(err, ErrNoData) {
			return nil, err
		}
	}
	if qs.customLatency != "" {
		// The custom latency query states the SLO's statistic; it stands for all three.
		if err := p.single(ctx, w, qs.customLatency, false, set(func(pt *Point, v float64) {
			pt.LatencyMeanMS, pt.LatencyP95MS, pt.LatencyP99MS = v, v, v
		})); err != nil && !errors.Is(err, ErrNoData) {
			return nil, err
		}
	}
	if qs.buckets != "" {
		if err := p.histograms(ctx, w, qs.buckets, qs.bucketScale, pts); err != nil && !noPods(err) {
			return nil, err
		}
	}
	if qs.cpu != "" {
		if err := p.single(ctx, w, qs.cpu, false, set(func(pt *Point, v float64) { pt.CPU = v })); err != nil && !noPods(err) {
			return nil, err
		}
	} else {
		for i := range pts {
			pts[i].CPU = 0 // no CPU source configured: documented as 0
		}
	}
	if qs.memory != "" {
		// Memory is optional: whatever makes its query fail (no cAdvisor series, a rejected
		// query, a timeout) leaves it NaN and is reported, never failing the read of the
		// rate, latency and CPU the policies need.
		err := p.single(ctx, w, qs.memory, false, set(func(pt *Point, v float64) { pt.MemoryBytes = v }))
		if err != nil && p.onOpt != nil {
			p.onOpt(fmt.Errorf("optional memory query: %w", err))
		}
	}
	if qs.wakeUp != "" {
		wake := make([]float64, w.Count)
		for i := range wake {
			wake[i] = math.NaN()
		}
		if err := p.single(ctx, w, qs.wakeUp, true, func(i int, v float64) { wake[i] = v }); err != nil {
			// Without the wake-up count a window with no destination series is no data.
			return nil, fmt.Errorf("wake-up source %s: %w", p.q.WakeUp, err)
		}
		applyWakeUp(pts, wake, qs.wakeCounts)
	}
	// An idle period has no latency: 0/0 from the mean query means "no requests".
	for i := range pts {
		pt := &pts[i]
		if pt.Rate == 0 {
			for _, v := range []*float64{&pt.LatencyMeanMS, &pt.LatencyP95MS, &pt.LatencyP99MS, &pt.OverSLO} {
				if math.IsNaN(*v) {
					*v = 0
				}
			}
		}
		if pt.Errors > pt.Rate {
			pt.Errors = pt.Rate
		}
	}
	return pts, nil
}

// query runs one range query and returns its matrix.
func (p *Prometheus) query(ctx context.Context, w Window, q string) (model.Matrix, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	r := promv1.Range{Start: w.Start().Add(w.Step), End: w.End, Step: w.Step}
	v, _, _, err := p.api.QueryRange(ctx, q, r)
	if err != nil {
		return nil, p.classify(q, err)
	}
	m, ok := v.(model.Matrix)
	if !ok {
		return nil, &QueryError{Address: p.addr, Query: q, Kind: ErrBadResponse, Err: fmt.Errorf("result type %s, want matrix", typeName(v))}
	}
	return m, nil
}

func typeName(v model.Value) string {
	if v == nil {
		return "none"
	}
	return v.Type().String()
}

// classify maps client errors to the package's error kinds.
func (p *Prometheus) classify(q string, err error) error {
	kind := ErrUnavailable
	var apiErr *promv1.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		kind = ErrTimeout
	case errors.As(err, &apiErr):
		switch apiErr.Type {
		case promv1.ErrBadData, promv1.ErrExec:
			kind = ErrQuery
		case promv1.ErrTimeout, promv1.ErrCanceled:
			kind = ErrTimeout
		case promv1.ErrBadResponse:
			kind = ErrBadResponse
		}
	}
	return &QueryError{Address: p.addr, Query: q, Kind: kind, Err: err}
}

// index maps a sample's timestamp to the point whose period it ends.
func index(w Window, ts model.Time) (int, bool) {
	end := ts.Time()
	k := float64(end.Sub(w.Start())) / float64(w.Step)
	i := int(math.Round(k)) - 1
	if i < 0 || i >= w.Count || math.Abs(k-math.Round(k)) > 0.01 {
		return 0, false
	}
	return i, true
}

// clean turns impossible samples (NaN, ±Inf, negative) into "not measured".
func clean(v model.SampleValue) float64 {
	f := float64(v)
	if math.IsNaN(f) || math.IsInf(f, 0) || f < 0 {
		return math.NaN()
	}
	return f
}

// single runs a query that must yield one value per period. With sum set, several series
// are summed; otherwise several series are an error.
func (p *Prometheus) single(ctx context.Context, w Window, q string, sum bool, put func(int, float64)) error {
	m, err := p.query(ctx, w, q)
	if err != nil {
		return err
	}
	if len(m) == 0 {
		return &QueryError{Address: p.addr, Query: q, Kind: ErrNoData}
	}
	if len(m) > 1 && !sum {
		return &QueryError{Address: p.addr, Query: q, Kind: ErrManySeries, Err: fmt.Errorf("%d series, e.g. %s and %s", len(m), m[0].Metric, m[1].Metric)}
	}
	acc := make([]float64, w.Count)
	seen := make([]bool, w.Count)
	for _, s := range m {
		for _, sp := range s.Values {
			i, ok := index(w, sp.Timestamp)
			if !ok {
				continue
			}
			acc[i] += clean(sp.Value) // NaN poisons the sum: one bad series makes the period unknown
			seen[i] = true
		}
	}
	for i := range acc {
		if seen[i] {
			put(i, acc[i])
		}
	}
	return nil
}

// histograms reads per-bucket rates and fills the percentiles and the over-SLO share.
func (p *Prometheus) histograms(ctx context.Context, w Window, q string, scale float64, pts []Point) error {
	m, err := p.query(ctx, w, q)
	if err != nil {
		return err
	}
	if len(m) == 0 {
		return &QueryError{Address: p.addr, Query: q, Kind: ErrNoData}
	}
	hs := make([]histogram, w.Count)
	for _, s := range m {
		leStr, ok := s.Metric["le"]
		if !ok {
			return &QueryError{Address: p.addr, Query: q, Kind: ErrBadResponse, Err: fmt.Errorf("series %s has no le label", s.Metric)}
		}
		le, err := strconv.ParseFloat(string(leStr), 64)
		if err != nil {
			return &QueryError{Address: p.addr, Query: q, Kind: ErrBadResponse, Err: fmt.Errorf("series %s: bad le %q", s.Metric, leStr)}
		}
		for _, sp := range s.Values {
			if i, ok := index(w, sp.Timestamp); ok {
				hs[i] = append(hs[i], bucket{UpperBound: le * scale, Count: float64(sp.Value)})
			}
		}
	}
	for i, h := range hs {
		if len(h) == 0 {
			continue
		}
		h, err := h.normalize()
		if err != nil {
			continue // a broken period stays unmeasured (NaN); gaps are handled by the caller
		}
		pts[i].LatencyP95MS = h.quantile(0.95)
		pts[i].LatencyP99MS = h.quantile(0.99)
		if p.sloMS > 0 {
			pts[i].OverSLO = h.fractionAbove(p.sloMS)
		} else {
			pts[i].OverSLO = 0
		}
	}
	return nil
}
