package forecast

import (
	"errors"
	"fmt"
	"math"
)

// HoltWintersFixed is Holt-Winters with smoothing parameters given instead of fitted, for
// users of the method who configure alpha, beta and gamma themselves (the Predictive
// Horizontal Pod Autoscaler does). It runs the same filter as the fitted HoltWinters model:
// additive level and linear trend, an additive season of Period steps (Period < 2: none),
// initialised from the first whole seasons (at most three).
type HoltWintersFixed struct {
	Alpha, Beta, Gamma float64
	Period             int
}

// MinHistory is the number of points Forecast needs: two seasons, or 3 without a season.
func (p HoltWintersFixed) MinHistory() int { return p.config().minHistory() }

func (p HoltWintersFixed) config() hwConfig {
	c := hwConfig{Mode: "add", Trend: "linear", Period: p.Period, Alpha: p.Alpha, Beta: p.Beta, Gamma: p.Gamma, Phi: 1}
	if p.Period < 2 {
		c.Mode, c.Period, c.Gamma = "none", 0, 0
	}
	return c
}

// Validate checks that the parameters are smoothing weights in [0, 1].
func (p HoltWintersFixed) Validate() error {
	for _, x := range []struct {
		name string
		v    float64
	}{{"alpha", p.Alpha}, {"beta", p.Beta}, {"gamma", p.Gamma}} {
		if !(x.v >= 0 && x.v <= 1) {
			return fmt.Errorf("holt-winters %s=%v: must be in [0, 1]", x.name, x.v)
		}
	}
	return nil
}

// Forecast filters through v (oldest first) and returns the point forecast h >= 1 steps
// after its last value.
func (p HoltWintersFixed) Forecast(v []float64, h int) (float64, error) {
	c := p.config()
	if h < 1 {
		return 0, fmt.Errorf("holt-winters: horizon %d < 1", h)
	}
	if len(v) < c.minHistory() {
		return 0, fmt.Errorf("holt-winters: %d points, need at least %d", len(v), c.minHistory())
	}
	st := newHWState(c)
	if sse, _ := c.run(v, st, nil); math.IsInf(sse, 1) || math.IsNaN(sse) {
		return 0, errors.New("holt-winters: the filter diverged")
	}
	return c.point(st, len(v), h), nil
}
