package report

import (
	"cmp"
	"fmt"
	"html"
	"math"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/bascaler/bascaler/internal/measure"
	"github.com/bascaler/bascaler/internal/perf"
)

// Workload is one workload's part of the HTML report: its aggregates (one per policy) and
// the first seed's run of each policy, whose records the plots and tables show.
type Workload struct {
	Name       string
	Intervals  int
	Aggregates []measure.Aggregate
	Runs       []measure.Result
	SLO        float64
	Metric     perf.LatencyMetric
	// PodCapacity is one pod's load at the SLO (req/s); the small multiples draw replicas
	// times it against the arrival rate. Zero leaves that line out.
	PodCapacity float64
	CSVs        []string // per-interval CSVs relative to the page
	Images      []string // further SVG files relative to the page
}

// Zoom windows: how many, and how long each is at most (in intervals).
const (
	zoomWindows = 3
	zoomLength  = 60
)

// panelBuckets bounds the points of one small-multiple line: long traces are reduced to
// bucket maxima (peaks are what matters for rate, replicas and latency).
const panelBuckets = 700

const pageStyle = `body{font-family:system-ui,sans-serif;margin:1.5em auto;max-width:1180px;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:.5em 0;font-size:14px}th,td{border-bottom:1px solid #ddd;padding:3px 8px;text-align:right}
th{background:#f3f3f3;cursor:pointer;user-select:none}td:first-child,th:first-child{text-align:left}
table.iv td{vertical-align:top;font-size:12px}table.iv td.ex{text-align:left;max-width:260px;color:#555}
tr:target{background:#fff3b0}.bad{color:#c00;font-weight:600}svg{display:block;margin:.5em 0}
svg text{font-size:11px;fill:#333}svg .yt{text-anchor:end}svg .xt{text-anchor:middle}svg .yl{text-anchor:middle}
svg .ttl{font-size:13px;font-weight:600}nav a{margin-right:1em}details{margin:.3em 0 1em}p.note{color:#555;font-size:14px}`

// sortScript sorts a table.sortable by the clicked column (numbers by their data-v value);
// a second click reverses. It is the page's only script and needs nothing from outside.
const sortScript = `document.querySelectorAll('table.sortable th').forEach(function(th){th.addEventListener('click',function(){
var t=th.closest('table'),b=t.tBodies[0],i=th.cellIndex,d=th.dataset.dir==='a'?-1:1;th.dataset.dir=d===1?'a':'d';
Array.from(b.rows).sort(function(x,y){var p=x.cells[i].dataset.v,q=y.cells[i].dataset.v;
return d*(p!==undefined?parseFloat(p)-parseFloat(q):x.cells[i].textContent.localeCompare(y.cells[i].textContent));}).forEach(function(r){b.appendChild(r);});});});`

