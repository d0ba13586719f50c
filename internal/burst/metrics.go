package burst

import (
	"math"
	"sort"

	"github.com/bascaler/bascaler/internal/series"
)

// Episode is one stretch of burst mode. Alarm is the index of the last interval the
// detector had observed when it switched to burst (so the state first governs Alarm+1);
// End is the observed interval after which it switched back (the length of the series when
// it never did). The span credited to the detector is [Alarm, End).
type Episode struct {
	Alarm, End int
}

// Episodes extracts the burst episodes from the states Run returned. states[t] governs
// interval t and was decided after interval t-1 was observed, so a switch seen at states[t]
// was raised at observation t-1.
func Episodes(states []State) []Episode {
	var out []Episode
	in := false
	for t, s := range states {
		switch {
		case s.Burst && !in:
			out = append(out, Episode{Alarm: t - 1, End: len(states)})
			in = true
		case !s.Burst && in:
			out[len(out)-1].End = t - 1
			in = false
		}
	}
	return out
}

// Score is the detection quality of one or more runs against labelled bursts.
//
// A labelled burst [Start, End) counts as detected when an episode's alarm falls inside it;
// the delay is Alarm - Start of the first such alarm: 0 means the detector raised the
// burst right after observing the burst's first interval, which is the earliest any causal
// detector can (the burst state then governs the burst's second interval). An episode that
// overlaps no label is a false alarm. Precision is the share of episodes that overlap a
// label.
type Score struct {
	Labels    int   `json:"labels"`
	Detected  int   `json:"detected"`
	Episodes  int   `json:"episodes"`
	Overlaps  int   `json:"overlapping_episodes"`
	Intervals int   `json:"intervals"`
	Delays    []int `json:"-"`
}

// Add scores one run: the episodes of a detector over intervals [from, from+n) of a series,
// against its labels (indices into the same series; labels starting outside the range are
// ignored, as are episodes whose alarm is outside it).
func (s *Score) Add(eps []Episode, labels []series.Burst, from, n int) {
	to := from + n
	s.Intervals += n
	for _, b := range labels {
		if b.Start < from || b.Start >= to {
			continue
		}
		s.Labels++
		for _, e := range eps {
			if e.Alarm >= b.Start && e.Alarm < b.End {
				s.Detected++
				s.Delays = append(s.Delays, e.Alarm-b.Start)
				break
			}
		}
	}
	for _, e := range eps {
		if e.Alarm < from || e.Alarm >= to {
			continue
		}
		s.Episodes++
		for _, b := range labels {
			if e.Alarm < b.End && b.Start < e.End {
				s.Overlaps++
				break
			}
		}
	}
}

// Merge adds another score's counts.
func (s *Score) Merge(o Score) {
	s.Labels += o.Labels
	s.Detected += o.Detected
	s.Episodes += o.Episodes
	s.Overlaps += o.Overlaps
	s.Intervals += o.Intervals
	s.Delays = append(s.Delays, o.Delays...)
}

// Precision is the share of episodes that overlap a labelled burst (NaN without episodes).
func (s Score) Precision() float64 { return ratio(s.Overlaps, s.Episodes) }

// Recall is the share of labelled bursts detected (NaN without labels).
func (s Score) Recall() float64 { return ratio(s.Detected, s.Labels) }

// FalseAlarmsPer1000 is the number of episodes overlapping no label per 1000 intervals.
func (s Score) FalseAlarmsPer1000() float64 {
	return 1000 * ratio(s.Episodes-s.Overlaps, s.Intervals)
}

// DelayQuantile is the q-quantile of the detection delays in intervals (NaN without
// detections).
func (s Score) DelayQuantile(q float64) float64 {
	if len(s.Delays) == 0 {
		return math.NaN()
	}
	d := make([]float64, len(s.Delays))
	for i, v := range s.Delays {
		d[i] = float64(v)
	}
	sort.Float64s(d)
	return quantileOf(d, q)
}

func ratio(a, b int) float64 {
	if b == 0 {
		return math.NaN()
	}
	return float64(a) / float64(b)
}
