package drift_test

import (
	"fmt"
	"math"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/drift"
	"github.com/bascaler/bascaler/internal/forecast"
	"github.com/bascaler/bascaler/internal/series"
)

// TestDriftDetectionBench measures detection delay on synthetic per-minute workloads with a
// known change point and false alarms on stationary ones (bench/mlops.md, "Drift
// detection"). It runs only with BASCALER_DRIFT_BENCH=1 (minutes of CPU); the defaults of
// the monitor are what it measures.
//
//	BASCALER_DRIFT_BENCH=1 go test -run TestDriftDetectionBench -v -timeout 60m ./internal/drift/
func TestDriftDetectionBench(t *testing.T) {
	if os.Getenv("BASCALER_DRIFT_BENCH") != "1" {
		t.Skip("set BASCALER_DRIFT_BENCH=1 to run the drift detection benchmark")
	}
	kind := os.Getenv("BASCALER_DRIFT_KIND")
	if kind == "" {
		kind = "arima"
	}
	// BASCALER_DRIFT_SEASON=-1 turns the seasonal score off (the monitor before it);
	// BASCALER_DRIFT_SEASONAL_ABOVE sets its threshold.
	var opts drift.Options
	if v := os.Getenv("BASCALER_DRIFT_SEASON"); v != "" {
		if _, err := fmt.Sscan(v, &opts.Season); err != nil {
			t.Fatalf("BASCALER_DRIFT_SEASON %q: %v", v, err)
		}
	}
	if v := os.Getenv("BASCALER_DRIFT_SEASONAL_ABOVE"); v != "" {
		if _, err := fmt.Sscan(v, &opts.SeasonalAbove); err != nil {
			t.Fatalf("BASCALER_DRIFT_SEASONAL_ABOVE %q: %v", v, err)
		}
	}
	const (
		day    = 1440
		train  = 7 * day // fitted on the last 7 days (the last quarter validates)
		evalN  = 3 * day // then scored for 3 days
		change = day     // the change starts one day into the scored stretch
		seeds  = 5
	)
	type scenario struct {
		name    string
		bursts  int
		changed func(base []float64, i int) float64 // value at scored index i >= change
	}
	scenarios := []scenario{
		{"stationary (daily cycle, noise)", 0, nil},
		{"stationary with bursts (6/day)", 6, nil},
		{"level shift x1.5", 0, func(b []float64, i int) float64 { return 1.5 * b[i] }},
		{"level shift x1.2", 0, func(b []float64, i int) float64 { return 1.2 * b[i] }},
		// The workload 8 h late: the same levels at other times of day. (series.Synthetic's
		// cycle follows the point index, not Start, so a second series with an earlier
		// Start, which this scenario used before, was the same series: no change at all.)
		{"new daily shape (cycle 8 h later)", 0, func(b []float64, i int) float64 { return b[i-480] }},
		{"new weekly peak (x1.8 for 6 h)", 0, func(b []float64, i int) float64 {
			if i-change < 360 {
				return 1.8 * b[i]
			}
			return b[i]
		}},
	}
	var rows []string
	for _, sc := range scenarios {
		var delays []int
		alarms, scoredN, missed := 0, 0, 0
		for seed := int64(1); seed <= seeds; seed++ {
			o := series.SyntheticOptions{Points: train + evalN, Step: time.Minute, Mean: 500, DailyAmplitude: 0.5, Noise: 0.08,
				Bursts: sc.bursts * (train + evalN) / day, SpikeShare: 0.5, Seed: seed}
			s, err := series.Synthetic(o)
			if err != nil {
				t.Fatal(err)
			}
			model, err := forecast.New(kind, nil)
			if err != nil {
				t.Fatal(err)
			}
			nval := train / 4
			if err := model.Fit(s.Slice(0, train-nval), s.Slice(train-nval, train), forecast.FitOptions{Horizon: 1, Seed: seed}); err != nil {
				t.Fatal(err)
			}
			w := s.Clone()
			if sc.changed != nil {
				base := s.Values[train:]
				for i := change; i < evalN; i++ {
					w.Values[train+i] = sc.changed(base, i)
				}
			}
			m := drift.New(opts, w.Values[:train])
			prev, first := false, -1
			for i := 0; i < evalN; i++ {
				d := m.Observe(model, w.Slice(0, train+i+1))
				if d.Scored {
					scoredN++
				}
				rising := d.Drifting && !prev
				prev = d.Drifting
				switch {
				case rising && (sc.changed == nil || i < change):
					alarms++
				case d.Drifting && sc.changed != nil && i >= change && first < 0:
					first = i
				}
			}
			if sc.changed != nil {
				if first < 0 {
					missed++
				} else {
					delays = append(delays, first-change)
				}
			}
		}
		med := "-"
		if len(delays) > 0 {
			slices.Sort(delays)
			med = fmt.Sprintf("%d (%v)", delays[len(delays)/2], delays)
		}
		stationaryN := scoredN
		if sc.changed != nil {
			stationaryN = seeds * change
		}
		rows = append(rows, fmt.Sprintf("| %s | %s | %d of %d | %.2f |", sc.name, med, missed, seeds,
			1000*float64(alarms)/math.Max(float64(stationaryN), 1)))
	}
	fmt.Printf("model %s, defaults %+v\n| workload | median intervals to drifting (all seeds) | missed | false alarms per 1,000 stationary intervals |\n|---|---|---|---|\n%s\n",
		kind, opts, strings.Join(rows, "\n"))
}
