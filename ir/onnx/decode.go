package onnx

import (
	"container/heap"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// Options tune the import.
type Options struct {
	// InputShapes fixes the dynamic dimensions of the named graph inputs,
	// such as a batch dimension. The rank must match; -1 leaves a dimension
	// as declared, and a fixed dimension must not be contradicted.
	InputShapes map[string][]int64

	// StaticShape, when set, is asked for the sizes of every graph input
	// whose shape is still dynamic after InputShapes, before shapes are
	// inferred (so shape chains fold): it returns dims as InputShapes
	// takes them, or nil to leave the input dynamic.
	StaticShape func(input string, declared ir.Shape) []int64

	// Constants binds graph inputs to fixed values, turning them into
	// constants: for models that feed shape parameters (a Resize's scales,
	// a Reshape's target shape) as inputs, which litefy's static shapes
	// need known at import.
	Constants map[string]*ir.Tensor

	// MaxMemory bounds, in bytes, the model file, each tensor (constant,
	// input or node output) and the sum of the constants (initializers and
	// folded results); 0 means ir.MemoryLimit(). Past it the import stops,
	// before allocating, with an *ir.LimitError naming the tensor.
	MaxMemory int64
}

func (o Options) maxMemory() int64 {
	if o.MaxMemory > 0 {
		return o.MaxMemory
	}
	return ir.MemoryLimit()
}

// Load reads an ONNX model file; external data is read relative to the
// file's folder.
func Load(path string, opt Options) (*ir.Graph, error) {
	if fi, err := os.Stat(path); err == nil && fi.Mode().IsRegular() && fi.Size() > opt.maxMemory() {
		return nil, fmt.Errorf("onnx: %s is %s, more than the memory limit of %s", path, ir.FormatBytes(fi.Size()), ir.FormatBytes(opt.maxMemory()))
	}
	m := &onnxpb.ModelProto{}
	readErr, parseErr := readModel(path, m)
	if readErr != nil {
		return nil, fmt.Errorf("onnx: %v", readErr)
	}
	return decodeModel(m, parseErr, filepath.Dir(path), path, opt)
}

// Decode converts a serialized ModelProto. dir is the folder external
// tensor data is read from; "" refuses external data.
func Decode(data []byte, dir string, opt Options) (*ir.Graph, error) {
	m := &onnxpb.ModelProto{}
	return decodeModel(m, proto.Unmarshal(data, m), dir, "model", opt)
}

// decodeModel converts m, which parsing with err gave.
func decodeModel(m *onnxpb.ModelProto, err error, dir, name string, opt Options) (*ir.Graph, error) {
	if err != nil {
		return nil, fmt.Errorf("onnx: parse %s: %v", name, err)
	}
	if m.IrVersion == nil || m.Graph == nil {
		return nil, fmt.Errorf("onnx: parse %s: not an ONNX model (no ir_version or graph)", name)
	}
	return convert(m, dir, opt)
}

func convert(m *onnxpb.ModelProto, dir string, opt Options) (*ir.Graph, error) {
	opsets := map[string]int64{}
	for _, o := range m.OpsetImport {
		d := o.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		if v, ok := opsets[d]; ok && v != o.GetVersion() {
			return nil, fmt.Errorf("onnx: model imports domain %q at opsets %d and %d", o.GetDomain(), v, o.GetVersion())
		}
		opsets[d] = o.GetVersion()
	}
	opset, ok := opsets[""]
	if !ok {
		return nil, fmt.Errorf("onnx: model imports no default-domain (ai.onnx) opset")
	}
	if opset < ir.MinOpset || opset > ir.MaxOpset {
		return nil, fmt.Errorf("onnx: model uses opset %d; litefy imports opsets %d to %d", opset, ir.MinOpset, ir.MaxOpset)
	}
	gp := m.Graph
	b := &builder{
		opset:  opset,
		opsets: opsets,
		nodes:  gp.Node,
		values: map[string]*ir.Value{},
		tr:     tensorReader{dir: dir, limit: opt.maxMemory()},
	}
	if err := b.checkSupported(); err != nil {
		return nil, err
	}
	b.g = ir.NewGraph(gp.GetName(), opset)
	b.g.Meta = ir.Meta{
		IRVersion:       m.GetIrVersion(),
		ProducerName:    m.GetProducerName(),
		ProducerVersion: m.GetProducerVersion(),
		Domain:          m.GetDomain(),
		ModelVersion:    m.GetModelVersion(),
		Doc:             m.GetDocString(),
	}
	for _, p := range m.MetadataProps {
		b.g.Meta.Props = append(b.g.Meta.Props, [2]string{p.GetKey(), p.GetValue()})
	}
	if len(gp.SparseInitializer) > 0 {
		return nil, fmt.Errorf("onnx: sparse initializer %q: sparse tensors are not supported", gp.SparseInitializer[0].GetValues().GetName())
	}
	if err := b.initializers(gp); err != nil {
		return nil, err
	}
	if err := b.inputs(gp, opt); err != nil {
		return nil, err
	}
	if err := b.build(); err != nil {
		return nil, err
	}
	if err := b.outputs(gp); err != nil {
		return nil, err
	}
	b.g.RemoveUnusedConsts()
	return b.g, nil
}

type builder struct {
	g      *ir.Graph
	opset  int64
	opsets map[string]int64
	nodes  []*onnxpb.NodeProto
	values map[string]*ir.Value // every value defined so far, by name
	tr     tensorReader
}

// label names node i in errors: its name, or its position and first output.
func (b *builder) label(i int) string {
	np := b.nodes[i]
	if np.GetName() != "" {
		return np.GetName()
	}
	if len(np.Output) > 0 {
		return "%" + np.Output[0]
	}
	return fmt.Sprintf("#%d", i)
}

func (b *builder) nodeErr(i int, format string, args ...any) error {
	return fmt.Errorf("onnx: %w", &ir.NodeError{Node: b.label(i), Op: b.nodes[i].GetOpType(), Opset: b.opset, Msg: fmt.Sprintf(format, args...)})
}

// wrapNodeErr prefixes an error from the ir package, naming unnamed nodes.
func (b *builder) wrapNodeErr(i int, err error) error {
	if ne, ok := err.(*ir.NodeError); ok && ne.Node == "" {
		c := *ne
		c.Node = b.label(i)
		err = &c
	}
	return fmt.Errorf("onnx: %w", err)
}

// checkSupported collects every node litefy cannot import.
func (b *builder) checkSupported() error {
	var bad []ir.NodeError
	for i, np := range b.nodes {
		op, d := np.GetOpType(), np.GetDomain()
		if d == "ai.onnx" {
			d = ""
		}
		ne := ir.NodeError{Node: b.label(i), Op: op, Opset: b.opset}
		switch {
		case d != "":
			ne.Op, ne.Opset = d+"."+op, b.opsets[d]
			ne.Msg = fmt.Sprintf("op of domain %q", d)
		case op == "Constant":
			continue
		case ir.Lookup(op) == nil || ir.Lookup(op).Domain != "":
			ne.Msg = "unsupported op"
		case b.opset < ir.Lookup(op).Since:
			ne.Msg = fmt.Sprintf("supported from opset %d", ir.Lookup(op).Since)
		default:
			continue
		}
		bad = append(bad, ne)
	}
	if bad != nil {
		return &ir.UnsupportedError{Stage: "onnx", Problem: "cannot import", Nodes: bad}
	}
	return nil
}

func (b *builder) define(v *ir.Value, what string) error {
	if v.Name == "" {
		return fmt.Errorf("onnx: %s has no name", what)
	}
	if _, dup := b.values[v.Name]; dup {
		return fmt.Errorf("onnx: value %q is defined twice", v.Name)
	}
	b.values[v.Name] = v
	return nil
}

func (b *builder) initializers(gp *onnxpb.GraphProto) error {
	for _, tp := range gp.Initializer {
		t, err := b.tr.decode(tp, fmt.Sprintf("initializer %q", tp.GetName()))
		if err != nil {
			return err
		}
		if err := b.tr.hold(tp.GetName(), t, fmt.Sprintf("initializer %q", tp.GetName())); err != nil {
			return err
		}
		if err := b.define(b.g.AddConst(tp.GetName(), t), "an initializer"); err != nil {
			return err
		}
	}
	return nil
}

// inputs declares the graph inputs; those that are also initializers (old
// exporters list every weight as an input) stay constants.
func (b *builder) inputs(gp *onnxpb.GraphProto, opt Options) error {
	seen := map[string]bool{}
	for _, vi := range gp.Input {
		name := vi.GetName()
		if seen[name] {
			return fmt.Errorf("onnx: input %q is listed twice", name)
		}
		seen[name] = true
		if v := b.values[name]; v != nil && v.IsConst() {
			continue
		}
		t, err := decodeType(vi, fmt.Sprintf("input %q", name))
		if err != nil {
			return err
		}
		if c, ok := opt.Constants[name]; ok {
			if c.DType != t.DType || t.Shape != nil && len(c.Shape) != len(t.Shape) {
				return fmt.Errorf("onnx: Constants gives %s%v for input %q of type %s", c.DType, c.Shape, name, t)
			}
			if err := b.define(b.g.AddConst(name, c), "a graph input bound to a constant"); err != nil {
				return err
			}
			continue
		}
		if err := b.define(b.g.AddInput(name, t), "a graph input"); err != nil {
			return err
		}
	}
	for name := range opt.Constants {
		if !seen[name] {
			return fmt.Errorf("onnx: Constants names %q, which is not a graph input", name)
		}
	}
	names := make([]string, 0, len(opt.InputShapes))
	for k := range opt.InputShapes {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, name := range names {
		v := b.values[name]
		if v == nil || v.IsConst() {
			return fmt.Errorf("onnx: InputShapes names %q, which is not a graph input", name)
		}
		if err := fixShape(v, opt.InputShapes[name]); err != nil {
			return err
		}
	}
	if opt.StaticShape != nil {
		for _, v := range b.g.Inputs {
			if v.Type.Shape.Static() {
				continue
			}
			if dims := opt.StaticShape(v.Name, v.Type.Shape); dims != nil {
				if err := fixShape(v, dims); err != nil {
					return err
				}
			}
		}
	}
	for _, v := range b.g.Inputs {
		if v.Type.Shape.Static() {
			if err := ir.CheckTensorSize(v.Name, v.Type.DType, v.Type.Shape.Sizes(), b.tr.limit); err != nil {
				return namedLimitErr(err, fmt.Sprintf("input %q", v.Name))
			}
		}
	}
	return nil
}

// namedLimitErr names the tensor of an *ir.LimitError as what.
func namedLimitErr(err error, what string) error {
	if le, ok := err.(*ir.LimitError); ok {
		c := *le
		c.What = what
		err = &c
	}
	return fmt.Errorf("onnx: %w", err)
}

func fixShape(v *ir.Value, dims []int64) error {
	s := v.Type.Shape
	if s == nil { // unknown rank: take the given shape
		s = make(ir.Shape, len(dims))
		for i := range s {
			s[i] = ir.Dim{Size: -1}
		}
	}
	if len(s) != len(dims) {
		return fmt.Errorf("onnx: input %q has rank %d (%s) but InputShapes gives %v", v.Name, len(s), v.Type.Shape, dims)
	}
	s = s.Clone()
	for i, d := range dims {
		switch {
		case d < -1:
			return fmt.Errorf("onnx: InputShapes gives %v for input %q: bad dimension %d", dims, v.Name, d)
		case d == -1:
		case s[i].Known() && s[i].Size != d:
			return fmt.Errorf("onnx: input %q has shape %s; InputShapes gives %v, which contradicts dim %d", v.Name, v.Type.Shape, dims, i)
		default:
			s[i] = ir.Dim{Size: d}
		}
	}
	v.Type.Shape = s
	return nil
}

// order returns the node indexes in a topological order that keeps the
// file's order wherever it is valid: ONNX requires topologically sorted
// nodes, but litefy sorts rather than refuses. A true cycle is an error.
func (b *builder) order() ([]int, error) {
	producer := map[string]int{}
	nodeNames := map[string]bool{}
	for i, np := range b.nodes {
		if name := np.GetName(); name != "" {
			if nodeNames[name] {
				return nil, fmt.Errorf("onnx: two nodes are named %q", name)
			}
			nodeNames[name] = true
		}
		for _, o := range np.Output {
			if o == "" {
				continue
			}
			if _, dup := producer[o]; dup || b.values[o] != nil {
				return nil, fmt.Errorf("onnx: value %q is defined twice (again by node %q)", o, b.label(i))
			}
			producer[o] = i
		}
	}
	pending := make([]int, len(b.nodes))
	users := make([][]int, len(b.nodes))
	for i, np := range b.nodes {
		for _, in := range np.Input {
			if in == "" || b.values[in] != nil {
				continue
			}
			p, ok := producer[in]
			if !ok {
				return nil, b.nodeErr(i, "input %q is not defined by any node, input or initializer", in)
			}
			pending[i]++
			users[p] = append(users[p], i)
		}
	}
	ready := &intHeap{}
	for i, c := range pending {
		if c == 0 {
			heap.Push(ready, i)
		}
	}
	order := make([]int, 0, len(b.nodes))
	for ready.Len() > 0 {
		i := heap.Pop(ready).(int)
		order = append(order, i)
		for _, u := range users[i] {
			if pending[u]--; pending[u] == 0 {
				heap.Push(ready, u)
			}
		}
	}
	if len(order) < len(b.nodes) {
		return nil, b.cycle(pending, producer)
	}
	return order, nil
}

// cycle reports one cycle among the nodes that could not be ordered.
func (b *builder) cycle(pending []int, producer map[string]int) error {
	start := slices.IndexFunc(pending, func(c int) bool { return c > 0 })
	pos := map[int]int{}
	var path []int
	for i := start; ; {
		if k, ok := pos[i]; ok {
			// The path runs from readers to producers: reverse it into data
			// flow order and start from the node that comes first in the file.
			cyc := slices.Clone(path[k:])
			slices.Reverse(cyc)
			first := slices.Index(cyc, slices.Min(cyc))
			cyc = append(cyc[first:], cyc[:first]...)
			var names []string
			for _, j := range cyc {
				names = append(names, fmt.Sprintf("%q", b.label(j)))
			}
			return fmt.Errorf("onnx: graph has a cycle through nodes %s", strings.Join(names, ", "))
		}
		pos[i] = len(path)
		path = append(path, i)
		next := -1
		for _, in := range b.nodes[i].Input {
			if p, ok := producer[in]; ok && pending[p] > 0 {
				next = p
				break
			}
		}
		if next < 0 { // cannot happen: an unordered node waits on another
			return fmt.Errorf("onnx: graph has a cycle through node %q", b.label(i))
		}
		i = next
	}
}

type intHeap []int

func (h intHeap) Len() int           { return len(h) }
func (h intHeap) Less(i, j int) bool { return h[i] < h[j] }
func (h intHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *intHeap) Push(x any)        { *h = append(*h, x.(int)) }
func (h *intHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// build adds the nodes in order, inferring types and folding each node
// whose result is already known (so Shape → Gather → Concat → Reshape
// chains become constants as they are read).
func (b *builder) build() error {
	order, err := b.order()
	if err != nil {
		return err
	}
	used := map[string]bool{}
	for name := range b.values {
		used[name] = true
	}
	for _, np := range b.nodes {
		for _, o := range np.Output {
			used[o] = true
		}
	}
	fresh := 0
	for _, i := range order {
		np := b.nodes[i]
		outs := slices.Clone(np.Output)
		for k, o := range outs {
			if o != "" {
				continue
			}
			for {
				fresh++
				o = fmt.Sprintf("_unnamed%d", fresh)
				if !used[o] {
					break
				}
			}
			used[o] = true
			outs[k] = o
		}
		attrs, err := b.attrs(i)
		if err != nil {
			return err
		}
		if np.GetOpType() == "Constant" {
			if err := b.constant(i, outs, attrs); err != nil {
				return err
			}
			continue
		}
		ins := make([]*ir.Value, len(np.Input))
		for k, in := range np.Input {
			if in != "" {
				ins[k] = b.values[in]
			}
		}
		n := b.g.NewNode(np.GetOpType(), np.GetName(), ins, outs, attrs)
		for _, o := range n.Outputs {
			b.values[o.Name] = o
		}
		if err := b.inferAndFold(i, n); err != nil {
			return err
		}
	}
	return nil
}

func (b *builder) inferAndFold(i int, n *ir.Node) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = b.nodeErr(i, "internal error (a litefy bug): %v", r)
		}
	}()
	if err := ir.InferNode(n); err != nil {
		for _, in := range b.g.Inputs {
			if !in.Type.Shape.Static() && strings.Contains(err.Error(), "must be a constant") {
				// Shape arithmetic on a dynamic dim cannot fold: say how to fix it.
				err = fmt.Errorf("%w (input %q has dynamic dims %s: fix them with --input-shape %s=...)", err, in.Name, in.Type.Shape, in.Name)
				break
			}
		}
		return b.wrapNodeErr(i, err)
	}
	for _, o := range n.Outputs {
		if o.Type.Shape.Static() {
			if err := ir.CheckTensorSize(o.Name, o.Type.DType, o.Type.Shape.Sizes(), b.tr.limit); err != nil {
				return b.nodeErr(i, "%v", err)
			}
		}
	}
	ts, err := ir.FoldNode(n)
	if err != nil {
		return b.wrapNodeErr(i, err)
	}
	if ts != nil {
		for k, t := range ts {
			if err := b.tr.hold(n.Outputs[k].Name, t, fmt.Sprintf("folded constant %q", n.Outputs[k].Name)); err != nil {
				return b.nodeErr(i, "%v", strings.TrimPrefix(err.Error(), "onnx: "))
			}
		}
		k := len(b.g.Consts)
		ir.ReplaceWithConsts(b.g, n, ts)
		for _, c := range b.g.Consts[k:] {
			b.values[c.Name] = c
		}
	}
	return nil
}

