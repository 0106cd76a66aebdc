package lower

import (
	"fmt"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Lower converts g into a TFLite model. Every 4-D value becomes an NHWC
// tensor (the model's 4-D inputs and outputs too). Nodes that have no
// lowering are all reported in one *ir.UnsupportedError. Shapes must be static:
// a symbolic batch size is fixed with onnx.Options.InputShapes (the CLI's
// --input-shape) first.
func Lower(g *ir.Graph, opt Options) (*Model, error) {
	l := newLowerer(g, opt)
	if err := l.checkQuantized(); err != nil {
		return nil, err
	}
	for _, v := range g.Inputs {
		if !v.Type.Shape.Static() {
			return nil, fmt.Errorf("lower: input %q has shape %s; TFLite needs static shapes (fix it with --input-shape %s=...)", v.Name, v.Type.Shape, v.Name)
		}
		if v.Type.DType != ir.Float32 {
			return nil, fmt.Errorf("lower: input %q is %s; only float32 models lower so far", v.Name, v.Type.DType)
		}
		l.m.Inputs = append(l.m.Inputs, l.inputEdge(v))
		l.m.InputLayouts = append(l.m.InputLayouts, l.layoutOf(v))
	}
	var bad []ir.NodeError
	for _, nl := range l.nodes() {
		if nl.Err != nil {
			bad = append(bad, nl.Node.ErrorAt(nl.Err.Error()))
		}
	}
	if len(bad) > 0 {
		return nil, &ir.UnsupportedError{Stage: "lower", Problem: "no TFLite lowering", Nodes: bad}
	}
	for _, v := range g.Outputs {
		t, ok := l.tensors[l.resolve(v)]
		if !ok {
			return nil, fmt.Errorf("lower: output %q is not computed by any lowered node", v.Name)
		}
		if r := l.resolve(v); r != v && !l.g.IsOutput(r) && r.Const == nil {
			l.m.Tensors[t].Name = v.Name // an Identity's output keeps the graph's output name
		}
		if l.int8 && l.m.Tensors[t].Type == fb.TensorTypeFLOAT32 && v.Type.DType == ir.Float32 {
			// computed by a kept-float node
			if t = l.floatOutput(v, t); l.opt.IO == IOFloat32 {
				l.m.Outputs = append(l.m.Outputs, t)
				l.m.OutputLayouts = append(l.m.OutputLayouts, l.layoutOf(v))
				continue
			}
		}
		l.m.Outputs = append(l.m.Outputs, l.outputEdge(t))
		l.m.OutputLayouts = append(l.m.OutputLayouts, l.layoutOf(v))
	}
	l.m.Provenance = l.provenance()
	collapseMoves(l.m)
	for _, op := range l.m.Operators {
		// op_version.cc: a TRANSPOSE of more than 4 dims is version 4
		// (5 is an int16 one, 6 more than 5 dims).
		if op.Builtin == fb.BuiltinOperatorTRANSPOSE && len(l.m.Tensors[op.Inputs[0]].Shape) > 4 {
			op.Version = 4
		} else if op.Builtin == fb.BuiltinOperatorTRANSPOSE && l.m.Tensors[op.Inputs[0]].Type == fb.TensorTypeBOOL {
			op.Version = 3 // a bool mask laid out for a Where
		}
	}
	if l.int8 {
		setInt8Versions(l.m)
	}
	if err := storeWeights(l.m, l.opt.Weights, l.int8); err != nil {
		return nil, err
	}
	if err := l.m.Validate(); err != nil {
		return nil, err
	}
	return l.m, nil
}

// NodeLowering is what the lowering does with one node.
type NodeLowering struct {
	Node *ir.Node
	// Builtins are the TFLite operators emitted for the node, in order;
	// none for a node fused into its producer or aliased to its input.
	Builtins []string
	// FusedInto is the producer a fused activation became part of.
	FusedInto *ir.Node
	// Err says why the node has no lowering.
	Err error
}

// Analyze runs the lowering of g with opt without writing a model and
// returns what it does with every node, in graph order. Unlike Lower it
// goes on past graph-level problems (a dynamic or non-float input), so a
// report can list every node.
func Analyze(g *ir.Graph, opt Options) []NodeLowering {
	l := newLowerer(g, opt)
	if l.checkQuantized() != nil {
		l.int8 = false
	}
	for _, v := range g.Inputs {
		l.activation(v)
	}
	return l.nodes()
}

// nodes lowers every node in order. A node that fails gets placeholder
// output tensors, so the nodes downstream lower and only the nodes that
// are themselves unsupported are reported.
func (l *lowerer) nodes() []NodeLowering {
	res := make([]NodeLowering, 0, len(l.g.Nodes))
	for _, n := range l.g.Nodes {
		nl := NodeLowering{Node: n}
		if l.fused[n] {
			nl.FusedInto = n.Inputs[0].Producer()
			res = append(res, nl)
			continue
		}
		start := len(l.m.Operators)
		if err := l.lowerIn(n); err != nil {
			nl.Err = err
			for _, o := range n.Outputs {
				if o != nil && l.resolve(o) == o {
					l.activation(o)
				}
			}
		}
		for _, op := range l.m.Operators[start:] {
			nl.Builtins = append(nl.Builtins, fb.EnumNamesBuiltinOperator[op.Builtin])
		}
		res = append(res, nl)
	}
	return res
}

func newLowerer(g *ir.Graph, opt Options) *lowerer {
	return &lowerer{
		g:       g,
		opt:     opt,
		m:       &Model{Description: opt.Description},
		tensors: map[*ir.Value]int32{},
		consts:  map[constKey]int32{},
		alias:   map[*ir.Value]*ir.Value{},
		fused:   map[*ir.Node]bool{},

		nhwcColumns: map[*ir.Value][3]int64{},
		layouts:     assignLayouts(g),
	}
}

func nodeName(n *ir.Node) string { return n.Label() }

type lowerer struct {
	g       *ir.Graph
	opt     Options
	m       *Model
	int8    bool                    // the graph carries ir.QuantParams: int8 tensors
	tensors map[*ir.Value]int32     // activation tensors
	consts  map[constKey]int32      // constant tensors, by value and re-layout
	alias   map[*ir.Value]*ir.Value // values that are another value (Identity, fused activations)
	fused   map[*ir.Node]bool       // activation nodes fused into their producer

	// nhwcColumns marks flattened values whose elements are in (h, w, c)
	// order, with their (C, H, W); see flattenIntoFC.
	nhwcColumns map[*ir.Value][3]int64
	// layouts gives each value the dim order of its tensor (layout.go).
	layouts map[*ir.Value]layout
}

type constKey struct {
	v      *ir.Value
	layout string
}

func (l *lowerer) resolve(v *ir.Value) *ir.Value {
	for {
		a, ok := l.alias[v]
		if !ok {
			return v
		}
		v = a
	}
}

// activation returns (creating) the tensor of a computed value.
func (l *lowerer) activation(v *ir.Value) int32 {
	v = l.resolve(v)
	if t, ok := l.tensors[v]; ok {
		return t
	}
	t := l.addTensor(&Tensor{Name: v.Name, Type: fb.TensorTypeFLOAT32, Shape: l.tshape(v)})
	if v.Type.DType == ir.Bool {
		l.m.Tensors[t].Type = fb.TensorTypeBOOL
	}
	if l.int8 && v.Quant != nil {
		l.m.Tensors[t].Type, l.m.Tensors[t].Quant = fb.TensorTypeINT8, perTensor(v.Quant)
	}
	l.tensors[v] = t
	return t
}

func (l *lowerer) addTensor(t *Tensor) int32 {
	l.m.Tensors = append(l.m.Tensors, t)
	return int32(len(l.m.Tensors) - 1)
}

func (l *lowerer) emit(n *ir.Node, op fb.BuiltinOperator, opts options, ins []int32, outs ...int32) {
	l.emitNamed(nodeName(n), op, opts, ins, outs...)
}

func (l *lowerer) emitNamed(node string, op fb.BuiltinOperator, opts options, ins []int32, outs ...int32) {
	l.m.Operators = append(l.m.Operators, &Operator{Builtin: op, Version: 1, Inputs: ins, Outputs: outs, Options: opts, Node: node})
}

// like adds a tensor of the same type and quantization as tensor t.
func (l *lowerer) like(t int32, name string, shape []int32) int32 {
	return likeTensor(l.m, t, name, shape)
}

// setQuant gives tensor t value v's int8 type and parameters in a
// quantized graph (t holds v's values in another layout or shape).
func (l *lowerer) setQuant(t int32, v *ir.Value) {
	if l.int8 && v.Quant != nil {
		l.m.Tensors[t].Type, l.m.Tensors[t].Quant = fb.TensorTypeINT8, perTensor(v.Quant)
	}
}

// temp adds an intermediate activation tensor: float32, or int8 with q
// when the graph is quantized.
func (l *lowerer) temp(name string, shape []int32, q *ir.QuantParams) int32 {
	t := &Tensor{Name: name, Type: fb.TensorTypeFLOAT32, Shape: shape}
	if l.int8 {
		t.Type, t.Quant = fb.TensorTypeINT8, perTensor(q)
	}
	return l.addTensor(t)
}

// input returns n's input i as a tensor in the layout of n's output when
// the two have one rank (the layout every same-layout op computes in), as
// written otherwise; constants are laid out like the output.
func (l *lowerer) input(n *ir.Node, i int) (int32, error) {
	v := n.Input(i)
	if v != nil && len(n.Outputs) > 0 && len(v.Type.Shape) == len(n.Outputs[0].Type.Shape) {
		return l.inputAs(n, i, l.layoutOf(n.Outputs[0]))
	}
	return l.inputRaw(n, i)
}

// inputRaw returns the tensor of n's input i in the layout it was written
// in; it must be computed (or a graph input). A constant is laid out as
// n's output is.
func (l *lowerer) inputRaw(n *ir.Node, i int) (int32, error) {
	v := n.Input(i)
	if v == nil {
		return 0, fmt.Errorf("input %d is missing", i)
	}
	v = l.resolve(v)
	if v.Const != nil {
		return l.constAs(v, l.layoutOf(n.Outputs[0]))
	}
	t, ok := l.tensors[v]
	if !ok {
		return 0, fmt.Errorf("input %s is not computed by a lowered node", v)
	}
	return t, nil
}

// float32Tensor adds a float32 constant holding v's bytes (the lowerer's
// own: a fresh layout or copy, not changed after; TFLite is little-endian,
// like the machines litefy runs on: ir.FromFloat32).
func (l *lowerer) float32Tensor(name string, shape []int32, v []float32) int32 {
	data := ir.FromFloat32([]int64{int64(len(v))}, v).Data
	return l.addTensor(&Tensor{Name: name, Type: fb.TensorTypeFLOAT32, Shape: shape, Data: data})
}

// int32Tensor adds an int32 constant (axes, shapes, paddings).
func (l *lowerer) int32Tensor(name string, shape []int32, v []int32) int32 {
	return addInt32Tensor(l.m, name, shape, v)
}

// constAs lays out a constant operand of an elementwise op whose output
// has layout want (its rank): a broadcast shape is right-aligned to that
// rank with size-1 dims, then permuted like the output. In a quantized
// graph the operand is int8 (QuantizeWeights).
func (l *lowerer) constAs(v *ir.Value, want layout) (int32, error) {
	rank := len(want)
	key := l.key(v, "operand"+want.String())
	if t, ok := l.consts[key]; ok {
		return t, nil
	}
	if v.Const.DType != ir.Float32 && v.Const.DType != ir.Bool {
		return 0, fmt.Errorf("constant %s is %s; only float32 and bool operands lower so far", v, v.Const.DType)
	}
	shape := v.Const.Shape
	if len(shape) > rank {
		return 0, fmt.Errorf("constant %s of rank %d broadcast to rank %d", v, len(shape), rank)
	}
	full := make([]int64, rank)
	for i := range full {
		full[i] = 1
	}
	copy(full[rank-len(shape):], shape)
	out := want.permuted(full)
	var t int32
	switch {
	case v.Const.DType == ir.Bool:
		// A bool operand (a Where's constant mask) is a BOOL tensor of one
		// byte per element, in int8 files too.
		t = l.addTensor(&Tensor{Name: v.Name, Type: fb.TensorTypeBOOL, Shape: out, Data: permuteData(v.Const.Data, full, want)})
	case l.int8:
		q, err := l.int8Const(v)
		if err != nil {
			return 0, err
		}
		if q.PerChannel() {
			return 0, fmt.Errorf("constant operand %s is quantized per channel; TFLite's elementwise ops take one scale", v)
		}
		t = l.int8Tensor(v.Name, out, permuteData(q.data, full, want), perTensor(v.Quant))
	default:
		t = l.float32Tensor(v.Name, out, permuteData(v.Const.AsFloat32s(), full, want))
	}
	l.consts[key] = t
	return t, nil
}
