package onnx_test

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// roundTrip checks that Encode is deterministic and that decoding its
// output gives the same graph, which encodes to the same bytes.
func roundTrip(t *testing.T, g *ir.Graph) []byte {
	t.Helper()
	b1, err := onnx.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	if again, _ := onnx.Encode(g); !bytes.Equal(b1, again) {
		t.Errorf("Encode is not deterministic")
	}
	g2, err := onnx.Decode(b1, "", onnx.Options{})
	if err != nil {
		t.Fatalf("decoding the encoded graph: %v", err)
	}
	if err := ir.Verify(g2); err != nil {
		t.Fatal(err)
	}
	want := outputConstsLast(g)
	if want.Meta.IRVersion == 0 { // Encode chose one
		want.Meta.IRVersion = g2.Meta.IRVersion
	}
	if d := ir.Diff(want, g2); d != "" {
		t.Errorf("round trip changed the graph: %s\nbefore:\n%s\nafter:\n%s", d, ir.Print(g), ir.Print(g2))
	}
	b2, err := onnx.Encode(g2)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b1, b2) {
		t.Errorf("re-encoding gives different bytes")
	}
	return b1
}

// outputConstsLast returns g with the constants that are graph outputs
// moved last: Encode writes them as Constant nodes, which decode after the
// initializers.
func outputConstsLast(g *ir.Graph) *ir.Graph {
	h := *g
	h.Consts = slices.Clone(g.Consts)
	slices.SortStableFunc(h.Consts, func(a, b *ir.Value) int {
		ao, bo := g.IsOutput(a), g.IsOutput(b)
		switch {
		case ao == bo:
			return 0
		case bo:
			return -1
		}
		return 1
	})
	return &h
}

func TestRoundTrip(t *testing.T) {
	attrs := func() *onnxpb.ModelProto {
		m := model(13, &onnxpb.GraphProto{
			Name:   sp("attrs"),
			Input:  []*onnxpb.ValueInfoProto{value("x", f32, "batch", nil, 3), value("scalar", i64)},
			Output: []*onnxpb.ValueInfoProto{value("y", f32, "batch", nil, 3), value("k", f32, 2), value("x2", f32)},
			Initializer: []*onnxpb.TensorProto{floats("w", []int64{3}, 1, 2, 3), floats("k", []int64{2}, 4, 5),
				ints("unused_but_read", nil, 1)},
			Node: []*onnxpb.NodeProto{
				node("Add", "", []string{"x", "w"}, []string{"s"}),
				node("TestOnlyAttrs", "a", []string{"s", "", "unused_but_read"}, []string{"y", ""},
					attrInt("i", 1), attrTensor("t", floats("", []int64{2, 1}, 1, 2)),
					&onnxpb.AttributeProto{Name: sp("ss"), Type: onnxpb.AttributeProto_STRINGS.Enum(), Strings: [][]byte{[]byte("x")}},
					&onnxpb.AttributeProto{Name: sp("fs"), Type: onnxpb.AttributeProto_FLOATS.Enum(), Floats: []float32{0.5}},
					&onnxpb.AttributeProto{Name: sp("is"), Type: onnxpb.AttributeProto_INTS.Enum()}),
				node("Constant", "c", nil, []string{"x2"}, attrTensor("value", floats("", nil, 7))),
			},
		})
		// An input with unknown rank.
		m.Graph.Input = append(m.Graph.Input, &onnxpb.ValueInfoProto{Name: sp("any"), Type: &onnxpb.TypeProto{
			Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{ElemType: new(int32(f32))}}}})
		m.MetadataProps = []*onnxpb.StringStringEntryProto{{Key: sp("a"), Value: sp("1")}, {Key: sp("b"), Value: sp("")}}
		m.DocString = sp("doc")
		return m
	}
	for name, m := range map[string]*onnxpb.ModelProto{
		"relu":  reluModel(),
		"attrs": attrs(),
	} {
		t.Run(name, func(t *testing.T) { roundTrip(t, decode(t, m, onnx.Options{})) })
	}
}

