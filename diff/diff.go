// Package diff compares two graphs — an original model and its rewritten
// ("lite") variant — and reports what was removed, added and replaced, by
// node and by op, with parameters, MACs, file size and, optionally, the
// outputs of both on the same random input. It renders the comparison as
// text, JSON or a self-contained HTML page.
package diff

import (
	"math"
	"math/rand"
	"sort"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// Change classifies a node in the comparison.
type Change string

// The kinds of change, as they appear in JSON and colours in HTML.
const (
	Unchanged Change = "unchanged"
	Removed   Change = "removed"  // only in A
	Added     Change = "added"    // only in B
	Replaced  Change = "replaced" // in both under the same name, with another op
	Modified  Change = "modified" // same op, other inputs, attributes or weights
)

// NodeChange is one node's fate.
type NodeChange struct {
	Node   string `json:"node"`
	Change Change `json:"change"`
	OpA    string `json:"op_a,omitempty"`
	OpB    string `json:"op_b,omitempty"`
}

// OpDelta is the change in one op's count.
type OpDelta struct {
	Op string `json:"op"`
	A  int    `json:"a"`
	B  int    `json:"b"`
}

// Side summarises one graph.
type Side struct {
	Name     string `json:"name"`
	Nodes    int    `json:"nodes"`
	Params   int64  `json:"params"`
	MACs     int64  `json:"macs"`
	FileSize int64  `json:"file_size,omitempty"` // bytes of the ONNX file, when known
}

// Outputs compares the graphs' outputs on one random input.
type Outputs struct {
	Seed      int64     `json:"seed"`
	MaxAbsErr []float64 `json:"max_abs_err"` // per output
	MaxAbs    []float64 `json:"max_abs"`     // max |A output|, per output
	Error     string    `json:"error,omitempty"`
}

// Report is the comparison of graph A with graph B.
type Report struct {
	A, B    Side         `json:"-"`
	Sides   [2]Side      `json:"sides"`
	Ops     []OpDelta    `json:"ops"`   // ops whose counts differ
	Nodes   []NodeChange `json:"nodes"` // every node that is not unchanged
	Outputs *Outputs     `json:"outputs,omitempty"`
	Notes   []string     `json:"notes,omitempty"` // what the passes reported
	// Compat holds A's and B's compatibility with one target, when asked.
	Compat [2]*lower.CompatReport `json:"compat,omitempty"`
	// Changes maps node name to change for both graphs; HTML colours by it.
	Changes map[string]Change `json:"-"`
}

// Compare matches nodes by name: passes keep a node's name when they
// replace it, so a name in both graphs is the same place in the model.
func Compare(a, b *ir.Graph) *Report {
	r := &Report{Changes: map[string]Change{}}
	r.A, r.B = side(a), side(b)
	byName := func(g *ir.Graph) map[string]*ir.Node {
		m := map[string]*ir.Node{}
		for _, n := range g.Nodes {
			m[nodeKey(n)] = n
		}
		return m
	}
	na, nb := byName(a), byName(b)
	for _, n := range a.Nodes {
		k := nodeKey(n)
		m, ok := nb[k]
		c := NodeChange{Node: k, OpA: n.Op}
		switch {
		case !ok:
			c.Change = Removed
		case m.Op != n.Op:
			c.Change, c.OpB = Replaced, m.Op
		case !sameNode(n, m):
			c.Change, c.OpB = Modified, m.Op
		default:
			c.Change = Unchanged
		}
		r.Changes[k] = c.Change
		if c.Change != Unchanged {
			r.Nodes = append(r.Nodes, c)
		}
	}
	for _, m := range b.Nodes {
		k := nodeKey(m)
		if _, ok := na[k]; !ok {
			r.Changes[k] = Added
			r.Nodes = append(r.Nodes, NodeChange{Node: k, Change: Added, OpB: m.Op})
		}
	}
	ca, cb := opCounts(a), opCounts(b)
	var ops []string
	for op := range ca {
		ops = append(ops, op)
	}
	for op := range cb {
		if _, ok := ca[op]; !ok {
			ops = append(ops, op)
		}
	}
	sort.Strings(ops)
	for _, op := range ops {
		if ca[op] != cb[op] {
			r.Ops = append(r.Ops, OpDelta{op, ca[op], cb[op]})
		}
	}
	r.Sides = [2]Side{r.A, r.B}
	return r
}

// nodeKey names a node; unnamed nodes are known by their first output.
func nodeKey(n *ir.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return "%" + n.Outputs[0].Name
}

func sameNode(n, m *ir.Node) bool {
	if len(n.Inputs) != len(m.Inputs) || len(n.Attrs) != len(m.Attrs) {
		return false
	}
	for i, x := range n.Inputs {
		y := m.Inputs[i]
		if (x == nil) != (y == nil) || x != nil && (x.Name != y.Name || !x.Const.Equal(y.Const)) {
			return false
		}
	}
	for k, v := range n.Attrs {
		if w, ok := m.Attrs[k]; !ok || !v.Equal(w) {
			return false
		}
	}
	return true
}

func opCounts(g *ir.Graph) map[string]int {
	m := map[string]int{}
	for _, n := range g.Nodes {
		m[n.Op]++
	}
	return m
}

func side(g *ir.Graph) Side {
	s := ir.Summarize(g)
	return Side{Name: g.Name, Nodes: s.Nodes, Params: s.Params, MACs: s.MACs}
}

// SetFileSizes records the ONNX file sizes of A and B.
func (r *Report) SetFileSizes(a, b int64) {
	r.A.FileSize, r.B.FileSize = a, b
	r.Sides = [2]Side{r.A, r.B}
}

// CompareOutputs runs both graphs with the reference interpreter on one
// seeded random input in [-1, 1) and records the largest differences. The
// graphs must have the same inputs and output shapes.
func (r *Report) CompareOutputs(a, b *ir.Graph, seed int64) {
	o := &Outputs{Seed: seed}
	r.Outputs = o
	rng := rand.New(rand.NewSource(seed))
	var feeds []*ir.Tensor
	for _, v := range a.Inputs {
		if !v.Type.Shape.Static() {
			o.Error = "input " + v.Name + " has dynamic dims; fix them with --input-shape"
			return
		}
		t := ir.NewTensor(v.Type.DType, v.Type.Shape.Sizes())
		for i := 0; i < t.Len(); i++ {
			t.SetFloat64At(i, rng.Float64()*2-1)
		}
		feeds = append(feeds, t)
	}
	run := func(g *ir.Graph) ([]*ir.Tensor, error) {
		s, err := ir.NewSession(g, ir.SessionOptions{})
		if err != nil {
			return nil, err
		}
		defer s.Close()
		out, err := s.Run(feeds...)
		if err != nil {
			return nil, err
		}
		var cp []*ir.Tensor
		for _, t := range out {
			cp = append(cp, t.Clone())
		}
		return cp, nil
	}
	ya, err := run(a)
	if err != nil {
		o.Error = "A: " + err.Error()
		return
	}
	yb, err := run(b)
	if err != nil {
		o.Error = "B: " + err.Error()
		return
	}
	if len(ya) != len(yb) {
		o.Error = "the graphs have different numbers of outputs"
		return
	}
	for i := range ya {
		if ya[i].Len() != yb[i].Len() {
			o.Error = "output shapes differ"
			return
		}
		maxErr, maxAbs := 0.0, 0.0
		for j := 0; j < ya[i].Len(); j++ {
			x, y := ya[i].Float64At(j), yb[i].Float64At(j)
			maxErr = math.Max(maxErr, math.Abs(x-y))
			maxAbs = math.Max(maxAbs, math.Abs(x))
		}
		o.MaxAbsErr = append(o.MaxAbsErr, maxErr)
		o.MaxAbs = append(o.MaxAbs, maxAbs)
	}
}
