package series

import (
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"time"
)

// DefaultSyntheticName is the preset used when no trace is given: the embedded default
// workload.
const DefaultSyntheticName = "bursty-day"

// SyntheticOptions describes a synthetic workload in req/s: an underlying level with daily
// and weekly seasonality and a linear trend, multiplied by log-normal noise, with injected
// flash crowds and spikes whose true extent is recorded in Series.Bursts. Fields whose doc
// says "0 means ..." take that default when left zero; everything else is used as given.
type SyntheticOptions struct {
	// Name names the series ("synthetic:<Name>"); "" means "custom".
	Name string
	// Points is the number of intervals (>= 2).
	Points int
	// Step is the length of one interval (> 0).
	Step time.Duration
	// Start is the start of the first interval; the zero time means 2024-01-01T00:00:00Z,
	// a Monday at midnight.
	Start time.Time
	// Mean is the exact mean of the underlying level (before noise and bursts), in req/s.
	Mean float64
	// DailyAmplitude in [0, 1) is the relative swing of the daily cycle: the level goes from
	// about (1-A) at 04:00 to (1+0.6A) through the afternoon, around a cycle mean of 1.
	DailyAmplitude float64
	// DailyPeriod is the number of points in one daily cycle; 0 means 24h/Step.
	DailyPeriod int
	// WeeklyAmplitude in [0, 1) is the relative swing of a weekly cosine that peaks in
	// mid-week and bottoms out on Sunday.
	WeeklyAmplitude float64
	// WeeklyPeriod is the number of points in one weekly cycle; 0 means 7*DailyPeriod.
	WeeklyPeriod int
	// Trend is the relative change of the level from the first to the last point
	// (0.1 = 10% growth); it must be > -1.
	Trend float64
	// Noise in [0, 1] is the coefficient of variation of the multiplicative noise: each point
	// is multiplied by an independent log-normal factor with mean 1.
	Noise float64
	// Bursts is the number of injected bursts. They are spread over the series, one in each
	// of Bursts equal slots at a random position, so they never overlap.
	Bursts int
	// SpikeShare in [0, 1] is the share of the bursts that are spikes; the rest are flash
	// crowds.
	SpikeShare float64
	// FlashPeak is the range of a flash crowd's peak multiplier over the underlying level;
	// {0, 0} means {2, 5}.
	FlashPeak [2]float64
	// SpikePeak is the range of a spike's multiplier; {0, 0} means {2, 4}.
	SpikePeak [2]float64
	// Seed makes the series reproducible: same options, same values.
	Seed int64
	// OffGaps, when set, makes on/off (serverless-like) traffic with known idle gaps: OnLen
	// busy intervals (the workload as above), then OffGaps[0] intervals without any request,
	// OnLen busy, OffGaps[1] idle, ..., cycling through OffGaps. The series starts busy.
	OffGaps []int
	// OnLen is the number of busy intervals between gaps (>= 1 when OffGaps is set).
	OnLen int
}

// Burst shapes, in intervals. A flash crowd ramps up linearly over flashRamp intervals,
// holds its peak for flashPlateau, then decays exponentially with time constant flashTau
// until the excess over the underlying level is below 5% of the peak excess (ln 20 time
// constants). A spike holds its multiplier for 1 to 3 intervals.
var (
	flashRamp    = [2]int{2, 6}
	flashPlateau = [2]int{3, 15}
	flashTau     = [2]float64{3, 10}
	spikeLen     = [2]int{1, 3}
)

// burstMargin keeps bursts this many points away from their slot's edges, so two bursts
// are never adjacent and the series never starts or ends inside one.
const burstMargin = 2

var (
	maxFlashLen = flashRamp[1] + flashPlateau[1] + decayLen(flashTau[1])
	maxSpikeLen = spikeLen[1]
)

func decayLen(tau float64) int { return int(math.Ceil(tau * math.Log(20))) }

// DefaultSynthetic returns the options of the default workload, the "bursty-day" preset
// with seed 1: one day of 1440 one-minute intervals, mean 500 req/s, a daily cycle with
// amplitude 0.5 (a full day/night swing within the day), 8% noise, and 6 bursts (3 flash
// crowds and 3 spikes).
func DefaultSynthetic() SyntheticOptions {
	o, _ := presetOptions(DefaultSyntheticName)
	o.Seed = 1
	return o
}

