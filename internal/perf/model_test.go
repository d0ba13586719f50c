package perf

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestProfileModelRoundTripsTheFittedProfile(t *testing.T) {
	samples, err := SampleProfile(FFT(), SamplingOptions{Samples: 80, Seed: 3})
	if err != nil {
		t.Fatal(err)
	}
	o := CapacityOptions{Params: DefaultSVRParams()}
	fit, err := FitProfileWith("fft-fit", samples, o)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "m")
	if err := SaveProfileModel(dir, fit, samples, ProfileManifest{Params: FitParams(o)}); err != nil {
		t.Fatal(err)
	}
	got, m, err := LoadProfileModel(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Points, fit.Points) || got.MaxLoad != fit.MaxLoad || got.Name != "fft-fit" {
		t.Fatalf("loaded profile differs from the fitted one:\n%+v\n%+v", got.Points[:3], fit.Points[:3])
	}
	c1, _ := fit.CapacityAt(Mean, 16)
	c2, _ := got.CapacityAt(Mean, 16)
	if c1 != c2 {
		t.Errorf("capacity at 16 ms: fitted %g, loaded %g", c1, c2)
	}
	if m.Kind != ProfileKind || m.Samples != 80 || m.SamplesDigest != DigestSamples(samples) || m.Params["kernel"] != "rbf" {
		t.Errorf("manifest %+v", m)
	}
	// Another kind of model in the directory is refused, naming both kinds.
	os.WriteFile(filepath.Join(dir, ProfileManifestFile), []byte(`{"kind":"ppo","format_version":1}`), 0o644)
	if _, _, err := LoadProfileModel(dir); err == nil || !strings.Contains(err.Error(), `kind "ppo", want "svr-profile"`) {
		t.Errorf("ppo manifest: %v", err)
	}
	if _, _, err := LoadProfileModel(t.TempDir()); err == nil || !strings.Contains(err.Error(), "no manifest.json") {
		t.Errorf("empty dir: %v", err)
	}
}

func TestDigestSamplesNamesTheData(t *testing.T) {
	s := []ProfilingSample{{LoadPerPod: 40, Replicas: 2, CPUPct: 36, MeanMS: 10, P95MS: 20, P99MS: 30}}
	d := DigestSamples(s)
	for i, mut := range []func(*ProfilingSample){
		func(p *ProfilingSample) { p.LoadPerPod = 40.000000000001 },
		func(p *ProfilingSample) { p.Replicas = 3 },
		func(p *ProfilingSample) { p.ErrorRate = 1e-9 },
	} {
		c := append([]ProfilingSample(nil), s...)
		mut(&c[0])
		if DigestSamples(c) == d {
			t.Errorf("change %d kept the digest", i)
		}
	}
	if DigestSamples(append([]ProfilingSample(nil), s...)) != d {
		t.Error("equal samples, different digests")
	}
}
