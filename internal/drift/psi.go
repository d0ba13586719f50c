package drift

import (
	"math"
	"slices"
	"sort"
)

// PSIFloor is the smallest bin share used in the PSI sum: an empty bin would make the
// logarithm infinite, so every share is floored at 1e-4 (a bin the reference never fills
// contributes about (q - 1e-4)·ln(q/1e-4), large but finite).
const PSIFloor = 1e-4

// Reference is a binned input distribution: the inner edges are the reference sample's
// quantiles, so every bin holds about the same share of it, and two outer bins hold what
// lies below the sample's minimum or above its maximum (the reference's share there is 0,
// floored), so a shift past the range the model was trained on counts even when the
// reference is constant.
//
// Differences smaller than the resolution (a share of the sample's median absolute value)
// are measurement noise, not a shift: the outer bins begin a resolution beyond the
// sample's range, and inner edges closer than a resolution to the previous one are merged.
// Without it a steady workload whose training inputs are near-constant drifts on the
// scrape jitter of its rate (a 60 req/s reference against 59.8 req/s).
type Reference struct {
	edges  []float64 // inner bin edges, ascending; len(bins) = len(edges)+1
	shares []float64 // the reference's share of each bin
	n      int
}

// NewReference bins sample into at most bins quantile bins (deciles for 10) at the given
// relative resolution (0.02: differences under 2% of the median absolute value do not
// count; 0 keeps every distinct edge). Ties collapse edges, so a constant sample has one
// bin. NaNs are ignored. An empty sample gives a Reference with N() == 0, against which PSI
// is NaN.
func NewReference(sample []float64, bins int, resolution float64) Reference {
	v := make([]float64, 0, len(sample))
	for _, x := range sample {
		if !math.IsNaN(x) {
			v = append(v, x)
		}
	}
	if len(v) == 0 || bins < 1 {
		return Reference{}
	}
	sort.Float64s(v)
	res := 0.0
	if resolution > 0 {
		res = resolution * math.Abs(v[len(v)/2])
	}
	edges := []float64{v[0] - res} // bin 0: below the minimum
	prev := v[0]                   // the last inner edge, or the minimum
	for k := 1; k < bins; k++ {
		if e := v[(k*len(v))/bins]; e > prev+res {
			edges = append(edges, e)
			prev = e
		}
	}
	top := v[len(v)-1] + res
	if res == 0 {
		top = math.Nextafter(v[len(v)-1], math.Inf(1))
	}
	if top > edges[len(edges)-1] {
		edges = append(edges, top) // the last bin: above the maximum
	}
	r := Reference{edges: edges, n: len(v)}
	r.shares = r.histogram(v)
	return r
}

// N is the reference sample's size.
func (r Reference) N() int { return r.n }

// bin returns the bin of x: bin k holds [edges[k-1], edges[k]).
func (r Reference) bin(x float64) int {
	k, _ := slices.BinarySearch(r.edges, x)
	if k < len(r.edges) && r.edges[k] == x {
		k++
	}
	return k
}

func (r Reference) histogram(v []float64) []float64 {
	h := make([]float64, len(r.edges)+1)
	n := 0
	for _, x := range v {
		if math.IsNaN(x) {
			continue
		}
		h[r.bin(x)]++
		n++
	}
	for k := range h {
		h[k] /= float64(max(n, 1))
	}
	return h
}

// PSI is the population stability index of recent against the reference:
//
//	PSI = Σ_k (q_k − p_k) · ln(q_k / p_k)
//
// over the reference's bins, p the reference's shares and q the recent sample's, each
// floored at PSIFloor. It is the symmetrised Kullback-Leibler divergence of the binned
// distributions (Siddiqi, "Credit Risk Scorecards", 2006, which also gives the customary
// reading: below 0.1 no shift, 0.1 to 0.25 a moderate one, above 0.25 a significant one).
// NaN when either sample is empty.
func (r Reference) PSI(recent []float64) float64 {
	if r.n == 0 {
		return math.NaN()
	}
	q := r.histogram(recent)
	sum, any := 0.0, false
	for _, x := range recent {
		if !math.IsNaN(x) {
			any = true
			break
		}
	}
	if !any {
		return math.NaN()
	}
	for k := range q {
		p, qq := max(r.shares[k], PSIFloor), max(q[k], PSIFloor)
		sum += (qq - p) * math.Log(qq/p)
	}
	return sum
}
