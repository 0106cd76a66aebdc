package ir

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Value is an SSA value: a graph input, a constant, or a node output.
type Value struct {
	Name  string
	Type  Type
	Const *Tensor      // the value of a constant (an ONNX initializer); nil otherwise
	Quant *QuantParams // set by quantization; nil for float values

	producer *Node
	uses     []*Node // consumers, once per input slot that reads this value
}

// Producer returns the node that computes v, or nil for inputs and constants.
func (v *Value) Producer() *Node { return v.producer }

// Uses returns the nodes that read v, once per input slot. The slice is
// owned by v; do not modify it.
func (v *Value) Uses() []*Node { return v.uses }

// IsConst reports whether v is a constant.
func (v *Value) IsConst() bool { return v != nil && v.Const != nil }

func (v *Value) String() string { return "%" + v.Name }

func (v *Value) removeUse(n *Node) {
	if i := slices.Index(v.uses, n); i >= 0 {
		v.uses = slices.Delete(v.uses, i, i+1)
	}
}

// Node is one operation. Inputs may hold nil for an omitted optional input.
type Node struct {
	Name    string
	Op      string
	Inputs  []*Value
	Outputs []*Value
	Attrs   Attrs
	// KeepFloat marks a node of a quantized graph that computes in float32:
	// it reads its int8 inputs dequantized and its int8 readers get its
	// outputs quantized with their QuantParams (mixed precision; see
	// lower.KeepFloat). It means nothing in a float graph.
	KeepFloat bool

	graph *Graph
}

// Def returns the registry entry for the node's op, or nil if unknown.
func (n *Node) Def() *OpDef { return Lookup(n.Op) }

// Graph returns the graph the node belongs to.
func (n *Node) Graph() *Graph { return n.graph }

// Opset returns the default-domain opset of the node's graph.
func (n *Node) Opset() int64 {
	if n.graph == nil {
		return MaxOpset
	}
	return n.graph.Opset
}

// Input returns input i, or nil when it is absent.
func (n *Node) Input(i int) *Value {
	if i < len(n.Inputs) {
		return n.Inputs[i]
	}
	return nil
}

// SetInput replaces input i, keeping use lists consistent.
func (n *Node) SetInput(i int, v *Value) {
	if old := n.Inputs[i]; old != nil {
		old.removeUse(n)
	}
	n.Inputs[i] = v
	if v != nil {
		v.uses = append(v.uses, n)
	}
}

func (n *Node) String() string {
	if n.Name != "" {
		return fmt.Sprintf("node %q (%s)", n.Name, n.Op)
	}
	return fmt.Sprintf("node %s (%s)", n.Outputs[0], n.Op)
}

// Errorf returns an error naming the node, its op and the opset, the form
// every user-facing error about a node takes.
func (n *Node) Errorf(format string, args ...any) error {
	e := n.ErrorAt(fmt.Sprintf(format, args...))
	return &e
}

// NodeError is an error about one node of a model.
type NodeError struct {
	Node  string
	Op    string
	Opset int64
	Msg   string
}

func (e *NodeError) Error() string {
	return fmt.Sprintf("node %q (%s, opset %d): %s", e.Node, e.Op, e.Opset, e.Msg)
}

// Graph is a model: a list of nodes in topological order over SSA values.
type Graph struct {
	Name    string
	Opset   int64 // default-domain opset
	Inputs  []*Value
	Outputs []*Value
	Consts  []*Value // constants in declaration order
	Nodes   []*Node  // in topological order
	Meta    Meta

	// The bytes of constants the graph had when it first folded, and the
	// bytes folding has added since (FoldNode's budget).
	foldBase, folded int64
}

// Meta carries model-level fields that export preserves.
type Meta struct {
	IRVersion       int64
	ProducerName    string
	ProducerVersion string
	Domain          string
	ModelVersion    int64
	Doc             string
	Props           [][2]string // metadata_props, in order
}

// MinOpset and MaxOpset bound the default-domain opsets litefy imports.
const (
	MinOpset = 9
	MaxOpset = 21
)

