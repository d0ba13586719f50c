package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/perf"
	"github.com/bascaler/bascaler/internal/policy"
	"github.com/bascaler/bascaler/internal/registry"
	"github.com/bascaler/bascaler/internal/rl"
	"github.com/bascaler/bascaler/internal/series"
	"github.com/bascaler/bascaler/internal/testenv"
)

// knownCSV writes the rates of periods [1, len) as a trace (requests per minute), the
// series a Prometheus holding them returns for those periods, and returns its path.
func knownCSV(t *testing.T, start time.Time, rates []float64) string {
	t.Helper()
	counts := make([]float64, len(rates)-1)
	for i, r := range rates[1:] {
		counts[i] = r * 60
	}
	path := filepath.Join(t.TempDir(), "known.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := series.Write(f, series.Series{Name: "known", Start: start.Add(time.Minute), Step: time.Minute, Values: counts}); err != nil {
		t.Fatal(err)
	}
	return path
}

// versionsBySource returns the registry's versions keyed by their data source.
func versionsBySource(t *testing.T, reg string) map[string]versionJSON {
	t.Helper()
	out := map[string]versionJSON{}
	for _, v := range modelsList(t, reg).Versions {
		out[v.Lineage.Data.Source] = v
	}
	return out
}

// simulateJSON runs simulate and returns its JSON output.
func simulateJSON(t *testing.T, args ...string) string {
	t.Helper()
	out, err := run(t, append([]string{"simulate", "--format", "json"}, args...)...)
	if err != nil {
		t.Fatalf("simulate %v: %v\n%s", args, err, out)
	}
	return out
}

func TestTrainRLIntoTheRegistryFromPrometheusEqualsFromTheSameSeriesInACSV(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	rates := testenv.KnownRates(480)
	srv := testenv.BackfilledPrometheus(t, testenv.KnownWorkload{Start: start, Rates: rates})
	t.Setenv("CI", "true")
	reg := filepath.Join(t.TempDir(), "rl")
	common := []string{"train", "rl", "--registry", reg, "--steps", "200", "--rollout", "100", "--segment", "60", "--eval-every", "1",
		"--split", "0.75,0.25,0", "--normalize", "none", "--seed", "3"}
	from, to := start.Add(time.Minute), start.Add(480*time.Minute)
	if out, err := run(t, append(common, "--promote", "--prometheus", srv.URL, "--preset", "http", "--namespace", "shop", "--target", "web",
		"--start", from.Format(time.RFC3339), "--end", to.Format(time.RFC3339), "--step", "1m")...); err != nil {
		t.Fatalf("train rl from Prometheus: %v\n%s", err, out)
	}
	if out, err := run(t, append(common, "--trace", knownCSV(t, start, rates))...); err != nil {
		t.Fatalf("train rl from the CSV: %v\n%s", err, out)
	}
	vs := versionsBySource(t, reg)
	p, c := vs["prometheus"], vs["trace"]
	if len(vs) != 2 || p.ID == "" || c.ID == "" {
		t.Fatalf("versions %v, want one from prometheus and one from the trace", vs)
	}
	lp, lc := p.Lineage, c.Lineage
	if lp.Kind != rl.Kind || lc.Kind != rl.Kind {
		t.Errorf("kinds %q, %q; want %q", lp.Kind, lc.Kind, rl.Kind)
	}
	if pr := lp.Data.Prometheus; pr == nil || !strings.Contains(pr.Query, `http_requests_total{namespace="shop",pod=~"web-.*"}[60s]`) || !pr.Start.Equal(from) {
		t.Errorf("prometheus lineage %+v", lp.Data.Prometheus)
	}
	if lp.Data.SeriesDigest == "" || lp.Data.SeriesDigest != lc.Data.SeriesDigest {
		t.Errorf("series digest from Prometheus %q, from the CSV %q", lp.Data.SeriesDigest, lc.Data.SeriesDigest)
	}
	for _, f := range []string{rl.ActorFile, rl.CriticFile} {
		if a, b := lp.Files[f].SHA256, lc.Files[f].SHA256; a == "" || a != b {
			t.Errorf("%s differs: %s from Prometheus, %s from the CSV", f, registry.Short(a), registry.Short(b))
		}
	}
	if lp.Params["policy"] != "bascaler" || lp.Params["steps"] != "200" || lp.Params["features"] == "" || lp.CodeVersion == "" ||
		lp.Seed != 3 || lp.Validation["validation_score"] == 0 && lp.Validation["baseline_score"] == 0 {
		t.Errorf("lineage params/scores %v %v code %q seed %d", lp.Params, lp.Validation, lp.CodeVersion, lp.Seed)
	}
	if lc.Parent != p.ID {
		t.Errorf("the second version's parent %q, want the ppo champion %s", registry.Short(lc.Parent), registry.Short(p.ID))
	}
	if d := lc.Data; d.TraceDigest == "" || d.Train.Points != 359 || d.Validation == nil || d.Validation.Points != 120 {
		t.Errorf("trace lineage %+v", d)
	}

	// simulate --rl-model REG@champion is the directory form.
	sim := []string{"--trace", "synthetic", "--policy", "bascaler"}
	byRef := simulateJSON(t, append(sim, "--rl-model", reg+"@champion")...)
	byDir := simulateJSON(t, append(sim, "--rl-model", p.Dir)...)
	if byRef != byDir {
		t.Errorf("simulate --rl-model %s@champion differs from --rl-model %s:\n%s\n%s", reg, p.Dir, byRef, byDir)
	}
	// That tiny agent may never correct; one that always adds pods shows the reference
	// loads the agent it names: same as its directory, different from no agent.
	up := filepath.Join(t.TempDir(), "up")
	uv := publishAlwaysUpAgent(t, up)
	upRef := simulateJSON(t, append(sim, "--rl-model", up+"@"+registry.Short(uv.ID))...)
	if upDir := simulateJSON(t, append(sim, "--rl-model", uv.Dir)...); upRef != upDir {
		t.Errorf("the always-up agent by reference and by directory differ:\n%s\n%s", upRef, upDir)
	}
	if none := simulateJSON(t, sim...); none == upRef {
		t.Errorf("the always-up agent changed nothing: was it loaded?\n%s", upRef)
	}

	// Wrong kinds are refused, naming both; so is an unknown alias.
	fc := filepath.Join(t.TempDir(), "fc")
	trainInto(t, "synthetic", "naive", fc, true)
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--rl-model", fc + "@champion"}, "is of kind naive, want ppo"},
		{[]string{"--param", "bascaler.rl-model=" + fc + "@champion"}, "is of kind naive, want ppo"},
		{[]string{"--param", "bascaler.model=" + reg + "@champion"}, "is of kind ppo, want one of"},
		{[]string{"--profile", reg + "@champion"}, "is of kind ppo, want svr-profile"},
		{[]string{"--rl-model", reg + "@challenger"}, `no alias "challenger"`},
	} {
		if out, err := run(t, append(append([]string{"simulate", "--format", "json"}, sim...), c.args...)...); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("simulate %v: %v, want an error containing %q\n%s", c.args, err, c.want, out)
		}
	}
	// The testbed reads the same flag the same way (refused before any replica starts).
	if out, err := run(t, "testbed", "run", "--trace", "synthetic", "--policy", "bascaler", "--rl-model", fc+"@champion"); err == nil ||
		!strings.Contains(err.Error(), "is of kind naive, want ppo") {
		t.Errorf("testbed run --rl-model with a forecaster: %v\n%s", err, out)
	}
}

