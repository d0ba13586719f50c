package series

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestSyntheticPresetsAreValidAndLabelled(t *testing.T) {
	for _, name := range SyntheticNames() {
		t.Run(name, func(t *testing.T) {
			o, err := PresetOptions(name)
			if err != nil {
				t.Fatal(err)
			}
			s, err := SyntheticByName(name, 7)
			if err != nil {
				t.Fatal(err)
			}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			if s.Len() != o.Points || s.Step != o.Step || s.Name != "synthetic:"+name {
				t.Errorf("got %d points at %v named %q; want %d at %v", s.Len(), s.Step, s.Name, o.Points, o.Step)
			}
			if len(s.Bursts) != o.Bursts {
				t.Errorf("%d burst labels, want %d", len(s.Bursts), o.Bursts)
			}
			if SyntheticDescription(name) == "" {
				t.Error("no description")
			}
			// Labels are in time order, inside the series and never overlap.
			for i, b := range s.Bursts {
				if i > 0 && b.Start < s.Bursts[i-1].End+burstMargin {
					t.Errorf("burst %d %v overlaps or touches burst %d %v", i, b, i-1, s.Bursts[i-1])
				}
			}
		})
	}
}

func TestSyntheticDefaultIsBurstyDay(t *testing.T) {
	o := DefaultSynthetic()
	if o.Name != DefaultSyntheticName || SyntheticNames()[0] != DefaultSyntheticName {
		t.Fatalf("default is %q, names %v", o.Name, SyntheticNames())
	}
	s, err := Synthetic(o)
	if err != nil {
		t.Fatal(err)
	}
	// One day of minutes, starting at midnight.
	if s.Len() != 1440 || s.Step != time.Minute || s.Time(s.Len()).Sub(s.Start) != 24*time.Hour {
		t.Errorf("got %d points at %v", s.Len(), s.Step)
	}
	kinds := map[string]int{}
	for _, b := range s.Bursts {
		kinds[b.Kind]++
	}
	if kinds["flash-crowd"] != 3 || kinds["spike"] != 3 {
		t.Errorf("burst kinds %v, want 3 flash crowds and 3 spikes", kinds)
	}
	// Mean near 500 req/s: the level's mean is exactly 500; noise averages out and bursts
	// add a little.
	mean, _ := meanStd(s.Values)
	if mean < 480 || mean > 600 {
		t.Errorf("mean %v req/s, want about 500", mean)
	}
	// A full day/night swing: the night (02:00-06:00) is well below the afternoon
	// (14:00-18:00).
	night, _ := meanStd(s.Values[2*60 : 6*60])
	day, _ := meanStd(s.Values[14*60 : 18*60])
	if !(day > 1.5*night) {
		t.Errorf("afternoon mean %v vs night mean %v: no day/night cycle", day, night)
	}
}

func TestSyntheticIsDeterministicInTheSeed(t *testing.T) {
	a, err := SyntheticByName("bursty-day", 42)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := SyntheticByName("bursty-day", 42)
	c, _ := SyntheticByName("bursty-day", 43)
	if !slices.Equal(a.Values, b.Values) || !slices.Equal(a.Bursts, b.Bursts) {
		t.Error("same seed gave different series")
	}
	if slices.Equal(a.Values, c.Values) {
		t.Error("different seeds gave the same values")
	}
	if slices.Equal(a.Bursts, c.Bursts) {
		t.Error("different seeds gave the same bursts")
	}
}

// The noise stream does not depend on the bursts, so the same options without bursts give
// the underlying series: the ratio is then exactly each burst's multiplier.
func TestSyntheticBurstsRiseAboveTheUnderlyingLevel(t *testing.T) {
	for _, name := range SyntheticNames() {
		t.Run(name, func(t *testing.T) {
			o, _ := PresetOptions(name)
			o.Seed = 3
			with, err := Synthetic(o)
			if err != nil {
				t.Fatal(err)
			}
			o.Bursts = 0
			base, err := Synthetic(o)
			if err != nil {
				t.Fatal(err)
			}
			inBurst := make([]bool, with.Len())
			for _, b := range with.Bursts {
				lo, hi := 2.0, 5.0
				if b.Kind == "spike" {
					lo, hi = 2, 4
					if n := b.End - b.Start; n < 1 || n > 3 {
						t.Errorf("spike %v lasts %d intervals, want 1-3", b, n)
					}
				} else if name == "flash-crowd" {
					lo = 4
				}
				if b.Peak < lo || b.Peak > hi {
					t.Errorf("%s peak %v outside [%v, %v]", b.Kind, b.Peak, lo, hi)
				}
				maxRatio := 0.0
				for i := b.Start; i < b.End; i++ {
					inBurst[i] = true
					r := with.Values[i] / base.Values[i]
					if r <= 1 {
						t.Errorf("burst %v: point %d is %v, not above the underlying %v", b, i, with.Values[i], base.Values[i])
					}
					maxRatio = max(maxRatio, r)
				}
				if math.Abs(maxRatio-b.Peak) > 1e-9 {
					t.Errorf("burst %v: largest multiplier %v, label says %v", b, maxRatio, b.Peak)
				}
			}
			for i, in := range inBurst {
				if !in && with.Values[i] != base.Values[i] {
					t.Fatalf("point %d outside every burst differs from the underlying series", i)
				}
			}
		})
	}
}