// NewGraph returns an empty graph at the given opset.
func NewGraph(name string, opset int64) *Graph { return &Graph{Name: name, Opset: opset} }

// AddInput declares a graph input.
func (g *Graph) AddInput(name string, t Type) *Value {
	v := &Value{Name: name, Type: t}
	g.Inputs = append(g.Inputs, v)
	return v
}

// AddConst declares a constant holding t.
func (g *Graph) AddConst(name string, t *Tensor) *Value {
	v := &Value{Name: name, Type: t.Type(), Const: t}
	g.Consts = append(g.Consts, v)
	return v
}

// NewNode appends a node reading inputs and producing one fresh value per
// output name. Output types are left for shape inference.
func (g *Graph) NewNode(op, name string, inputs []*Value, outputs []string, attrs Attrs) *Node {
	n := &Node{Name: name, Op: op, Inputs: inputs, Attrs: attrs, graph: g}
	if n.Attrs == nil {
		n.Attrs = Attrs{}
	}
	for _, in := range inputs {
		if in != nil {
			in.uses = append(in.uses, n)
		}
	}
	for _, o := range outputs {
		n.Outputs = append(n.Outputs, &Value{Name: o, producer: n})
	}
	g.Nodes = append(g.Nodes, n)
	return n
}

// MoveBefore moves n to just before ref in the node order.
func (g *Graph) MoveBefore(n, ref *Node) {
	i := slices.Index(g.Nodes, n)
	if i < 0 || slices.Index(g.Nodes, ref) < 0 || n == ref {
		return
	}
	g.Nodes = slices.Delete(g.Nodes, i, i+1)
	j := slices.Index(g.Nodes, ref)
	g.Nodes = slices.Insert(g.Nodes, j, n)
}

// RemoveNode deletes n from the graph. Its outputs must be unused.
func (g *Graph) RemoveNode(n *Node) {
	for _, in := range n.Inputs {
		if in != nil {
			in.removeUse(n)
		}
	}
	if i := slices.Index(g.Nodes, n); i >= 0 {
		g.Nodes = slices.Delete(g.Nodes, i, i+1)
	}
	n.graph = nil
}

// ReplaceUses makes every reader of old (nodes and graph outputs) read new.
func (g *Graph) ReplaceUses(old, new *Value) {
	for _, u := range slices.Clone(old.uses) {
		for i, in := range u.Inputs {
			if in == old {
				u.SetInput(i, new)
			}
		}
	}
	for i, o := range g.Outputs {
		if o == old {
			g.Outputs[i] = new
		}
	}
}

// RemoveUnusedConsts drops constants no node or output reads.
func (g *Graph) RemoveUnusedConsts() {
	out := map[*Value]bool{}
	for _, o := range g.Outputs {
		out[o] = true
	}
	g.Consts = slices.DeleteFunc(g.Consts, func(v *Value) bool { return len(v.uses) == 0 && !out[v] })
}

// Values returns every value of the graph: inputs, constants, then node
// outputs in node order.
func (g *Graph) Values() []*Value {
	vs := append(append([]*Value{}, g.Inputs...), g.Consts...)
	for _, n := range g.Nodes {
		vs = append(vs, n.Outputs...)
	}
	return vs
}

// IsOutput reports whether v is a graph output.
func (g *Graph) IsOutput(v *Value) bool { return slices.Contains(g.Outputs, v) }

// Sort puts the nodes in a deterministic topological order that keeps the
// current order wherever it is already valid. It fails with a *CycleError
// when the nodes form a cycle.
func (g *Graph) Sort() error {
	pending := map[*Node]int{}
	for _, n := range g.Nodes {
		pending[n] = 0
	}
	for _, n := range g.Nodes {
		c := 0
		for _, in := range n.Inputs {
			if in == nil {
				continue
			}
			if _, ok := pending[in.producer]; ok {
				c++
			}
		}
		pending[n] = c
	}
	order := make([]*Node, 0, len(g.Nodes))
	done := map[*Node]bool{}
	// Repeatedly take the first ready node in current order: stable and
	// deterministic. Quadratic in the worst case, linear for sorted graphs.
	for len(order) < len(g.Nodes) {
		progress := false
		for _, n := range g.Nodes {
			if done[n] || pending[n] > 0 {
				continue
			}
			done[n] = true
			order = append(order, n)
			progress = true
			for _, o := range n.Outputs {
				for _, u := range o.uses {
					if _, ok := pending[u]; ok {
						pending[u]--
					}
				}
			}
		}
		if !progress {
			return findCycle(g, done)
		}
	}
	g.Nodes = order
	return nil
}

