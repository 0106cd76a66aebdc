package onnx_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

func TestDecode(t *testing.T) {
	m := reluModel()
	m.ProducerVersion = sp("1.0")
	m.Domain = sp("org.example")
	m.ModelVersion = ip(3)
	m.DocString = sp("a doc")
	m.MetadataProps = []*onnxpb.StringStringEntryProto{{Key: sp("k"), Value: sp("v")}}
	g := decode(t, m, onnx.Options{})

	want := ir.Meta{IRVersion: 7, ProducerName: "litefy-test", ProducerVersion: "1.0", Domain: "org.example",
		ModelVersion: 3, Doc: "a doc", Props: [][2]string{{"k", "v"}}}
	if d := ir.Diff(&ir.Graph{Meta: g.Meta}, &ir.Graph{Meta: want}); d != "" {
		t.Errorf("meta: %s", d)
	}
	if g.Name != "relu" || g.Opset != 13 {
		t.Errorf("graph %q opset %d", g.Name, g.Opset)
	}
	if len(g.Inputs) != 1 || g.Inputs[0].Name != "x" || g.Inputs[0].Type.String() != "f32[N,4]" {
		t.Errorf("inputs %v", g.Inputs)
	}
	if len(g.Consts) != 1 || g.Consts[0].Name != "w" || !slices.Equal(g.Consts[0].Const.Float32s(), []float32{1, -2, 3, -4}) {
		t.Errorf("consts %v", g.Consts)
	}
	if len(g.Nodes) != 2 || g.Nodes[0].Name != "add" || g.Nodes[1].Op != "TestOnlyRelu" {
		t.Errorf("nodes %v", g.Nodes)
	}
	if len(g.Outputs) != 1 || g.Outputs[0] != g.Nodes[1].Outputs[0] || g.Outputs[0].Type.String() != "f32[N,4]" {
		t.Errorf("outputs %v", g.Outputs)
	}
}

func TestInitializerListedAsInput(t *testing.T) {
	m := reluModel()
	m.Graph.Input = append(m.Graph.Input, value("w", f32, 4))
	g := decode(t, m, onnx.Options{})
	if len(g.Inputs) != 1 || len(g.Consts) != 1 || !g.Nodes[0].Inputs[1].IsConst() {
		t.Errorf("inputs %v consts %v", g.Inputs, g.Consts)
	}
}

func TestConstantNodes(t *testing.T) {
	fa := func(name string, v ...float32) *onnxpb.AttributeProto {
		typ := onnxpb.AttributeProto_FLOATS
		if name == "value_float" {
			return &onnxpb.AttributeProto{Name: sp(name), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: &v[0]}
		}
		return &onnxpb.AttributeProto{Name: sp(name), Type: typ.Enum(), Floats: v}
	}
	m := model(13, &onnxpb.GraphProto{
		Input:  []*onnxpb.ValueInfoProto{value("x", f32, 2)},
		Output: []*onnxpb.ValueInfoProto{value("y", f32, 2)},
		Node: []*onnxpb.NodeProto{
			node("Constant", "c1", nil, []string{"a"}, attrTensor("value", floats("", []int64{2}, 1, 2))),
			node("Constant", "c2", nil, []string{"b"}, fa("value_float", 5)),
			node("Constant", "c3", nil, []string{"c"}, fa("value_floats", 6, 7)),
			node("Constant", "c4", nil, []string{"d"}, attrInt("value_int", 8)),
			node("Constant", "c5", nil, []string{"e"}, &onnxpb.AttributeProto{Name: sp("value_ints"),
				Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{9, 10}}),
			node("Add", "add1", []string{"x", "a"}, []string{"t1"}),
			node("Add", "add2", []string{"t1", "b"}, []string{"t2"}),
			node("Add", "add3", []string{"t2", "c"}, []string{"t3"}),
			node("TestOnlyAttrs", "use", []string{"t3", "d", "e"}, []string{"y"}),
		},
	})
	g := decode(t, m, onnx.Options{})
	got := map[string]string{}
	for _, c := range g.Consts {
		got[c.Name] = c.Type.String()
	}
	want := map[string]string{"a": "f32[2]", "b": "f32[]", "c": "f32[2]", "d": "i64[]", "e": "i64[2]"}
	if len(got) != len(want) {
		t.Errorf("constants %v, want %v", got, want)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("constant %s: %s, want %s", k, got[k], v)
		}
	}
	if len(g.Nodes) != 4 {
		t.Errorf("%d nodes, want 4 (Constant nodes become constants)", len(g.Nodes))
	}

	m.Graph.Node[0].Attribute[0] = &onnxpb.AttributeProto{Name: sp("value_string"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte("x")}
	wantErr(t, decodeErr(t, m, onnx.Options{}), `onnx: node "c1" (Constant, opset 13): attribute "value_string" (string) is not supported`)
}

