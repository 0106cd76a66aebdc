package lower

import (
	"fmt"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Lowerings of ops that select values under any layout: Slice and Gather
// as STRIDED_SLICE (Gather of an index list that is no progression as
// GATHER), Split as SPLIT or SPLIT_V, each on the layout-mapped axes.

// slice lowers Slice (constant starts, ends, axes and steps): one
// STRIDED_SLICE over every TFLite dim, in the output's layout.
func (l *lowerer) slice(n *ir.Node) error {
	sel, err := ir.SliceOf(n)
	if err != nil {
		return err
	}
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	return l.stridedSlice(n, x, l.layoutOf(n.Outputs[0]), sel, -1, l.activation(n.Outputs[0]))
}

// stridedSlice emits a STRIDED_SLICE of tensor x, laid out as p, taking
// sel per ONNX dim; shrink ≥ 0 drops that ONNX dim (a one-element
// selection) from the result.
func (l *lowerer) stridedSlice(n *ir.Node, x int32, p layout, sel []ir.SliceDim, shrink int, out int32) error {
	r := len(sel)
	begin, end, strides := make([]int32, r), make([]int32, r), make([]int32, r)
	var o stridedSliceOptions
	for j, d := range p {
		s := sel[d]
		if s.Count <= 0 {
			return fmt.Errorf("the slice of dim %d is empty; TFLite has no empty tensors", d)
		}
		last := s.First + (s.Count-1)*s.Step
		begin[j], strides[j] = int32(s.First), int32(s.Step)
		if s.Step > 0 {
			end[j] = int32(last + 1)
		} else if last == 0 {
			o.endMask |= 1 << j // down to index 0: an end of −1 would wrap
		} else {
			end[j] = int32(last - 1)
		}
		if d == shrink {
			o.shrinkAxisMask |= 1 << j
		}
	}
	name := nodeName(n)
	bt := l.int32Tensor(name+"/begin", []int32{int32(r)}, begin)
	et := l.int32Tensor(name+"/end", []int32{int32(r)}, end)
	st := l.int32Tensor(name+"/strides", []int32{int32(r)}, strides)
	l.emit(n, fb.BuiltinOperatorSTRIDED_SLICE, &o, []int32{x, bt, et, st}, out)
	return nil
}

// split lowers Split: SPLIT into equal parts, SPLIT_V otherwise, on the
// TFLite position of the axis; every output shares the input's layout.
func (l *lowerer) split(n *ir.Node) error {
	axis, sizes, err := ir.SplitOf(n)
	if err != nil {
		return err
	}
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	equal := true
	for _, s := range sizes {
		if s <= 0 {
			return fmt.Errorf("split %v has an empty part; TFLite has no empty tensors", sizes)
		}
		equal = equal && s == sizes[0]
	}
	var outs []int32
	for _, o := range n.Outputs {
		if !l.layoutOf(o).equal(l.layoutOf(n.Outputs[0])) {
			return fmt.Errorf("outputs %s and %s have different layouts (a litefy bug)", n.Outputs[0], o)
		}
		outs = append(outs, l.activation(o))
	}
	a := int32(l.layoutOf(n.Outputs[0]).pos(axis))
	at := l.int32Tensor(nodeName(n)+"/axis", []int32{}, []int32{a})
	if equal {
		l.emit(n, fb.BuiltinOperatorSPLIT, &splitOptions{numSplits: int32(len(outs))}, []int32{at, x}, outs...)
		return nil
	}
	st := l.int32Tensor(nodeName(n)+"/sizes", []int32{int32(len(sizes))}, ints32(sizes))
	l.emit(n, fb.BuiltinOperatorSPLIT_V, &splitVOptions{numSplits: int32(len(outs))}, []int32{x, st, at}, outs...)
	return nil
}

// gatherIndices returns a Gather's axis and its constant indices, made
// non-negative; scalar reports a 0-D index (the axis is dropped).
func gatherIndices(n *ir.Node) (axis int, idx []int64, scalar bool, err error) {
	data, iv := n.Inputs[0].Type.Shape, n.Inputs[1]
	if iv.Const == nil {
		return 0, nil, false, fmt.Errorf("indices %s must be a constant", iv)
	}
	if len(iv.Const.Shape) > 1 {
		return 0, nil, false, fmt.Errorf("indices %s have rank %d; only a scalar or a list lowers", iv, len(iv.Const.Shape))
	}
	axis = int(n.Attrs.Int("axis", 0))
	if axis < 0 {
		axis += len(data)
	}
	if axis < 0 || axis >= len(data) {
		return 0, nil, false, fmt.Errorf("axis %d is out of range", axis)
	}
	size := data[axis].Size
	for i := range iv.Const.Len() {
		v := iv.Const.Int64At(i)
		if v < 0 {
			v += size
		}
		idx = append(idx, v)
	}
	if len(idx) == 0 {
		return 0, nil, false, fmt.Errorf("no indices; TFLite has no empty tensors")
	}
	return axis, idx, len(iv.Const.Shape) == 0, nil
}

// gather lowers Gather with constant indices: a STRIDED_SLICE when they
// are one index (shrinking the axis for a scalar) or an arithmetic
// progression, else GATHER with int32 indices; the input is taken in a
// layout that maps to the output's.
func (l *lowerer) gather(n *ir.Node) error {
	axis, idx, scalar, err := gatherIndices(n)
	if err != nil {
		return err
	}
	// The input's own layout when it maps to the output's (a scalar index
	// drops a dim, so several do), else the one gatherBackward gives.
	lout := l.layoutOf(n.Outputs[0])
	pin := l.layoutOf(n.Inputs[0])
	if !gatherForward(n, pin).of(len(lout)).equal(lout) {
		pin = gatherBackward(n, lout)
	}
	if pin == nil {
		return fmt.Errorf("no input layout maps to the output's (a litefy bug)")
	}
	x, err := l.inputAs(n, 0, pin)
	if err != nil {
		return err
	}
	out := l.activation(n.Outputs[0])
	step := int64(1)
	if len(idx) > 1 {
		step = idx[1] - idx[0]
	}
	progression := step != 0
	for i := 1; i < len(idx) && progression; i++ {
		progression = idx[i]-idx[i-1] == step
	}
	if progression {
		sel := make([]ir.SliceDim, len(pin))
		for d, s := range n.Inputs[0].Type.Shape.Sizes() {
			sel[d] = ir.SliceDim{First: 0, Count: s, Step: 1}
		}
		sel[axis] = ir.SliceDim{First: idx[0], Count: int64(len(idx)), Step: step}
		shrink := -1
		if scalar {
			shrink = axis
		}
		return l.stridedSlice(n, x, pin, sel, shrink, out)
	}
	it := l.int32Tensor(nodeName(n)+"/indices", []int32{int32(len(idx))}, ints32(idx))
	l.emit(n, fb.BuiltinOperatorGATHER, &gatherOptions{axis: int32(pin.pos(axis))}, []int32{x, it}, out)
	return nil
}

// gatherForward and gatherBackward map Gather's layouts: an index list
// keeps the layout, a scalar index drops its axis from it.
func gatherForward(n *ir.Node, p layout) layout {
	axis, _, scalar, err := gatherIndices(n)
	if err != nil || !scalar {
		if err != nil {
			return nil
		}
		return p
	}
	var q layout
	for _, d := range p {
		switch {
		case d < axis:
			q = append(q, d)
		case d > axis:
			q = append(q, d-1)
		}
	}
	return q
}

func gatherBackward(n *ir.Node, q layout) layout {
	axis, _, scalar, err := gatherIndices(n)
	if err != nil {
		return nil
	}
	if !scalar {
		return q
	}
	// The axis goes after the dim before it (first when it is dim 0).
	var p layout
	if axis == 0 {
		p = append(p, 0)
	}
	for _, d := range q {
		if d >= axis {
			d++
		}
		p = append(p, d)
		if d == axis-1 {
			p = append(p, axis)
		}
	}
	return p
}
