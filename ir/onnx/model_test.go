package onnx_test

import (
	"encoding/binary"
	"fmt"
	"math"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// Test-only ops, so the tests do not depend on which real ops exist yet.
func init() {
	same := func(n *ir.Node) ([]ir.Type, error) { return []ir.Type{n.Inputs[0].Type}, nil }
	ir.Register(&ir.OpDef{Name: "TestOnlyRelu", Doc: "max(x, 0), for tests",
		Inputs: ir.Fixed(1), Outputs: ir.Fixed(1), Infer: same,
		Kernel: func(n *ir.Node) (ir.Kernel, error) {
			return func(_ *ir.Exec, in, out []*ir.Tensor) error {
				for i, v := range in[0].Float32s() {
					out[0].Float32s()[i] = max(v, 0)
				}
				return nil
			}, nil
		}})
	// TestOnlyAttrs takes one attribute of every kind and an optional
	// second and third input, and has an optional second output.
	ir.Register(&ir.OpDef{Name: "TestOnlyAttrs", Doc: "identity with attributes, for tests",
		Inputs: ir.Arity{Min: 1, Max: 3}, Outputs: ir.Arity{Min: 1, Max: 2},
		Attrs: []ir.AttrDef{{Name: "i", Kind: ir.AttrInt}, {Name: "f", Kind: ir.AttrFloat},
			{Name: "s", Kind: ir.AttrString}, {Name: "is", Kind: ir.AttrInts}, {Name: "fs", Kind: ir.AttrFloats},
			{Name: "ss", Kind: ir.AttrStrings}, {Name: "t", Kind: ir.AttrTensor}},
		NoFold: true,
		Infer: func(n *ir.Node) ([]ir.Type, error) {
			return []ir.Type{n.Inputs[0].Type, n.Inputs[0].Type}, nil
		}})
	// TestOnlyShape folds to the static shape of its input, like Shape.
	ir.Register(&ir.OpDef{Name: "TestOnlyShape", Doc: "the shape of x, for tests",
		Inputs: ir.Fixed(1), Outputs: ir.Fixed(1),
		Infer: func(n *ir.Node) ([]ir.Type, error) {
			if n.Inputs[0].Type.Shape == nil {
				return nil, fmt.Errorf("input rank is unknown")
			}
			return []ir.Type{{DType: ir.Int64, Shape: ir.S(int64(len(n.Inputs[0].Type.Shape)))}}, nil
		},
		Fold: func(n *ir.Node) []*ir.Tensor {
			s := n.Inputs[0].Type.Shape
			if !s.Static() {
				return nil
			}
			return []*ir.Tensor{ir.FromInt64([]int64{int64(len(s))}, s.Sizes())}
		}})
	ir.Register(&ir.OpDef{Name: "TestOnlySince15", Doc: "identity from opset 15, for tests", Since: 15,
		Inputs: ir.Fixed(1), Outputs: ir.Fixed(1), Infer: same, NoFold: true})
	ir.Register(&ir.OpDef{Name: "TestOnlyPanic", Doc: "a shape rule with a bug, for tests",
		Inputs: ir.Fixed(1), Outputs: ir.Fixed(1),
		Infer: func(n *ir.Node) ([]ir.Type, error) { panic("index out of range") }})
}

// Model builders.

const (
	f32 = onnxpb.TensorProto_FLOAT
	i64 = onnxpb.TensorProto_INT64
)

func sp(s string) *string { return &s }
func ip(v int64) *int64   { return &v }

func model(opset int64, g *onnxpb.GraphProto) *onnxpb.ModelProto {
	return &onnxpb.ModelProto{
		IrVersion:    ip(7),
		ProducerName: sp("litefy-test"),
		OpsetImport:  []*onnxpb.OperatorSetIdProto{{Domain: sp(""), Version: ip(opset)}},
		Graph:        g,
	}
}

func node(op, name string, ins, outs []string, attrs ...*onnxpb.AttributeProto) *onnxpb.NodeProto {
	return &onnxpb.NodeProto{OpType: sp(op), Name: sp(name), Input: ins, Output: outs, Attribute: attrs}
}

// value declares a tensor value; dims are int (dim_value), string
// (dim_param) or nil (unknown).
func value(name string, et onnxpb.TensorProto_DataType, dims ...any) *onnxpb.ValueInfoProto {
	shape := &onnxpb.TensorShapeProto{}
	for _, d := range dims {
		pd := &onnxpb.TensorShapeProto_Dimension{}
		switch d := d.(type) {
		case int:
			pd.Value = &onnxpb.TensorShapeProto_Dimension_DimValue{DimValue: int64(d)}
		case string:
			pd.Value = &onnxpb.TensorShapeProto_Dimension_DimParam{DimParam: d}
		}
		shape.Dim = append(shape.Dim, pd)
	}
	et32 := int32(et)
	return &onnxpb.ValueInfoProto{Name: sp(name), Type: &onnxpb.TypeProto{Value: &onnxpb.TypeProto_TensorType{
		TensorType: &onnxpb.TypeProto_Tensor{ElemType: &et32, Shape: shape}}}}
}

func floats(name string, dims []int64, v ...float32) *onnxpb.TensorProto {
	raw := make([]byte, 4*len(v))
	for i, x := range v {
		binary.LittleEndian.PutUint32(raw[4*i:], math.Float32bits(x))
	}
	dt := int32(f32)
	return &onnxpb.TensorProto{Name: sp(name), Dims: dims, DataType: &dt, RawData: raw}
}

func ints(name string, dims []int64, v ...int64) *onnxpb.TensorProto {
	dt := int32(i64)
	return &onnxpb.TensorProto{Name: sp(name), Dims: dims, DataType: &dt, Int64Data: v}
}

func attrInt(name string, v int64) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: sp(name), Type: onnxpb.AttributeProto_INT.Enum(), I: &v}
}

