package ir

import "sort"

// Summary describes a graph for `litefy inspect`.
type Summary struct {
	Name    string     `json:"name"`
	Opset   int64      `json:"opset"`
	Inputs  []ValueDoc `json:"inputs"`
	Outputs []ValueDoc `json:"outputs"`
	Nodes   int        `json:"nodes"`
	Ops     []OpCount  `json:"ops"`    // by count, descending, then name
	Params  int64      `json:"params"` // elements of floating-point constants
	MACs    int64      `json:"macs"`   // multiply-accumulates per inference
	// PlannedBytes is the arena a Session allocates for the graph inputs
	// and node outputs (PlanMemory), UnplannedBytes their sum (one buffer
	// per value); constants are not counted. Both are absent (zero) when a
	// shape is not static.
	PlannedBytes   int64 `json:"planned_bytes,omitempty"`
	UnplannedBytes int64 `json:"unplanned_bytes,omitempty"`
}

// ValueDoc is a value's name and type as text.
type ValueDoc struct {
	Name  string `json:"name"`
	DType string `json:"dtype"`
	Shape string `json:"shape"`
}

// OpCount is one row of the op histogram.
type OpCount struct {
	Op    string `json:"op"`
	Count int    `json:"count"`
}

// Summarize counts a graph's ops, parameters and MACs and plans its
// memory. MACs come from the registry's MACs rules.
func Summarize(g *Graph) Summary {
	s := Summary{Name: g.Name, Opset: g.Opset, Nodes: len(g.Nodes)}
	doc := func(v *Value) ValueDoc {
		return ValueDoc{Name: v.Name, DType: v.Type.DType.String(), Shape: v.Type.Shape.String()}
	}
	for _, v := range g.Inputs {
		s.Inputs = append(s.Inputs, doc(v))
	}
	for _, v := range g.Outputs {
		s.Outputs = append(s.Outputs, doc(v))
	}
	hist := map[string]int{}
	for _, n := range g.Nodes {
		hist[n.Op]++
		if d := n.Def(); d != nil && d.MACs != nil {
			s.MACs += d.MACs(n)
		}
	}
	for op, c := range hist {
		s.Ops = append(s.Ops, OpCount{op, c})
	}
	sort.Slice(s.Ops, func(i, j int) bool {
		if s.Ops[i].Count != s.Ops[j].Count {
			return s.Ops[i].Count > s.Ops[j].Count
		}
		return s.Ops[i].Op < s.Ops[j].Op
	})
	for _, v := range g.Consts {
		if v.Type.DType.IsFloat() {
			s.Params += int64(v.Const.Len())
		}
	}
	if p, err := PlanMemory(g, SessionOptions{}); err == nil {
		s.PlannedBytes, s.UnplannedBytes = p.Bytes, p.Unplanned
	}
	return s
}