// constant turns a Constant node into a constant named after its output.
func (b *builder) constant(i int, outs []string, attrs ir.Attrs) error {
	if len(outs) != 1 || len(b.nodes[i].Input) != 0 || len(attrs) != 1 {
		return b.nodeErr(i, "want no inputs, 1 output and 1 attribute; have %d, %d and %d", len(b.nodes[i].Input), len(outs), len(attrs))
	}
	var t *ir.Tensor
	for name, a := range attrs {
		switch {
		case name == "value" && a.Kind == ir.AttrTensor:
			t = a.Tensor
		case name == "value_float" && a.Kind == ir.AttrFloat:
			t = ir.Scalar(a.Float)
		case name == "value_floats" && a.Kind == ir.AttrFloats:
			t = ir.FromFloat32([]int64{int64(len(a.Floats))}, slices.Clone(a.Floats))
		case name == "value_int" && a.Kind == ir.AttrInt:
			t = ir.FromInt64(nil, []int64{a.Int})
		case name == "value_ints" && a.Kind == ir.AttrInts:
			t = ir.FromInt64([]int64{int64(len(a.Ints))}, a.Ints)
		default:
			return b.nodeErr(i, "attribute %q (%s) is not supported", name, a.Kind)
		}
	}
	if err := b.tr.hold(outs[0], t, fmt.Sprintf("constant %q", outs[0])); err != nil {
		return err
	}
	return b.define(b.g.AddConst(outs[0], t), "a Constant output")
}