func attrTensor(name string, t *onnxpb.TensorProto) *onnxpb.AttributeProto {
	return &onnxpb.AttributeProto{Name: sp(name), Type: onnxpb.AttributeProto_TENSOR.Enum(), T: t}
}

func marshal(t testing.TB, m *onnxpb.ModelProto) []byte {
	t.Helper()
	b, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decode imports m and verifies the result.
func decode(t testing.TB, m *onnxpb.ModelProto, opt onnx.Options) *ir.Graph {
	t.Helper()
	g, err := onnx.Decode(marshal(t, m), "", opt)
	if err != nil {
		t.Fatal(err)
	}
	if err := ir.Verify(g); err != nil {
		t.Fatalf("imported graph does not verify: %v\n%s", err, ir.Print(g))
	}
	return g
}

// decodeErr imports m and returns the error message, failing if there is none.
func decodeErr(t testing.TB, m *onnxpb.ModelProto, opt onnx.Options) string {
	t.Helper()
	g, err := onnx.Decode(marshal(t, m), "", opt)
	if err == nil {
		t.Fatalf("no error; imported:\n%s", ir.Print(g))
	}
	return err.Error()
}

// reluModel is x:f32[N,4] → Add(x, w) → TestOnlyRelu → y.
func reluModel() *onnxpb.ModelProto {
	return model(13, &onnxpb.GraphProto{
		Name:        sp("relu"),
		Input:       []*onnxpb.ValueInfoProto{value("x", f32, "N", 4)},
		Output:      []*onnxpb.ValueInfoProto{value("y", f32, "N", 4)},
		Initializer: []*onnxpb.TensorProto{floats("w", []int64{4}, 1, -2, 3, -4)},
		Node: []*onnxpb.NodeProto{
			node("Add", "add", []string{"x", "w"}, []string{"s"}),
			node("TestOnlyRelu", "relu", []string{"s"}, []string{"y"}),
		},
	})
}