func TestEncode(t *testing.T) {
	// A graph built by hand, as a pass would.
	g := ir.NewGraph("hand", 13)
	x := g.AddInput("x", ir.Type{DType: ir.Float32, Shape: ir.Shape{{Size: -1, Param: "N"}, {Size: -1}, {Size: 2}}})
	w := g.AddConst("w", ir.FromFloat32([]int64{2}, []float32{1, 2}))
	add := g.NewNode("Add", "add", []*ir.Value{x, w}, []string{"s"}, nil)
	relu := g.NewNode("TestOnlyRelu", "relu", []*ir.Value{add.Outputs[0]}, []string{""}, nil)
	for _, n := range g.Nodes {
		if err := ir.InferNode(n); err != nil {
			t.Fatal(err)
		}
	}
	g.Outputs = []*ir.Value{relu.Outputs[0]}
	data, err := onnx.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		t.Fatal(err)
	}
	var got strings.Builder
	fmt.Fprintf(&got, "ir_version %d opset %v\n", m.GetIrVersion(), m.OpsetImport)
	for _, tp := range m.Graph.Initializer {
		fmt.Fprintf(&got, "initializer %s %v %v raw %v\n", tp.GetName(), tp.GetDataType(), tp.Dims, tp.RawData)
	}
	for _, n := range m.Graph.Node {
		fmt.Fprintf(&got, "node %q %s %q %q\n", n.GetName(), n.GetOpType(), n.Input, n.Output)
	}
	for _, l := range [][]*onnxpb.ValueInfoProto{m.Graph.Input, m.Graph.ValueInfo, m.Graph.Output} {
		for _, vi := range l {
			fmt.Fprintf(&got, "value %s %v\n", vi.GetName(), vi.GetType())
		}
	}
	want := `ir_version 7 opset [domain:"" version:13]
initializer w 1 [2] raw [0 0 128 63 0 0 0 64]
node "add" Add ["x" "w"] ["s"]
node "relu" TestOnlyRelu ["s"] ["_unnamed1"]
value x tensor_type:{elem_type:1 shape:{dim:{dim_param:"N"} dim:{} dim:{dim_value:2}}}
value s tensor_type:{elem_type:1 shape:{dim:{dim_param:"N"} dim:{} dim:{dim_value:2}}}
value _unnamed1 tensor_type:{elem_type:1 shape:{dim:{dim_param:"N"} dim:{} dim:{dim_value:2}}}
`
	if s := strings.ReplaceAll(got.String(), "  ", " "); s != want {
		t.Errorf("encoded:\n%s\nwant:\n%s", s, want)
	}
}

func TestEncodeIRVersion(t *testing.T) {
	want := map[int64]int64{9: 4, 10: 5, 11: 6, 12: 7, 13: 7, 14: 7, 15: 8, 16: 8, 17: 8, 18: 8, 19: 9, 20: 9, 21: 10}
	for opset := int64(ir.MinOpset); opset <= ir.MaxOpset; opset++ {
		g := ir.NewGraph("", opset)
		x := g.AddInput("x", ir.Type{DType: ir.Float32, Shape: ir.S(2)})
		g.Outputs = []*ir.Value{x}
		m := encodeModel(t, g)
		if m.GetIrVersion() != want[opset] {
			t.Errorf("opset %d: ir_version %d, want %d", opset, m.GetIrVersion(), want[opset])
		}
	}
	// An imported version is kept; before IR 4 initializers are also inputs.
	g := decode(t, reluModel(), onnx.Options{})
	g.Meta.IRVersion = 3
	m := encodeModel(t, g)
	if m.GetIrVersion() != 3 || len(m.Graph.Input) != 2 || m.Graph.Input[1].GetName() != "w" {
		t.Errorf("ir_version %d inputs %v", m.GetIrVersion(), m.Graph.Input)
	}
	roundTrip(t, g)
}

