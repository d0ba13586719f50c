package report

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// colours are the policies' colours in the HTML report (CSS strings; the same order as the
// plots' palette but without red, which marks the SLO and its violations).
var colours = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#17becf", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"}

func colour(k int) string { return colours[k%len(colours)] }

// strip is one plotting area inside an SVG: a time (or numeric) range across, a value range
// up, placed at (left, top) with the given size in pixels. Log scales the values by log10.
type strip struct {
	left, top, width, height float64
	x0, x1, y0, y1           float64
	log                      bool
}

func (s strip) x(v float64) float64 {
	if s.x1 == s.x0 {
		return s.left
	}
	return s.left + (v-s.x0)/(s.x1-s.x0)*s.width
}

func (s strip) y(v float64) float64 {
	lo, hi := s.y0, s.y1
	if s.log {
		v, lo, hi = math.Log10(math.Max(v, 1e-9)), math.Log10(lo), math.Log10(hi)
	}
	if hi == lo {
		return s.top + s.height
	}
	f := (v - lo) / (hi - lo)
	f = math.Max(0, math.Min(1, f))
	return s.top + s.height - f*s.height
}

// frame draws the strip's border and y ticks (a few round values), with its label left.
func (s strip) frame(b *strings.Builder, label string) {
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="none" stroke="#bbb"/>`, s.left, s.top, s.width, s.height)
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="yl" transform="rotate(-90 %.1f %.1f)">%s</text>`,
		s.left-44, s.top+s.height/2, s.left-44, s.top+s.height/2, html.EscapeString(label))
	for _, v := range s.yticks() {
		y := s.y(v)
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, s.left, s.left+s.width, y, y)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="yt">%s</text>`, s.left-4, y+4, fmtTick(v))
	}
}

func fmtTick(v float64) string {
	if v == math.Trunc(v) && math.Abs(v) < 1e7 {
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.3g", v)
}

func (s strip) yticks() []float64 {
	if s.log {
		var t []float64
		for v := math.Pow(10, math.Floor(math.Log10(s.y0))); v <= s.y1*1.0001; v *= 10 {
			if v >= s.y0*0.9999 {
				t = append(t, v)
			}
		}
		return t
	}
	return niceTicks(s.y0, s.y1, 4)
}

// niceTicks returns round values (1, 2, 5 times a power of ten apart) covering [lo, hi].
func niceTicks(lo, hi float64, n int) []float64 {
	if hi <= lo {
		return []float64{lo}
	}
	raw := (hi - lo) / float64(n)
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var t []float64
	for v := math.Ceil(lo/step) * step; v <= hi+step*1e-9; v += step {
		t = append(t, v)
	}
	return t
}

// timeSteps are the tick spacings a time axis may use, shortest first.
var timeSteps = []time.Duration{time.Minute, 2 * time.Minute, 5 * time.Minute, 10 * time.Minute, 15 * time.Minute,
	30 * time.Minute, time.Hour, 2 * time.Hour, 3 * time.Hour, 6 * time.Hour, 12 * time.Hour, 24 * time.Hour,
	48 * time.Hour, 7 * 24 * time.Hour}

// timeTicks returns tick instants (UTC, aligned to the step) between from and to, at most
// about max of them, and the label of each: the date at midnight or for day steps, else the
// clock time.
func timeTicks(from, to time.Time, max int) ([]time.Time, []string) {
	span := to.Sub(from)
	step := timeSteps[len(timeSteps)-1]
	for _, s := range timeSteps {
		if span/s <= time.Duration(max) {
			step = s
			break
		}
	}
	var ts []time.Time
	var labels []string
	t := from.UTC().Truncate(step)
	if step >= 24*time.Hour {
		t = time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	}
	for ; !t.After(to); t = t.Add(step) {
		if t.Before(from) {
			continue
		}
		ts = append(ts, t)
		switch {
		case step >= 24*time.Hour:
			labels = append(labels, t.Format("Jan 2"))
		case t.Hour() == 0 && t.Minute() == 0:
			labels = append(labels, t.Format("Jan 2"))
		default:
			labels = append(labels, t.Format("15:04"))
		}
	}
	return ts, labels
}

// timeAxis draws the ticks under s for the instants [from, to] (x is seconds since from).
func (s strip) timeAxis(b *strings.Builder, from, to time.Time, grid []strip) {
	ts, labels := timeTicks(from, to, int(s.width/90))
	for i, t := range ts {
		x := s.x(t.Sub(from).Seconds())
		for _, g := range grid {
			fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/>`, x, x, g.top, g.top+g.height)
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="xt">%s</text>`, x, s.top+s.height+14, labels[i])
	}
}

// polyline draws values (one per x) as a line.
func (s strip) polyline(b *strings.Builder, xs, ys []float64, stroke string, dashed bool) {
	if len(xs) == 0 {
		return
	}
	b.WriteString(`<polyline fill="none" stroke-width="1.2" stroke="` + stroke + `"`)
	if dashed {
		b.WriteString(` stroke-dasharray="4 3"`)
	}
	b.WriteString(` points="`)
	for i := range xs {
		fmt.Fprintf(b, "%.1f,%.1f ", s.x(xs[i]), s.y(ys[i]))
	}
	b.WriteString(`"/>`)
}

// legend writes entries at (x, y) downward: a colour swatch and a name each, placed by the
// caller outside the plotting areas.
func legend(b *strings.Builder, x, y float64, names, strokes []string, dashed []bool) {
	for i, n := range names {
		yy := y + float64(i)*16
		dash := ""
		if dashed != nil && dashed[i] {
			dash = ` stroke-dasharray="4 3"`
		}
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="%s" stroke-width="2"%s/>`, x, x+18, yy, yy, strokes[i], dash)
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="lg">%s</text>`, x+23, yy+4, html.EscapeString(n))
	}
}