func TestSyntheticShapes(t *testing.T) {
	// Noise-free level checks against closed forms.
	base := SyntheticOptions{Points: 2880, Step: time.Minute, Mean: 100}
	tests := []struct {
		name  string
		tweak func(*SyntheticOptions)
		check func(t *testing.T, v []float64)
	}{
		{"flat level equals the mean", func(o *SyntheticOptions) {}, func(t *testing.T, v []float64) {
			for i, x := range v {
				if math.Abs(x-100) > 1e-9 {
					t.Fatalf("point %d = %v, want 100", i, x)
				}
			}
		}},
		{"daily cycle bottoms at 04:00 and peaks at 16:00", func(o *SyntheticOptions) { o.DailyAmplitude = 0.5 }, func(t *testing.T, v []float64) {
			if lo, hi := slices.Index(v, slices.Min(v)), slices.Index(v, slices.Max(v)); lo != 4*60 || hi != 16*60 {
				t.Errorf("min at minute %d, max at minute %d; want 240 and 960", lo, hi)
			}
			if r := slices.Max(v) / slices.Min(v); math.Abs(r-1.3/0.5) > 1e-9 {
				t.Errorf("max/min = %v, want (1+0.6*0.5)/(1-0.5) = 2.6", r)
			}
		}},
		{"trend grows the level linearly", func(o *SyntheticOptions) { o.Trend = 1 }, func(t *testing.T, v []float64) {
			if r := v[len(v)-1] / v[0]; math.Abs(r-2) > 1e-9 {
				t.Errorf("last/first = %v, want 2", r)
			}
		}},
		{"weekly cycle dips on Sunday", func(o *SyntheticOptions) { o.Points = 7 * 1440; o.WeeklyAmplitude = 0.3 }, func(t *testing.T, v []float64) {
			if lo := slices.Index(v, slices.Min(v)); lo/1440 != 6 {
				t.Errorf("weekly minimum on day %d, want 6 (Sunday)", lo/1440)
			}
		}},
		{"noise has the requested coefficient of variation", func(o *SyntheticOptions) { o.Points = 20000; o.Noise = 0.1 }, func(t *testing.T, v []float64) {
			m, sd := meanStd(v)
			if math.Abs(m-100) > 1 || math.Abs(sd/m-0.1) > 0.005 {
				t.Errorf("mean %v cv %v, want 100 and 0.1", m, sd/m)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := base
			tt.tweak(&o)
			s, err := Synthetic(o)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s.Values)
		})
	}
}

func TestSyntheticLongKeepsTheBurstRate(t *testing.T) {
	s, err := SyntheticLong("bursty-day", 50000, 1)
	if err != nil {
		t.Fatal(err)
	}
	if s.Len() != 50000 || len(s.Bursts) != 208 { // 6 bursts per 1440 points
		t.Errorf("got %d points and %d bursts, want 50000 and 208", s.Len(), len(s.Bursts))
	}
	if err := s.Validate(); err != nil {
		t.Error(err)
	}
}

