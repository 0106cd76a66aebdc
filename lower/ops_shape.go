package lower

import (
	"fmt"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Lowerings of ops that move values: RESHAPE, SOFTMAX over the last axis
// and CONCATENATION.

// reshape lowers Flatten and Reshape. Element order must not depend on
// the NHWC layout: a 4-D side must have C = 1 or H = W = 1 (there NCHW
// and NHWC orders agree).
func (l *lowerer) reshape(n *ir.Node) error {
	in, out := n.Inputs[0].Type.Shape, n.Outputs[0].Type.Shape
	if l.flattenIntoFC(n, in, out) {
		x, err := l.input(n, 0)
		if err != nil {
			return err
		}
		shape := nhwcShape(out)
		st := l.int32Tensor(nodeName(n)+"/shape", []int32{int32(len(shape))}, shape)
		l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: shape}, []int32{x, st}, l.activation(n.Outputs[0]))
		return nil
	}
	for _, s := range []ir.Shape{in, out} {
		// NCHW and NHWC list the elements in the same order exactly when
		// one of C and H·W is 1.
		if len(s) == 4 && s[1].Size != 1 && s[2].Size*s[3].Size != 1 {
			return fmt.Errorf("reshaping %s to %s: with C > 1 and H·W > 1 the NHWC element order differs from ONNX's NCHW (not supported yet)", in, out)
		}
	}
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	shape := nhwcShape(out)
	st := l.int32Tensor(nodeName(n)+"/shape", []int32{int32(len(shape))}, shape)
	l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: shape}, []int32{x, st}, l.activation(n.Outputs[0]))
	return nil
}

func (l *lowerer) softmax(n *ir.Node) error {
	s := n.Inputs[0].Type.Shape
	axis := n.Attrs.Int("axis", -1)
	if n.Opset() < 13 {
		axis = n.Attrs.Int("axis", 1)
	}
	if axis < 0 {
		axis += int64(len(s))
	}
	if len(s) == 4 || axis != int64(len(s)-1) {
		return fmt.Errorf("softmax over axis %d of %s: only the last axis of a non-4-D value lowers", axis, s)
	}
	return l.unary(n, fb.BuiltinOperatorSOFTMAX, &softmaxOptions{beta: 1})
}

// nhwcAxis maps an NCHW axis to its NHWC position.
var nhwcAxis = [4]int32{0, 3, 1, 2}

func (l *lowerer) concat(n *ir.Node) error {
	rank := len(n.Outputs[0].Type.Shape)
	axis := n.Attrs.Int("axis", 0)
	if axis < 0 {
		axis += int64(rank)
	}
	a := int32(axis)
	if rank == 4 {
		a = nhwcAxis[axis]
	}
	var ins []int32
	for i := range n.Inputs {
		t, err := l.input(n, i)
		if err != nil {
			return err
		}
		ins = append(ins, t)
	}
	l.emit(n, fb.BuiltinOperatorCONCATENATION, &concatOptions{axis: a}, ins, l.activation(n.Outputs[0]))
	return nil
}
