package lower

import (
	"fmt"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Lowerings of ops that move values under any layout: RESHAPE and
// TRANSPOSE (or nothing, when the layouts absorb them), SOFTMAX and
// CONCATENATION on a layout-mapped axis.

// reshape lowers Flatten, Reshape, Squeeze and Unsqueeze. Where the input
// and output layouts keep the elements in one order it is a RESHAPE of
// the TFLite tensor; otherwise the input is first laid out so that they do
// (one TRANSPOSE), or, failing that, taken to the ONNX order and the
// result laid out after.
func (l *lowerer) reshape(n *ir.Node) error {
	in, out := n.Inputs[0].Type.Shape, n.Outputs[0].Type.Shape
	if l.flattenIntoFC(n, in, out) {
		x, err := l.inputRaw(n, 0)
		if err != nil {
			return err
		}
		shape := l.tshape(n.Outputs[0])
		st := l.int32Tensor(nodeName(n)+"/shape", []int32{int32(len(shape))}, shape)
		l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: shape}, []int32{x, st}, l.activation(n.Outputs[0]))
		return nil
	}
	is, os := in.Sizes(), out.Sizes()
	lout := l.layoutOf(n.Outputs[0])
	// The input layout under which the RESHAPE writes lout directly.
	want := l.layoutOf(n.Inputs[0])
	if q := reshapeLayout(is, os, want); q == nil || !q.equal(lout) || !reshapesTo(is, os, want, lout) {
		want = reshapeLayout(os, is, lout)
		if want == nil || !reshapesTo(is, os, want, lout) {
			want = nil
		}
	}
	if want != nil {
		x, err := l.inputAs(n, 0, want)
		if err != nil {
			return err
		}
		shape := l.tshape(n.Outputs[0])
		st := l.int32Tensor(nodeName(n)+"/shape", []int32{int32(len(shape))}, shape)
		l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: shape}, []int32{x, st}, l.activation(n.Outputs[0]))
		return nil
	}
	// Through the ONNX order.
	x, err := l.inputAs(n, 0, nil)
	if err != nil {
		return err
	}
	id := identityLayout(len(os))
	shape := id.permuted(os)
	st := l.int32Tensor(nodeName(n)+"/shape", []int32{int32(len(shape))}, shape)
	if lout.orderEquivalent(os) {
		shape = lout.permuted(os)
		st = l.int32Tensor(nodeName(n)+"/shape", []int32{int32(len(shape))}, shape)
		l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: shape}, []int32{x, st}, l.activation(n.Outputs[0]))
		return nil
	}
	tmp := l.like(x, nodeName(n)+"/onnx_order", shape)
	l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: shape}, []int32{x, st}, tmp)
	l.writeFrom(n, n.Outputs[0], tmp, id)
	return nil
}

// transpose lowers Transpose: nothing when the output's layout absorbs it
// (the tensor is shared), else one TRANSPOSE between the two layouts.
func (l *lowerer) transpose(n *ir.Node) error {
	perm := transposePerm(n)
	if perm == nil {
		return fmt.Errorf("perm %v does not match rank %d", n.Attrs.Ints("perm"), len(n.Inputs[0].Type.Shape))
	}
	x, err := l.inputRaw(n, 0)
	if err != nil {
		return err
	}
	in, out := l.resolve(n.Inputs[0]), n.Outputs[0]
	lin, lout := l.layoutOf(in), l.layoutOf(out)
	// TFLite dim j of the output is ONNX output dim lout[j], input dim
	// perm[lout[j]], at TFLite input position lin⁻¹[perm[lout[j]]].
	q := composeLayout(lin.inverse(), composeLayout(perm, lout))
	if q.isIdentity() && !l.g.IsOutput(out) {
		l.tensors[out] = x
		return nil
	}
	if isSizeOnePermutation(q, l.m.Tensors[x].Shape) {
		shape := l.tshape(out)
		st := l.int32Tensor(nodeName(n)+"/shape", []int32{int32(len(shape))}, shape)
		l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: shape}, []int32{x, st}, l.activation(out))
		return nil
	}
	pt := l.int32Tensor(nodeName(n)+"/perm", []int32{int32(len(q))}, ints32(intsOf(q)))
	l.emit(n, fb.BuiltinOperatorTRANSPOSE, transposeOptions{}, []int32{x, pt}, l.activation(out))
	return nil
}

// softmax lowers Softmax on any axis: SOFTMAX normalises the last TFLite
// dim, so where the axis is elsewhere under the layout the value is laid
// out with it last first, and back after. Before opset 13 an axis other
// than the last normalises the flattened trailing dims.
func (l *lowerer) softmax(n *ir.Node) error {
	return l.normalizeLast(n, fb.BuiltinOperatorSOFTMAX, &softmaxOptions{beta: 1})
}

// normalizeLast lowers an op that normalises its axis (Softmax,
// LogSoftmax) to a builtin that normalises the last TFLite dim.
func (l *lowerer) normalizeLast(n *ir.Node, op fb.BuiltinOperator, opts options) error {
	s := n.Inputs[0].Type.Shape.Sizes()
	r := len(s)
	axis := int(n.Attrs.Int("axis", -1))
	if n.Opset() < 13 {
		axis = int(n.Attrs.Int("axis", 1))
	}
	if axis < 0 {
		axis += r
	}
	out := n.Outputs[0]
	if n.Opset() < 13 && axis != r-1 {
		x, err := l.inputAs(n, 0, nil)
		if err != nil {
			return err
		}
		rows := int64(1)
		for _, d := range s[:axis] {
			rows *= d
		}
		flat := []int32{int32(rows), int32(ir.NumElements(s) / int(rows))}
		t2 := l.like(x, nodeName(n)+"/2d", flat)
		l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: flat}, []int32{x, l.int32Tensor(nodeName(n)+"/2d/shape", []int32{2}, flat)}, t2)
		sm := l.like(x, nodeName(n)+"/softmax", flat)
		l.setQuant(sm, out)
		l.emit(n, op, opts, []int32{t2}, sm)
		id := identityLayout(r)
		nd := l.like(sm, nodeName(n)+"/nd", id.permuted(s))
		l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: id.permuted(s)}, []int32{sm, l.int32Tensor(nodeName(n)+"/nd/shape", []int32{int32(r)}, id.permuted(s))}, nd)
		l.writeFrom(n, out, nd, id)
		return nil
	}
	lout := l.layoutOf(out)
	if lout[r-1] == axis {
		return l.unary(n, op, opts)
	}
	// The output's layout with the axis moved last.
	var last layout
	for _, d := range lout {
		if d != axis {
			last = append(last, d)
		}
	}
	last = append(last, axis)
	x, err := l.inputAs(n, 0, last)
	if err != nil {
		return err
	}
	sm := l.like(x, nodeName(n)+"/softmax", last.permuted(s))
	l.setQuant(sm, out)
	l.emit(n, op, opts, []int32{x}, sm)
	l.writeFrom(n, out, sm, last)
	return nil
}

func (l *lowerer) concat(n *ir.Node) error {
	rank := len(n.Outputs[0].Type.Shape)
	axis := n.Attrs.Int("axis", 0)
	if axis < 0 {
		axis += int64(rank)
	}
	a := int32(l.layoutOf(n.Outputs[0]).pos(int(axis)))
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
