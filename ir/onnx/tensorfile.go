package onnx

import (
	"fmt"

	"google.golang.org/protobuf/proto"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx/onnxpb"
)

// DecodeTensorProto converts one serialized TensorProto, such as the
// input_0.pb and output_0.pb files of ONNX's backend tests, and returns it
// with its name. External data is refused: the tensor has no model folder.
func DecodeTensorProto(data []byte) (*ir.Tensor, string, error) {
	tp := &onnxpb.TensorProto{}
	if err := proto.Unmarshal(data, tp); err != nil {
		return nil, "", fmt.Errorf("onnx: parse tensor: %v", err)
	}
	var r tensorReader
	t, err := r.decode(tp, fmt.Sprintf("tensor %q", tp.GetName()))
	if err != nil {
		return nil, "", err
	}
	return t, tp.GetName(), nil
}
