package testbed

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/testbed/loadgen"
)

func TestMeasuredRunsArePlottedLikeSimulatedOnes(t *testing.T) {
	pr := &PolicyRun{Policy: "hpa", Interval: 6 * time.Second}
	for k := 0; k < 5; k++ {
		pr.Records = append(pr.Records, IntervalRecord{IntervalStats: loadgen.IntervalStats{MeanMS: 5 + float64(k), P95MS: 9, P99MS: 12},
			Rate: 10 * float64(k+1), Replicas: float64(k + 1), Ready: float64(k), Need: k + 1})
	}
	res := pr.asResult()
	if len(res.Records) != 5 || res.Records[3].Rate != 40 || res.Records[3].Replicas != 4 || res.Records[3].LatencyMeanMS != 8 || res.Records[3].Need != 4 {
		t.Fatalf("converted record 3 = %+v", res.Records[3])
	}
	dir := t.TempDir()
	if err := writePlots(dir, []*PolicyRun{pr}, policy.SLO{Metric: perf.Mean, TargetMS: 10}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"workload.svg", "replicas.svg", "latency.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.Contains(b, []byte("<svg")) {
			t.Errorf("%s: %v", f, err)
		}
	}
}
