package report

import (
	"fmt"
	"html"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/bascaler/bascaler/internal/frontier"
	"github.com/bascaler/bascaler/internal/sim"
)

// onFrontier reports whether a point is a vertex of f.
func onFrontier(f frontier.Frontier, label string) bool {
	for _, v := range f.Vertices {
		if v.Label == label {
			return true
		}
	}
	return false
}

// FrontierTable writes a sweep's points (one row per setting, '*' on the frontier) and the
// subject's comparisons against each baseline; "below everywhere" says whether the subject's
// frontier is at or below the baseline's at every cost both cover (else by how much it
// exceeds it at worst, in percentage points).
func FrontierTable(w io.Writer, r sim.SweepResult) error {
	fmt.Fprintf(w, "trace %s, %d intervals", r.Workload, r.Intervals)
	oracle := 0.0
	if r.Oracle != nil {
		oracle = r.Oracle.Cost
		fmt.Fprintf(w, "; oracle %.1f pod-hours at %.2f%% violating intervals", r.Oracle.Cost, 100*r.Oracle.Violations)
	}
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "policy\tsetting\tSLO viol.\tpod-hours\tx oracle\tfrontier\t")
	for _, pf := range r.Policies {
		for _, p := range pf.Points {
			ratio := "-"
			if oracle > 0 {
				ratio = fmt.Sprintf("%.3f", p.CostPodHours/oracle)
			}
			mark := ""
			if onFrontier(pf.Frontier, p.Policy) {
				mark = "*"
			}
			setting := "default"
			if p.Value != "" {
				setting = pf.Param + "=" + p.Value
			}
			fmt.Fprintf(tw, "%s\t%s\t%.2f%%\t%.1f\t%s\t%s\t\n", pf.Policy, setting, 100*p.SLOViolationRate, p.CostPodHours, ratio, mark)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(r.Comparisons) == 0 {
		return nil
	}
	fmt.Fprintf(w, "\n%s against each baseline, on the frontiers (means over the shared range):\n", r.Comparisons[0].Subject)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "baseline\tmatched cost (p-h)\tviol. subject\tviol. baseline\tratio\tbelow everywhere\tmatched viol.\tp-h subject\tp-h baseline\tratio\t")
	for _, c := range r.Comparisons {
		below := "-"
		if c.AtCost.Overlap == frontier.Overlapping {
			below = "yes"
			if c.AtCost.MaxExcess > 0 {
				below = fmt.Sprintf("no (+%.2f pp)", 100*c.AtCost.MaxExcess)
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t\n", c.Baseline, matchCells(c.AtCost, "%.1f", "%.2f%%", 1, 100), below, matchCells(c.AtViolations, "%.2f%%", "%.1f", 100, 1))
	}
	return tw.Flush()
}

// matchCells renders a match as four table cells: the range, the two means and the ratio.
func matchCells(m frontier.Match, rangeFmt, valFmt string, rangeScale, valScale float64) string {
	if m.Overlap != frontier.Overlapping {
		return m.Overlap.String() + "\t-\t-\t-"
	}
	rng := fmt.Sprintf(rangeFmt, rangeScale*m.From)
	if m.To != m.From {
		rng += "–" + fmt.Sprintf(rangeFmt, rangeScale*m.To)
	}
	ratio := "-"
	if m.Ratio != nil {
		ratio = fmt.Sprintf("%.3f", *m.Ratio)
	}
	return fmt.Sprintf("%s\t"+valFmt+"\t"+valFmt+"\t%s", rng, valScale*m.A, valScale*m.B, ratio)
}

// FrontierPointsCSV writes every setting of every sweep, with a header.
func FrontierPointsCSV(w io.Writer, rs []sim.SweepResult) error {
	if _, err := fmt.Fprintln(w, "trace,policy,param,value,label,seeds,slo_violation_rate,cost_pod_hours,requests_over_slo,on_frontier"); err != nil {
		return err
	}
	for _, r := range rs {
		for _, pf := range r.Policies {
			for _, p := range pf.Points {
				if _, err := fmt.Fprintf(w, "%s,%s,%s,%s,%s,%d,%g,%g,%g,%t\n", csvField(r.Workload), pf.Policy, pf.Param, csvField(p.Value), csvField(p.Policy),
					p.Seeds, p.SLOViolationRate, p.CostPodHours, p.RequestsOverSLO, onFrontier(pf.Frontier, p.Policy)); err != nil {
					return err
				}
			}
		}
		if o := r.Oracle; o != nil {
			if _, err := fmt.Fprintf(w, "%s,oracle,,,oracle,1,%g,%g,,\n", csvField(r.Workload), o.Violations, o.Cost); err != nil {
				return err
			}
		}
	}
	return nil
}

// FrontierComparisonsCSV writes the comparisons, with a header. Empty cells: ranges do not
// overlap (overlap=disjoint) or the ratio is undefined.
func FrontierComparisonsCSV(w io.Writer, rs []sim.SweepResult) error {
	if _, err := fmt.Fprintln(w, "trace,subject,baseline,axis,overlap,from,to,subject_mean,baseline_mean,ratio,max_excess"); err != nil {
		return err
	}
	for _, r := range rs {
		for _, c := range r.Comparisons {
			for _, ax := range []struct {
				name string
				m    frontier.Match
			}{{"violations_at_matched_cost", c.AtCost}, {"cost_at_matched_violations", c.AtViolations}} {
				m := ax.m
				if m.Overlap != frontier.Overlapping {
					if _, err := fmt.Fprintf(w, "%s,%s,%s,%s,disjoint,,,,,,\n", csvField(r.Workload), c.Subject, csvField(c.Baseline), ax.name); err != nil {
						return err
					}
					continue
				}
				ratio := ""
				if m.Ratio != nil {
					ratio = fmt.Sprintf("%g", *m.Ratio)
				}
				if _, err := fmt.Fprintf(w, "%s,%s,%s,%s,overlap,%g,%g,%g,%g,%s,%g\n", csvField(r.Workload), c.Subject, csvField(c.Baseline), ax.name,
					m.From, m.To, m.A, m.B, ratio, m.MaxExcess); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

// FrontierPlot writes one SVG of a sweep: every policy's settings as points, its frontier as
// a line through its vertices, and the oracle's point. Cost is in pod-hours; violations in
// percent of intervals on a log axis, because the settings worth comparing differ between
// 0.1% and 5% while bad ones reach 30%; zero is drawn at half an interval's share.
func FrontierPlot(path string, r sim.SweepResult) error {
	p := plot.New()
	p.Title.Text = "Violation–cost frontiers: " + r.Workload
	p.X.Label.Text = "cost (pod-hours)"
	floor := 50.0 / float64(max(r.Intervals, 1))
	p.Y.Label.Text = fmt.Sprintf("SLO-violating intervals (%%, log; 0 drawn at %.2g%%)", floor)
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	y := func(v float64) float64 { return max(100*v, floor) }
	for k, pf := range r.Policies {
		c := palette[k%len(palette)]
		var pts, fr plotter.XYs
		for _, pt := range pf.Points {
			pts = append(pts, plotter.XY{X: pt.CostPodHours, Y: y(pt.SLOViolationRate)})
		}
		for _, v := range pf.Frontier.Vertices {
			fr = append(fr, plotter.XY{X: v.Cost, Y: y(v.Violations)})
		}
		sc, err := plotter.NewScatter(pts)
		if err != nil {
			return fmt.Errorf("frontier plot %s: %w", pf.Policy, err)
		}
		sc.GlyphStyle.Color = c
		sc.GlyphStyle.Radius = vg.Points(2.5)
		sc.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(sc)
		if len(fr) > 1 {
			l, err := plotter.NewLine(fr)
			if err != nil {
				return fmt.Errorf("frontier plot %s: %w", pf.Policy, err)
			}
			l.Color, l.Width = c, vg.Points(1.5)
			p.Add(l)
			p.Legend.Add(pf.Policy, l, sc)
		} else {
			p.Legend.Add(pf.Policy, sc)
		}
	}
	if o := r.Oracle; o != nil {
		sc, err := plotter.NewScatter(plotter.XYs{{X: o.Cost, Y: y(o.Violations)}})
		if err != nil {
			return err
		}
		sc.GlyphStyle.Color = color.RGBA{0, 0, 0, 255}
		sc.GlyphStyle.Radius = vg.Points(4)
		sc.GlyphStyle.Shape = draw.CrossGlyph{}
		p.Add(sc)
		p.Legend.Add("oracle", sc)
	}
	p.Legend.Top = true
	if err := p.Save(8*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("write frontier plot %s: %w", path, err)
	}
	return nil
}

// WriteFrontierReport writes, into dir, one frontier SVG per sweep, the two CSVs and an
// index.html with the plots first and each trace's table under its plot.
func WriteFrontierReport(dir, title string, rs []sim.SweepResult, name func(string) string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>%s</title>\n", html.EscapeString(title))
	b.WriteString("<style>body{font-family:sans-serif;margin:2em;max-width:1100px}pre{background:#f6f6f6;padding:1em;overflow-x:auto}img{max-width:100%}</style></head><body>\n")
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(title))
	b.WriteString("<p>Each policy was run over a grid of its main knob; its frontier is the lower convex envelope of its settings' (pod-hours, violating intervals) points. Comparisons interpolate on the frontiers over the range both cover, never beyond. Data: <a href=\"frontier_points.csv\">frontier_points.csv</a>, <a href=\"frontier_comparisons.csv\">frontier_comparisons.csv</a>.</p>\n")
	for _, r := range rs {
		svg := name(r.Workload) + "-frontiers.svg"
		if err := FrontierPlot(filepath.Join(dir, svg), r); err != nil {
			return err
		}
		var t strings.Builder
		if err := FrontierTable(&t, r); err != nil {
			return err
		}
		fmt.Fprintf(&b, "<h2>%s</h2>\n<p><img src=\"%s\" alt=\"frontiers of %s\"></p>\n<pre>%s</pre>\n",
			html.EscapeString(r.Workload), html.EscapeString(svg), html.EscapeString(r.Workload), html.EscapeString(t.String()))
	}
	b.WriteString("</body></html>\n")
	for _, f := range []struct {
		file string
		fill func(io.Writer, []sim.SweepResult) error
	}{{"frontier_points.csv", FrontierPointsCSV}, {"frontier_comparisons.csv", FrontierComparisonsCSV}} {
		var c strings.Builder
		if err := f.fill(&c, rs); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, f.file), []byte(c.String()), 0o644); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, "index.html"), []byte(b.String()), 0o644)
}
