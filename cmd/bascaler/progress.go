package main

import (
	"io"
	"os"

	"github.com/schollz/progressbar/v3"
)

// progressBar returns a progress callback that draws a bar on a terminal, or nil when
// output is not a terminal or CI=true (logs stay clean).
func progressBar(w io.Writer, what string) func(done, total int) {
	f, ok := w.(*os.File)
	if !ok || os.Getenv("CI") == "true" {
		return nil
	}
	if fi, err := f.Stat(); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return nil
	}
	var bar *progressbar.ProgressBar
	return func(done, total int) {
		if bar == nil {
			bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(w), progressbar.OptionSetDescription(what),
				progressbar.OptionClearOnFinish())
		}
		_ = bar.Set(done)
	}
}