func TestSyntheticRejectsBadOptions(t *testing.T) {
	ok := SyntheticOptions{Points: 100, Step: time.Minute, Mean: 10}
	tests := []struct {
		name  string
		tweak func(*SyntheticOptions)
		want  string
	}{
		{"too few points", func(o *SyntheticOptions) { o.Points = 1 }, "points 1, need at least 2"},
		{"no step", func(o *SyntheticOptions) { o.Step = 0 }, "step 0s must be positive"},
		{"zero mean", func(o *SyntheticOptions) { o.Mean = 0 }, "mean 0 must be"},
		{"NaN mean", func(o *SyntheticOptions) { o.Mean = math.NaN() }, "mean NaN must be"},
		{"daily amplitude 1 would reach zero", func(o *SyntheticOptions) { o.DailyAmplitude = 1 }, "daily amplitude 1 must be in [0, 1)"},
		{"negative weekly amplitude", func(o *SyntheticOptions) { o.WeeklyAmplitude = -0.1 }, "weekly amplitude -0.1"},
		{"trend to nothing", func(o *SyntheticOptions) { o.Trend = -1 }, "trend -1 must be"},
		{"noise above 1", func(o *SyntheticOptions) { o.Noise = 2 }, "noise 2 must be in [0, 1]"},
		{"negative bursts", func(o *SyntheticOptions) { o.Bursts = -1 }, "bursts -1 must be >= 0"},
		{"spike share above 1", func(o *SyntheticOptions) { o.SpikeShare = 1.5 }, "spike share 1.5"},
		{"peak multiplier not above 1", func(o *SyntheticOptions) { o.SpikePeak = [2]float64{0.5, 2} }, "peak range [0.5, 2]"},
		{"too many bursts for the points", func(o *SyntheticOptions) { o.Bursts = 3 }, "3 bursts need at least 55 points each, 100 points give 33"},
		{"too many spikes for the points", func(o *SyntheticOptions) { o.Bursts = 20; o.SpikeShare = 1 }, "20 bursts need at least 7 points each, 100 points give 5"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := ok
			tt.tweak(&o)
			_, err := Synthetic(o)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Synthetic = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

func TestSyntheticByNameRejectsUnknownNames(t *testing.T) {
	_, err := SyntheticByName("tsunami", 1)
	if err == nil || !strings.Contains(err.Error(), `"tsunami"`) || !strings.Contains(err.Error(), strings.Join(SyntheticNames(), ", ")) {
		t.Errorf("got %v, want an error naming the input and listing %v", err, SyntheticNames())
	}
}

func BenchmarkSyntheticBurstyDay(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SyntheticByName("bursty-day", 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSyntheticLong50000(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := SyntheticLong("bursty-day", 50000, 1); err != nil {
			b.Fatal(err)
		}
	}
}

// Random option sets either fail with an error or give a valid series whose labels lie
// inside it and do not overlap; none panics.
func TestSyntheticRandomOptionsGiveValidSeriesOrErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	valid := 0
	for i := range 300 {
		o := SyntheticOptions{
			Points:          2 + rng.IntN(3000),
			Step:            time.Duration(1+rng.IntN(3600)) * time.Second,
			Mean:            rng.Float64() * 1000,
			DailyAmplitude:  rng.Float64(),
			WeeklyAmplitude: rng.Float64(),
			Trend:           rng.Float64()*3 - 0.99,
			Noise:           rng.Float64(),
			Bursts:          rng.IntN(40),
			SpikeShare:      rng.Float64(),
			Seed:            int64(i),
		}
		s, err := Synthetic(o)
		if err != nil {
			continue
		}
		valid++
		if err := s.Validate(); err != nil {
			t.Fatalf("options %+v: %v", o, err)
		}
		if len(s.Bursts) != o.Bursts {
			t.Fatalf("options %+v: %d labels", o, len(s.Bursts))
		}
		for j := 1; j < len(s.Bursts); j++ {
			if s.Bursts[j].Start < s.Bursts[j-1].End {
				t.Fatalf("options %+v: bursts %v and %v overlap", o, s.Bursts[j-1], s.Bursts[j])
			}
		}
	}
	if valid < 100 {
		t.Errorf("only %d of 300 random option sets were accepted; the test checks too little", valid)
	}
}

// TestOnOffPresetsHaveTheirKnownGaps: the on/off presets are busy OnLen intervals, then
// idle for exactly the listed gaps, in order.
func TestOnOffPresetsHaveTheirKnownGaps(t *testing.T) {
	for _, c := range []struct {
		name  string
		on    int
		gaps  []int
		first []int // the first idle runs, in order
	}{
		{"onoff-periodic", 5, []int{25}, []int{25, 25, 25}},
		{"onoff-irregular", 3, []int{4, 12, 45, 8, 90, 20}, []int{4, 12, 45, 8, 90, 20, 4}},
	} {
		s, err := SyntheticByName(c.name, 1)
		if err != nil {
			t.Fatal(err)
		}
		var idle, busy []int
		run, zero := 0, false
		for i, v := range s.Values {
			if (v == 0) != zero && i > 0 {
				if zero {
					idle = append(idle, run)
				} else {
					busy = append(busy, run)
				}
				run = 0
			}
			zero = v == 0
			run++
			if v < 0 || math.IsNaN(v) {
				t.Fatalf("%s: value %v at %d", c.name, v, i)
			}
		}
		if len(idle) < len(c.first) || !slices.Equal(idle[:len(c.first)], c.first) {
			t.Errorf("%s: idle runs %v, want them to start with %v", c.name, idle, c.first)
		}
		for _, b := range busy {
			if b != c.on {
				t.Errorf("%s: a busy run of %d intervals, want %d", c.name, b, c.on)
			}
		}
	}
	bad := SyntheticOptions{Points: 100, Step: time.Minute, Mean: 5, OffGaps: []int{3}}
	if _, err := Synthetic(bad); err == nil || !strings.Contains(err.Error(), "busy interval") {
		t.Errorf("on/off without busy intervals: %v", err)
	}
}