func wantErr(t *testing.T, got, want string) {
	t.Helper()
	if got != want {
		t.Errorf("error\n got: %s\nwant: %s", got, want)
	}
	if !strings.HasPrefix(got, "onnx: ") {
		t.Errorf("error does not start with \"onnx: \": %q", got)
	}
	// One line, or for a list of nodes a summary and one line per node.
	if lines := strings.Split(got, "\n"); len(lines) > 1 && !strings.HasSuffix(lines[0], ":") {
		t.Errorf("a multi-line error whose first line is not a summary: %q", got)
	}
}

func TestTensorFields(t *testing.T) {
	dt := func(d onnxpb.TensorProto_DataType) *int32 { v := int32(d); return &v }
	cases := []struct {
		name string
		t    *onnxpb.TensorProto
		want string // the constant as ir text, or the error
	}{
		{"float_data", &onnxpb.TensorProto{Dims: []int64{2}, DataType: dt(f32), FloatData: []float32{1.5, -2}}, "f32[2] 1.5 -2"},
		{"int64_data", &onnxpb.TensorProto{Dims: []int64{2}, DataType: dt(i64), Int64Data: []int64{-1, 1 << 40}}, "i64[2] -1 1099511627776"},
		{"int32", &onnxpb.TensorProto{Dims: []int64{2}, DataType: dt(onnxpb.TensorProto_INT32), Int32Data: []int32{-7, 7}}, "i32[2] -7 7"},
		{"int8", &onnxpb.TensorProto{Dims: []int64{2}, DataType: dt(onnxpb.TensorProto_INT8), Int32Data: []int32{-128, 127}}, "i8[2] -128 127"},
		{"uint8", &onnxpb.TensorProto{Dims: []int64{2}, DataType: dt(onnxpb.TensorProto_UINT8), Int32Data: []int32{0, 255}}, "u8[2] 0 255"},
		{"bool", &onnxpb.TensorProto{Dims: []int64{2}, DataType: dt(onnxpb.TensorProto_BOOL), Int32Data: []int32{1, 0}}, "bool[2] 1 0"},
		{"float16", &onnxpb.TensorProto{Dims: []int64{2}, DataType: dt(onnxpb.TensorProto_FLOAT16), Int32Data: []int32{0x3c00, 0xc000}}, "f16[2] 1 -2"},
		{"scalar", &onnxpb.TensorProto{DataType: dt(f32), FloatData: []float32{3}}, "f32[] 3"},
		{"empty", &onnxpb.TensorProto{Dims: []int64{0, 3}, DataType: dt(f32)}, "f32[0,3]"},
		{"double", &onnxpb.TensorProto{Dims: []int64{1}, DataType: dt(onnxpb.TensorProto_DOUBLE), DoubleData: []float64{1}},
			`onnx: initializer "k" has element type DOUBLE, which litefy does not support`},
		{"string", &onnxpb.TensorProto{Dims: []int64{1}, DataType: dt(onnxpb.TensorProto_STRING), StringData: [][]byte{{'a'}}},
			`onnx: initializer "k" has element type STRING, which litefy does not support`},
		{"no type", &onnxpb.TensorProto{Dims: []int64{1}, FloatData: []float32{1}},
			`onnx: initializer "k" has no element type`},
		{"raw too short", &onnxpb.TensorProto{Dims: []int64{2, 2}, DataType: dt(f32), RawData: make([]byte, 12)},
			`onnx: initializer "k" has 12 bytes of raw data, want 16 for f32[2 2]`},
		{"too few values", &onnxpb.TensorProto{Dims: []int64{3}, DataType: dt(f32), FloatData: []float32{1, 2}},
			`onnx: initializer "k" has 2 values, want 3 for f32[3]`},
		{"data in wrong field", &onnxpb.TensorProto{Dims: []int64{1}, DataType: dt(f32), Int64Data: []int64{1}},
			`onnx: initializer "k" has 0 values, want 1 for f32[1]`},
		{"negative dim", &onnxpb.TensorProto{Dims: []int64{-1}, DataType: dt(f32)},
			`onnx: initializer "k" has negative dimension in shape [-1]`},
		{"huge", &onnxpb.TensorProto{Dims: []int64{1 << 40, 1 << 40}, DataType: dt(f32)},
			`onnx: initializer "k" (f32[1099511627776 1099511627776]): its size overflows int64`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			c.t.Name = sp("k")
			m := model(13, &onnxpb.GraphProto{
				Initializer: []*onnxpb.TensorProto{c.t},
				Output:      []*onnxpb.ValueInfoProto{{Name: sp("k")}},
			})
			g, err := onnx.Decode(marshal(t, m), "", onnx.Options{})
			if strings.HasPrefix(c.want, "onnx: ") {
				if err == nil {
					t.Fatalf("no error")
				}
				wantErr(t, err.Error(), c.want)
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := constText(g.Consts[0].Const); got != c.want {
				t.Errorf("got %s, want %s", got, c.want)
			}
		})
	}
}