// CycleError reports nodes that depend on themselves.
type CycleError struct{ Nodes []string }

func (e *CycleError) Error() string {
	return fmt.Sprintf("graph has a cycle through nodes %q", e.Nodes)
}

func findCycle(g *Graph, done map[*Node]bool) error {
	// Walk producers from an unfinished node until a node repeats.
	var start *Node
	for _, n := range g.Nodes {
		if !done[n] {
			start = n
			break
		}
	}
	seen := map[*Node]int{}
	var path []*Node
	for n := start; n != nil; {
		if i, ok := seen[n]; ok {
			var names []string
			for _, m := range path[i:] {
				names = append(names, m.Name)
			}
			slices.Reverse(names)
			return &CycleError{Nodes: names}
		}
		seen[n] = len(path)
		path = append(path, n)
		var next *Node
		for _, in := range n.Inputs {
			if in != nil && in.producer != nil && !done[in.producer] {
				next = in.producer
				break
			}
		}
		n = next
	}
	return &CycleError{}
}

// ClipBounds returns the float bounds of a ReLU-family or Clip node:
// Relu is [0, +max], Relu6 [0, 6], a Clip's absent bound ±max float32 (the
// attributes before opset 11, constant inputs from it). ok is false for
// other ops and for a Clip bound computed at run time.
func ClipBounds(n *Node) (lo, hi float32, ok bool) {
	switch n.Op {
	case "Relu":
		return 0, math.MaxFloat32, true
	case "Relu6":
		return 0, 6, true
	case "Clip":
	default:
		return 0, 0, false
	}
	lo, hi = -math.MaxFloat32, math.MaxFloat32
	if n.Opset() < 11 {
		return n.Attrs.Float("min", lo), n.Attrs.Float("max", hi), true
	}
	for i, b := range []*float32{&lo, &hi} {
		if v := n.Input(i + 1); v != nil {
			if v.Const == nil || v.Const.Len() != 1 {
				return 0, 0, false
			}
			*b = float32(v.Const.Float64At(0))
		}
	}
	return lo, hi, true
}

// UnsupportedError lists every node litefy cannot take at one stage:
// import (Stage "onnx": ops missing from the registry, other domains,
// too-old opsets) or a later stage's (Stage "lower", "int8"), which says what
// the nodes lack in Problem. Its message is a one-line summary, then one
// node per line.
type UnsupportedError struct {
	Stage   string // onnx, lower, int8...
	Problem string // what the nodes lack, as the stage words it
	Nodes   []NodeError
}

func (e *UnsupportedError) Error() string {
	var b strings.Builder
	plural := "s"
	if len(e.Nodes) == 1 {
		plural = ""
	}
	fmt.Fprintf(&b, "%s: %s (%d node%s):", e.Stage, e.Problem, len(e.Nodes), plural)
	for i := range e.Nodes {
		b.WriteString("\n  ")
		b.WriteString(e.Nodes[i].Error())
	}
	return b.String()
}

// ErrorAt returns the NodeError of n with message msg: n's name (or, when
// it has none, its first output's name as %name), op and opset.
func (n *Node) ErrorAt(msg string) NodeError {
	return NodeError{Node: n.Label(), Op: n.Op, Opset: n.Opset(), Msg: msg}
}

// Label names n in messages: its name, or %output when it has none.
func (n *Node) Label() string {
	if n.Name != "" || len(n.Outputs) == 0 || n.Outputs[0] == nil {
		return n.Name
	}
	return "%" + n.Outputs[0].Name
}
