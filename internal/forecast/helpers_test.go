package forecast

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/series"
)

var t0 = time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)

// hourlyDaily is an hourly series with a daily cycle, plus Gaussian noise of the given sd.
func hourlyDaily(n int, noise float64, seed uint64) series.Series {
	rng := rand.New(rand.NewPCG(seed, 1))
	v := make([]float64, n)
	for i := range v {
		v[i] = 500 + 200*math.Sin(2*math.Pi*float64(i)/24) + 80*math.Cos(4*math.Pi*float64(i)/24) + noise*rng.NormFloat64()
	}
	return series.Series{Name: "test", Start: t0, Step: time.Hour, Values: v}
}

func split3(t *testing.T, s series.Series) (series.Series, series.Series, series.Series) {
	t.Helper()
	tr, va, te, err := series.Split(s, series.DefaultSplit)
	if err != nil {
		t.Fatal(err)
	}
	return tr, va, te
}

func mustNew(t *testing.T, kind string, p map[string]string) Forecaster {
	t.Helper()
	f, err := New(kind, p)
	if err != nil {
		t.Fatal(err)
	}
	return f
}