// constText prints a small tensor as "dtype[shape] v1 v2 ...".
func constText(c *ir.Tensor) string {
	s := c.Type().String()
	for i := range c.Len() {
		s += " " + strconv.FormatFloat(c.Float64At(i), 'f', -1, 64)
	}
	return s
}

func TestUnsupported(t *testing.T) {
	m := model(13, &onnxpb.GraphProto{
		Input:  []*onnxpb.ValueInfoProto{value("x", f32, 4)},
		Output: []*onnxpb.ValueInfoProto{value("y", f32, 4)},
		Node: []*onnxpb.NodeProto{
			node("Foo", "n1", []string{"x"}, []string{"a"}),
			node("TestOnlyRelu", "ok", []string{"a"}, []string{"b"}),
			node("Bar", "", []string{"b"}, []string{"c"}),
			node("TestOnlySince15", "n3", []string{"c"}, []string{"d"}),
			{OpType: sp("FusedConv"), Domain: sp("com.microsoft"), Name: sp("n4"), Input: []string{"d"}, Output: []string{"y"}},
		},
	})
	m.OpsetImport = append(m.OpsetImport, &onnxpb.OperatorSetIdProto{Domain: sp("com.microsoft"), Version: ip(1)})
	_, err := onnx.Decode(marshal(t, m), "", onnx.Options{})
	var ue *ir.UnsupportedError
	if !errors.As(err, &ue) {
		t.Fatalf("error %v is not an *UnsupportedError", err)
	}
	wantErr(t, err.Error(), "onnx: cannot import (4 nodes):\n"+
		`  node "n1" (Foo, opset 13): unsupported op`+"\n"+
		`  node "%c" (Bar, opset 13): unsupported op`+"\n"+
		`  node "n3" (TestOnlySince15, opset 13): supported from opset 15`+"\n"+
		`  node "n4" (com.microsoft.FusedConv, opset 1): op of domain "com.microsoft"`)
	if got := ue.Nodes[2].Msg; got != "supported from opset 15" {
		t.Errorf("message for n3: %q", got)
	}
	// At opset 15 only the three others remain; "ai.onnx" names the default domain.
	m.OpsetImport[0] = &onnxpb.OperatorSetIdProto{Domain: sp("ai.onnx"), Version: ip(15)}
	_, err = onnx.Decode(marshal(t, m), "", onnx.Options{})
	if !errors.As(err, &ue) || len(ue.Nodes) != 3 {
		t.Errorf("at opset 15: %v", err)
	}
}

