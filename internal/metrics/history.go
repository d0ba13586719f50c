package metrics

import (
	"context"
	"fmt"
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

// RateQuery returns the PromQL the source reads the arrival rate with for periods of
// length step: the same query the controller's loop sends.
func (p *Prometheus) RateQuery(step time.Duration) string { return p.q.build(step).rate }

// RateSeries reads the arrival rate (req/s) of every period of w as a series, for training
// a model on what the controller saw. The series starts at w.Start() with step w.Step. A
// period without a measurement is an error naming it: a training set with holes would
// be silently different from the one recorded in its lineage.
func (p *Prometheus) RateSeries(ctx context.Context, w Window) (series.Series, error) {
	if err := w.Validate(); err != nil {
		return series.Series{}, err
	}
	vals := make([]float64, w.Count)
	for i := range vals {
		vals[i] = math.NaN()
	}
	q := p.RateQuery(w.Step)
	if err := p.single(ctx, w, q, true, func(i int, v float64) { vals[i] = v }); err != nil {
		return series.Series{}, err
	}
	missing, first := 0, -1
	for i, v := range vals {
		if math.IsNaN(v) {
			if first < 0 {
				first = i
			}
			missing++
		}
	}
	if missing > 0 {
		return series.Series{}, fmt.Errorf("prometheus %s: query %q: %d of %d periods have no rate, the first starting %s",
			p.addr, q, missing, w.Count, w.Start().Add(time.Duration(first)*w.Step).UTC().Format(time.RFC3339))
	}
	return series.Series{Name: "prometheus:" + q, Start: w.Start().UTC(), Step: w.Step, Values: vals}, nil
}
