package ir

import "fmt"

// Diff compares two graphs structurally (names, types, ops, attributes,
// constant bytes, metadata, order) and describes the first difference, or
// returns "" when they are equal.
func Diff(a, b *Graph) string {
	if a.Name != b.Name || a.Opset != b.Opset {
		return fmt.Sprintf("graph %q opset %d vs %q opset %d", a.Name, a.Opset, b.Name, b.Opset)
	}
	if fmt.Sprint(a.Meta) != fmt.Sprint(b.Meta) {
		return fmt.Sprintf("metadata %+v vs %+v", a.Meta, b.Meta)
	}
	vals := func(what string, x, y []*Value) string {
		if len(x) != len(y) {
			return fmt.Sprintf("%d %s vs %d", len(x), what, len(y))
		}
		for i := range x {
			if d := valueDiff(x[i], y[i]); d != "" {
				return fmt.Sprintf("%s %d: %s", what, i, d)
			}
		}
		return ""
	}
	if d := vals("inputs", a.Inputs, b.Inputs); d != "" {
		return d
	}
	if d := vals("constants", a.Consts, b.Consts); d != "" {
		return d
	}
	if len(a.Nodes) != len(b.Nodes) {
		return fmt.Sprintf("%d nodes vs %d", len(a.Nodes), len(b.Nodes))
	}
	for i, n := range a.Nodes {
		m := b.Nodes[i]
		if n.Name != m.Name || n.Op != m.Op {
			return fmt.Sprintf("node %d: %s vs %s", i, n, m)
		}
		if len(n.Inputs) != len(m.Inputs) {
			return fmt.Sprintf("%s: %d inputs vs %d", n, len(n.Inputs), len(m.Inputs))
		}
		for j := range n.Inputs {
			x, y := n.Inputs[j], m.Inputs[j]
			if (x == nil) != (y == nil) || x != nil && x.Name != y.Name {
				return fmt.Sprintf("%s input %d: %v vs %v", n, j, x, y)
			}
		}
		if d := vals("outputs of "+n.String(), n.Outputs, m.Outputs); d != "" {
			return d
		}
		if len(n.Attrs) != len(m.Attrs) {
			return fmt.Sprintf("%s: %d attributes vs %d", n, len(n.Attrs), len(m.Attrs))
		}
		for k, v := range n.Attrs {
			if w, ok := m.Attrs[k]; !ok || !v.Equal(w) {
				return fmt.Sprintf("%s attribute %s: %+v vs %+v", n, k, v, w)
			}
		}
	}
	if len(a.Outputs) != len(b.Outputs) {
		return fmt.Sprintf("%d outputs vs %d", len(a.Outputs), len(b.Outputs))
	}
	for i := range a.Outputs {
		if a.Outputs[i].Name != b.Outputs[i].Name {
			return fmt.Sprintf("output %d: %s vs %s", i, a.Outputs[i], b.Outputs[i])
		}
	}
	return ""
}

func valueDiff(x, y *Value) string {
	if x.Name != y.Name {
		return fmt.Sprintf("%s vs %s", x, y)
	}
	if !typeEqual(x.Type, y.Type) {
		return fmt.Sprintf("%s: type %s vs %s", x, x.Type, y.Type)
	}
	if !x.Const.Equal(y.Const) {
		return fmt.Sprintf("%s: constant values differ", x)
	}
	return ""
}

// Clone returns a copy of g with its own nodes and values; constant
// tensors are shared, since graphs never modify them in place.
func Clone(g *Graph) *Graph {
	h := &Graph{Name: g.Name, Opset: g.Opset, Meta: g.Meta, foldBase: g.foldBase, folded: g.folded} // a clone keeps the folding budget spent
	h.Meta.Props = append([][2]string(nil), g.Meta.Props...)
	m := map[*Value]*Value{}
	cp := func(v *Value) *Value {
		w := &Value{Name: v.Name, Type: Type{DType: v.Type.DType, Shape: v.Type.Shape.Clone()}, Const: v.Const, Quant: v.Quant}
		m[v] = w
		return w
	}
	for _, v := range g.Inputs {
		h.Inputs = append(h.Inputs, cp(v))
	}
	for _, v := range g.Consts {
		h.Consts = append(h.Consts, cp(v))
	}
	for _, n := range g.Nodes {
		ins := make([]*Value, len(n.Inputs))
		for i, v := range n.Inputs {
			if v != nil {
				ins[i] = m[v]
			}
		}
		names := make([]string, len(n.Outputs))
		for i, o := range n.Outputs {
			names[i] = o.Name
		}
		attrs := make(Attrs, len(n.Attrs))
		for k, a := range n.Attrs {
			attrs[k] = a
		}
		c := h.NewNode(n.Op, n.Name, ins, names, attrs)
		c.KeepFloat = n.KeepFloat
		for i, o := range n.Outputs {
			c.Outputs[i].Type = Type{DType: o.Type.DType, Shape: o.Type.Shape.Clone()}
			c.Outputs[i].Quant = o.Quant
			m[o] = c.Outputs[i]
		}
	}
	for _, v := range g.Outputs {
		h.Outputs = append(h.Outputs, m[v])
	}
	return h
}