func TestOpset(t *testing.T) {
	for _, c := range []struct {
		imports []*onnxpb.OperatorSetIdProto
		want    string
	}{
		{[]*onnxpb.OperatorSetIdProto{{Domain: sp(""), Version: ip(8)}}, "onnx: model uses opset 8; litefy imports opsets 9 to 21"},
		{[]*onnxpb.OperatorSetIdProto{{Domain: sp(""), Version: ip(22)}}, "onnx: model uses opset 22; litefy imports opsets 9 to 21"},
		{[]*onnxpb.OperatorSetIdProto{{Domain: sp("com.microsoft"), Version: ip(1)}}, "onnx: model imports no default-domain (ai.onnx) opset"},
		{[]*onnxpb.OperatorSetIdProto{{Domain: sp(""), Version: ip(13)}, {Domain: sp("ai.onnx"), Version: ip(12)}},
			`onnx: model imports domain "ai.onnx" at opsets 13 and 12`},
		{[]*onnxpb.OperatorSetIdProto{{Domain: sp("ai.onnx"), Version: ip(9)}}, ""},
		{[]*onnxpb.OperatorSetIdProto{{Version: ip(21)}, {Domain: sp("ai.onnx.ml"), Version: ip(3)}}, ""},
	} {
		m := reluModel()
		m.OpsetImport = c.imports
		if c.want == "" {
			decode(t, m, onnx.Options{})
			continue
		}
		wantErr(t, decodeErr(t, m, onnx.Options{}), c.want)
	}
}

func TestMalformed(t *testing.T) {
	data := marshal(t, reluModel())
	for _, c := range []struct {
		name string
		data []byte
		want string
	}{
		{"truncated", data[:len(data)/2], "onnx: parse model: "},
		{"garbage", []byte("TFL3\x00\x00\x00\x00\xff\xff\xff\xff garbage"), "onnx: parse model: "},
		{"empty", nil, "onnx: parse model: not an ONNX model (no ir_version or graph)"},
		{"not a model", []byte("\x08\x07"), "onnx: parse model: not an ONNX model (no ir_version or graph)"},
	} {
		_, err := onnx.Decode(c.data, "", onnx.Options{})
		if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: error %v, want prefix %q", c.name, err, c.want)
		}
	}
	// No prefix of a valid model may panic, and each is an error or a
	// model that verifies.
	for n := range len(data) {
		g, err := onnx.Decode(data[:n], "", onnx.Options{})
		if err == nil {
			if err := ir.Verify(g); err != nil {
				t.Errorf("prefix of %d bytes: %v", n, err)
			}
		}
	}
	// Load names the file.
	path := filepath.Join(t.TempDir(), "bad.onnx")
	os.WriteFile(path, data[:len(data)/2], 0o644)
	if _, err := onnx.Load(path, onnx.Options{}); err == nil || !strings.HasPrefix(err.Error(), "onnx: parse "+path+": ") {
		t.Errorf("Load: %v", err)
	}
	if _, err := onnx.Load(filepath.Join(t.TempDir(), "missing.onnx"), onnx.Options{}); err == nil || !strings.HasPrefix(err.Error(), "onnx: open ") {
		t.Errorf("Load of a missing file: %v", err)
	}
}

