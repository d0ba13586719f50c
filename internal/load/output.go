package load

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/bascaler/bascaler/internal/report"
)

// WriteTable writes the summary as aligned text.
func WriteTable(w io.Writer, s Summary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	mode := fmt.Sprintf("open loop, %s arrivals, %d workers", s.Arrivals, s.Workers)
	if s.Mode == "closed" {
		mode = fmt.Sprintf("closed loop, %d users, think %gs", s.Users, s.ThinkS)
	}
	fmt.Fprintf(tw, "mode\t%s (stopped by %s after %.1fs)\n", mode, s.Stopped, s.DurationS)
	if s.Mode == "open" {
		fmt.Fprintf(tw, "scheduled\t%d (%.1f req/s)\n", s.Scheduled, s.TargetRate)
	}
	fmt.Fprintf(tw, "sent\t%d (%.1f req/s)\n", s.Sent, s.AchievedRate)
	fmt.Fprintf(tw, "ok\t%d (%.1f req/s)\n", s.OK, s.OKRate)
	fmt.Fprintf(tw, "failed\t%d (%d without an HTTP answer)\n", s.Failed, s.TransportErrors)
	if s.Mode == "open" {
		fmt.Fprintf(tw, "shortfall\t%d (not sent on schedule)\n", s.Shortfall)
	}
	if len(s.Codes) > 0 {
		var b strings.Builder
		for i, c := range s.sortedCodes() {
			if i > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "%d: %d", c, s.Codes[c])
		}
		fmt.Fprintf(tw, "codes\t%s\n", b.String())
	}
	l := s.Latency
	fmt.Fprintf(tw, "latency ms (ok)\tmean %.3f  p50 %.3f  p95 %.3f  p99 %.3f  max %.3f\n", l.MeanMS, l.P50MS, l.P95MS, l.P99MS, l.MaxMS)
	if s.SendLag != nil {
		fmt.Fprintf(tw, "send lag ms\tp50 %.3f  p99 %.3f  max %.3f\n", s.SendLag.P50MS, s.SendLag.P99MS, s.SendLag.MaxMS)
	}
	if len(s.Targets) > 1 {
		for i, t := range s.Targets {
			fmt.Fprintf(tw, "url %d\t%s weight %g: sent %d (%.1f%%), ok %d, failed %d, p99 %.3f ms\n", i+1, t.URL, t.Weight, t.Sent, 100*t.Share, t.OK, t.Failed, t.Latency.P99MS)
		}
	}
	return tw.Flush()
}

// WriteJSON writes the summary as indented JSON.
func WriteJSON(w io.Writer, s Summary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(s)
}

// CSVHeader is the header of the per-second CSV.
const CSVHeader = "second,scheduled,sent,ok,failed,shortfall,rate_rps,ok_rps,mean_ms,p50_ms,p95_ms,p99_ms"

// WriteCSV writes one row per second: requests due (scheduled), sent, answered OK, failed,
// not sent on schedule (shortfall), the sent and OK rates, and the OK latencies.
func WriteCSV(w io.Writer, perSecond []IntervalStats) error {
	if _, err := fmt.Fprintln(w, CSVHeader); err != nil {
		return err
	}
	f := func(v float64) string { return strconv.FormatFloat(v, 'f', 3, 64) }
	for _, st := range perSecond {
		if _, err := fmt.Fprintf(w, "%d,%d,%d,%d,%d,%d,%d,%d,%s,%s,%s,%s\n", st.Index, st.Scheduled, st.Sent, st.OK, st.Failed,
			st.NotSent, st.Sent, st.OK, f(st.MeanMS), f(st.P50MS), f(st.P95MS), f(st.P99MS)); err != nil {
			return err
		}
	}
	return nil
}

// WriteReport writes load.csv (per second), summary.json, rate.svg, latency.svg, errors.svg
// and an index.html showing them into dir, and returns the page's path.
func WriteReport(dir string, run *Run, title string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("load report: %w", err)
	}
	per := run.PerSecond()
	sum := run.Summarize()
	if err := writeFile(filepath.Join(dir, "load.csv"), func(w io.Writer) error { return WriteCSV(w, per) }); err != nil {
		return "", err
	}
	if err := writeFile(filepath.Join(dir, "summary.json"), func(w io.Writer) error { return WriteJSON(w, sum) }); err != nil {
		return "", err
	}
	n := len(per)
	sched, sent, ok, failed, short := make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n), make([]float64, n)
	p50, p95, p99 := make([]float64, n), make([]float64, n), make([]float64, n)
	const floorMS = 1e-3 // the latency axis is logarithmic; seconds without answers sit on the floor
	for i, st := range per {
		sched[i], sent[i], ok[i] = float64(st.Scheduled), float64(st.Sent), float64(st.OK)
		failed[i], short[i] = float64(st.Failed), float64(st.NotSent)
		p50[i], p95[i], p99[i] = max(st.P50MS, floorMS), max(st.P95MS, floorMS), max(st.P99MS, floorMS)
	}
	var rateLines []report.Line
	if !run.Closed() {
		rateLines = append(rateLines, report.Line{Name: "scheduled", Values: sched, Dashed: true})
	}
	rateLines = append(rateLines, report.Line{Name: "sent", Values: sent}, report.Line{Name: "ok", Values: ok})
	plots := []struct {
		file, title, y string
		log            bool
		lines          []report.Line
	}{
		{"rate.svg", "Request rate", "req/s", false, rateLines},
		{"latency.svg", "Latency of OK requests", "ms", true, []report.Line{{Name: "p50", Values: p50}, {Name: "p95", Values: p95}, {Name: "p99", Values: p99}}},
		{"errors.svg", "Failed and not sent on schedule", "requests/s", false, []report.Line{{Name: "failed", Values: failed}, {Name: "shortfall", Values: short}}},
	}
	var images []string
	for _, p := range plots {
		if err := report.LinePlot(filepath.Join(dir, p.file), p.title, "second", p.y, p.log, p.lines...); err != nil {
			return "", err
		}
		images = append(images, p.file)
	}
	var table strings.Builder
	if err := WriteTable(&table, sum); err != nil {
		return "", err
	}
	table.WriteString("\nper-second data: load.csv; summary: summary.json\n")
	page := filepath.Join(dir, "index.html")
	if err := report.WriteIndex(page, title, []report.Section{{Workload: "summary", Table: table.String(), Images: images}}); err != nil {
		return "", fmt.Errorf("load report: %w", err)
	}
	return page, nil
}

func writeFile(path string, write func(io.Writer) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("load report: %w", err)
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("load report: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("load report: %w", err)
	}
	return nil
}