// presets are the named synthetic workloads. All run at mean 500 req/s but the on/off ones,
// whose busy intervals run at a serverless function's 20 req/s.
var presets = []struct {
	name string
	doc  string
	opts SyntheticOptions
}{
	{"bursty-day", "one day at 60 s, daily cycle, 3 flash crowds and 3 spikes",
		SyntheticOptions{Points: 1440, Step: time.Minute, Mean: 500, DailyAmplitude: 0.5, Noise: 0.08, Bursts: 6, SpikeShare: 0.5}},
	{"flash-crowd", "one day at 60 s with one big flash crowd (4-5x)",
		SyntheticOptions{Points: 1440, Step: time.Minute, Mean: 500, DailyAmplitude: 0.4, Noise: 0.05, Bursts: 1, FlashPeak: [2]float64{4, 5}}},
	{"spikes", "one day at 60 s with 24 short spikes",
		SyntheticOptions{Points: 1440, Step: time.Minute, Mean: 500, DailyAmplitude: 0.5, Noise: 0.05, Bursts: 24, SpikeShare: 1}},
	// Seven days at one minute would be 10080 points; ten-minute steps keep the week at
	// 1008 points (each point is one control interval in the simulator, as in the paper's
	// time-compressed hourly traces) while still showing both cycles and the trend.
	{"weekly", "7 days at 10 min: daily and weekly cycles, 10% trend, 7 bursts",
		SyntheticOptions{Points: 1008, Step: 10 * time.Minute, Mean: 500, DailyAmplitude: 0.5, WeeklyAmplitude: 0.25, Trend: 0.1, Noise: 0.06, Bursts: 7, SpikeShare: 0.5}},
	{"steady", "one day at 60 s, gentle daily cycle, 2% noise, no bursts",
		SyntheticOptions{Points: 1440, Step: time.Minute, Mean: 500, DailyAmplitude: 0.15, Noise: 0.02}},
	// Scale-to-zero workloads: the idle gaps are known exactly (OffGaps), so the cold starts
	// a policy could avoid are known too.
	{"onoff-periodic", "one day at 60 s: 5 busy minutes at 20 req/s every 30 minutes (25-minute idle gaps)",
		SyntheticOptions{Points: 1440, Step: time.Minute, Mean: 20, Noise: 0.1, OnLen: 5, OffGaps: []int{25}}},
	{"onoff-irregular", "one day at 60 s: 3 busy minutes at 20 req/s, then idle gaps cycling 4, 12, 45, 8, 90, 20 minutes",
		SyntheticOptions{Points: 1440, Step: time.Minute, Mean: 20, Noise: 0.1, OnLen: 3, OffGaps: []int{4, 12, 45, 8, 90, 20}}},
}

// SyntheticNames lists the preset names, the default first.
func SyntheticNames() []string {
	names := make([]string, len(presets))
	for i, p := range presets {
		names[i] = p.name
	}
	return names
}

// SyntheticDescription returns a one-line description of a preset ("" if unknown).
func SyntheticDescription(name string) string {
	for _, p := range presets {
		if p.name == name {
			return p.doc
		}
	}
	return ""
}

// PresetOptions returns the options of a named preset (with Seed 0), to adjust before
// calling Synthetic.
func PresetOptions(name string) (SyntheticOptions, error) { return presetOptions(name) }

func presetOptions(name string) (SyntheticOptions, error) {
	for _, p := range presets {
		if p.name == name {
			o := p.opts
			o.Name = p.name
			return o, nil
		}
	}
	return SyntheticOptions{}, fmt.Errorf("unknown synthetic workload %q (valid: %s)", name, strings.Join(SyntheticNames(), ", "))
}

// SyntheticByName generates the named preset with the given seed.
func SyntheticByName(name string, seed int64) (Series, error) {
	o, err := presetOptions(name)
	if err != nil {
		return Series{}, err
	}
	o.Seed = seed
	return Synthetic(o)
}

// SyntheticLong generates a preset stretched to the given number of points, keeping its
// character: the same step, cycles and noise, and the number of bursts scaled in
// proportion (bursty-day at 50000 points has about 208 bursts). Meant for training data.
func SyntheticLong(name string, points int, seed int64) (Series, error) {
	o, err := presetOptions(name)
	if err != nil {
		return Series{}, err
	}
	o.Bursts = int(math.Round(float64(o.Bursts) * float64(points) / float64(o.Points)))
	o.Points = points
	o.Seed = seed
	return Synthetic(o)
}

