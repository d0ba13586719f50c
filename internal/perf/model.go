package perf

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
)

// A fitted performance model on disk (a model directory, and so a registry version):
//
//	manifest.json  kind svr-profile, format, SVR parameters, fit scores, the load range
//	profile.json   the tabulated profile: [{"load","meanMS","p95MS","p99MS","cpu"}, ...],
//	               the layout spec.policy.capacity.profileConfigMap takes
//
// The tabulated profile is the model's state: it is what FitProfile returns and what every
// backend simulates and sizes with, so loading it gives the fitted Profile exactly (JSON
// numbers round-trip float64 bits).
const (
	ProfileKind          = "svr-profile"
	ProfileFormatVersion = 1
	ProfileManifestFile  = "manifest.json"
	ProfilePointsFile    = "profile.json"
)

// ProfileManifest describes a saved performance model.
type ProfileManifest struct {
	Kind          string `json:"kind"`
	FormatVersion int    `json:"format_version"`
	Name          string `json:"name"`
	// Params are the SVR settings (kernel, C, epsilon; grid "cv" when cross-validated).
	Params map[string]string `json:"params,omitempty"`
	// Validation holds fit scores by name (RMSE of each curve on the samples, capacity at
	// the SLO it was fitted for).
	Validation map[string]float64 `json:"validation_scores,omitempty"`
	// Samples is the number of profiling samples, LoadRange their per-pod load range.
	Samples   int        `json:"samples"`
	LoadRange [2]float64 `json:"load_range"`
	// SamplesDigest is DigestSamples of the profiling data it was fitted on.
	SamplesDigest string `json:"samples_digest"`
	CreatedBy     string `json:"created_by,omitempty"`
}

// profilePoint is one point of profile.json (the profileConfigMap layout).
type profilePoint struct {
	Load   float64 `json:"load"`
	MeanMS float64 `json:"meanMS"`
	P95MS  float64 `json:"p95MS"`
	P99MS  float64 `json:"p99MS"`
	CPU    float64 `json:"cpu"`
}

// SaveProfileModel writes p, fitted on samples, into dir (created if needed). m's Kind,
// FormatVersion, Name, Samples, LoadRange and SamplesDigest are filled in.
func SaveProfileModel(dir string, p *Profile, samples []ProfilingSample, m ProfileManifest) error {
	if p == nil {
		return errors.New("save profile model: no profile")
	}
	m.Kind, m.FormatVersion, m.Name = ProfileKind, ProfileFormatVersion, p.Name
	m.Samples, m.SamplesDigest = len(samples), DigestSamples(samples)
	if len(samples) > 0 {
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, s := range samples {
			lo, hi = math.Min(lo, s.LoadPerPod), math.Max(hi, s.LoadPerPod)
		}
		m.LoadRange = [2]float64{lo, hi}
	}
	pts := make([]profilePoint, len(p.Points))
	for i, q := range p.Points {
		pts[i] = profilePoint{Load: q.Load, MeanMS: q.MeanMS, P95MS: q.P95MS, P99MS: q.P99MS, CPU: q.CPU}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("save profile model: %w", err)
	}
	for _, f := range []struct {
		name string
		v    any
	}{{ProfilePointsFile, pts}, {ProfileManifestFile, m}} { // manifest last: its presence means complete
		raw, err := json.MarshalIndent(f.v, "", "  ")
		if err != nil {
			return fmt.Errorf("save profile model %s: %w", f.name, err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.name), append(raw, '\n'), 0o644); err != nil {
			return fmt.Errorf("save profile model: %w", err)
		}
	}
	return nil
}

// LoadProfileModel reads a model saved by SaveProfileModel. A directory holding another
// kind of model is refused with an error naming both kinds.
func LoadProfileModel(dir string) (*Profile, ProfileManifest, error) {
	var m ProfileManifest
	path := filepath.Join(dir, ProfileManifestFile)
	raw, err := os.ReadFile(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, m, fmt.Errorf("profile model %s: no %s (not a fitted profile; bascaler profile --fit --registry writes one)", dir, ProfileManifestFile)
		}
		return nil, m, fmt.Errorf("profile model %s: %w", dir, err)
	}
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, m, fmt.Errorf("profile model %s: %w", path, err)
	}
	switch {
	case m.Kind != ProfileKind:
		return nil, m, fmt.Errorf("profile model %s: manifest kind %q, want %q", path, m.Kind, ProfileKind)
	case m.FormatVersion != ProfileFormatVersion:
		return nil, m, fmt.Errorf("profile model %s: manifest format_version %d, this build reads %d", path, m.FormatVersion, ProfileFormatVersion)
	}
	pp := filepath.Join(dir, ProfilePointsFile)
	raw, err = os.ReadFile(pp)
	if err != nil {
		return nil, m, fmt.Errorf("profile model %s: %w", dir, err)
	}
	var pts []profilePoint
	if err := json.Unmarshal(raw, &pts); err != nil {
		return nil, m, fmt.Errorf("profile model %s: %w", pp, err)
	}
	ps := make([]Point, len(pts))
	for i, q := range pts {
		ps[i] = Point{Load: q.Load, MeanMS: q.MeanMS, P95MS: q.P95MS, P99MS: q.P99MS, CPU: q.CPU}
	}
	p, err := NewProfile(m.Name, ps, 0)
	if err != nil {
		return nil, m, fmt.Errorf("profile model %s: %w", pp, err)
	}
	return p, m, nil
}

// DigestSamples is the identity of profiling data: SHA-256 over the number of samples and
// every field's IEEE-754 bits (replicas as an integer), big-endian, in order. Samples read
// from Prometheus and the same samples read from a CSV file have the same digest.
func DigestSamples(samples []ProfilingSample) string {
	h := sha256.New()
	io.WriteString(h, "bascaler-profiling-v1\n")
	var b [8]byte
	put := func(u uint64) {
		binary.BigEndian.PutUint64(b[:], u)
		h.Write(b[:])
	}
	put(uint64(len(samples)))
	for _, s := range samples {
		for _, v := range []float64{s.LoadPerPod, s.CPUPct, s.MeanMS, s.P95MS, s.P99MS, s.ErrorRate} {
			put(math.Float64bits(v))
		}
		put(uint64(s.Replicas))
	}
	return hex.EncodeToString(h.Sum(nil))
}

// FitParams describes the SVR settings o makes FitProfileWith use, for a manifest.
func FitParams(o CapacityOptions) map[string]string {
	g := func(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
	if o.Grid != nil {
		return map[string]string{"svr": "cv", "kernel": o.Grid.Kernel.String(), "folds": strconv.Itoa(o.Grid.Folds), "seed": strconv.FormatUint(o.Grid.Seed, 10)}
	}
	p := o.Params
	if p == (SVRParams{}) {
		p = DefaultSVRParams()
	}
	m := map[string]string{"svr": "fixed", "kernel": p.Kernel.String(), "c": g(p.C), "epsilon": g(p.Epsilon)}
	if p.Gamma != 0 {
		m["gamma"] = g(p.Gamma)
	}
	return m
}
