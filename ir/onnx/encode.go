package onnx

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// irVersionFor gives the IR version of the ONNX release that introduced
// each opset, the one Encode writes when the graph carries none.
var irVersionFor = map[int64]int64{
	9: 4, 10: 5, 11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10,
}

// Save writes g as an ONNX model file. It writes a temporary file in the
// same folder and renames it, so path never holds a partial model.
func Save(g *ir.Graph, path string) error {
	data, err := Encode(g)
	if err != nil {
		return err
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("onnx: %v", err)
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Chmod(0o644)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("onnx: %v", err)
	}
	return nil
}

// Encode serializes g as an ONNX ModelProto. The bytes are deterministic.
// Names, attributes and the opset are kept; constants become initializers
// with little-endian raw data, except constants that are graph outputs,
// which become Constant nodes. Every value gets its inferred type: inputs
// and outputs in graph.input/output, the others in value_info.
func Encode(g *ir.Graph) ([]byte, error) {
	m, err := encodeModel(g)
	if err != nil {
		return nil, err
	}
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("onnx: %v", err)
	}
	return data, nil
}

func encodeModel(g *ir.Graph) (*onnxpb.ModelProto, error) {
	if g.Opset < ir.MinOpset || g.Opset > ir.MaxOpset {
		return nil, fmt.Errorf("onnx: graph has opset %d; litefy writes opsets %d to %d", g.Opset, ir.MinOpset, ir.MaxOpset)
	}
	for _, n := range g.Nodes {
		if d := n.Def(); d != nil && d.Domain != "" {
			return nil, fmt.Errorf("onnx: %s is a litefy op with no ONNX form here; run the passes.ONNXExport pipeline first", n)
		}
		if d := n.Def(); d != nil && g.Opset < d.Since {
			return nil, fmt.Errorf("onnx: %s does not exist at opset %d; run the passes.ONNXExport pipeline first", n, g.Opset)
		}
	}
	irVersion := g.Meta.IRVersion
	if irVersion == 0 {
		irVersion = irVersionFor[g.Opset]
	}
	names, err := valueNames(g)
	if err != nil {
		return nil, err
	}
	gp := &onnxpb.GraphProto{Name: ptr(g.Name)}
	for _, v := range g.Inputs {
		vi, err := encodeType(names[v], v.Type)
		if err != nil {
			return nil, err
		}
		gp.Input = append(gp.Input, vi)
	}
	for _, c := range g.Consts {
		if g.IsOutput(c) {
			// An output must be computed by the graph: ONNX tools disagree on
			// initializers as outputs, a Constant node is always accepted.
			t, err := encodeTensor(names[c], c.Const)
			if err != nil {
				return nil, fmt.Errorf("onnx: %v", err)
			}
			t.Name = nil
			gp.Node = append(gp.Node, &onnxpb.NodeProto{
				Name:   ptr(names[c]),
				OpType: ptr("Constant"),
				Output: []string{names[c]},
				Attribute: []*onnxpb.AttributeProto{{
					Name: ptr("value"), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t,
				}},
			})
			continue
		}
		t, err := encodeTensor(names[c], c.Const)
		if err != nil {
			return nil, fmt.Errorf("onnx: %v", err)
		}
		gp.Initializer = append(gp.Initializer, t)
		if irVersion < 4 { // before IR 4 every initializer is also an input
			vi, err := encodeType(names[c], c.Type)
			if err != nil {
				return nil, err
			}
			gp.Input = append(gp.Input, vi)
		}
	}
	for _, n := range g.Nodes {
		np, err := encodeNode(n, names)
		if err != nil {
			return nil, err
		}
		gp.Node = append(gp.Node, np)
		for _, o := range n.Outputs {
			if g.IsOutput(o) || o.Type.DType == ir.Undefined {
				continue
			}
			vi, err := encodeType(names[o], o.Type)
			if err != nil {
				return nil, err
			}
			gp.ValueInfo = append(gp.ValueInfo, vi)
		}
	}
	for _, v := range g.Outputs {
		vi, err := encodeType(names[v], v.Type)
		if err != nil {
			return nil, err
		}
		gp.Output = append(gp.Output, vi)
	}
	m := &onnxpb.ModelProto{
		IrVersion:   ptr(irVersion),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: ptr(""), Version: ptr(g.Opset)}},
		Graph:       gp,
	}
	meta := g.Meta
	setString(&m.ProducerName, meta.ProducerName)
	setString(&m.ProducerVersion, meta.ProducerVersion)
	setString(&m.Domain, meta.Domain)
	setString(&m.DocString, meta.Doc)
	if meta.ModelVersion != 0 {
		m.ModelVersion = ptr(meta.ModelVersion)
	}
	for _, p := range meta.Props {
		m.MetadataProps = append(m.MetadataProps, &onnxpb.StringStringEntryProto{Key: ptr(p[0]), Value: ptr(p[1])})
	}
	return m, nil
}

