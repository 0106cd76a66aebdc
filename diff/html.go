package diff

import (
	"fmt"
	"html"
	"io"
	"strings"

	"github.com/litefy/litefy/ir"
)

// Colours of the HTML diff, by change.
var colours = map[Change][2]string{ // fill, stroke
	Unchanged: {"#f4f6f7", "#95a5a6"},
	Removed:   {"#f8d7da", "#c0392b"},
	Added:     {"#d4efdf", "#1e8449"},
	Replaced:  {"#fdebd0", "#d35400"},
	Modified:  {"#d6eaf8", "#2471a3"},
}

const (
	boxW, boxH = 170, 28
	colGap     = 24
	rowGap     = 22
	margin     = 16
)

// layout places nodes in rows by longest path from the inputs, in graph
// order within a row: a layered drawing that keeps a CNN's chain vertical
// and puts side branches (squeeze-excite, residuals) beside it.
func layout(g *ir.Graph) (pos map[*ir.Node][2]int, width, height int) {
	rank := map[*ir.Node]int{}
	rows := [][]*ir.Node{}
	for _, n := range g.Nodes {
		r := 0
		for _, in := range n.Inputs {
			if in != nil && in.Producer() != nil {
				if pr, ok := rank[in.Producer()]; ok && pr+1 > r {
					r = pr + 1
				}
			}
		}
		rank[n] = r
		for len(rows) <= r {
			rows = append(rows, nil)
		}
		rows[r] = append(rows[r], n)
	}
	pos = map[*ir.Node][2]int{}
	maxCols := 1
	for _, row := range rows {
		maxCols = max(maxCols, len(row))
	}
	width = 2*margin + maxCols*boxW + (maxCols-1)*colGap + 120 // room for skip edges
	for r, row := range rows {
		rowW := len(row)*boxW + (len(row)-1)*colGap
		x0 := (width - rowW) / 2
		for i, n := range row {
			pos[n] = [2]int{x0 + i*(boxW+colGap), margin + r*(boxH+rowGap)}
		}
	}
	height = 2*margin + len(rows)*(boxH+rowGap)
	return pos, width, height
}

func svg(w io.Writer, g *ir.Graph, changes map[string]Change) {
	DrawGraph(w, g, func(n *ir.Node) NodeStyle {
		ch := changes[nodeKey(n)]
		if ch == "" {
			ch = Unchanged
		}
		c := colours[ch]
		width := "2.5"
		if ch == Unchanged {
			width = "1"
		}
		return NodeStyle{Fill: c[0], Stroke: c[1], StrokeWidth: width, Class: string(ch), Note: string(ch)}
	})
}

// NodeStyle is how DrawGraph draws one node: its box's colours, a class
// for the page's scripts and styles, the second line (the output shape
// when empty) and a note for the tooltip.
type NodeStyle struct {
	Fill, Stroke, StrokeWidth string
	Class                     string
	Sub                       string
	Note                      string
}