// Synthetic generates the workload o describes. The result is deterministic in o: the
// burst layout and the noise are drawn from two PCG streams seeded by o.Seed, the noise
// stream independently of the bursts, so the same seed without bursts gives exactly the
// underlying series that the bursts multiply.
func Synthetic(o SyntheticOptions) (Series, error) {
	o, err := o.withDefaults()
	if err != nil {
		return Series{}, err
	}
	n := o.Points
	level := make([]float64, n)
	var sum float64
	for i := range level {
		day := float64(i%o.DailyPeriod) / float64(o.DailyPeriod)
		week := float64(i%o.WeeklyPeriod) / float64(o.WeeklyPeriod)
		trend := 1.0
		if n > 1 {
			trend += o.Trend * float64(i) / float64(n-1)
		}
		level[i] = (1 + o.DailyAmplitude*dailyShape(day)) * (1 + o.WeeklyAmplitude*weeklyShape(week)) * trend
		sum += level[i]
	}
	scale := o.Mean / (sum / float64(n))

	mult := make([]float64, n)
	for i := range mult {
		mult[i] = 1
	}
	bursts := placeBursts(o, mult)

	noise := rand.New(rand.NewPCG(uint64(o.Seed), 0x6e6f697365)) // "noise"
	sigma := math.Sqrt(math.Log1p(o.Noise * o.Noise))
	values := make([]float64, n)
	for i := range values {
		eps := 1.0
		if sigma > 0 {
			eps = math.Exp(sigma*noise.NormFloat64() - sigma*sigma/2)
		}
		values[i] = level[i] * scale * mult[i] * eps
	}
	if len(o.OffGaps) > 0 {
		for i, g := o.OnLen, 0; i < n; g++ {
			for j := 0; j < o.OffGaps[g%len(o.OffGaps)] && i < n; j++ {
				values[i] = 0
				i++
			}
			i += o.OnLen
		}
	}
	return Series{
		Name:   "synthetic:" + o.Name,
		Start:  o.Start,
		Step:   o.Step,
		Values: values,
		Bursts: bursts,
	}, nil
}

func (o SyntheticOptions) withDefaults() (SyntheticOptions, error) {
	fail := func(format string, args ...any) (SyntheticOptions, error) {
		return o, fmt.Errorf("synthetic workload %q: "+format, append([]any{o.Name}, args...)...)
	}
	if o.Name == "" {
		o.Name = "custom"
	}
	if o.Start.IsZero() {
		o.Start = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	}
	if o.FlashPeak == [2]float64{} {
		o.FlashPeak = [2]float64{2, 5}
	}
	if o.SpikePeak == [2]float64{} {
		o.SpikePeak = [2]float64{2, 4}
	}
	switch {
	case o.Points < 2:
		return fail("points %d, need at least 2", o.Points)
	case o.Step <= 0:
		return fail("step %s must be positive", o.Step)
	case !(o.Mean > 0) || math.IsInf(o.Mean, 0):
		return fail("mean %g must be a finite number > 0", o.Mean)
	case !(o.DailyAmplitude >= 0 && o.DailyAmplitude < 1):
		return fail("daily amplitude %g must be in [0, 1)", o.DailyAmplitude)
	case !(o.WeeklyAmplitude >= 0 && o.WeeklyAmplitude < 1):
		return fail("weekly amplitude %g must be in [0, 1)", o.WeeklyAmplitude)
	case !(o.Trend > -1) || math.IsInf(o.Trend, 0):
		return fail("trend %g must be a finite number > -1", o.Trend)
	case !(o.Noise >= 0 && o.Noise <= 1):
		return fail("noise %g must be in [0, 1]", o.Noise)
	case o.Bursts < 0:
		return fail("bursts %d must be >= 0", o.Bursts)
	case !(o.SpikeShare >= 0 && o.SpikeShare <= 1):
		return fail("spike share %g must be in [0, 1]", o.SpikeShare)
	case o.DailyPeriod < 0 || o.WeeklyPeriod < 0:
		return fail("periods must be >= 0 points")
	case len(o.OffGaps) > 0 && o.OnLen < 1:
		return fail("on/off traffic needs at least 1 busy interval between gaps, got %d", o.OnLen)
	case len(o.OffGaps) > 0 && o.Bursts > 0:
		return fail("on/off traffic takes no injected bursts")
	}
	for _, g := range o.OffGaps {
		if g < 1 {
			return fail("idle gap %d must be at least 1 interval", g)
		}
	}
	for _, r := range [][2]float64{o.FlashPeak, o.SpikePeak} {
		if !(r[0] > 1 && r[1] >= r[0]) || math.IsInf(r[1], 0) {
			return fail("peak range [%g, %g] must satisfy 1 < low <= high < inf", r[0], r[1])
		}
	}
	if o.DailyPeriod == 0 {
		o.DailyPeriod = max(1, int((24*time.Hour)/o.Step))
	}
	if o.WeeklyPeriod == 0 {
		o.WeeklyPeriod = 7 * o.DailyPeriod
	}
	if o.Bursts > 0 {
		need := maxSpikeLen
		if o.spikes() < o.Bursts {
			need = maxFlashLen
		}
		need += 2 * burstMargin
		if o.Points/o.Bursts < need {
			return fail("%d bursts need at least %d points each, %d points give %d", o.Bursts, need, o.Points, o.Points/o.Bursts)
		}
	}
	return o, nil
}

