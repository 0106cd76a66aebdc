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
