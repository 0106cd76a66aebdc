package ir

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"
	"strconv"
	"strings"
)

// The text form of a graph, one declaration per line:
//
//	graph "main" opset=13 ir_version=7 producer_name="pytorch"
//	prop "key" = "value"
//	input %x:f32[N,3,32,32]
//	const %w:f32[2,3] = {1, 2, 3, 4, 5, 6}
//	%y:f32[N,2] = Gemm %x, %w, _ {alpha=1.0, transB=1} @gemm0
//	output %y
//
// Names that are not plain identifiers are Go-quoted (%"onnx::Conv_3").
// "_" is an omitted optional input; "@name" is the node's name. Floats
// always carry a '.' or an exponent so they never read back as ints, and
// print with the fewest digits that read back to the same float32, so
// Parse(Print(g)) reproduces g exactly. '#' starts a comment.

// PrintOptions controls Fprint.
type PrintOptions struct {
	// ElideOver, when positive, prints constants with more elements than
	// this as {...}; such text is for reading and does not parse.
	ElideOver int
}

// Print returns the complete text form of g.
func Print(g *Graph) string {
	var b bytes.Buffer
	Fprint(&b, g, PrintOptions{})
	return b.String()
}

// Fprint writes the text form of g to w.
func Fprint(w io.Writer, g *Graph, opt PrintOptions) error {
	bw := bufio.NewWriter(w)
	p := &printer{w: bw, opt: opt}
	p.graph(g)
	return bw.Flush()
}

type printer struct {
	w   *bufio.Writer
	opt PrintOptions
}

func (p *printer) printf(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }

func (p *printer) graph(g *Graph) {
	p.printf("graph %s opset=%d", strconv.Quote(g.Name), g.Opset)
	m := g.Meta
	if m.IRVersion != 0 {
		p.printf(" ir_version=%d", m.IRVersion)
	}
	for _, kv := range [][2]string{{"producer_name", m.ProducerName}, {"producer_version", m.ProducerVersion}, {"domain", m.Domain}, {"doc", m.Doc}} {
		if kv[1] != "" {
			p.printf(" %s=%s", kv[0], strconv.Quote(kv[1]))
		}
	}
	if m.ModelVersion != 0 {
		p.printf(" model_version=%d", m.ModelVersion)
	}
	p.printf("\n")
	for _, kv := range m.Props {
		p.printf("prop %s = %s\n", strconv.Quote(kv[0]), strconv.Quote(kv[1]))
	}
	for _, v := range g.Inputs {
		p.printf("input %s:%s\n", valueName(v.Name), v.Type)
	}
	for _, v := range g.Consts {
		p.printf("const %s:%s = ", valueName(v.Name), v.Type)
		p.tensorData(v.Const)
		p.printf("\n")
	}
	for _, n := range g.Nodes {
		for i, o := range n.Outputs {
			if i > 0 {
				p.printf(", ")
			}
			p.printf("%s:%s", valueName(o.Name), o.Type)
		}
		p.printf(" = %s", n.Op)
		for i, in := range n.Inputs {
			if i > 0 {
				p.printf(",")
			}
			if in == nil {
				p.printf(" _")
			} else {
				p.printf(" %s", valueName(in.Name))
			}
		}
		if len(n.Attrs) > 0 {
			p.printf(" {")
			keys := make([]string, 0, len(n.Attrs))
			for k := range n.Attrs {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for i, k := range keys {
				if i > 0 {
					p.printf(", ")
				}
				p.printf("%s=", k)
				p.attr(n.Attrs[k])
			}
			p.printf("}")
		}
		if n.Name != "" {
			p.printf(" @%s", nodeName(n.Name))
		}
		p.printf("\n")
	}
	for _, v := range g.Outputs {
		p.printf("output %s\n", valueName(v.Name))
	}
}

func (p *printer) attr(a Attr) {
	switch a.Kind {
	case AttrInt:
		p.printf("%d", a.Int)
	case AttrFloat:
		p.printf("%s", floatLit(a.Float))
	case AttrString:
		p.printf("%s", strconv.Quote(a.String))
	case AttrInts:
		p.printf("[")
		for i, v := range a.Ints {
			if i > 0 {
				p.printf(",")
			}
			p.printf("%d", v)
		}
		p.printf("]")
	case AttrFloats:
		p.printf("[")
		for i, v := range a.Floats {
			if i > 0 {
				p.printf(", ")
			}
			p.printf("%s", floatLit(v))
		}
		p.printf("]")
	case AttrStrings:
		p.printf("[")
		for i, v := range a.Strings {
			if i > 0 {
				p.printf(", ")
			}
			p.printf("%s", strconv.Quote(v))
		}
		p.printf("]")
	case AttrTensor:
		p.printf("%s", a.Tensor.Type())
		p.tensorData(a.Tensor)
	}
}

func (p *printer) tensorData(t *Tensor) {
	n := t.Len()
	if p.opt.ElideOver > 0 && n > p.opt.ElideOver {
		p.printf("{...}")
		return
	}
	p.printf("{")
	for i := 0; i < n; i++ {
		if i > 0 {
			p.printf(", ")
		}
		switch t.DType {
		case Float32, Float16:
			p.printf("%s", floatElem(float32(t.Float64At(i))))
		default:
			p.printf("%d", t.Int64At(i))
		}
	}
	p.printf("}")
}

// floatElem prints a tensor element: its dtype is known, so no '.' needed.
func floatElem(f float32) string {
	switch {
	case math.IsNaN(float64(f)):
		return "nan"
	case math.IsInf(float64(f), 1):
		return "inf"
	case math.IsInf(float64(f), -1):
		return "-inf"
	}
	return strconv.FormatFloat(float64(f), 'g', -1, 32)
}

// floatLit prints an attribute float so that it cannot read back as an int.
func floatLit(f float32) string {
	s := floatElem(f)
	if !strings.ContainsAny(s, ".eian") {
		s += ".0"
	}
	return s
}

func isIdentChar(c byte, first bool) bool {
	return c == '_' || c == '.' || c == '/' || c == '-' && !first || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func quoteIfNeeded(s string) string {
	if s == "" || s == "_" {
		return strconv.Quote(s)
	}
	for i := 0; i < len(s); i++ {
		if !isIdentChar(s[i], i == 0) {
			return strconv.Quote(s)
		}
	}
	return s
}

func valueName(s string) string { return "%" + quoteIfNeeded(s) }

// nodeName quotes node names that would not lex as one word after '@'.
func nodeName(s string) string {
	if s != "" && ('0' <= s[0] && s[0] <= '9') {
		return strconv.Quote(s)
	}
	return quoteIfNeeded(s)
}
