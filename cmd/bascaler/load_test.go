package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bascaler/bascaler/internal/load"
)

// runLoad executes a fresh `load` command and returns stdout.
func runLoad(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := newLoadCmd()
	var out, errb bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errb)
	cmd.SetArgs(args)
	err := cmd.Execute()
	return out.String(), err
}

func TestLoadCommandWritesJSONSummaryAndReport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/bad" {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
	}))
	defer srv.Close()
	dir := filepath.Join(t.TempDir(), "out")
	out, err := runLoad(t, "--url", srv.URL+"/ok=3", "--url", srv.URL+"/bad=1", "--step", "100,200", "--interval", "500ms",
		"--arrivals", "poisson", "--seed", "5", "--format", "json", "--out", dir, "--quiet")
	if err != nil {
		t.Fatal(err)
	}
	var s load.Summary
	if err := json.Unmarshal([]byte(out), &s); err != nil {
		t.Fatalf("summary is not JSON: %v\n%s", err, out)
	}
	// 50 + 100 requests expected; Poisson counts vary by about sqrt(150) = 12.
	if s.Mode != "open" || s.Arrivals != "poisson" || s.Sent < 100 || s.Sent > 200 || s.Codes[503] != s.Failed ||
		s.Failed < s.Sent/4-2 || s.Failed > s.Sent/4+2 || s.Stopped != load.StopSchedule {
		t.Errorf("summary %+v: want about 150 sent, a quarter failing with 503, stopped by the schedule", s)
	}
	csv, err := os.ReadFile(filepath.Join(dir, "load.csv"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(csv)), "\n")
	if lines[0] != load.CSVHeader || len(lines) != 2 {
		t.Errorf("load.csv has %d lines starting %q, want the header and one row for the single second", len(lines), lines[0])
	}
	for _, f := range []string{"index.html", "rate.svg", "latency.svg", "errors.svg", "summary.json"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
}

func TestLoadCommandClosedLoopTable(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	defer srv.Close()
	out, err := runLoad(t, "--url", srv.URL, "--users", "2", "--think", "5ms", "--max-requests", "30")
	if err != nil {
		t.Fatal(err)
	}
	flat := strings.Join(strings.Fields(out), " ")
	for _, want := range []string{"closed loop, 2 users, think 0.005s (stopped by max-requests", "sent 30", "ok 30", "200: 30"} {
		if !strings.Contains(flat, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
}

func TestLoadCommandRejectsBadInput(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.csv")
	if err := os.WriteFile(bad, []byte("timestamp,value\n0,1\n60,-4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	u := "http://127.0.0.1:1/"
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"no url", []string{"--rate", "10", "--duration", "1s"}, "--url is required"},
		{"url without scheme", []string{"--url", "127.0.0.1:8080", "--rate", "10", "--duration", "1s"}, "absolute URL"},
		{"zero weight", []string{"--url", u + "=0", "--rate", "10", "--duration", "1s"}, "weight 0"},
		{"negative rate", []string{"--url", u, "--rate", "-5", "--duration", "1s"}, "--rate -5"},
		{"zero rate", []string{"--url", u, "--rate", "0", "--duration", "1s"}, "--rate 0"},
		{"rate without a stop", []string{"--url", u, "--rate", "5"}, "--duration or --max-requests"},
		{"no shape", []string{"--url", u, "--duration", "1s"}, "exactly one of"},
		{"two shapes", []string{"--url", u, "--rate", "5", "--ramp", "1:2", "--duration", "1s"}, "exactly one of"},
		{"bad ramp", []string{"--url", u, "--ramp", "5-10", "--duration", "1s"}, "FROM:TO"},
		{"negative ramp", []string{"--url", u, "--ramp", "5:-10", "--duration", "1s"}, "non-negative"},
		{"bad step", []string{"--url", u, "--step", "5,x"}, "item 2"},
		{"negative trace value", []string{"--url", u, "--trace", bad}, "bad.csv:3"},
		{"missing trace", []string{"--url", u, "--trace", bad + ".none"}, "no such file"},
		{"bad arrivals", []string{"--url", u, "--rate", "5", "--duration", "1s", "--arrivals", "bursty"}, "uniform or poisson"},
		{"peak and scale", []string{"--url", u, "--rate", "5", "--duration", "1s", "--peak", "9", "--scale", "2"}, "exclusive"},
		{"negative scale", []string{"--url", u, "--rate", "5", "--duration", "1s", "--scale", "-2"}, "--scale"},
		{"users with a rate", []string{"--url", u, "--users", "3", "--rate", "5", "--duration", "1s"}, "excludes"},
		{"users without a stop", []string{"--url", u, "--users", "3"}, "--duration or --max-requests"},
		{"negative users", []string{"--url", u, "--users", "-3", "--duration", "1s"}, "negative"},
		{"think without users", []string{"--url", u, "--rate", "5", "--duration", "1s", "--think", "1s"}, "--think needs --users"},
		{"bad format", []string{"--url", u, "--rate", "5", "--duration", "1s", "--format", "xml"}, "table or json"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runLoad(t, tc.args...)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want one mentioning %q", err, tc.want)
			}
		})
	}
}