func TestGraphErrors(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(g *onnxpb.GraphProto)
		want string
	}{
		{"missing input", func(g *onnxpb.GraphProto) { g.Node[1].Input[0] = "nope" },
			`onnx: node "relu" (TestOnlyRelu, opset 13): input "nope" is not defined by any node, input or initializer`},
		{"cycle", func(g *onnxpb.GraphProto) {
			g.Node[0].Input[0] = "y"
			g.Node = append(g.Node, node("TestOnlyRelu", "other", []string{"x"}, []string{"z"}))
		}, `onnx: graph has a cycle through nodes "add", "relu"`},
		{"self loop", func(g *onnxpb.GraphProto) { g.Node[1].Input[0] = "y" },
			`onnx: graph has a cycle through nodes "relu"`},
		{"output defined twice", func(g *onnxpb.GraphProto) { g.Node[1].Output[0] = "s" },
			`onnx: value "s" is defined twice (again by node "relu")`},
		{"output shadows initializer", func(g *onnxpb.GraphProto) { g.Node[0].Output[0] = "w"; g.Node[1].Input[0] = "w" },
			`onnx: value "w" is defined twice (again by node "add")`},
		{"initializer twice", func(g *onnxpb.GraphProto) { g.Initializer = append(g.Initializer, g.Initializer[0]) },
			`onnx: value "w" is defined twice`},
		{"input twice", func(g *onnxpb.GraphProto) { g.Input = append(g.Input, g.Input[0]) },
			`onnx: input "x" is listed twice`},
		{"node names", func(g *onnxpb.GraphProto) { g.Node[1].Name = sp("add") },
			`onnx: two nodes are named "add"`},
		{"unknown output", func(g *onnxpb.GraphProto) { g.Output[0].Name = sp("nope") },
			`onnx: graph output "nope" is not defined by any node, input or initializer`},
		{"output dtype", func(g *onnxpb.GraphProto) { g.Output[0] = value("y", i64, 4) },
			`onnx: output "y" is declared i64 but computes f32`},
		{"input without type", func(g *onnxpb.GraphProto) { g.Input[0].Type = nil },
			`onnx: input "x" has no type`},
		{"input of f64", func(g *onnxpb.GraphProto) { g.Input[0] = value("x", onnxpb.TensorProto_DOUBLE, 4) },
			`onnx: input "x" has element type DOUBLE, which litefy does not support`},
		{"input not a tensor", func(g *onnxpb.GraphProto) {
			g.Input[0].Type = &onnxpb.TypeProto{Value: &onnxpb.TypeProto_SequenceType{SequenceType: &onnxpb.TypeProto_Sequence{}}}
		}, `onnx: input "x" is not a tensor, which litefy does not support`},
		{"shape rule", func(g *onnxpb.GraphProto) { g.Node[0].Input = g.Node[0].Input[:1] },
			`onnx: node "add" (Add, opset 13): has 1 inputs, want 2`},
		{"shape rule, unnamed node", func(g *onnxpb.GraphProto) { g.Node[0].Name = nil; g.Node[0].Input = g.Node[0].Input[:1] },
			`onnx: node "%s" (Add, opset 13): has 1 inputs, want 2`},
		{"panicking shape rule", func(g *onnxpb.GraphProto) { g.Node[1].OpType = sp("TestOnlyPanic") },
			`onnx: node "relu" (TestOnlyPanic, opset 13): internal error (a litefy bug): index out of range`},
		{"graph attribute", func(g *onnxpb.GraphProto) {
			g.Node[1].Attribute = []*onnxpb.AttributeProto{{Name: sp("body"), Type: onnxpb.AttributeProto_GRAPH.Enum(), G: &onnxpb.GraphProto{}}}
		}, `onnx: node "relu" (TestOnlyRelu, opset 13): attribute "body" has type GRAPH, which litefy does not support`},
		{"attribute twice", func(g *onnxpb.GraphProto) {
			g.Node[1].Attribute = []*onnxpb.AttributeProto{attrInt("a", 1), attrInt("a", 2)}
		}, `onnx: node "relu" (TestOnlyRelu, opset 13): attribute "a" is set twice`},
		{"unknown attribute", func(g *onnxpb.GraphProto) { g.Node[1].Attribute = []*onnxpb.AttributeProto{attrInt("a", 1)} },
			`onnx: node "relu" (TestOnlyRelu, opset 13): unknown attribute "a"`},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := reluModel()
			c.edit(m.Graph)
			wantErr(t, decodeErr(t, m, onnx.Options{}), c.want)
		})
	}
}

func TestUnsortedNodes(t *testing.T) {
	m := reluModel()
	slices.Reverse(m.Graph.Node)
	g := decode(t, m, onnx.Options{})
	if g.Nodes[0].Name != "add" || g.Nodes[1].Name != "relu" {
		t.Errorf("nodes %v, want add then relu", g.Nodes)
	}
}

