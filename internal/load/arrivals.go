package load

import (
	"fmt"
	"math/rand/v2"
	"time"
)

// Arrivals is the open-loop arrival process.
type Arrivals int

const (
	// Uniform spaces requests evenly at the schedule's rate.
	Uniform Arrivals = iota
	// Poisson draws exponential gaps (coefficient of variation 1) around the schedule's
	// rate, as independent users arrive; seeded, so a run is repeatable.
	Poisson
)

// String returns the flag spelling.
func (a Arrivals) String() string {
	switch a {
	case Uniform:
		return "uniform"
	case Poisson:
		return "poisson"
	}
	return fmt.Sprintf("Arrivals(%d)", int(a))
}

// ParseArrivals reads "uniform" or "poisson".
func ParseArrivals(s string) (Arrivals, error) {
	switch s {
	case "uniform":
		return Uniform, nil
	case "poisson":
		return Poisson, nil
	}
	return 0, fmt.Errorf("arrivals %q: want uniform or poisson", s)
}

// arrivalClock yields the due times of successive requests. Both processes walk the
// schedule's expected-count axis: uniform in steps of 1, Poisson in Exp(1) steps, and
// Schedule.TimeAt maps a position back to wall time.
type arrivalClock struct {
	s   *Schedule
	a   Arrivals
	rng *rand.Rand
	x   float64
	n   uint64
}

func newArrivalClock(s *Schedule, a Arrivals, seed uint64) *arrivalClock {
	c := &arrivalClock{s: s, a: a, rng: rand.New(rand.NewPCG(seed, 0x6c6f6164))}
	if a == Poisson {
		c.x = c.rng.ExpFloat64()
	}
	return c
}

// next returns the due time of the next request; ok is false once the schedule is over.
func (c *arrivalClock) next() (time.Duration, bool) {
	var x float64
	if c.a == Poisson {
		x = c.x
		c.x += c.rng.ExpFloat64()
	} else {
		x = float64(c.n)
	}
	c.n++
	return c.s.TimeAt(x)
}
