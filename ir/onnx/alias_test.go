package onnx

import (
	"testing"

	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// Constants share the decoded raw_data bytes instead of copying them.
func TestRawDataIsShared(t *testing.T) {
	raw := make([]byte, 8)
	dt := int32(onnxpb.TensorProto_FLOAT)
	m := &onnxpb.ModelProto{
		IrVersion:   new(int64(7)),
		OpsetImport: []*onnxpb.OperatorSetIdProto{{Version: new(int64(13))}},
		Graph: &onnxpb.GraphProto{
			Initializer: []*onnxpb.TensorProto{{Name: new("w"), Dims: []int64{2}, DataType: &dt, RawData: raw}},
			Output:      []*onnxpb.ValueInfoProto{{Name: new("w")}},
		},
	}
	g, err := convert(m, "", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Consts[0].Const.Data; &d[0] != &raw[0] {
		t.Errorf("constant data was copied")
	}
}
