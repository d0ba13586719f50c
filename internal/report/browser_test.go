package report

import (
	"bytes"
	"context"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bascaler/bascaler/internal/testenv"
)

// chromiumVar names the variable pointing at a Chromium binary; Debian's is the default.
const chromiumVar = "BASCALER_CHROMIUM"

func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv(chromiumVar)
	if path == "" {
		path = "/usr/bin/chromium"
	}
	_, err := os.Stat(path)
	testenv.Require(t, err == nil, "no Chromium at %s (set %s, or install Debian's with `apt-get install -y chromium`; hack/test-env.sh does when root)", path, chromiumVar)
	return path
}

// renderHeadless loads page in a fresh headless Chromium with extra flags (--dump-dom or
// --screenshot) and returns its stdout and the console messages it logged.
func renderHeadless(t *testing.T, bin, page string, extra ...string) (string, []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := append([]string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir=" + t.TempDir(), "--enable-logging=stderr", "--v=0"}, extra...)
	args = append(args, "file://"+page)
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Dir = t.TempDir()
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", extra, err, errb.String())
	}
	var console []string
	for _, l := range strings.Split(errb.String(), "\n") {
		if strings.Contains(l, ":CONSOLE") || strings.Contains(l, "Uncaught") {
			console = append(console, l)
		}
	}
	return out.String(), console
}

// clickCostHeader is appended to a copy of the page: it clicks the summary's pod-hours
// header (the page's own sort script must then order the rows by cost) and records the
// order on the body, which --dump-dom shows.
const clickCostHeader = `<script>document.querySelectorAll('table.summary th')[4].click();
document.body.dataset.order=Array.from(document.querySelectorAll('table.summary tbody tr')).map(function(r){return r.cells[0].textContent}).join(',');</script>`

func TestReportInChromium(t *testing.T) {
	bin := chromiumPath(t)
	dir := t.TempDir()
	w := reportWorkload(t, 2, 4, 12)
	page := writeTestReport(t, dir, w)
	broken := filepath.Join(dir, "broken.html")
	if err := os.WriteFile(broken, []byte(strings.Replace(page, "</body>", "<script>noSuchFunction()</script></body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	sorted := filepath.Join(dir, "sorted.html")
	if err := os.WriteFile(sorted, []byte(strings.Replace(page, "</body>", clickCostHeader+"</body>", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	row := idRe.FindStringSubmatch(page[strings.Index(page, `<tr id="`):])[1]
	for _, tc := range []struct {
		name, page  string
		wantConsole bool
		checks      []string
	}{
		// A point's link opens the folded per-interval table at the interval's row.
		{"link to an interval opens its table", filepath.Join(dir, "index.html") + "#" + row, false, []string{`<details open="">`}},
		{"report", filepath.Join(dir, "index.html"), false, []string{`<section class="workload"`, `<table class="sortable summary"`}},
		{"broken script is caught", broken, true, nil},
		{"sort by cost", sorted, false, []string{`data-order="static:2,static:4,static:12"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dom, console := renderHeadless(t, bin, tc.page, "--dump-dom")
			if tc.wantConsole != (len(console) > 0) {
				t.Fatalf("console messages %q, want some: %v", console, tc.wantConsole)
			}
			for _, c := range tc.checks {
				if !strings.Contains(dom, c) {
					t.Errorf("rendered DOM lacks %q", c)
				}
			}
			if tc.wantConsole {
				return
			}
			summary := dom[strings.Index(dom, `<table class="sortable summary"`):]
			summary = summary[:strings.Index(summary, "</table>")]
			if got := strings.Count(summary, "<tr>") - 1; got != 3 { // minus the header row
				t.Errorf("%d summary rows in the browser, want 3", got)
			}
			if got := strings.Count(dom, `<svg class="panel"`); got != 3 {
				t.Errorf("%d small-multiple panels in the browser, want 3", got)
			}
			if got := strings.Count(dom, `<svg class="zoom"`); got < 1 {
				t.Errorf("no zoom window in the browser")
			}
		})
	}
	shot := filepath.Join(dir, "page.png")
	if _, console := renderHeadless(t, bin, filepath.Join(dir, "index.html"), "--window-size=1280,2400", "--screenshot="+shot); len(console) > 0 {
		t.Errorf("console messages while taking the screenshot: %q", console)
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatalf("no screenshot: %v", err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 1280 || b.Dy() != 2400 {
		t.Errorf("screenshot is %v, want 1280x2400", b.Size())
	}
}
