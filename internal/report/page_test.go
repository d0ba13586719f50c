package report

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/measure"
	"github.com/bascaler/bascaler/internal/perf"
)

// burstRates is flat load with one burst at [burstFrom, burstTo): small static allocations
// violate in it, large ones do not, so the policies differ there and only there.
const burstFrom, burstTo = 150, 165

func burstRates() []float64 {
	rates := make([]float64, 300)
	for i := range rates {
		rates[i] = 150
		if i >= burstFrom && i < burstTo {
			rates[i] = 1200
		}
	}
	return rates
}

// reportWorkload runs static:n for each n over the burst and assembles the report's input.
func reportWorkload(t *testing.T, ns ...int) Workload {
	t.Helper()
	w := Workload{Name: "burst <w>", Intervals: len(burstRates()), SLO: 16, Metric: perf.Mean, CSVs: []string{"w/a.csv"}}
	for _, n := range ns {
		res := runFixed(t, n, burstRates())
		w.Runs = append(w.Runs, res)
		w.Aggregates = append(w.Aggregates, measure.Aggregate{Policy: res.Policy, Seeds: 1, Summary: res.Summary})
	}
	return w
}

func writeTestReport(t *testing.T, dir string, ws ...Workload) string {
	t.Helper()
	path := filepath.Join(dir, "index.html")
	if err := WriteReport(path, "report <test>", nil, ws); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

var (
	hrefRe = regexp.MustCompile(`href="#([^"]+)"`)
	idRe   = regexp.MustCompile(`id="([^"]+)"`)
)

func TestReportStructure(t *testing.T) {
	w := reportWorkload(t, 2, 4, 12)
	page := writeTestReport(t, t.TempDir(), w)
	for _, want := range []string{"<table class=\"sortable summary\"", "Cost against violations", "Where the policies differ most",
		"Each policy over the whole trace", "burst &lt;w&gt;", "report &lt;test&gt;", `href="w/a.csv"`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<pre>") || strings.Contains(page, "http://") || strings.Contains(page, "https://") {
		t.Error("page has a preformatted table or an external reference")
	}
	if got := strings.Count(page, `<svg class="panel"`); got != 3 {
		t.Errorf("%d small-multiple panels, want one per policy (3)", got)
	}
	if got := strings.Count(page, `<svg class="zoom"`); got < 1 || got > zoomWindows {
		t.Errorf("%d zoom windows, want 1..%d", got, zoomWindows)
	}
	// Every link into the page lands on an element, and the zoom points carry explanations.
	ids := map[string]bool{}
	for _, m := range idRe.FindAllStringSubmatch(page, -1) {
		ids[m[1]] = true
	}
	links := hrefRe.FindAllStringSubmatch(page, -1)
	if len(links) == 0 {
		t.Fatal("no point links to an interval's row")
	}
	for _, m := range links {
		if !ids[m[1]] {
			t.Fatalf("link #%s has no target", m[1])
		}
	}
	expl := w.Runs[0].Records[burstFrom].Decision.Explanation.String()
	if !strings.Contains(page, "<title>") || !strings.Contains(page, expl[:min(len(expl), 20)]) {
		t.Errorf("the decision's explanation %q is not in the page", expl)
	}
	// The summary rows are ordered by violating intervals, then pod-hours.
	rows := regexp.MustCompile(`<tr><td>(static:\d+)</td>`).FindAllStringSubmatch(page, -1)
	by := map[string]measure.Aggregate{}
	for _, a := range w.Aggregates {
		by[a.Policy] = a
	}
	if len(rows) != len(w.Aggregates) {
		t.Fatalf("%d summary rows, want %d", len(rows), len(w.Aggregates))
	}
	if rows[0][1] != "static:12" {
		t.Errorf("first row %s, want static:12 (no violations)", rows[0][1])
	}
	for i := 1; i < len(rows); i++ {
		p, q := by[rows[i-1][1]], by[rows[i][1]]
		if p.SLOViolationRate > q.SLOViolationRate || (p.SLOViolationRate == q.SLOViolationRate && p.CostPodHours > q.CostPodHours) {
			t.Errorf("row %s before %s is out of order", p.Policy, q.Policy)
		}
	}
}

func TestWorstWindowsCoverTheBurst(t *testing.T) {
	w := reportWorkload(t, 2, 4, 12)
	for _, tc := range []struct{ k, l int }{{1, 30}, {3, 30}, {2, 10}} {
		wins := worstWindows(w.Runs, tc.k, tc.l)
		if len(wins) != tc.k {
			t.Fatalf("k=%d l=%d: %d windows", tc.k, tc.l, len(wins))
		}
		hit := false
		for i, win := range wins {
			if win.to-win.from != tc.l {
				t.Errorf("window %v is not %d long", win, tc.l)
			}
			if i > 0 && wins[i-1].to > win.from {
				t.Errorf("windows %v and %v overlap or are out of order", wins[i-1], win)
			}
			hit = hit || (win.from < burstTo && burstFrom < win.to)
		}
		if !hit {
			t.Errorf("k=%d l=%d: windows %v miss the burst [%d,%d)", tc.k, tc.l, wins, burstFrom, burstTo)
		}
	}
}

func TestTimeTicks(t *testing.T) {
	day := time.Date(1995, 7, 23, 5, 14, 0, 0, time.UTC)
	for _, tc := range []struct {
		name      string
		span      time.Duration
		max       int
		first     string
		step      time.Duration
		atMostMax bool
	}{
		{"a week in days", 5*24*time.Hour + 12*time.Hour, 9, "Jul 24", 24 * time.Hour, true},
		{"an hour in ten minutes", time.Hour, 9, "05:20", 10 * time.Minute, true},
		{"a day in three hours", 24 * time.Hour, 9, "06:00", 3 * time.Hour, true},
	} {
		ts, labels := timeTicks(day, day.Add(tc.span), tc.max)
		if len(ts) == 0 || len(ts) > tc.max+1 {
			t.Fatalf("%s: %d ticks", tc.name, len(ts))
		}
		if labels[0] != tc.first {
			t.Errorf("%s: first label %q, want %q", tc.name, labels[0], tc.first)
		}
		if len(ts) > 1 && ts[1].Sub(ts[0]) != tc.step {
			t.Errorf("%s: step %v, want %v", tc.name, ts[1].Sub(ts[0]), tc.step)
		}
	}
}

func TestReportRejectsRunsOfDifferentLengths(t *testing.T) {
	w := reportWorkload(t, 2, 4)
	w.Runs[1].Records = w.Runs[1].Records[:10]
	if err := WriteReport(filepath.Join(t.TempDir(), "i.html"), "t", nil, []Workload{w}); err == nil || !strings.Contains(err.Error(), "records") {
		t.Errorf("err = %v, want one naming the records", err)
	}
}
