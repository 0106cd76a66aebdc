package lower

import (
	"fmt"
	"slices"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Lowerings of the ops of masks and selections: Not (LOGICAL_NOT), Where
// (SELECT_V2) and Expand (BROADCAST_TO).

// logicalNot lowers Not of a bool to LOGICAL_NOT.
func (l *lowerer) logicalNot(n *ir.Node) error {
	if dt := n.Inputs[0].Type.DType; dt != ir.Bool {
		return fmt.Errorf("operand %s is %s; Not takes a bool", n.Inputs[0], dt)
	}
	if l.resolve(n.Inputs[0]).Const != nil {
		return fmt.Errorf("the operand is a constant; run the cleanup passes first")
	}
	return l.unary(n, fb.BuiltinOperatorLOGICAL_NOT, nil)
}

// where lowers Where(condition, x, y) to SELECT_V2, which broadcasts its
// three operands as ONNX does; each is laid out like the output (a
// lower-rank activation reshaped, a constant right-aligned). In an int8
// file x, y and the output share one quantization (the int8 rule), so the
// kernel selects codes.
func (l *lowerer) where(n *ir.Node) error {
	if dt := n.Inputs[0].Type.DType; dt != ir.Bool {
		return fmt.Errorf("condition %s is %s; Where takes a bool condition", n.Inputs[0], dt)
	}
	for _, v := range n.Inputs[1:] {
		if dt := v.Type.DType; dt != ir.Float32 {
			return fmt.Errorf("operand %s is %s; only float32 selections lower so far", v, dt)
		}
	}
	if l.resolve(n.Inputs[0]).Const != nil && l.resolve(n.Inputs[1]).Const != nil && l.resolve(n.Inputs[2]).Const != nil {
		return fmt.Errorf("every operand is a constant; run the cleanup passes first")
	}
	var ins []int32
	for i := range 3 {
		t, err := l.operand(n, i)
		if err != nil {
			return err
		}
		ins = append(ins, t)
	}
	l.emit(n, fb.BuiltinOperatorSELECT_V2, selectV2Options{}, ins, l.activation(n.Outputs[0]))
	return nil
}

// expand lowers Expand to BROADCAST_TO of the output's static shape in
// its layout (the shape input is constant once FoldConstants ran, or the
// output shape is not static and node refuses it); an Expand that changes
// nothing is its input.
func (l *lowerer) expand(n *ir.Node) error {
	x, out := n.Inputs[0], n.Outputs[0]
	if dt := x.Type.DType; dt != ir.Float32 {
		return fmt.Errorf("input %s is %s; only float32 Expand lowers so far", x, dt)
	}
	if l.resolve(x).Const != nil {
		return fmt.Errorf("the input is a constant; run the cleanup passes first")
	}
	if slices.Equal(x.Type.Shape.Sizes(), out.Type.Shape.Sizes()) {
		return l.identity(n)
	}
	t, err := l.operand(n, 0)
	if err != nil {
		return err
	}
	shape := l.tshape(out)
	st := l.int32Tensor(nodeName(n)+"/shape", []int32{int32(len(shape))}, shape)
	l.emit(n, fb.BuiltinOperatorBROADCAST_TO, nil, []int32{t, st}, l.activation(out))
	// op_version.cc: BROADCAST_TO starts at version 2 (version 1 was
	// rolled back); int8 is 3 (setInt8Versions).
	l.m.Operators[len(l.m.Operators)-1].Version = 2
	return nil
}