func TestInputShapes(t *testing.T) {
	m := reluModel()
	g := decode(t, m, onnx.Options{InputShapes: map[string][]int64{"x": {2, -1}}})
	if got := g.Inputs[0].Type.String(); got != "f32[2,4]" {
		t.Errorf("input type %s", got)
	}
	if got := g.Outputs[0].Type.String(); got != "f32[2,4]" {
		t.Errorf("output type %s", got)
	}
	for opt, want := range map[string]string{
		"rank":     `onnx: input "x" has rank 2 ([N,4]) but InputShapes gives [1 2 4]`,
		"conflict": `onnx: input "x" has shape [N,4]; InputShapes gives [1 5], which contradicts dim 1`,
		"unknown":  `onnx: InputShapes names "w", which is not a graph input`,
		"bad":      `onnx: InputShapes gives [-2 4] for input "x": bad dimension -2`,
	} {
		shapes := map[string]map[string][]int64{
			"rank": {"x": {1, 2, 4}}, "conflict": {"x": {1, 5}}, "unknown": {"w": {4}}, "bad": {"x": {-2, 4}},
		}[opt]
		wantErr(t, decodeErr(t, reluModel(), onnx.Options{InputShapes: shapes}), want)
	}
}

func TestOptionalInputsAndOutputs(t *testing.T) {
	m := model(13, &onnxpb.GraphProto{
		Input:  []*onnxpb.ValueInfoProto{value("x", f32, 4)},
		Output: []*onnxpb.ValueInfoProto{value("y", f32, 4)},
		Node: []*onnxpb.NodeProto{
			node("TestOnlyAttrs", "a", []string{"x", "", "x"}, []string{"", ""}),
			node("TestOnlyAttrs", "b", []string{"x"}, []string{"y", ""}),
		},
	})
	g := decode(t, m, onnx.Options{})
	a := g.Nodes[0]
	if a.Inputs[1] != nil || a.Inputs[2] != g.Inputs[0] {
		t.Errorf("inputs %v", a.Inputs)
	}
	var names []string
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			names = append(names, o.Name)
		}
	}
	if want := []string{"_unnamed1", "_unnamed2", "y", "_unnamed3"}; !slices.Equal(names, want) {
		t.Errorf("output names %q, want %q", names, want)
	}
}

func TestFolding(t *testing.T) {
	// TestOnlyShape(x) folds to [2,4]; Add of two constants folds with it.
	m := model(13, &onnxpb.GraphProto{
		Input:       []*onnxpb.ValueInfoProto{value("x", f32, "N", 4)},
		Output:      []*onnxpb.ValueInfoProto{value("y", f32, "N", 4), value("s2", i64, 2)},
		Initializer: []*onnxpb.TensorProto{ints("one", []int64{2}, 1, 1), floats("unused", []int64{1}, 0)},
		Node: []*onnxpb.NodeProto{
			node("TestOnlyShape", "shape", []string{"x"}, []string{"s"}),
			node("Add", "add", []string{"s", "one"}, []string{"s2"}),
			node("TestOnlyRelu", "relu", []string{"x"}, []string{"y"}),
		},
	})
	g := decode(t, m, onnx.Options{})
	if len(g.Nodes) != 3 {
		t.Errorf("dynamic batch: %d nodes, want 3", len(g.Nodes))
	}
	g = decode(t, m, onnx.Options{InputShapes: map[string][]int64{"x": {2, 4}}})
	if len(g.Nodes) != 1 || len(g.Consts) != 1 {
		t.Fatalf("static batch: nodes %v consts %v, want relu and one constant", g.Nodes, g.Consts)
	}
	if c := g.Consts[0]; c.Name != "s2" || !slices.Equal(c.Const.Int64s(), []int64{3, 5}) || g.Outputs[1] != c {
		t.Errorf("folded constant %s = %v", c, c.Const.AsInt64s())
	}
}

