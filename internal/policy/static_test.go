package policy

import (
	"strings"
	"testing"
	"time"
)

func TestStatic(t *testing.T) {
	cases := []struct {
		name     string
		min, max int
		replicas int
		want     int
		limit    string
	}{
		{"holds N whatever the current count", 1, 100, 9, 4, ""},
		{"clamped to max", 1, 3, 2, 3, limitMax},
		{"clamped to min", 6, 100, 7, 6, limitMin},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := testEnv()
			env.Min, env.Max = c.min, c.max
			p := mustNew(t, "static:4", env)
			if p.Name() != "static:4" || p.Period() != 0 {
				t.Errorf("Name, Period = %q, %v; want static:4, 0", p.Name(), p.Period())
			}
			f := newFeed(time.Minute, c.min, c.max)
			for i := range 3 {
				d := p.Decide(f.step(c.replicas, c.replicas, float64(i), float64(100*i)))
				if d.Replicas != c.want || d.Explanation.Limit != c.limit || d.Explanation.Raw != 4 {
					t.Fatalf("decision %d: got %d (%s), want %d limited by %q", i, d.Replicas, d.Explanation, c.want, c.limit)
				}
			}
		})
	}
}

func TestStaticBadArgument(t *testing.T) {
	cases := []struct{ name, wantErr string }{
		{"static:abc", `policy static: replicas "abc" is not a positive integer`},
		{"static:0", `policy static: replicas "0" is not a positive integer`},
		{"static:-2", `policy static: replicas "-2" is not a positive integer`},
		{"static:", `policy static: replicas "" is not a positive integer`},
		{"static", `unknown policy "static"`},
	}
	for _, c := range cases {
		_, err := New(c.name, testEnv())
		if err == nil || !strings.Contains(err.Error(), c.wantErr) {
			t.Errorf("New(%q) error = %v, want %q", c.name, err, c.wantErr)
		}
	}
	if _, err := New("static:4", testEnv("extra=1")); err == nil || !strings.Contains(err.Error(), `unknown parameter "extra"`) {
		t.Errorf("static with a stray parameter: error = %v", err)
	}
}

// Decide must not allocate: the simulator calls it millions of times per second.
func TestDecideDoesNotAllocate(t *testing.T) {
	for _, name := range []string{"hpa", "kpa", "threshold", "static:4"} {
		t.Run(name, func(t *testing.T) {
			p := mustNew(t, name, testEnv())
			f := newFeed(p.Period(), 1, 100)
			if p.Period() == 0 {
				f.tick = time.Minute
			}
			f.history = []Interval{{LatencyMeanMS: 20, CPU: 0.9}}
			for range 70 {
				f.step(5, 5, 0.9, 300)
			}
			o := f.obs(5, 5)
			i := 0
			allocs := testing.AllocsPerRun(200, func() {
				i++
				o.Now = o.Now.Add(f.tick)
				o.Recent[len(o.Recent)-1].CPU = float64(i%4) * 0.4
				o.Recent[len(o.Recent)-1].Rate = float64(i%4) * 200
				d := p.Decide(o)
				o.Replicas, o.Ready = d.Replicas, d.Replicas
			})
			if allocs != 0 {
				t.Errorf("Decide allocates %.1f times per call, want 0", allocs)
			}
		})
	}
}