func (o SyntheticOptions) spikes() int { return int(math.Round(float64(o.Bursts) * o.SpikeShare)) }

// dailyShape has cycle mean 0, its minimum -1 at 04:00 and a broad high between about 10:00
// and 22:00 peaking at 0.6 around 16:00: a first harmonic for day versus night, and a second
// one that deepens the night and flattens the day.
func dailyShape(phase float64) float64 {
	x := 2 * math.Pi * (phase - 4.0/24)
	return (-math.Cos(x) - 0.25*math.Cos(2*x)) / 1.25
}

// weeklyShape has cycle mean 0, peaks mid-Wednesday and bottoms out mid-Sunday (for a series
// starting on Monday 00:00).
func weeklyShape(phase float64) float64 {
	return math.Cos(2 * math.Pi * (phase - 2.5/7))
}

// placeBursts draws the bursts' kinds, positions, lengths and peaks, writes their
// multipliers into mult and returns their labels in time order.
func placeBursts(o SyntheticOptions, mult []float64) []Burst {
	if o.Bursts == 0 {
		return nil
	}
	rng := rand.New(rand.NewPCG(uint64(o.Seed), 0x627572737473)) // "bursts"
	kinds := make([]string, o.Bursts)
	for i := range kinds {
		kinds[i] = "flash-crowd"
		if i < o.spikes() {
			kinds[i] = "spike"
		}
	}
	rng.Shuffle(len(kinds), func(i, j int) { kinds[i], kinds[j] = kinds[j], kinds[i] })

	slot := o.Points / o.Bursts
	bursts := make([]Burst, 0, o.Bursts)
	for k, kind := range kinds {
		var shape []float64 // excess over the level, as a fraction of the peak excess
		var peak float64
		if kind == "spike" {
			shape = make([]float64, intIn(rng, spikeLen))
			for i := range shape {
				shape[i] = 1
			}
			peak = floatIn(rng, o.SpikePeak)
		} else {
			ramp, plateau := intIn(rng, flashRamp), intIn(rng, flashPlateau)
			tau := floatIn(rng, flashTau)
			for i := 1; i <= ramp; i++ {
				shape = append(shape, float64(i)/float64(ramp))
			}
			for range plateau {
				shape = append(shape, 1)
			}
			for i := 1; i <= decayLen(tau); i++ {
				shape = append(shape, math.Exp(-float64(i)/tau))
			}
			peak = floatIn(rng, o.FlashPeak)
		}
		lo := k*slot + burstMargin
		hi := (k+1)*slot - burstMargin - len(shape) // last allowed start
		start := lo + rng.IntN(hi-lo+1)
		for i, f := range shape {
			mult[start+i] = 1 + (peak-1)*f
		}
		bursts = append(bursts, Burst{Start: start, End: start + len(shape), Kind: kind, Peak: peak})
	}
	return bursts
}

func intIn(rng *rand.Rand, r [2]int) int { return r[0] + rng.IntN(r[1]-r[0]+1) }

func floatIn(rng *rand.Rand, r [2]float64) float64 { return r[0] + rng.Float64()*(r[1]-r[0]) }
