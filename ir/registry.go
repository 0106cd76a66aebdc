package ir

import (
	"fmt"
	"sort"
)

// OpDef is the single registry entry for an op. Import, shape inference,
// the interpreter, and (in later stages) quantization, lowering and the
// per-target compatibility report all read this one entry; adding an op
// means adding one OpDef.
type OpDef struct {
	Name string
	Doc  string // one line: what the op computes

	// Domain is "" for ops of ONNX's default domain. Ops that exist only
	// inside litefy (the canonical Swish and Relu6 that passes match on)
	// use InternalDomain: import never accepts them, and ONNX export
	// expands them into default-domain ops first.
	Domain string

	// Since is the first default-domain opset in which litefy accepts the
	// op (HardSwish appeared in 14); zero means MinOpset.
	Since int64

	Inputs  Arity
	Outputs Arity
	Attrs   []AttrDef // every attribute the op accepts, with its kind

	// Infer returns the output types. Inputs whose contents decide the
	// output shape (a Reshape's target shape) must be constants.
	Infer func(n *Node) ([]Type, error)

	// Kernel prepares the reference implementation of n. Shapes are static
	// by then; the returned Kernel runs once per inference.
	Kernel func(n *Node) (Kernel, error)

	// Elementwise, when set, returns the loop Kernel applies to n's
	// float32 input, y[i] = f(x[i]) over the whole tensor, or nil when n
	// is not such a map (another dtype, a bound computed at run time).
	// An element's result must not depend on the slice it is in: the
	// session may run the loop on each block of the producer's output
	// instead (fuse.go).
	Elementwise func(n *Node) func(x, y []float32)

	// Fold, when set, computes the outputs of n from static input types
	// alone (Shape); nil results mean it cannot.
	Fold func(n *Node) []*Tensor

	// MACs, when set, counts the multiply-accumulates n performs per
	// inference; ops without it count as zero.
	MACs func(n *Node) int64

	// NoFold marks ops whose outputs must not be folded into constants
	// even when every input is constant.
	NoFold bool

	// InPlace lists the inputs whose bytes output 0 may take when it has
	// their dtype and element count and the node is their last reader (the
	// memory plan decides, see plan.go). An op may list an input only if
	// its kernel reads each element of that input before writing the same
	// element of the output, and never after: elementwise maps (equal
	// counts under broadcasting mean the same layout) and the shape ops'
	// copy.
	InPlace []int
}

// Arity bounds the number of inputs or outputs; Max -1 means unbounded.
type Arity struct{ Min, Max int }

// AttrDef declares one attribute of an op.
type AttrDef struct {
	Name string
	Kind AttrKind
}

// Kernel runs one prepared node: it reads in and writes the preallocated
// out tensors. Absent optional inputs are nil.
type Kernel func(x *Exec, in, out []*Tensor) error

// InternalDomain is the domain of litefy's own ops.
const InternalDomain = "litefy"

var registry = map[string]*OpDef{}

// Register adds an op to the registry; it panics on a duplicate or an
// incomplete entry, which are programming errors.
func Register(d *OpDef) {
	if d.Name == "" || d.Infer == nil || d.Doc == "" {
		panic("ir.Register: op needs Name, Doc and Infer: " + d.Name)
	}
	if _, dup := registry[d.Name]; dup {
		panic("ir.Register: duplicate op " + d.Name)
	}
	if d.Since == 0 {
		d.Since = MinOpset
	}
	registry[d.Name] = d
}

// Lookup returns the registry entry for op, or nil.
func Lookup(op string) *OpDef { return registry[op] }

// Ops returns every registered op, sorted by name.
func Ops() []*OpDef {
	ds := make([]*OpDef, 0, len(registry))
	for _, d := range registry {
		ds = append(ds, d)
	}
	sort.Slice(ds, func(i, j int) bool { return ds[i].Name < ds[j].Name })
	return ds
}

// Attr returns the declaration of attribute name, or nil.
func (d *OpDef) Attr(name string) *AttrDef {
	for i := range d.Attrs {
		if d.Attrs[i].Name == name {
			return &d.Attrs[i]
		}
	}
	return nil
}

// checkSignature checks arity and attribute kinds of n against d.
func (d *OpDef) checkSignature(n *Node) error {
	if len(n.Inputs) < d.Inputs.Min || (d.Inputs.Max >= 0 && len(n.Inputs) > d.Inputs.Max) {
		return n.Errorf("has %d inputs, want %s", len(n.Inputs), d.Inputs)
	}
	if len(n.Outputs) < d.Outputs.Min || (d.Outputs.Max >= 0 && len(n.Outputs) > d.Outputs.Max) {
		return n.Errorf("has %d outputs, want %s", len(n.Outputs), d.Outputs)
	}
	for i := 0; i < d.Inputs.Min && i < len(n.Inputs); i++ {
		if n.Inputs[i] == nil {
			return n.Errorf("required input %d is missing", i)
		}
	}
	names := make([]string, 0, len(n.Attrs))
	for k := range n.Attrs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		ad := d.Attr(k)
		if ad == nil {
			return n.Errorf("unknown attribute %q", k)
		}
		if got := n.Attrs[k].Kind; got != ad.Kind {
			return n.Errorf("attribute %q is %s, want %s", k, got, ad.Kind)
		}
	}
	return nil
}

func (a Arity) String() string {
	switch {
	case a.Min == a.Max:
		return fmt.Sprint(a.Min)
	case a.Max < 0:
		return fmt.Sprintf("at least %d", a.Min)
	}
	return fmt.Sprintf("%d to %d", a.Min, a.Max)
}

// Fixed returns the arity of exactly n.
func Fixed(n int) Arity { return Arity{n, n} }