// WriteReport writes a self-contained index.html (inline SVG, one small inline script, no
// network): per workload the cost/violation plane of the policies with the oracle, the
// summary table, zoomed windows around the intervals where the policies differ most (each
// point's tooltip is the decision's explanation and links to its row of the window's
// per-interval table) and one small-multiple panel per policy over the whole trace.
// overall lists SVG files about all workloads together, shown first.
func WriteReport(path, title string, overall []string, ws []Workload) error {
	var b strings.Builder
	fmt.Fprintf(&b, "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>%s</title>\n<style>%s</style></head><body>\n",
		html.EscapeString(title), pageStyle)
	fmt.Fprintf(&b, "<h1>%s</h1>\n", html.EscapeString(title))
	if len(ws) > 1 {
		b.WriteString("<nav>")
		for i, w := range ws {
			fmt.Fprintf(&b, `<a href="#w%d">%s</a>`, i, html.EscapeString(w.Name))
		}
		b.WriteString("</nav>\n")
	}
	for _, img := range overall {
		fmt.Fprintf(&b, "<p><img src=\"%s\" alt=\"%s\"></p>\n", html.EscapeString(img), html.EscapeString(img))
	}
	for i, w := range ws {
		if err := writeWorkload(&b, fmt.Sprintf("w%d", i), w); err != nil {
			return fmt.Errorf("report %s: %w", w.Name, err)
		}
	}
	b.WriteString("<script>" + sortScript + "</script>\n</body></html>\n")
	if err := os.WriteFile(path, []byte(b.String()), 0o644); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

func writeWorkload(b *strings.Builder, id string, w Workload) error {
	for _, r := range w.Runs {
		if len(r.Records) != len(w.Runs[0].Records) {
			return fmt.Errorf("policy %s has %d records, %s has %d", r.Policy, len(r.Records), w.Runs[0].Policy, len(w.Runs[0].Records))
		}
	}
	fmt.Fprintf(b, "<section class=\"workload\" id=\"%s\">\n<h2>%s</h2>\n", id, html.EscapeString(w.Name))
	span := ""
	if len(w.Runs) > 0 && len(w.Runs[0].Records) > 0 {
		rs := w.Runs[0].Records
		span = fmt.Sprintf(", %s to %s UTC", rs[0].Start.UTC().Format("2006-01-02 15:04"), rs[len(rs)-1].Start.UTC().Format("2006-01-02 15:04"))
	}
	fmt.Fprintf(b, "<p class=\"note\">%d intervals%s; SLO: %s latency at most %g ms per interval.</p>\n", w.Intervals, span, w.Metric, w.SLO)
	b.WriteString("<h3>Cost against violations</h3>\n")
	scatter(b, w.Aggregates)
	b.WriteString("<h3>Summary</h3>\n")
	summaryTable(b, w.Aggregates)
	if len(w.Runs) > 0 && len(w.Runs[0].Records) > 1 {
		wins := worstWindows(w.Runs, zoomWindows, min(zoomLength, max(len(w.Runs[0].Records)/10, 5)))
		if len(wins) > 0 {
			b.WriteString("<h3>Where the policies differ most</h3>\n<p class=\"note\">The windows with the largest spread of replicas and SLO violations across the policies. Hover a point for the decision's explanation; click it for the interval's row.</p>\n")
			for k, win := range wins {
				zoom(b, fmt.Sprintf("%sz%d", id, k), w, win)
			}
		}
		b.WriteString("<h3>Each policy over the whole trace</h3>\n")
		top := panelScales(w)
		for k, r := range w.Runs {
			panel(b, w, k, r, top)
		}
	}
	if len(w.CSVs) > 0 {
		b.WriteString("<p>Per-interval data with each decision's explanation: ")
		for i, c := range w.CSVs {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(b, "<a href=\"%s\">%s</a>", html.EscapeString(c), html.EscapeString(c))
		}
		b.WriteString("</p>\n")
	}
	for _, img := range w.Images {
		fmt.Fprintf(b, "<p><img src=\"%s\" alt=\"%s\"></p>\n", html.EscapeString(img), html.EscapeString(img))
	}
	b.WriteString("</section>\n")
	return nil
}

// summaryTable writes the aggregates ordered by violating intervals, then pod-hours (the two
// axes of the frontier), as a table whose columns sort on a click.
func summaryTable(b *strings.Builder, aggs []measure.Aggregate) {
	var oracle float64
	for _, a := range aggs {
		if a.Policy == "oracle" {
			oracle = a.CostPodHours
		}
	}
	sorted := slices.Clone(aggs)
	slices.SortStableFunc(sorted, func(x, y measure.Aggregate) int {
		return cmp.Or(cmp.Compare(x.SLOViolationRate, y.SLOViolationRate), cmp.Compare(x.CostPodHours, y.CostPodHours))
	})
	b.WriteString(`<table class="sortable summary"><thead><tr><th>policy</th><th>SLO viol.</th><th>req&gt;SLO</th><th>failed</th><th>pod-hours</th><th>x oracle</th><th>mean pods</th><th>actions</th><th>over p-h</th><th>under p-h</th></tr></thead><tbody>`)
	for _, a := range sorted {
		viol := fmt.Sprintf("%.2f%%", 100*a.SLOViolationRate)
		cost := fmt.Sprintf("%.1f", a.CostPodHours)
		if a.Seeds > 1 {
			viol += fmt.Sprintf(" ± %.2f", 100*a.SLOViolationRateStd)
			cost += fmt.Sprintf(" ± %.1f", a.CostPodHoursStd)
		}
		ratio, rv := "-", "0"
		if oracle > 0 {
			ratio, rv = fmt.Sprintf("%.2f", a.CostPodHours/oracle), fmt.Sprintf("%g", a.CostPodHours/oracle)
		}
		fmt.Fprintf(b, "\n<tr><td>%s</td><td data-v=\"%g\">%s</td><td data-v=\"%g\">%.2f%%</td><td data-v=\"%g\">%.0f</td><td data-v=\"%g\">%s</td><td data-v=\"%s\">%s</td><td data-v=\"%g\">%.2f</td><td data-v=\"%d\">%d</td><td data-v=\"%g\">%.1f</td><td data-v=\"%g\">%.1f</td></tr>",
			html.EscapeString(a.Policy), a.SLOViolationRate, viol, a.RequestsOverSLO, 100*a.RequestsOverSLO, a.FailedRequests, a.FailedRequests,
			a.CostPodHours, cost, rv, ratio, a.MeanReplicas, a.MeanReplicas, a.ScalingActions, a.ScalingActions,
			a.OverProvisionPodHours, a.OverProvisionPodHours, a.UnderProvisionPodHours, a.UnderProvisionPodHours)
	}
	b.WriteString("</tbody></table>\n<p class=\"note\">Ordered by violating intervals, then pod-hours; click a header to sort.</p>\n")
}

// scatter places each policy's run in the cost/violation plane (the frontier's axes); the
// oracle is a square. The legend lies right of the plot.
func scatter(b *strings.Builder, aggs []measure.Aggregate) {
	if len(aggs) == 0 {
		return
	}
	lo, hi, vmax := math.Inf(1), math.Inf(-1), 0.0
	for _, a := range aggs {
		lo, hi, vmax = math.Min(lo, a.CostPodHours), math.Max(hi, a.CostPodHours), math.Max(vmax, 100*a.SLOViolationRate)
	}
	pad := math.Max((hi-lo)*0.08, hi*0.02+1e-9)
	s := strip{left: 70, top: 15, width: 520, height: 260, x0: math.Max(0, lo-pad), x1: hi + pad, y0: 0, y1: math.Max(vmax*1.1, 0.1)}
	fmt.Fprintf(b, `<svg class="scatter" width="820" height="320" viewBox="0 0 820 320" role="img" aria-label="pod-hours against violating intervals">`)
	s.frame(b, "violating intervals (%)")
	for _, v := range niceTicks(s.x0, s.x1, 6) {
		x := s.x(v)
		fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#eee"/><text x="%.1f" y="%.1f" class="xt">%s</text>`, x, x, s.top, s.top+s.height, x, s.top+s.height+14, fmtTick(v))
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" class="xt">pod-hours</text>`, s.left+s.width/2, s.top+s.height+32)
	var names, strokes []string
	for k, a := range aggs {
		x, y := s.x(a.CostPodHours), s.y(100*a.SLOViolationRate)
		tip := fmt.Sprintf("%s: %.1f pod-hours, %.2f%% violating intervals", a.Policy, a.CostPodHours, 100*a.SLOViolationRate)
		if a.Policy == "oracle" {
			fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="10" height="10" fill="%s"><title>%s</title></rect>`, x-5, y-5, colour(k), html.EscapeString(tip))
		} else {
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="5" fill="%s"><title>%s</title></circle>`, x, y, colour(k), html.EscapeString(tip))
		}
		fmt.Fprintf(b, `<text x="%.1f" y="%.1f">%s</text>`, x+8, y-6, html.EscapeString(a.Policy))
		names, strokes = append(names, a.Policy), append(strokes, colour(k))
	}
	legend(b, s.left+s.width+30, s.top+10, names, strokes, nil)
	b.WriteString("</svg>\n")
}

// window is a run of intervals [from, to).
type window struct{ from, to int }

// spread scores each interval by how much the policies differ there: mostly how evenly they
// split between violating and not, plus a little for the share violating (so a burst all of
// them miss still counts) and for the range of their replica counts relative to the largest
// (which breaks ties in quiet stretches).
// The oracle is left out when at least two other policies ran: it knows the future.
func spread(runs []measure.Result) []float64 {
	var use []measure.Result
	for _, r := range runs {
		if r.Policy != "oracle" {
			use = append(use, r)
		}
	}
	if len(use) < 2 {
		use = runs
	}
	n := len(use[0].Records)
	score := make([]float64, n)
	m := float64(len(use))
	for i := range n {
		lo, hi, v := math.Inf(1), math.Inf(-1), 0.0
		for _, r := range use {
			rec := r.Records[i]
			lo, hi = math.Min(lo, rec.Replicas), math.Max(hi, rec.Replicas)
			if rec.Violated {
				v++
			}
		}
		score[i] = 4*v*(m-v)/(m*m) + 0.5*v/m + 0.25*(hi-lo)/math.Max(hi, 1)
	}
	return score
}

// worstWindows picks up to k non-overlapping windows of length l with the largest summed
// spread, in time order.
func worstWindows(runs []measure.Result, k, l int) []window {
	score := spread(runs)
	n := len(score)
	l = min(l, n)
	prefix := make([]float64, n+1)
	for i, s := range score {
		prefix[i+1] = prefix[i] + s
	}
	var wins []window
	for range k {
		best, at := 0.0, -1
		for s := 0; s+l <= n; s++ {
			if overlaps(wins, s, s+l) {
				continue
			}
			if v := prefix[s+l] - prefix[s]; v > best {
				best, at = v, s
			}
		}
		if at < 0 {
			break
		}
		wins = append(wins, window{at, at + l})
	}
	slices.SortFunc(wins, func(a, b window) int { return a.from - b.from })
	return wins
}

func overlaps(wins []window, from, to int) bool {
	for _, w := range wins {
		if from < w.to && w.from < to {
			return true
		}
	}
	return false
}

// step is the interval length of records (a minute when there is only one).
func step(rs []measure.Record) time.Duration {
	if len(rs) > 1 && rs[1].Start.After(rs[0].Start) {
		return rs[1].Start.Sub(rs[0].Start)
	}
	return time.Minute
}

// scales are the value ranges the small multiples share so the panels compare at a glance
// (the rate's covers the capacity line too).
type scales struct{ rate, replicas, latency float64 }

func panelScales(w Workload) scales {
	var s scales
	for _, r := range w.Runs {
		for _, rec := range r.Records {
			s.rate = math.Max(s.rate, math.Max(rec.Rate, rec.Ready*w.PodCapacity))
			s.replicas = math.Max(s.replicas, math.Max(rec.Replicas, float64(rec.Need)))
			s.latency = math.Max(s.latency, rec.Latency(w.Metric))
		}
	}
	s.rate, s.replicas = math.Max(s.rate*1.05, 1), math.Max(s.replicas*1.05, 1)
	s.latency = math.Pow(10, math.Ceil(math.Log10(math.Max(math.Max(s.latency, w.SLO*2), 10))))
	return s
}

// bucketMax reduces values to at most n bucket maxima; xs are the buckets' start offsets in
// seconds from the first record.
func bucketMax(rs []measure.Record, n int, value func(measure.Record) float64) (xs, ys []float64) {
	size := max((len(rs)+n-1)/n, 1)
	t0 := rs[0].Start
	for i := 0; i < len(rs); i += size {
		m := value(rs[i])
		for j := i + 1; j < min(i+size, len(rs)); j++ {
			m = math.Max(m, value(rs[j]))
		}
		xs, ys = append(xs, rs[i].Start.Sub(t0).Seconds()), append(ys, m)
	}
	return xs, ys
}

// panel draws one policy over the whole trace: arrival rate against its capacity, replicas
// against the hindsight need, latency against the SLO with the violating intervals marked.
func panel(b *strings.Builder, w Workload, k int, r measure.Result, sc scales) {
	rs := r.Records
	from, to := rs[0].Start, rs[len(rs)-1].Start.Add(step(rs))
	const left, width, h, gap = 70, 860, 80, 12
	x1 := to.Sub(from).Seconds()
	rate := strip{left: left, top: 24, width: width, height: h, x1: x1, y1: sc.rate}
	reps := strip{left: left, top: 24 + h + gap, width: width, height: h, x1: x1, y1: sc.replicas}
	lat := strip{left: left, top: 24 + 2*(h+gap), width: width, height: h, x1: x1, y0: 1, y1: sc.latency, log: true}
	viol := 0
	for _, rec := range rs {
		if rec.Violated {
			viol++
		}
	}
	fmt.Fprintf(b, `<svg class="panel" data-policy="%s" width="1150" height="%d" viewBox="0 0 1150 %d" role="img" aria-label="%s over the whole trace">`,
		html.EscapeString(r.Policy), 24+3*h+2*gap+30, 24+3*h+2*gap+30, html.EscapeString(r.Policy))
	fmt.Fprintf(b, `<text x="%d" y="15" class="ttl" fill="%s">%s</text><text x="%d" y="15">%d of %d intervals violate the SLO</text>`,
		left, colour(k), html.EscapeString(r.Policy), left+200, viol, len(rs))
	rate.frame(b, "req/s")
	reps.frame(b, "pods")
	lat.frame(b, "ms")
	lat.timeAxis(b, from, to, []strip{rate, reps, lat})
	xs, ys := bucketMax(rs, panelBuckets, func(r measure.Record) float64 { return r.Rate })
	rate.polyline(b, xs, ys, "#555", false)
	names, strokes, dashed := []string{"arrival rate"}, []string{"#555"}, []bool{false}
	if w.PodCapacity > 0 {
		xs, ys = bucketMax(rs, panelBuckets, func(r measure.Record) float64 { return r.Ready * w.PodCapacity })
		rate.polyline(b, xs, ys, colour(k), false)
		names, strokes, dashed = append(names, "ready pods x capacity"), append(strokes, colour(k)), append(dashed, false)
	}
	legend(b, left+width+15, rate.top+12, names, strokes, dashed)
	xs, ys = bucketMax(rs, panelBuckets, func(r measure.Record) float64 { return float64(r.Need) })
	reps.polyline(b, xs, ys, "#000", true)
	xs, ys = bucketMax(rs, panelBuckets, func(r measure.Record) float64 { return r.Replicas })
	reps.polyline(b, xs, ys, colour(k), false)
	legend(b, left+width+15, reps.top+12, []string{"need (hindsight)", "replicas"}, []string{"#000", colour(k)}, []bool{true, false})
	xs, ys = bucketMax(rs, panelBuckets, func(rec measure.Record) float64 { return math.Max(rec.Latency(w.Metric), 1) })
	lat.polyline(b, xs, ys, colour(k), false)
	lat.polyline(b, []float64{0, x1}, []float64{w.SLO, w.SLO}, "#c00", true)
	for _, rec := range rs {
		if rec.Violated {
			x := lat.x(rec.Start.Sub(from).Seconds())
			fmt.Fprintf(b, `<line x1="%.1f" x2="%.1f" y1="%.1f" y2="%.1f" stroke="#c00"/>`, x, x, lat.top+lat.height-6, lat.top+lat.height)
		}
	}
	legend(b, left+width+15, lat.top+12, []string{w.Metric.String() + " latency", "SLO", "violating"}, []string{colour(k), "#c00", "#c00"}, []bool{false, true, false})
	b.WriteString("</svg>\n")
}

// zoom draws one window with a point per interval and policy (tooltip: the decision's
// explanation; link: the interval's row in the table below) and writes that table.
func zoom(b *strings.Builder, id string, w Workload, win window) {
	first := w.Runs[0].Records
	dt := step(first)
	from, to := first[win.from].Start, first[win.to-1].Start.Add(dt)
	var rmax, pmax, lmax float64
	for _, r := range w.Runs {
		for _, rec := range r.Records[win.from:win.to] {
			rmax = math.Max(rmax, rec.Rate)
			pmax = math.Max(pmax, math.Max(rec.Replicas, float64(rec.Need)))
			lmax = math.Max(lmax, rec.Latency(w.Metric))
		}
	}
	lmax = math.Pow(10, math.Ceil(math.Log10(math.Max(math.Max(lmax, w.SLO*2), 10))))
	const left, width, h, gap = 70, 860, 70, 12
	x1 := to.Sub(from).Seconds()
	rate := strip{left: left, top: 24, width: width, height: h, x1: x1, y1: math.Max(rmax*1.05, 1)}
	reps := strip{left: left, top: 24 + h + gap, width: width, height: h * 1.6, x1: x1, y1: math.Max(pmax*1.1, 1)}
	lat := strip{left: left, top: reps.top + reps.height + gap, width: width, height: h * 1.3, x1: x1, y0: 1, y1: lmax, log: true}
	height := lat.top + lat.height + 30
	fmt.Fprintf(b, `<svg class="zoom" id="%s" width="1150" height="%.0f" viewBox="0 0 1150 %.0f" role="img" aria-label="window %s">`, id, height, height, id)
	fmt.Fprintf(b, `<text x="%d" y="15" class="ttl">%s to %s UTC</text>`, left, from.UTC().Format("Jan 2 15:04"), to.UTC().Format("15:04"))
	rate.frame(b, "req/s")
	reps.frame(b, "pods")
	lat.frame(b, "ms")
	lat.timeAxis(b, from, to, []strip{rate, reps, lat})
	mid := func(i int) float64 { return first[i].Start.Sub(from).Seconds() + dt.Seconds()/2 }
	var xs, rates, need []float64
	for i := win.from; i < win.to; i++ {
		xs, rates, need = append(xs, mid(i)), append(rates, first[i].Rate), append(need, float64(first[i].Need))
	}
	rate.polyline(b, xs, rates, "#555", false)
	reps.polyline(b, xs, need, "#000", true)
	lat.polyline(b, []float64{0, x1}, []float64{w.SLO, w.SLO}, "#c00", true)
	names, strokes := []string{"arrival rate", "need (hindsight)", "SLO"}, []string{"#555", "#000", "#c00"}
	dashed := []bool{false, true, true}
	for k, r := range w.Runs {
		var ps, ls []float64
		for i := win.from; i < win.to; i++ {
			ps, ls = append(ps, r.Records[i].Replicas), append(ls, math.Max(r.Records[i].Latency(w.Metric), 1))
		}
		reps.polyline(b, xs, ps, colour(k), false)
		lat.polyline(b, xs, ls, colour(k), false)
		for i := win.from; i < win.to; i++ {
			rec := r.Records[i]
			tip := html.EscapeString(fmt.Sprintf("%s %s: %.1f replicas (need %d), %s latency %.1f ms%s\n%s", r.Policy,
				rec.Start.UTC().Format("15:04"), rec.Replicas, rec.Need, w.Metric, rec.Latency(w.Metric), violatedText(rec), rec.Decision.Explanation))
			fill := colour(k)
			if rec.Violated {
				fill = "#c00"
			}
			fmt.Fprintf(b, `<a href="#%s-%d"><circle class="pt" cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s</title></circle></a>`,
				id, i, reps.x(mid(i)), reps.y(rec.Replicas), colour(k), tip)
			fmt.Fprintf(b, `<a href="#%s-%d"><circle class="pt" cx="%.1f" cy="%.1f" r="2.5" fill="%s"><title>%s</title></circle></a>`,
				id, i, lat.x(mid(i)), lat.y(math.Max(rec.Latency(w.Metric), 1)), fill, tip)
		}
		names, strokes, dashed = append(names, r.Policy), append(strokes, colour(k)), append(dashed, false)
	}
	legend(b, left+width+15, rate.top+12, names, strokes, dashed)
	b.WriteString("</svg>\n")
	fmt.Fprintf(b, "<details><summary>Intervals %s to %s: each policy's replicas, latency and decision</summary>\n<table class=\"iv\"><thead><tr><th>start (UTC)</th><th>req/s</th><th>need</th>",
		from.UTC().Format("15:04"), to.UTC().Format("15:04"))
	for _, r := range w.Runs {
		fmt.Fprintf(b, "<th>%s</th>", html.EscapeString(r.Policy))
	}
	b.WriteString("</tr></thead><tbody>")
	for i := win.from; i < win.to; i++ {
		fmt.Fprintf(b, "\n<tr id=\"%s-%d\"><td>%s</td><td>%.1f</td><td>%d</td>", id, i, first[i].Start.UTC().Format("Jan 2 15:04"), first[i].Rate, first[i].Need)
		for _, r := range w.Runs {
			rec := r.Records[i]
			cls := ""
			if rec.Violated {
				cls = ` class="bad"`
			}
			fmt.Fprintf(b, "<td class=\"ex\"><span%s>%.1f pods, %.1f ms</span><br>%s</td>", cls, rec.Replicas, rec.Latency(w.Metric),
				html.EscapeString(rec.Decision.Explanation.String()))
		}
		b.WriteString("</tr>")
	}
	b.WriteString("</tbody></table></details>\n")
}

func violatedText(r measure.Record) string {
	if r.Violated {
		return ", violates the SLO"
	}
	return ""
}