func TestAttributes(t *testing.T) {
	m := model(13, &onnxpb.GraphProto{
		Input:  []*onnxpb.ValueInfoProto{value("x", f32, 4)},
		Output: []*onnxpb.ValueInfoProto{value("y", f32, 4)},
		Node: []*onnxpb.NodeProto{
			node("TestOnlyAttrs", "a", []string{"x"}, []string{"y"},
				attrInt("i", -3),
				&onnxpb.AttributeProto{Name: sp("f"), Type: onnxpb.AttributeProto_FLOAT.Enum(), F: new(float32(0.1))},
				&onnxpb.AttributeProto{Name: sp("s"), Type: onnxpb.AttributeProto_STRING.Enum(), S: []byte("NOTSET")},
				&onnxpb.AttributeProto{Name: sp("is"), Type: onnxpb.AttributeProto_INTS.Enum(), Ints: []int64{1, -1}},
				&onnxpb.AttributeProto{Name: sp("fs"), Type: onnxpb.AttributeProto_FLOATS.Enum()},
				&onnxpb.AttributeProto{Name: sp("ss"), Type: onnxpb.AttributeProto_STRINGS.Enum(), Strings: [][]byte{[]byte("a"), {}}},
				attrTensor("t", ints("", []int64{1}, 7)),
			),
		},
	})
	g := decode(t, m, onnx.Options{})
	want := ir.Attrs{
		"i": ir.IntAttr(-3), "f": ir.FloatAttr(0.1), "s": ir.StringAttr("NOTSET"), "is": ir.IntsAttr(1, -1),
		"fs": ir.FloatsAttr(), "ss": ir.StringsAttr("a", ""), "t": ir.TensorAttr(ir.FromInt64([]int64{1}, []int64{7})),
	}
	got := g.Nodes[0].Attrs
	if len(got) != len(want) {
		t.Errorf("attributes %v", got)
	}
	for k, w := range want {
		if !got[k].Equal(w) {
			t.Errorf("attribute %s = %+v, want %+v", k, got[k], w)
		}
	}
	// Without the type field (IR version 1), the kind comes from the field set.
	for _, a := range m.Graph.Node[0].Attribute {
		if a.GetName() != "fs" {
			a.Type = nil
		}
	}
	g = decode(t, m, onnx.Options{})
	for k, w := range want {
		if !g.Nodes[0].Attrs[k].Equal(w) {
			t.Errorf("untyped attribute %s = %+v, want %+v", k, g.Nodes[0].Attrs[k], w)
		}
	}
}

func TestInternalOpsStayInternal(t *testing.T) {
	g, err := ir.Parse(`graph "g" opset=13
input %x:f32[4]
%y:f32[4] = Swish %x @act
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := onnx.Encode(g); err == nil || !strings.Contains(err.Error(), "litefy op") {
		t.Fatalf("Encode of a Swish node = %v, want a litefy-op error", err)
	}
	g.Nodes[0].Op = "HardSwish"
	if _, err := onnx.Encode(g); err == nil || !strings.Contains(err.Error(), "does not exist at opset 13") {
		t.Fatalf("Encode of HardSwish at opset 13 = %v", err)
	}
}

func TestConstantsBindInputs(t *testing.T) {
	m := model(13, &onnxpb.GraphProto{
		Input:  []*onnxpb.ValueInfoProto{value("x", f32, 2, 3), value("shape", i64, 1)},
		Output: []*onnxpb.ValueInfoProto{value("y", f32, 6)},
		Node:   []*onnxpb.NodeProto{node("Reshape", "r", []string{"x", "shape"}, []string{"y"})},
	})
	if err := decodeErr(t, m, onnx.Options{}); !strings.Contains(err, "shape (input 1) must be a constant") {
		t.Errorf("unbound shape input: %s", err)
	}
	g := decode(t, m, onnx.Options{Constants: map[string]*ir.Tensor{"shape": ir.FromInt64([]int64{1}, []int64{6})}})
	if len(g.Inputs) != 1 || g.Outputs[0].Type.String() != "f32[6]" {
		t.Errorf("inputs %v, output %s", g.Inputs, g.Outputs[0].Type)
	}
	wantErr(t, decodeErr(t, m, onnx.Options{Constants: map[string]*ir.Tensor{"nope": ir.Scalar(1)}}), `onnx: Constants names "nope", which is not a graph input`)
	wantErr(t, decodeErr(t, m, onnx.Options{Constants: map[string]*ir.Tensor{"shape": ir.Scalar(1)}}), `onnx: Constants gives f32[] for input "shape" of type i64[1]`)
}
