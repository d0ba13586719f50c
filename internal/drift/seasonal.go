package drift

import (
	"math"

	"github.com/bascaler/bascaler/internal/series"
)

// seasonal keeps what Scores.Seasonal needs: the last season+window inputs (a ring, NaN
// for a missing interval) and the training inputs' median seasonal error.
type seasonal struct {
	period, window int
	ring           []float64
	n              int     // inputs added
	scale          float64 // median |r_t − r_{t−period}| of the reference (NaN: none)
}

func newSeasonal(period, window int, reference []float64) seasonal {
	if period <= 0 || window <= 0 {
		return seasonal{scale: math.NaN()}
	}
	s := seasonal{period: period, window: window, ring: make([]float64, period+window)}
	s.rescale(reference)
	// The reference ends right before the first observed interval (the model was trained
	// on the history the monitor continues): its last season and window are the recent
	// inputs the first scores compare with.
	for _, y := range reference[max(len(reference)-len(s.ring), 0):] {
		s.add(y)
	}
	return s
}

// rescale sets the scale from a new reference (a new model's training inputs); the recent
// inputs are data and are kept. A reference shorter than a season and a window, or one that
// repeats exactly (zero median error), gives no scale: the score is then NaN.
func (s *seasonal) rescale(reference []float64) {
	s.scale = math.NaN()
	if s.period <= 0 || len(reference) < s.period+s.window {
		return
	}
	e := seasonalErrors(reference, s.period)
	if len(e) < s.window {
		return
	}
	if m := series.Median(e); m > 0 {
		s.scale = m
	}
}

func (s *seasonal) add(y float64) {
	if s.period <= 0 {
		return
	}
	s.ring[s.n%len(s.ring)] = y
	s.n++
}

// score is the median seasonal error of the last window inputs over the scale; NaN until a
// season and a window of inputs have been added, or with no scale, or when more than half
// the window's errors are missing.
func (s *seasonal) score() float64 {
	if s.period <= 0 || math.IsNaN(s.scale) || s.n < len(s.ring) {
		return math.NaN()
	}
	e := make([]float64, 0, s.window)
	for k := s.n - s.window; k < s.n; k++ {
		d := math.Abs(s.ring[k%len(s.ring)] - s.ring[(k-s.period)%len(s.ring)])
		if !math.IsNaN(d) {
			e = append(e, d)
		}
	}
	if 2*len(e) < s.window {
		return math.NaN()
	}
	return series.Median(e) / s.scale
}

// seasonalErrors returns |v_t − v_{t−period}| for every t with both values present.
func seasonalErrors(v []float64, period int) []float64 {
	out := make([]float64, 0, max(len(v)-period, 0))
	for t := period; t < len(v); t++ {
		if d := math.Abs(v[t] - v[t-period]); !math.IsNaN(d) {
			out = append(out, d)
		}
	}
	return out
}