// attrs converts node i's attributes, keeping their values exactly.
func (b *builder) attrs(i int) (ir.Attrs, error) {
	np := b.nodes[i]
	as := ir.Attrs{}
	for _, ap := range np.Attribute {
		name := ap.GetName()
		if _, dup := as[name]; dup {
			return nil, b.nodeErr(i, "attribute %q is set twice", name)
		}
		if ap.RefAttrName != nil {
			return nil, b.nodeErr(i, "attribute %q refers to a function attribute, which litefy does not support", name)
		}
		typ := ap.GetType()
		if typ == onnxpb.AttributeProto_UNDEFINED { // IR version 1 had no type field
			typ = guessAttrType(ap)
		}
		var a ir.Attr
		switch typ {
		case onnxpb.AttributeProto_INT:
			a = ir.IntAttr(ap.GetI())
		case onnxpb.AttributeProto_FLOAT:
			a = ir.FloatAttr(ap.GetF())
		case onnxpb.AttributeProto_STRING:
			a = ir.StringAttr(string(ap.GetS()))
		case onnxpb.AttributeProto_INTS:
			a = ir.IntsAttr(slices.Clone(ap.Ints)...)
		case onnxpb.AttributeProto_FLOATS:
			a = ir.FloatsAttr(slices.Clone(ap.Floats)...)
		case onnxpb.AttributeProto_STRINGS:
			ss := make([]string, len(ap.Strings))
			for k, s := range ap.Strings {
				ss[k] = string(s)
			}
			a = ir.StringsAttr(ss...)
		case onnxpb.AttributeProto_TENSOR:
			if ap.T == nil {
				return nil, b.nodeErr(i, "tensor attribute %q has no tensor", name)
			}
			t, err := b.tr.decode(ap.T, fmt.Sprintf("attribute %q of node %q", name, b.label(i)))
			if err != nil {
				return nil, err
			}
			a = ir.TensorAttr(t)
		default:
			return nil, b.nodeErr(i, "attribute %q has type %s, which litefy does not support", name, typ)
		}
		as[name] = a
	}
	return as, nil
}

