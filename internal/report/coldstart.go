package report

import (
	"fmt"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
)

// PlanePoint is one policy's place in the cold-start vs idle-time plane.
type PlanePoint struct {
	Policy            string
	IdlePodHours      float64
	ColdStartsPer1000 float64
}

// ColdStartPlane writes the cold-start vs idle-time plane of "Serverless in the Wild"
// (one labelled point per policy: idle pod-hours across, cold starts per 1,000 requests up)
// as an SVG at path. Down and to the left is better on both.
func ColdStartPlane(path, title string, points []PlanePoint) error {
	if len(points) == 0 {
		return nil
	}
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "idle pod-hours (pods up while no request arrives)"
	p.Y.Label.Text = "cold starts per 1,000 requests"
	xy := make(plotter.XYs, len(points))
	labels := make([]string, len(points))
	for i, pt := range points {
		xy[i] = plotter.XY{X: pt.IdlePodHours, Y: pt.ColdStartsPer1000}
		labels[i] = pt.Policy
	}
	for i, pt := range xy {
		s, err := plotter.NewScatter(plotter.XYs{pt})
		if err != nil {
			return err
		}
		s.GlyphStyle.Color = palette[(i+1)%len(palette)]
		s.GlyphStyle.Radius = vg.Points(4)
		s.GlyphStyle.Shape = draw.CircleGlyph{}
		p.Add(s)
		p.Legend.Add(labels[i], s)
	}
	l, err := plotter.NewLabels(plotter.XYLabels{XYs: xy, Labels: labels})
	if err != nil {
		return err
	}
	for i := range l.TextStyle {
		l.TextStyle[i].XAlign = draw.XLeft
	}
	l.Offset = vg.Point{X: vg.Points(6), Y: vg.Points(2)}
	p.Add(l)
	p.Legend.Top = true
	// Room for the labels at the right and top edges.
	p.X.Min, p.Y.Min = 0, 0
	p.X.Max = p.X.Max*1.25 + 1e-3
	p.Y.Max = p.Y.Max*1.15 + 1e-3
	if err := p.Save(7*vg.Inch, 5*vg.Inch, path); err != nil {
		return fmt.Errorf("write plot %s: %w", path, err)
	}
	return nil
}
