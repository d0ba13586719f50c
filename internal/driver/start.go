package driver

import (
	"math"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
)

// StartReplicas is the replica count a replay starts with in every backend that replays a
// window (the simulator, the testbed): "sized for the start", the fewest pods that meet the
// SLO (perPod req/s each) in every interval that begins before a pod created at the first
// decision can be ready (ceil(startup / interval) intervals, at least one), within
// [max(lo, 1), hi]. Every policy gets the same start, so the choice favours none of them;
// and the simulator and the testbed get the same one, so a first interval's queue is not a
// difference between them (a testbed that started at one replica failed hundreds of
// requests in the first interval of NASA's first burst that the simulator never saw).
func StartReplicas(rates []float64, perPod float64, interval, startup time.Duration, lo, hi int) int {
	reach := int(math.Ceil(startup.Seconds() / interval.Seconds()))
	n := 0
	for k := 0; k < reach || k == 0; k++ {
		if k >= len(rates) {
			break
		}
		n = max(n, perf.PodsFor(rates[k], perPod))
	}
	return min(max(n, lo, 1), hi)
}
