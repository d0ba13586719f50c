package report

import (
	"fmt"
	"html"
	"image/color"
	"os"
	"path/filepath"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"

	"github.com/bascaler/bascaler/internal/measure"
	"github.com/bascaler/bascaler/internal/perf"
)

// maxPlotPoints bounds the points of one plotted line: long traces are reduced to bucket
// maxima (for latency and replicas the peaks are what matters) so an SVG stays small.
const maxPlotPoints = 1500

var palette = []color.RGBA{
	{31, 119, 180, 255}, {255, 127, 14, 255}, {44, 160, 44, 255}, {214, 39, 40, 255},
	{148, 103, 189, 255}, {140, 86, 75, 255}, {227, 119, 194, 255}, {127, 127, 127, 255},
}

func reduce(values []float64) plotter.XYs {
	n := len(values)
	bucket := (n + maxPlotPoints - 1) / maxPlotPoints
	if bucket < 1 {
		bucket = 1
	}
	var xy plotter.XYs
	for i := 0; i < n; i += bucket {
		m := values[i]
		for j := i + 1; j < min(i+bucket, n); j++ {
			m = max(m, values[j])
		}
		xy = append(xy, plotter.XY{X: float64(i), Y: m})
	}
	return xy
}

func line(p *plot.Plot, name string, values []float64, c color.RGBA, dashed bool) error {
	l, err := plotter.NewLine(reduce(values))
	if err != nil {
		return err
	}
	l.Color = c
	l.Width = vg.Points(1)
	if dashed {
		l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
	}
	p.Add(l)
	p.Legend.Add(name, l)
	return nil
}

// Plots writes workload.svg, replicas.svg and latency.svg for one workload's runs (one
// seed per policy) into dir and returns the file names.
func Plots(dir string, results []measure.Result, slo float64, metric perf.LatencyMetric) ([]string, error) {
	if len(results) == 0 {
		return nil, nil
	}
	n := len(results[0].Records)
	rate := make([]float64, n)
	need := make([]float64, n)
	for i, r := range results[0].Records {
		rate[i] = r.Rate
		need[i] = float64(r.Need)
	}

	wl := plot.New()
	wl.Title.Text = "Workload"
	wl.X.Label.Text = "interval"
	wl.Y.Label.Text = "req/s"
	if err := line(wl, "arrival rate", rate, palette[0], false); err != nil {
		return nil, err
	}

	rp := plot.New()
	rp.Title.Text = "Allocated replicas"
	rp.X.Label.Text = "interval"
	rp.Y.Label.Text = "pods"
	if err := line(rp, "need (hindsight)", need, color.RGBA{0, 0, 0, 255}, true); err != nil {
		return nil, err
	}

	lp := plot.New()
	lp.Title.Text = fmt.Sprintf("Latency (%s) against the SLO", metric)
	lp.X.Label.Text = "interval"
	lp.Y.Label.Text = "ms"
	lp.Y.Scale = plot.LogScale{}
	lp.Y.Tick.Marker = plot.LogTicks{Prec: -1}

	for k, res := range results {
		c := palette[(k+1)%len(palette)]
		reps := make([]float64, n)
		lat := make([]float64, n)
		for i, r := range res.Records {
			reps[i] = r.Replicas
			lat[i] = max(r.Latency(metric), 1)
		}
		if err := line(rp, res.Policy, reps, c, false); err != nil {
			return nil, err
		}
		if err := line(lp, res.Policy, lat, c, false); err != nil {
			return nil, err
		}
	}
	slos := make([]float64, n)
	for i := range slos {
		slos[i] = slo
	}
	if err := line(lp, "SLO", slos, color.RGBA{200, 0, 0, 255}, true); err != nil {
		return nil, err
	}
	files := []string{"workload.svg", "replicas.svg", "latency.svg"}
	for i, p := range []*plot.Plot{wl, rp, lp} {
		p.Legend.Top = true
		if err := p.Save(10*vg.Inch, 3.5*vg.Inch, filepath.Join(dir, files[i])); err != nil {
			return nil, fmt.Errorf("write plot %s: %w", files[i], err)
		}
	}
	return files, nil
}

// Section is one workload's part of the HTML page.
type Section struct {
	Workload string
	Table    string   // the text table
	Images   []string // SVG file names relative to the page
	CSVs     []string // per-interval CSV names relative to the page
}

// WriteIndex writes a self-contained index.html (no scripts, no network) showing the
// tables and plots.
func WriteIndex(path, title string, sections []Section) error {
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>\n", html.EscapeString(title))
	b.WriteString("<style>body{font-family:sans-serif;margin:2em;max-width:1100px}pre{background:#f6f6f6;padding:1em;overflow-x:auto}img{max-width:100%}</style></head><body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(title))
	for _, s := range sections {
		fmt.Fprintf(&b, "<h2>%s</h2>\n<pre>%s</pre>\n", html.EscapeString(s.Workload), html.EscapeString(s.Table))
		for _, img := range s.Images {
			fmt.Fprintf(&b, "<p><img src=\"%s\" alt=\"%s\"></p>\n", html.EscapeString(img), html.EscapeString(img))
		}
		if len(s.CSVs) > 0 {
			b.WriteString("<p>Per-interval data with each decision's explanation: ")
			for i, c := range s.CSVs {
				if i > 0 {
					b.WriteString(", ")
				}
				fmt.Fprintf(&b, "<a href=\"%s\">%s</a>", html.EscapeString(c), html.EscapeString(filepath.Base(c)))
			}
			b.WriteString("</p>\n")
		}
	}
	b.WriteString("</body></html>\n")
	return os.WriteFile(path, []byte(b.String()), 0o644)
}
