package convert

import (
	"fmt"
	"html"
	"io"
	"math"
	"strings"

	"github.com/litefy/litefy/diff"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/quant"
)

// SQNR bands of the verify page, worst first: a node's box is filled by
// the SQNR of the tensor it writes.
var sqnrBands = []struct {
	below      float64
	fill, name string
}{
	{10, "#f8d7da", "< 10 dB"},
	{20, "#fdebd0", "10–20 dB"},
	{30, "#fcf3cf", "20–30 dB"},
	{math.Inf(1), "#d4efdf", "≥ 30 dB"},
}

const (
	keptStroke = "#1a5fb4" // a node computed in float32
	noFigure   = "#f4f6f7"
)

func sqnrFill(db float64) string {
	for _, b := range sqnrBands {
		if db < b.below {
			return b.fill
		}
	}
	return noFigure
}

// WriteHTML writes the report of an int8 file as one self-contained page:
// the outputs' figures, the SQNR of every tensor in graph order as a chart,
// and the graph with each node filled by its tensor's SQNR and the nodes
// kept in float32 outlined.
func (r *VerifyReport) WriteHTML(w io.Writer) error {
	if r.Report == nil || r.Graph == nil {
		return fmt.Errorf("convert: the %s file %s has no int8 simulation to draw", r.Quant, r.TFLite)
	}
	kept := map[string]bool{}
	for _, n := range r.KeptFloat {
		kept[n] = true
	}
	byName := map[string]quant.TensorReport{}
	for _, t := range r.Report.Tensors {
		byName[t.Name] = t
	}
	// A producer whose activation is fused writes no tensor: it shows the
	// activation's.
	tensorOf := func(n *ir.Node) (quant.TensorReport, bool) {
		for _, o := range n.Outputs {
			if o == nil {
				continue
			}
			if t, ok := byName[o.Name]; ok {
				return t, true
			}
			if us := o.Uses(); len(us) == 1 {
				for _, u := range us[0].Outputs {
					if t, ok := byName[u.Name]; ok && us[0].Op != "Identity" {
						return t, true
					}
				}
			}
		}
		return quant.TensorReport{}, false
	}
	fmt.Fprintf(w, `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>litefy verify: %s</title>
<style>
body{font-family:sans-serif;margin:12px;color:#222}
h1{font-size:18px;margin:0 0 8px}
h2{font-size:14px;margin:14px 0 6px}
table{border-collapse:collapse;font-size:12px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#eee}
td.name{text-align:left}
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border-radius:4px;font-size:12px;border:2px solid #999}
.graph{border:1px solid #ccc;overflow:auto;max-height:85vh}
</style></head><body>
<h1>litefy verify: %s</h1>
<p>%s (preset %s) against %s; int8 simulation (%s) vs float on %d %s samples; %d of %d nodes kept in float32.</p>
`, html.EscapeString(r.TFLite), html.EscapeString(r.TFLite), html.EscapeString(r.Quant), html.EscapeString(r.Preset), html.EscapeString(r.Reference),
		html.EscapeString(r.Simulation), r.Samples, html.EscapeString(r.Evaluation), len(r.KeptFloat), len(r.Graph.Nodes))
	fmt.Fprintf(w, "<h2>Outputs</h2>\n<table><tr><th>output</th><th>SQNR dB</th><th>top-1 agreement</th><th>max |error|</th><th>max |float|</th></tr>\n")
	for _, o := range r.Outputs {
		fmt.Fprintf(w, `<tr><td class="name">%s</td><td>%.1f</td><td>%.1f%%</td><td>%.4g</td><td>%.4g</td></tr>`+"\n", html.EscapeString(o.Name), o.SQNR, 100*o.Top1, o.MaxAbsErr, o.MaxRef)
	}
	fmt.Fprintln(w, "</table>")
	if m := r.Mixed; m != nil {
		fmt.Fprintf(w, "<p>--min-sqnr %g: all int8 %.1f dB, %d nodes kept in float32 reach %.1f dB (on %d calibration samples).</p>\n", m.TargetSQNR, m.AllInt8SQNR, len(m.Kept), m.Reached, m.Samples)
	}
	r.writeChart(w, kept)
	fmt.Fprintf(w, `<h2>Graph</h2><div class="legend">`)
	for _, b := range sqnrBands {
		fmt.Fprintf(w, `<span style="background:%s">%s</span>`, b.fill, b.name)
	}
	fmt.Fprintf(w, `<span style="background:%s;border-color:%s;border-width:3px">kept in float32</span></div>`+"\n<div class=\"graph\">\n", noFigure, keptStroke)
	diff.DrawGraph(w, r.Graph, func(n *ir.Node) diff.NodeStyle {
		st := diff.NodeStyle{Fill: noFigure, Stroke: "#95a5a6", StrokeWidth: "1", Class: "int8"}
		precision := "int8"
		if kept[n.Label()] {
			st.Stroke, st.StrokeWidth, st.Class, precision = keptStroke, "3.5", "kept", "float32"
		}
		if t, ok := tensorOf(n); ok {
			st.Fill = sqnrFill(t.SQNR)
			st.Sub = fmt.Sprintf("%s · %.1f dB", precision, t.SQNR)
			st.Note = fmt.Sprintf("%s: %.1f dB SQNR (scale %.4g, zero point %d), %s", t.Name, t.SQNR, t.Scale, t.ZeroPoint, precision)
		} else {
			st.Note = precision
		}
		return st
	})
	fmt.Fprintln(w, "</div>\n</body></html>")
	return nil
}

// writeChart draws every tensor's SQNR in graph order: a line over the
// tensors, kept-float nodes' tensors as blue dots.
func (r *VerifyReport) writeChart(w io.Writer, kept map[string]bool) {
	const width, height, pad = 900, 220, 34
	top := 10.0
	for _, t := range r.Report.Tensors {
		top = max(top, math.Min(t.SQNR, 80))
	}
	top = math.Ceil(top/10) * 10
	n := len(r.Report.Tensors)
	x := func(i int) float64 { return pad + float64(i)*float64(width-2*pad)/float64(max(1, n-1)) }
	y := func(db float64) float64 {
		return float64(height-pad) - math.Max(0, math.Min(db, top))/top*float64(height-2*pad)
	}
	fmt.Fprintf(w, "<h2>SQNR of every tensor, in graph order</h2>\n")
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="10">`+"\n", width, height)
	for db := 0.0; db <= top; db += 10 {
		fmt.Fprintf(w, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="4" y="%.1f">%g dB</text>`+"\n", pad, y(db), width-pad, y(db), y(db)+3, db)
	}
	var pts []string
	for i, t := range r.Report.Tensors {
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", x(i), y(t.SQNR)))
	}
	fmt.Fprintf(w, `<polyline points="%s" fill="none" stroke="#555" stroke-width="1.2"/>`+"\n", strings.Join(pts, " "))
	producer := map[string]string{}
	for _, nd := range r.Graph.Nodes {
		for _, o := range nd.Outputs {
			if o != nil {
				producer[o.Name] = nd.Label()
			}
		}
	}
	for i, t := range r.Report.Tensors {
		fill := "#555"
		if kept[producer[t.Name]] {
			fill = keptStroke
		}
		fmt.Fprintf(w, `<circle cx="%.1f" cy="%.1f" r="%d" fill="%s"><title>%s (%s): %.1f dB</title></circle>`+"\n",
			x(i), y(t.SQNR), map[bool]int{true: 4, false: 2}[fill == keptStroke], fill, html.EscapeString(t.Name), html.EscapeString(t.Op), t.SQNR)
	}
	fmt.Fprintln(w, "</svg>")
}
