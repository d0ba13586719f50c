package report

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// Line is one named series of a LinePlot; x is the value's index.
type Line struct {
	Name   string
	Values []float64
	Dashed bool
}

// LinePlot draws lines (in the report palette, reduced like the simulator's plots) into an
// SVG file at path. With logY the y axis is logarithmic and values must be positive.
func LinePlot(path, title, xLabel, yLabel string, logY bool, lines ...Line) error {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = xLabel
	p.Y.Label.Text = yLabel
	if logY {
		p.Y.Scale = plot.LogScale{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	}
	for i, l := range lines {
		if len(l.Values) == 0 {
			continue
		}
		if err := line(p, l.Name, l.Values, palette[i%len(palette)], l.Dashed); err != nil {
			return fmt.Errorf("plot %s: line %s: %w", path, l.Name, err)
		}
	}
	p.Legend.Top = true
	if err := p.Save(10*vg.Inch, 3.5*vg.Inch, path); err != nil {
		return fmt.Errorf("write plot %s: %w", path, err)
	}
	return nil
}