func setString(f **string, s string) {
	if s != "" {
		*f = &s
	}
}

// valueNames maps every value to its ONNX name. Values must have distinct
// names; a value without a name (made by a pass) gets a fresh one.
func valueNames(g *ir.Graph) (map[*ir.Value]string, error) {
	names := map[*ir.Value]string{}
	used := map[string]bool{}
	var unnamed []*ir.Value
	add := func(v *ir.Value) error {
		if v == nil {
			return nil
		}
		if _, ok := names[v]; ok {
			return nil
		}
		names[v] = v.Name
		if v.Name == "" {
			unnamed = append(unnamed, v)
			return nil
		}
		if used[v.Name] {
			return fmt.Errorf("onnx: two values are named %q", v.Name)
		}
		used[v.Name] = true
		return nil
	}
	for _, v := range g.Values() {
		if err := add(v); err != nil {
			return nil, err
		}
	}
	// Inputs of nodes and outputs must be values of the graph.
	for _, n := range g.Nodes {
		for k, in := range n.Inputs {
			if _, ok := names[in]; in != nil && !ok {
				return nil, fmt.Errorf("onnx: %s reads input %d %s, which is not a value of the graph", n, k, in)
			}
		}
	}
	for _, v := range g.Outputs {
		if _, ok := names[v]; !ok {
			return nil, fmt.Errorf("onnx: graph output %s is not a value of the graph", v)
		}
	}
	fresh := 0
	for _, v := range unnamed {
		for {
			fresh++
			name := fmt.Sprintf("_unnamed%d", fresh)
			if !used[name] {
				used[name] = true
				names[v] = name
				break
			}
		}
	}
	return names, nil
}

func encodeNode(n *ir.Node, names map[*ir.Value]string) (*onnxpb.NodeProto, error) {
	np := &onnxpb.NodeProto{OpType: ptr(n.Op)}
	setString(&np.Name, n.Name)
	for _, in := range n.Inputs {
		if in == nil {
			np.Input = append(np.Input, "")
		} else {
			np.Input = append(np.Input, names[in])
		}
	}
	for _, o := range n.Outputs {
		np.Output = append(np.Output, names[o])
	}
	keys := make([]string, 0, len(n.Attrs))
	for k := range n.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		ap, err := encodeAttr(k, n.Attrs[k])
		if err != nil {
			return nil, fmt.Errorf("onnx: %s: %v", n, err)
		}
		np.Attribute = append(np.Attribute, ap)
	}
	return np, nil
}

func encodeAttr(name string, a ir.Attr) (*onnxpb.AttributeProto, error) {
	ap := &onnxpb.AttributeProto{Name: ptr(name)}
	var typ onnxpb.AttributeProto_AttributeType
	switch a.Kind {
	case ir.AttrInt:
		typ, ap.I = onnxpb.AttributeProto_INT, ptr(a.Int)
	case ir.AttrFloat:
		typ, ap.F = onnxpb.AttributeProto_FLOAT, ptr(a.Float)
	case ir.AttrString:
		typ, ap.S = onnxpb.AttributeProto_STRING, []byte(a.String)
	case ir.AttrInts:
		typ, ap.Ints = onnxpb.AttributeProto_INTS, a.Ints
	case ir.AttrFloats:
		typ, ap.Floats = onnxpb.AttributeProto_FLOATS, a.Floats
	case ir.AttrStrings:
		typ = onnxpb.AttributeProto_STRINGS
		for _, s := range a.Strings {
			ap.Strings = append(ap.Strings, []byte(s))
		}
	case ir.AttrTensor:
		if a.Tensor == nil {
			return nil, fmt.Errorf("attribute %q has no tensor", name)
		}
		t, err := encodeTensor("", a.Tensor)
		if err != nil {
			return nil, fmt.Errorf("attribute %q: %v", name, err)
		}
		typ, ap.T = onnxpb.AttributeProto_TENSOR, t
	default:
		return nil, fmt.Errorf("attribute %q has kind %s", name, a.Kind)
	}
	ap.Type = typ.Enum()
	return ap, nil
}
