//go:build e2e

package e2e

import (
	"os"
	"path/filepath"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// TestMalformedModels runs the litefy binary on broken models: each must
// exit 1 with exactly one stderr line naming the broken element, without a
// panic and without writing an output file.
func TestMalformedModels(t *testing.T) {
	for _, tc := range malformedModels(t) {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			tmp := t.TempDir()
			dir := filepath.Join(tmp, "model")
			outDir := filepath.Join(tmp, "out")
			for _, d := range []string{dir, outDir} {
				if err := os.Mkdir(d, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			for name, data := range tc.extra {
				if err := os.WriteFile(filepath.Join(tmp, name), data, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			in := filepath.Join(dir, "model.onnx")
			if err := os.WriteFile(in, tc.model, 0o644); err != nil {
				t.Fatal(err)
			}
			badInputRun(t, []string{in, "-o", filepath.Join(outDir, "out.onnx")}, tc.want)
			if left, _ := os.ReadDir(outDir); len(left) > 0 {
				t.Errorf("litefy left %d files in the output folder (first %q)", len(left), left[0].Name())
			}
		})
	}
}

// malformedModel is a broken model and what litefy must say about it.
type malformedModel struct {
	name  string
	model []byte
	extra map[string][]byte // files written next to the case's folder
	want  []string          // substrings of the stderr line
}

// malformedModels is the corpus of broken models (TestMalformedModels,
// TestHostileInputs).
func malformedModels(t testing.TB) []malformedModel {
	good, err := os.ReadFile(filepath.Join(root, "testdata", "models", "tiny_mnv2_op13.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	return []malformedModel{
		{name: "truncated", model: good[:len(good)/2], want: []string{"model.onnx"}},
		{name: "garbage", model: []byte("\xff\xfe\xfdnot a protobuf at all\x00\x01"), want: []string{"model.onnx"}},
		// A TFLite flatbuffer header where ONNX protobuf is expected.
		{name: "wrong_magic", model: append([]byte{0x1c, 0, 0, 0, 'T', 'F', 'L', '3'}, make([]byte, 64)...), want: []string{"model.onnx"}},
		{name: "empty", model: []byte{}, want: []string{"model.onnx"}},
		{name: "cycle", model: badModel(
			[]*onnxpb.NodeProto{
				node("cycle_a", "Relu", []string{"y"}, []string{"x1"}),
				node("cycle_b", "Add", []string{"x1", "x"}, []string{"y"}),
			}, nil, "y"),
			want: []string{"cycle", "cycle_a", "cycle_b"}},
		{name: "missing_input", model: badModel(
			[]*onnxpb.NodeProto{node("uses_ghost", "Add", []string{"x", "ghost"}, []string{"y"})}, nil, "y"),
			want: []string{"ghost"}},
		{name: "unknown_ops", model: badModel(
			[]*onnxpb.NodeProto{
				node("mystery_one", "Frobnicate", []string{"x"}, []string{"h"}),
				node("plain", "Relu", []string{"h"}, []string{"h2"}),
				node("mystery_two", "Wibble", []string{"h2"}, []string{"y"}),
			}, nil, "y"),
			want: []string{"mystery_one", "Frobnicate", "mystery_two", "Wibble"}},
		{name: "external_outside", model: badModel(
			[]*onnxpb.NodeProto{node("add_w", "Add", []string{"x", "w"}, []string{"y"})},
			[]*onnxpb.TensorProto{{
				Name: proto.String("w"), Dims: []int64{1, 4},
				DataType:     proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
				DataLocation: onnxpb.TensorProto_EXTERNAL.Enum(),
				ExternalData: []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("../outside.bin")}},
			}}, "y"),
			extra: map[string][]byte{"outside.bin": make([]byte, 16)},
			want:  []string{`"w"`, "../outside.bin", "outside the model's folder"}},
	}
}

// badModel builds an opset-13 model with float input x [1,4] and the
// given nodes, initializers and output.
func badModel(nodes []*onnxpb.NodeProto, inits []*onnxpb.TensorProto, output string) []byte {
	vi := func(name string) *onnxpb.ValueInfoProto {
		dims := []*onnxpb.TensorShapeProto_Dimension{
			{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 1}},
			{Value: &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: 4}},
		}
		return &onnxpb.ValueInfoProto{Name: proto.String(name), Type: &onnxpb.TypeProto{
			Value: &onnxpb.TypeProto_TensorType{TensorType: &onnxpb.TypeProto_Tensor{
				ElemType: proto.Int32(int32(onnxpb.TensorProto_FLOAT)),
				Shape:    &onnxpb.TensorShapeProto{Dim: dims},
			}},
		}}
	}
	m := &onnxpb.ModelProto{
		IrVersion:   proto.Int64(7),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Domain: proto.String(""), Version: proto.Int64(13)}},
		Graph: &onnxpb.GraphProto{
			Name:        proto.String("bad"),
			Node:        nodes,
			Initializer: inits,
			Input:       []*onnxpb.ValueInfoProto{vi("x")},
			Output:      []*onnxpb.ValueInfoProto{vi(output)},
		},
	}
	data, err := proto.Marshal(m)
	if err != nil {
		panic(err)
	}
	return data
}

func node(name, op string, in, out []string) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{Name: proto.String(name), OpType: proto.String(op), Input: in, Output: out}
}