// DrawGraph writes g as an SVG drawing: nodes in rows by longest path from
// the inputs (layout), edges between producers and readers, each node
// boxed as style says.
func DrawGraph(w io.Writer, g *ir.Graph, style func(*ir.Node) NodeStyle) {
	pos, width, height := layout(g)
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n", width, height, width, height)
	fmt.Fprintf(w, `<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z" fill="#7f8c8d"/></marker></defs>`+"\n")
	for _, n := range g.Nodes {
		p := pos[n]
		for _, in := range n.Inputs {
			if in == nil || in.Producer() == nil {
				continue
			}
			q, ok := pos[in.Producer()]
			if !ok {
				continue
			}
			x1, y1 := q[0]+boxW/2, q[1]+boxH
			x2, y2 := p[0]+boxW/2, p[1]
			if y2-y1 > boxH+rowGap && x1 == x2 {
				// A skip connection in the same column: bow it out to the
				// right so it does not hide behind the nodes it passes.
				bow := boxW/2 + 12 + (y2-y1)/(boxH+rowGap)%4*6
				fmt.Fprintf(w, `<path d="M%d,%d C%d,%d %d,%d %d,%d" fill="none" stroke="#7f8c8d" stroke-width="1" marker-end="url(#arrow)"/>`+"\n",
					q[0]+boxW, q[1]+boxH/2, x1+bow+40, y1, x2+bow+40, y2, p[0]+boxW, p[1]+boxH/2)
				continue
			}
			fmt.Fprintf(w, `<path d="M%d,%d C%d,%d %d,%d %d,%d" fill="none" stroke="#7f8c8d" stroke-width="1" marker-end="url(#arrow)"/>`+"\n",
				x1, y1, x1, y1+rowGap, x2, y2-rowGap, x2, y2)
		}
	}
	for _, n := range g.Nodes {
		p := pos[n]
		st := style(n)
		shape := ""
		if len(n.Outputs) > 0 {
			shape = n.Outputs[0].Type.String()
		}
		sub := st.Sub
		if sub == "" {
			sub = shape
		}
		label := n.Op
		if len(label) > 22 {
			label = label[:22]
		}
		fmt.Fprintf(w, `<g class="node %s"><title>%s&#10;%s → %s&#10;%s</title>`, html.EscapeString(st.Class), html.EscapeString(nodeKey(n)), html.EscapeString(n.Op), html.EscapeString(shape), html.EscapeString(st.Note))
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" rx="5" fill="%s" stroke="%s" stroke-width="%s"/>`,
			p[0], p[1], boxW, boxH, st.Fill, st.Stroke, st.StrokeWidth)
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle" font-weight="bold">%s</text>`, p[0]+boxW/2, p[1]+12, html.EscapeString(label))
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="middle" fill="#555" font-size="9">%s</text></g>`+"\n", p[0]+boxW/2, p[1]+23, html.EscapeString(sub))
	}
	fmt.Fprintln(w, "</svg>")
}

// WriteHTML writes one self-contained page: a summary, a legend, and the
// two graphs side by side with changed nodes coloured.
func (r *Report) WriteHTML(w io.Writer, a, b *ir.Graph, nameA, nameB string) error {
	var text strings.Builder
	r.WriteText(&text, nameA, nameB)
	fmt.Fprintf(w, `<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>litefy diff: %s</title>
<style>
body{font-family:sans-serif;margin:12px;color:#222}
h1{font-size:18px;margin:0 0 8px}
pre{background:#f8f9f9;border:1px solid #ddd;padding:8px;font-size:12px;max-height:260px;overflow:auto}
.legend span{display:inline-block;padding:2px 8px;margin-right:6px;border-radius:4px;font-size:12px;border:2px solid}
.sides{display:flex;gap:12px;align-items:flex-start}
.side{flex:1;border:1px solid #ccc;overflow:auto;max-height:85vh}
.side h2{font-size:14px;margin:0;padding:6px;background:#eee;position:sticky;top:0;left:0}
</style></head><body>
<h1>litefy diff</h1>
<div class="legend">`, html.EscapeString(nameA))
	for _, ch := range []Change{Unchanged, Removed, Added, Replaced, Modified} {
		c := colours[ch]
		fmt.Fprintf(w, `<span style="background:%s;border-color:%s">%s</span>`, c[0], c[1], ch)
	}
	fmt.Fprintf(w, "</div>\n<pre>%s</pre>\n<div class=\"sides\">\n", html.EscapeString(text.String()))
	for i, g := range []*ir.Graph{a, b} {
		name := []string{nameA, nameB}[i]
		fmt.Fprintf(w, `<div class="side" id="%s"><h2>%s: %s (%d nodes)</h2>`+"\n", []string{"a", "b"}[i], []string{"A", "B"}[i], html.EscapeString(name), len(g.Nodes))
		svg(w, g, r.Changes)
		fmt.Fprintln(w, "</div>")
	}
	fmt.Fprintln(w, "</div>\n</body></html>")
	return nil
}
