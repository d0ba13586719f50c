package controller

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/driver"
	"github.com/bascaler/bascaler/internal/metrics"
)

// podCPURecord is the metric source of cpu.source metrics-api. The metrics API keeps no
// history, so the controller reads it once per tick and keeps its own record of completed
// ticks; the driver's Feed then reads this record like any Source. A reading is recorded
// as the tick that ends at the read (metrics-server's sample covers its window before its
// timestamp, so it is past data). Request rate and latency are not measured and are 0;
// only CPU-only policies run on it.
type podCPURecord struct {
	reader   *metrics.PodMetricsCPU
	interval time.Duration
	tick     time.Duration
	ticks    []driver.Point // oldest first
	err      error          // the last read's error, returned by Range until a read succeeds
}

// sample reads the metrics API at the tick boundary t. A failed read is recorded as a gap
// (NaN CPU, filled from the previous tick by the Feed once reads succeed again); ticks
// missed while the controller was busy or down are gaps too.
func (p *podCPURecord) sample(ctx context.Context, ns, selector string, t time.Time, tick time.Duration) {
	p.tick = tick
	if n := len(p.ticks); n > 0 {
		for s := p.ticks[n-1].Start.Add(tick); s.Add(tick).Before(t) && len(p.ticks) < n+driver.RecentTicks; s = s.Add(tick) {
			p.ticks = append(p.ticks, driver.Point{Start: s, CPU: math.NaN()})
		}
	}
	rd, err := p.reader.Read(ctx, ns, selector)
	pt := driver.Point{Start: t.Add(-tick), CPU: rd.Utilization}
	if err != nil {
		pt.CPU = math.NaN()
	}
	p.err = err
	if n := len(p.ticks); n == 0 || p.ticks[n-1].Start.Before(pt.Start) {
		p.ticks = append(p.ticks, pt)
	}
	// Enough ticks for Recent and for the interval being filled.
	keep := max(driver.RecentTicks, int(p.interval/tick)+1)
	if extra := len(p.ticks) - keep; extra > 0 {
		p.ticks = append(p.ticks[:0], p.ticks[extra:]...)
	}
}

// Range implements driver.Source: a period's CPU is the mean of the recorded ticks inside
// it; a period with no recorded tick has no rate (NaN: before the record began).
func (p *podCPURecord) Range(_ context.Context, w driver.Window) ([]driver.Point, error) {
	if err := w.Validate(); err != nil {
		return nil, err
	}
	if p.err != nil {
		if errors.Is(p.err, driver.ErrNoData) {
			// Pods exist but metrics-server has no sample of them: a failed read (counted
			// towards the fallback), not the driver's "no data yet".
			return nil, fmt.Errorf("%w: %v", driver.ErrUnavailable, p.err)
		}
		return nil, p.err
	}
	pts := make([]driver.Point, w.Count)
	for i := range pts {
		start := w.Start().Add(time.Duration(i) * w.Step)
		end := start.Add(w.Step)
		pt := driver.Point{Start: start, Rate: math.NaN(), CPU: math.NaN(), MemoryBytes: math.NaN()}
		sum, k, seen := 0.0, 0, false
		for _, tp := range p.ticks {
			if tp.Start.Before(start) || tp.Start.Add(p.tick).After(end) {
				continue
			}
			seen = true
			if !math.IsNaN(tp.CPU) {
				sum, k = sum+tp.CPU, k+1
			}
		}
		if seen {
			pt.Rate = 0
			if k > 0 {
				pt.CPU = sum / float64(k)
			}
		}
		pts[i] = pt
	}
	return pts, nil
}