func guessAttrType(ap *onnxpb.AttributeProto) onnxpb.AttributeProto_AttributeType {
	switch {
	case ap.F != nil:
		return onnxpb.AttributeProto_FLOAT
	case ap.I != nil:
		return onnxpb.AttributeProto_INT
	case ap.S != nil:
		return onnxpb.AttributeProto_STRING
	case ap.T != nil:
		return onnxpb.AttributeProto_TENSOR
	case ap.G != nil:
		return onnxpb.AttributeProto_GRAPH
	case len(ap.Floats) > 0:
		return onnxpb.AttributeProto_FLOATS
	case len(ap.Ints) > 0:
		return onnxpb.AttributeProto_INTS
	case len(ap.Strings) > 0:
		return onnxpb.AttributeProto_STRINGS
	}
	return onnxpb.AttributeProto_UNDEFINED
}

// outputs sets the graph outputs, checking their declared element types
// against the inferred ones (shapes are left to inference).
func (b *builder) outputs(gp *onnxpb.GraphProto) error {
	for _, vi := range gp.Output {
		name := vi.GetName()
		v := b.values[name]
		if v == nil {
			return fmt.Errorf("onnx: graph output %q is not defined by any node, input or initializer", name)
		}
		if et := vi.GetType().GetTensorType().GetElemType(); et != 0 {
			dt, err := dtype(et, fmt.Sprintf("output %q", name))
			if err != nil {
				return err
			}
			if dt != v.Type.DType {
				return fmt.Errorf("onnx: output %q is declared %s but computes %s", name, dt, v.Type.DType)
			}
		}
		b.g.Outputs = append(b.g.Outputs, v)
	}
	return nil
}
