package controller

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/bascaler/bascaler/api/v1alpha1"
	"github.com/bascaler/bascaler/internal/registry"
)

// publishedCountsModel publishes savedCountsModel's model into a fresh registry as its
// champion and returns the registry's directory and the version's id.
func publishedCountsModel(t *testing.T, kind string, step time.Duration) (string, string) {
	t.Helper()
	src := savedCountsModel(t, kind, step)
	dir := filepath.Join(t.TempDir(), "registry")
	v, _, err := registry.Publish(dir, func(to string) error { return os.CopyFS(to, os.DirFS(src)) }, registry.Lineage{Kind: kind}, true)
	if err != nil {
		t.Fatal(err)
	}
	return dir, v.ID
}

// gathered returns the series of the named metric whose labels include name="app", keyed by
// their other labels ("k=v,k=v", sorted), with their values.
func gathered(t *testing.T, reg *prometheus.Registry, metric string) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		if mf.GetName() != metric {
			continue
		}
		for _, m := range mf.GetMetric() {
			var kv []string
			ours := false
			for _, l := range m.GetLabel() {
				switch l.GetName() {
				case "name":
					ours = l.GetValue() == "app"
				case "namespace":
				default:
					kv = append(kv, l.GetName()+"="+l.GetValue())
				}
			}
			if ours {
				sort.Strings(kv)
				out[strings.Join(kv, ",")] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}

func wantSeries(t *testing.T, reg *prometheus.Registry, metric string, want map[string]float64) {
	t.Helper()
	got := gathered(t, reg, metric)
	if len(got) != len(want) {
		t.Errorf("%s: series %v, want %v", metric, got, want)
		return
	}
	for k, v := range want {
		if g, ok := got[k]; !ok || math.Abs(g-v) > 1e-9*math.Max(1, math.Abs(v)) {
			t.Errorf("%s{%s} = %v (present %v), want %v", metric, k, g, ok, v)
		}
	}
}

// The workload dashboard's series: what the policy observed, the SLO, pod counts, the
// regime, the forecast's level and the serving model version; an unmeasured memory is
// absent, a fallback replaces the regime, and a deleted autoscaler leaves no series.
func TestWorkloadSeriesFollowTheLoop(t *testing.T) {
	regDir, id := publishedCountsModel(t, "arima", 2*time.Second)
	rg := newRig(t, modelBAA("arima", regDir+"@champion"), 2)
	reg := prometheus.NewRegistry()
	rg.r.Stats = NewStats(reg)
	rg.src.rate, rg.src.latency, rg.src.cpu, rg.src.memory = 100, 12, 0.4, 3e8
	var upper string
	for i := range 3 {
		b := rg.step(t, time.Duration(min(i, 1))*2*time.Second)
		if b.Status.Forecast == nil {
			t.Fatalf("step %d: no forecast (conditions %v)", i, b.Status.Conditions)
		}
		upper = b.Status.Forecast.Quantile
	}
	wantSeries(t, reg, "bascaler_observed_requests_per_second", map[string]float64{"": 100})
	wantSeries(t, reg, "bascaler_observed_errors_per_second", map[string]float64{"": 0})
	wantSeries(t, reg, "bascaler_observed_latency_milliseconds", map[string]float64{"statistic=mean": 12, "statistic=p95": 12, "statistic=p99": 12})
	wantSeries(t, reg, "bascaler_observed_cpu_utilization", map[string]float64{"": 0.4})
	wantSeries(t, reg, "bascaler_observed_memory_bytes", map[string]float64{"": 3e8})
	wantSeries(t, reg, "bascaler_slo_target_milliseconds", map[string]float64{"statistic=mean": 16})
	wantSeries(t, reg, "bascaler_ready_replicas", map[string]float64{"": 2})
	wantSeries(t, reg, "bascaler_pending_replicas", map[string]float64{"": 0})
	wantSeries(t, reg, "bascaler_unschedulable_replicas", map[string]float64{"": 0})
	wantSeries(t, reg, "bascaler_decision_mode", map[string]float64{"mode=steady": 1})
	wantSeries(t, reg, "bascaler_autoscaler_info", map[string]float64{"mode=Auto,policy=bascaler,target=Deployment/app": 1})
	wantSeries(t, reg, "bascaler_model_info", map[string]float64{
		"alias=champion,kind=forecaster,model=" + regDir + "@champion,version=" + registry.Short(id): 1})
	if got := gathered(t, reg, "bascaler_forecast_upper_quantile"); len(got) != 1 || upper == "" || got[""] <= 0.5 || got[""] >= 1 {
		t.Errorf("upper quantile level %v (status says %q), want one series in (0.5, 1)", got, upper)
	}

	// Metrics fail until the fallback decides: the regime is fallback, and only that.
	rg.src.fail = true
	for range 3 {
		rg.step(t, 2*time.Second)
	}
	wantSeries(t, reg, "bascaler_decision_mode", map[string]float64{"mode=fallback": 1})

	// A workload whose memory is not measured has no memory series.
	other := newRig(t, modelBAA("arima", regDir+"@champion"), 2)
	oreg := prometheus.NewRegistry()
	other.r.Stats = NewStats(oreg)
	other.src.memory = math.NaN()
	other.step(t, 0)
	other.step(t, 2*time.Second)
	wantSeries(t, oreg, "bascaler_observed_memory_bytes", map[string]float64{})
	wantSeries(t, oreg, "bascaler_observed_requests_per_second", map[string]float64{"": 100})

	// The autoscaler is deleted: none of its series are left.
	if err := rg.c.Delete(context.Background(), getBAAFake(t, rg)); err != nil {
		t.Fatal(err)
	}
	if _, err := rg.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: rg.key}); err != nil {
		t.Fatal(err)
	}
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if len(mf.GetMetric()) > 0 {
			t.Errorf("after deletion %s still has %d series", mf.GetName(), len(mf.GetMetric()))
		}
	}
}

func getBAAFake(t *testing.T, rg *rig) *v1alpha1.BurstAwareAutoscaler {
	t.Helper()
	b := &v1alpha1.BurstAwareAutoscaler{}
	if err := rg.c.Get(context.Background(), rg.key, b); err != nil {
		t.Fatal(err)
	}
	return b
}
