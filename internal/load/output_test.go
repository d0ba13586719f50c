package load

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixedRun is a hand-made 2.5 s run: 3 requests in second 0 (one 500), 1 in second 1, one
// dropped in second 2.
func fixedRun(t *testing.T) *Run {
	ms := func(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }
	return &Run{
		Targets:  []Target{{URL: "http://127.0.0.1:1/a", Weight: 2}, {URL: "http://127.0.0.1:1/b", Weight: 1}},
		Schedule: mustSchedule(t, []float64{2}, 3*time.Second),
		Records: []Record{
			{Due: 0, Sent: ms(1), Latency: ms(2), Code: 200, Target: 0},
			{Due: ms(500), Sent: ms(502), Latency: ms(4), Code: 200, Target: 1},
			{Due: ms(900), Sent: ms(900), Latency: ms(1), Code: 500, Target: 0},
			{Due: ms(1500), Sent: ms(1500), Latency: ms(6), Code: 200, Target: 0},
		},
		Dropped: []time.Duration{ms(2100)},
		End:     2500 * time.Millisecond,
		Stopped: StopDuration,
	}
}

func TestCSVHasOneRowPerSecond(t *testing.T) {
	var b bytes.Buffer
	if err := WriteCSV(&b, fixedRun(t).PerSecond()); err != nil {
		t.Fatal(err)
	}
	want := CSVHeader + "\n" +
		"0,3,3,2,1,0,3,2,3.000,2.000,4.000,4.000\n" +
		"1,1,1,1,0,0,1,1,6.000,6.000,6.000,6.000\n" +
		"2,1,0,0,0,1,0,0,0.000,0.000,0.000,0.000\n"
	if b.String() != want {
		t.Errorf("CSV\n%s\nwant\n%s", b.String(), want)
	}
}

func TestSummaryJSONShape(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, fixedRun(t).Summarize()); err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b.Bytes(), &got); err != nil {
		t.Fatal(err)
	}
	for key, want := range map[string]any{
		"mode": "open", "arrivals": "uniform", "stopped_by": "duration", "duration_s": 2.5, "scheduled": 5.0,
		"sent": 4.0, "ok": 3.0, "failed": 1.0, "shortfall": 1.0, "achieved_rps": 1.6, "ok_rps": 1.2,
		"transport_errors": 0.0,
	} {
		if got[key] != want {
			t.Errorf("%s = %v, want %v", key, got[key], want)
		}
	}
	lat := got["latency_ms"].(map[string]any)
	if lat["mean"] != 4.0 || lat["p50"] != 4.0 || lat["p99"] != 6.0 || lat["max"] != 6.0 {
		t.Errorf("latency_ms %v, want mean 4, p50 4, p99 6, max 6 (OK requests 2, 4, 6 ms)", lat)
	}
	if codes := got["codes"].(map[string]any); codes["200"] != 3.0 || codes["500"] != 1.0 {
		t.Errorf("codes %v", codes)
	}
	targets := got["targets"].([]any)
	if len(targets) != 2 || targets[0].(map[string]any)["sent"] != 3.0 || targets[1].(map[string]any)["share"] != 0.25 {
		t.Errorf("targets %v", targets)
	}
}

func TestWriteReportWritesCSVPlotsAndPage(t *testing.T) {
	dir := t.TempDir()
	page, err := WriteReport(dir, fixedRun(t), "load test")
	if err != nil {
		t.Fatal(err)
	}
	html, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"load.csv", "summary.json", "rate.svg", "latency.svg", "errors.svg"} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || len(b) == 0 {
			t.Errorf("%s: %v (%d bytes)", f, err, len(b))
		}
		if strings.HasSuffix(f, ".svg") && (!bytes.Contains(b, []byte("<svg")) || !strings.Contains(string(html), `src="`+f+`"`)) {
			t.Errorf("%s is not an SVG shown on the page", f)
		}
	}
	var tbl bytes.Buffer
	if err := WriteTable(&tbl, fixedRun(t).Summarize()); err != nil {
		t.Fatal(err)
	}
	flat := strings.Join(strings.Fields(tbl.String()), " ")
	for _, want := range []string{"shortfall 1 (not sent", "sent 4 (1.6 req/s)", "500: 1", "url 1 http://127.0.0.1:1/a weight 2: sent 3 (75.0%)"} {
		if !strings.Contains(flat, want) {
			t.Errorf("table lacks %q:\n%s", want, tbl.String())
		}
	}
}
