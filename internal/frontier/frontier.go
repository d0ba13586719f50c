package frontier

import (
	"errors"
	"fmt"
	"math"
	"sort"
)

// Point is one measured setting of a policy: what it cost and how often it violated the SLO.
type Point struct {
	// Label names the setting, e.g. "hpa target=0.6".
	Label string `json:"label"`
	// Cost is in pod-hours.
	Cost float64 `json:"cost_pod_hours"`
	// Violations is the SLO-violation rate: the share of intervals that violated, in [0, 1].
	Violations float64 `json:"slo_violation_rate"`
}

// Frontier is a policy's violation–cost frontier: the lower convex envelope of its points,
// as vertices sorted by increasing cost and strictly decreasing violations.
//
// Why convex: two settings can be time-shared (run A for a fraction w of the time, B for the
// rest), which achieves every point on the segment between them; a point above that segment
// is beaten by such a mix. Why non-increasing: a setting that costs more and violates at
// least as often as a cheaper one is dominated and never on the frontier.
//
// The frontier is defined only on [Vertices[0].Cost, Vertices[last].Cost]; nothing is
// extrapolated beyond the settings that were measured.
type Frontier struct {
	Vertices []Point `json:"vertices"`
}

// ErrBadPoint is returned (wrapped) for a point with a non-finite or negative number, or a
// violation rate above 1.
var ErrBadPoint = errors.New("invalid frontier point")

// Envelope returns the frontier of pts. Points are validated: cost and violations must be
// finite and non-negative, violations at most 1. Ties in cost keep the lowest violations;
// a set whose violations are all zero collapses to its cheapest point.
func Envelope(pts []Point) (Frontier, error) {
	if len(pts) == 0 {
		return Frontier{}, errors.New("frontier of no points")
	}
	for i, p := range pts {
		if !(p.Cost >= 0) || math.IsInf(p.Cost, 0) || !(p.Violations >= 0) || p.Violations > 1 {
			return Frontier{}, fmt.Errorf("point %d (%s): cost %v, violations %v: %w (want finite cost >= 0 and violations in [0, 1])",
				i, p.Label, p.Cost, p.Violations, ErrBadPoint)
		}
	}
	s := append([]Point(nil), pts...)
	sort.SliceStable(s, func(i, j int) bool {
		if s[i].Cost != s[j].Cost {
			return s[i].Cost < s[j].Cost
		}
		return s[i].Violations < s[j].Violations
	})
	// Pareto filter: keep a point only if it violates strictly less than every cheaper one.
	pareto := s[:0:0]
	for _, p := range s {
		if len(pareto) == 0 || p.Violations < pareto[len(pareto)-1].Violations {
			if len(pareto) > 0 && p.Cost == pareto[len(pareto)-1].Cost {
				continue // same cost, more violations (sorted): dominated
			}
			pareto = append(pareto, p)
		}
	}
	// Lower hull (Andrew's monotone chain) of a sequence already sorted by cost: drop the
	// middle of any triple that does not turn left (counter-clockwise).
	hull := make([]Point, 0, len(pareto))
	for _, p := range pareto {
		for len(hull) >= 2 && cross(hull[len(hull)-2], hull[len(hull)-1], p) <= 0 {
			hull = hull[:len(hull)-1]
		}
		hull = append(hull, p)
	}
	return Frontier{Vertices: hull}, nil
}

// cross is the z component of (b-a) x (c-a): positive when a, b, c turn counter-clockwise.
func cross(a, b, c Point) float64 {
	return (b.Cost-a.Cost)*(c.Violations-a.Violations) - (b.Violations-a.Violations)*(c.Cost-a.Cost)
}

// CostRange is the interval of costs on which the frontier is defined.
func (f Frontier) CostRange() (lo, hi float64) {
	return f.Vertices[0].Cost, f.Vertices[len(f.Vertices)-1].Cost
}

// ViolationRange is the interval of violation rates the frontier reaches.
func (f Frontier) ViolationRange() (lo, hi float64) {
	return f.Vertices[len(f.Vertices)-1].Violations, f.Vertices[0].Violations
}

// ErrOutOfRange is returned (wrapped) when a frontier is asked for a value outside the range
// it was measured on: frontiers are interpolated, never extrapolated.
var ErrOutOfRange = errors.New("outside the frontier's measured range")

// ViolationsAt returns the frontier's violation rate at cost c, interpolated linearly
// between vertices.
func (f Frontier) ViolationsAt(c float64) (float64, error) {
	lo, hi := f.CostRange()
	if !(c >= lo && c <= hi) {
		return 0, fmt.Errorf("cost %g not in [%g, %g]: %w", c, lo, hi, ErrOutOfRange)
	}
	v := f.Vertices
	i := sort.Search(len(v), func(i int) bool { return v[i].Cost >= c })
	if v[i].Cost == c || i == 0 {
		return v[i].Violations, nil
	}
	a, b := v[i-1], v[i]
	w := (c - a.Cost) / (b.Cost - a.Cost)
	return a.Violations + w*(b.Violations-a.Violations), nil
}

// CostAt returns the cost at which the frontier reaches violation rate x (the inverse of
// ViolationsAt; the frontier is strictly decreasing, so it is unique).
func (f Frontier) CostAt(x float64) (float64, error) {
	lo, hi := f.ViolationRange()
	if !(x >= lo && x <= hi) {
		return 0, fmt.Errorf("violation rate %g not in [%g, %g]: %w", x, lo, hi, ErrOutOfRange)
	}
	v := f.Vertices
	// Violations decrease along v: find the first vertex at or below x.
	i := sort.Search(len(v), func(i int) bool { return v[i].Violations <= x })
	if v[i].Violations == x || i == 0 {
		return v[i].Cost, nil
	}
	a, b := v[i-1], v[i]
	w := (a.Violations - x) / (a.Violations - b.Violations)
	return a.Cost + w*(b.Cost-a.Cost), nil
}

// Best returns the frontier of the union of the given frontiers: at every cost, the lowest
// violation rate any of them (or a time-shared mix of them) reaches. It is the "best
// baseline" a policy is held against. Vertex labels keep naming their settings.
func Best(fs ...Frontier) (Frontier, error) {
	var all []Point
	for _, f := range fs {
		all = append(all, f.Vertices...)
	}
	return Envelope(all)
}