// profileWorkload is a known workload with latency and CPU: per-pod load (rate/2) from 7.5
// to 50 req/s, latency 10 ms up to 20 req/s per pod and then 0.5 ms more per req/s, 8 ms
// of CPU per request (a pod requesting one core is at 0.8% per req/s).
func profileWorkload(start time.Time, n int) testenv.KnownWorkload {
	rates := testenv.KnownRates(n)
	lat := make([]float64, n)
	for i, r := range rates {
		lat[i] = 10 + 0.5*math.Max(0, r/2-20)
	}
	return testenv.KnownWorkload{Start: start, Rates: rates, LatencyMS: lat, CPUPerRequest: 0.008}
}

func TestProfileIntoTheRegistryFromPrometheusEqualsFromTheSameSamplesInACSV(t *testing.T) {
	start := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	w := profileWorkload(start, 300)
	srv := testenv.BackfilledPrometheus(t, w)
	t.Setenv("CI", "true")
	reg := filepath.Join(t.TempDir(), "profile")
	samples := filepath.Join(t.TempDir(), "samples.csv")
	from, to := start.Add(time.Minute), start.Add(300*time.Minute)
	fit := []string{"--fit", "--slo", "16ms", "--registry", reg}
	out, err := run(t, append([]string{"profile", "--promote", "--out", samples, "--prometheus", srv.URL, "--preset", "http", "--namespace", "shop",
		"--target", "web", "--start", from.Format(time.RFC3339), "--end", to.Format(time.RFC3339), "--step", "1m",
		"--cpu-request-millicores", "1000"}, fit...)...)
	if err != nil {
		t.Fatalf("profile from Prometheus: %v\n%s", err, out)
	}
	// Prometheus returned the known operating points: one sample per period, per-pod load
	// rate/2 on the two web pods (db-0 left out), the latency and CPU written.
	data, err := perf.LoadProfilingCSV(samples)
	if err != nil {
		t.Fatal(err)
	}
	if len(data) != 299 {
		t.Fatalf("%d samples, want 299 (one per period read)", len(data))
	}
	near := func(a, b float64) bool { return math.Abs(a-b) <= 1e-9*math.Max(1, math.Abs(b)) }
	for i, s := range data {
		r := w.Rates[i+1]
		if s.Replicas != 2 || !near(s.LoadPerPod, r/2) || !near(s.MeanMS, w.LatencyMS[i+1]) || !near(s.CPUPct, 0.8*r/2) ||
			s.ErrorRate != 0 || s.P99MS < s.P95MS {
			t.Fatalf("sample %d = %+v; want 2 pods at %g req/s, %g ms, %g%% CPU", i, s, r/2, w.LatencyMS[i+1], 0.8*r/2)
		}
	}
	// The same samples from the CSV, into a second registry: same data digest, same fitted
	// profile, and (the manifest holds no command line) the same version id.
	reg2 := filepath.Join(t.TempDir(), "profile-csv")
	if out, err := run(t, "profile", "--in", samples, "--fit", "--slo", "16ms", "--registry", reg2); err != nil {
		t.Fatalf("profile --in: %v\n%s", err, out)
	}
	p, c := versionsBySource(t, reg)["prometheus"], versionsBySource(t, reg2)["trace"]
	if p.ID == "" || c.ID == "" {
		t.Fatalf("no version from prometheus (%s) or from the CSV (%s)", p.ID, c.ID)
	}
	if p.Lineage.Kind != perf.ProfileKind || p.Lineage.Data.SeriesDigest != c.Lineage.Data.SeriesDigest || p.Lineage.Data.SeriesDigest != perf.DigestSamples(data) {
		t.Errorf("kind %q, samples digest %q from Prometheus, %q from the CSV", p.Lineage.Kind, p.Lineage.Data.SeriesDigest, c.Lineage.Data.SeriesDigest)
	}
	if a, b := p.Lineage.Files[perf.ProfilePointsFile].SHA256, c.Lineage.Files[perf.ProfilePointsFile].SHA256; a == "" || a != b || p.ID != c.ID {
		t.Errorf("fitted profile %s from Prometheus, %s from the CSV; versions %s, %s", registry.Short(a), registry.Short(b), registry.Short(p.ID), registry.Short(c.ID))
	}
	// Publishing the CSV fit into the first registry finds the version already there.
	if out, err := run(t, "profile", "--in", samples, "--fit", "--slo", "16ms", "--registry", reg); err != nil || !strings.Contains(out, "already registered") {
		t.Errorf("second publish of the same fit: %v\n%s", err, out)
	}
	if pr := p.Lineage.Data.Prometheus; pr == nil || !strings.Contains(pr.Query, "container_cpu_usage_seconds_total") || p.Lineage.Params["kernel"] != "rbf" {
		t.Errorf("prometheus lineage %+v params %v", pr, p.Lineage.Params)
	}
	if _, ok := p.Lineage.Validation["capacity_rps_mean_16ms"]; !ok {
		t.Errorf("validation scores %v lack the capacity at the SLO", p.Lineage.Validation)
	}

	// simulate --profile REG@champion is the directory form.
	sim := []string{"--trace", "synthetic", "--policy", "hpa,bascaler"}
	byRef := simulateJSON(t, append(sim, "--profile", reg+"@champion")...)
	byDir := simulateJSON(t, append(sim, "--profile", p.Dir)...)
	if byRef != byDir {
		t.Errorf("simulate --profile REG@champion differs from the directory:\n%s\n%s", byRef, byDir)
	}
	var got, fft simJSON
	json.Unmarshal([]byte(byRef), &got)
	json.Unmarshal([]byte(simulateJSON(t, sim...)), &fft)
	if len(got.Results) != 2 || len(fft.Results) != 2 || *got.Results[1].CostPodHours == *fft.Results[1].CostPodHours {
		t.Errorf("the fitted profile changed nothing against fft: %s", byRef)
	}
	if out, err := run(t, append([]string{"simulate", "--format", "json", "--rl-model", reg + "@champion"}, sim...)...); err == nil ||
		!strings.Contains(err.Error(), "is of kind svr-profile, want ppo") {
		t.Errorf("an svr-profile as --rl-model: %v\n%s", err, out)
	}
}

// publishAlwaysUpAgent publishes, as the champion of a registry at dir, an untrained agent
// for bascaler whose output bias makes its greedy action the largest step up.
func publishAlwaysUpAgent(t *testing.T, dir string) registry.Version {
	t.Helper()
	a, err := rl.NewAgent(policy.RLStateSize, policy.RLActions, rl.DefaultConfig(), 1)
	if err != nil {
		t.Fatal(err)
	}
	ps := a.ActorParams()
	bias := ps[len(ps)-1]
	if len(bias.Data) != policy.RLActions {
		t.Fatalf("the actor's last tensor has %d values, want the %d action biases", len(bias.Data), policy.RLActions)
	}
	bias.Data[policy.RLActions-1] = 100
	m := rl.Manifest{Meta: map[string]string{"policy": "bascaler", "features": policy.RLFeatureSet}}
	v, _, err := registry.Publish(dir, func(d string) error { return rl.Save(d, a, m) }, registry.Lineage{CodeVersion: "test"}, true)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