func encodeModel(t *testing.T, g *ir.Graph) *onnxpb.ModelProto {
	t.Helper()
	data, err := onnx.Encode(g)
	if err != nil {
		t.Fatal(err)
	}
	m := &onnxpb.ModelProto{}
	if err := proto.Unmarshal(data, m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestEncodeConstOutput(t *testing.T) {
	g := ir.NewGraph("c", 13)
	c := g.AddConst("c", ir.FromFloat32([]int64{1}, []float32{3}))
	g.Outputs = []*ir.Value{c}
	m := encodeModel(t, g)
	if len(m.Graph.Initializer) != 0 || len(m.Graph.Node) != 1 || m.Graph.Node[0].GetOpType() != "Constant" ||
		m.Graph.Node[0].Output[0] != "c" {
		t.Errorf("graph %v", m.Graph)
	}
	roundTrip(t, g)
}

func TestEncodeErrors(t *testing.T) {
	for name, c := range map[string]struct {
		build func() *ir.Graph
		want  string
	}{
		"opset": {func() *ir.Graph { return ir.NewGraph("", 8) }, "onnx: graph has opset 8; litefy writes opsets 9 to 21"},
		"duplicate names": {func() *ir.Graph {
			g := ir.NewGraph("", 13)
			g.AddInput("x", ir.Type{DType: ir.Float32, Shape: ir.S(1)})
			g.AddConst("x", ir.Scalar(1))
			return g
		}, `onnx: two values are named "x"`},
		"foreign value": {func() *ir.Graph {
			g := ir.NewGraph("", 13)
			other := ir.NewGraph("", 13).AddInput("y", ir.Type{DType: ir.Float32, Shape: ir.S(1)})
			g.NewNode("TestOnlyRelu", "r", []*ir.Value{other}, []string{"z"}, nil)
			return g
		}, `onnx: node "r" (TestOnlyRelu) reads input 0 %y, which is not a value of the graph`},
		"bad attribute": {func() *ir.Graph {
			g := ir.NewGraph("", 13)
			x := g.AddInput("x", ir.Type{DType: ir.Float32, Shape: ir.S(1)})
			g.NewNode("TestOnlyAttrs", "r", []*ir.Value{x}, []string{"z"}, ir.Attrs{"t": {Kind: ir.AttrTensor}})
			return g
		}, `onnx: node "r" (TestOnlyAttrs): attribute "t" has no tensor`},
		"bad constant": {func() *ir.Graph {
			g := ir.NewGraph("", 13)
			g.AddConst("k", &ir.Tensor{DType: ir.Float32, Shape: []int64{2}, Data: make([]byte, 4)})
			return g
		}, `onnx: tensor "k" has 4 bytes, want 8 for f32[2]`},
	} {
		_, err := onnx.Encode(c.build())
		if err == nil {
			t.Errorf("%s: no error", name)
			continue
		}
		wantErr(t, err.Error(), c.want)
	}
}

func TestSave(t *testing.T) {
	g := decode(t, reluModel(), onnx.Options{})
	dir := t.TempDir()
	path := filepath.Join(dir, "m.onnx")
	os.WriteFile(path, []byte("old"), 0o644)
	if err := onnx.Save(g, path); err != nil {
		t.Fatal(err)
	}
	g2, err := onnx.Load(path, onnx.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := ir.Diff(g, g2); d != "" {
		t.Error(d)
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Errorf("folder holds %v, want only m.onnx", ents)
	}
	if fi, err := os.Stat(path); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("mode %v %v", fi.Mode(), err)
	}
	if err := onnx.Save(g, filepath.Join(dir, "missing", "m.onnx")); err == nil || !strings.HasPrefix(err.Error(), "onnx: ") {
		t.Errorf("Save into a missing folder: %v", err)
	}
}

// TestChecker runs ONNX's own checker (python3-onnx) over encoded models,
// when it is installed, at every opset it knows.
func TestChecker(t *testing.T) {
	const python = "/usr/bin/python3"
	out, err := exec.Command(python, "-c", "import onnx; print(onnx.defs.onnx_opset_version())").Output()
	if err != nil {
		t.Skip("python3-onnx is not installed")
	}
	var maxOpset int64
	fmt.Sscan(string(out), &maxOpset)
	paths := opsetModels(t, sp("checked"), min(maxOpset, ir.MaxOpset))
	script := `
import sys, onnx
for p in sys.argv[1:]:
    m = onnx.load(p)
    onnx.checker.check_model(m, full_check=True)
`
	if out, err := exec.Command(python, append([]string{"-c", script}, paths...)...).CombinedOutput(); err != nil {
		t.Errorf("onnx checker: %v\n%s", err, out)
	}
}

// opsetModels saves, for every opset from ir.MinOpset to maxOpset, the
// same small model (Add, Relu and a Constant; graph name name, if any) through
// Encode, which chooses the IR version, and returns their paths. It skips
// the test while Relu or Add is not registered.
func opsetModels(t *testing.T, name *string, maxOpset int64) []string {
	t.Helper()
	for _, op := range []string{"Relu", "Add"} {
		if ir.Lookup(op) == nil {
			t.Skipf("op %s is not registered yet", op)
		}
	}
	dir := t.TempDir()
	var paths []string
	for opset := int64(ir.MinOpset); opset <= maxOpset; opset++ {
		m := model(opset, &onnxpb.GraphProto{
			Name:        name,
			Input:       []*onnxpb.ValueInfoProto{value("x", f32, "N", 4)},
			Output:      []*onnxpb.ValueInfoProto{value("y", f32, "N", 4), value("k", i64, 2)},
			Initializer: []*onnxpb.TensorProto{floats("w", []int64{4}, 1, -2, 3, -4)},
			Node: []*onnxpb.NodeProto{
				node("Add", "add", []string{"x", "w"}, []string{"s"}),
				node("Relu", "", []string{"s"}, []string{"y"}),
				node("Constant", "", nil, []string{"k"}, attrTensor("value", ints("", []int64{2}, 1, 2))),
			},
		})
		g := decode(t, m, onnx.Options{})
		g.Meta.IRVersion = 0 // let Encode choose
		path := filepath.Join(dir, fmt.Sprintf("opset%d.onnx", opset))
		if err := onnx.Save(g, path); err != nil {
			t.Fatal(err)
		}
		paths = append(paths, path)
	}
	return paths
}
