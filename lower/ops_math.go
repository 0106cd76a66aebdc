package lower

import (
	"fmt"
	"math"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Lowerings of float arithmetic: activations with options (LEAKY_RELU,
// PRELU, GELU), MAXIMUM/MINIMUM, Pow by a constant exponent, Reciprocal,
// Mod (fmod through FLOOR_MOD),
// the reductions MEAN, SUM and REDUCE_MAX on layout-mapped axes, and
// LOG_SOFTMAX.

func (l *lowerer) leakyRelu(n *ir.Node) error {
	return l.unary(n, fb.BuiltinOperatorLEAKY_RELU, &leakyReluOptions{alpha: n.Attrs.Float("alpha", 0.01)})
}

func (l *lowerer) gelu(n *ir.Node) error {
	return l.unary(n, fb.BuiltinOperatorGELU, &geluOptions{approximate: n.Attrs.Str("approximate", "none") == "tanh"})
}

// operand returns n's input i laid out like n's output: a same-rank input
// in that layout, a lower-rank constant right-aligned and permuted
// (constAs), a lower-rank activation reshaped and laid out (broadcastAs).
func (l *lowerer) operand(n *ir.Node, i int) (int32, error) {
	v := l.resolve(n.Inputs[i])
	if v.Const == nil && len(v.Type.Shape) < len(n.Outputs[0].Type.Shape) {
		return l.broadcastAs(n, i, l.layoutOf(n.Outputs[0]))
	}
	return l.input(n, i)
}

// prelu lowers PRelu to PRELU; a constant slope is laid out like x.
func (l *lowerer) prelu(n *ir.Node) error {
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	a, err := l.operand(n, 1)
	if err != nil {
		return err
	}
	l.emit(n, fb.BuiltinOperatorPRELU, nil, []int32{x, a}, l.activation(n.Outputs[0]))
	return nil
}

// maxMin lowers Max and Min: one MAXIMUM or MINIMUM per input after the
// first; a one-input Max is its input.
func (l *lowerer) maxMin(n *ir.Node) error {
	op := fb.BuiltinOperatorMAXIMUM
	if n.Op == "Min" {
		op = fb.BuiltinOperatorMINIMUM
	}
	if len(n.Inputs) == 1 {
		return l.identity(n)
	}
	consts := 0
	for _, v := range n.Inputs {
		if l.resolve(v).Const != nil {
			consts++
		}
	}
	if consts == len(n.Inputs) {
		return fmt.Errorf("every operand is a constant; run the cleanup passes first")
	}
	acc, err := l.operand(n, 0)
	if err != nil {
		return err
	}
	out := l.activation(n.Outputs[0])
	for i := 1; i < len(n.Inputs); i++ {
		b, err := l.operand(n, i)
		if err != nil {
			return err
		}
		y := out
		if i < len(n.Inputs)-1 {
			y = l.like(out, fmt.Sprintf("%s/%d", nodeName(n), i), l.m.Tensors[out].Shape)
		}
		l.emit(n, op, maxMinOptions{}, []int32{acc, b}, y)
		acc = y
	}
	return nil
}

// pow lowers Pow. A constant scalar exponent picks the cheaper builtin:
// 2 is MUL x·x, 0.5 SQRT, −0.5 RSQRT, 1 nothing; any other exponent is
// POW.
func (l *lowerer) pow(n *ir.Node) error {
	e := l.resolve(n.Inputs[1])
	if l.resolve(n.Inputs[0]).Const != nil {
		return fmt.Errorf("the base is a constant; run the cleanup passes first")
	}
	if e.Const != nil && e.Const.Len() == 1 && len(e.Type.Shape) <= len(n.Outputs[0].Type.Shape) {
		k := e.Const.Float64At(0)
		switch k {
		case 1:
			return l.identity(n)
		case 2:
			x, err := l.input(n, 0)
			if err != nil {
				return err
			}
			l.emit(n, fb.BuiltinOperatorMUL, &binaryOptions{op: fb.BuiltinOperatorMUL}, []int32{x, x}, l.activation(n.Outputs[0]))
			return nil
		case 0.5:
			return l.unary(n, fb.BuiltinOperatorSQRT, nil)
		case -0.5:
			return l.unary(n, fb.BuiltinOperatorRSQRT, nil)
		}
	}
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	var y int32
	if e.Const != nil && e.Const.DType != ir.Float32 {
		// An integer exponent (opset 12+) becomes a float32 constant.
		f := make([]float32, e.Const.Len())
		for i := range f {
			f[i] = float32(e.Const.Float64At(i))
		}
		y, err = l.constAs(&ir.Value{Name: e.Name + "/f32", Const: ir.FromFloat32(e.Const.Shape, f)}, l.layoutOf(n.Outputs[0]))
	} else {
		y, err = l.operand(n, 1)
	}
	if err != nil {
		return err
	}
	l.emit(n, fb.BuiltinOperatorPOW, powOptions{}, []int32{x, y}, l.activation(n.Outputs[0]))
	return nil
}

// reciprocal lowers 1/x as DIV by a constant 1.
func (l *lowerer) reciprocal(n *ir.Node) error {
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	ones := make([]int32, len(n.Outputs[0].Type.Shape))
	for i := range ones {
		ones[i] = 1
	}
	one := l.float32Tensor(nodeName(n)+"/one", ones, []float32{1})
	l.emit(n, fb.BuiltinOperatorDIV, &binaryOptions{op: fb.BuiltinOperatorDIV}, []int32{one, x}, l.activation(n.Outputs[0]))
	return nil
}

var reduceBuiltins = map[string]fb.BuiltinOperator{
	"ReduceMean": fb.BuiltinOperatorMEAN,
	"ReduceSum":  fb.BuiltinOperatorSUM,
	"ReduceMax":  fb.BuiltinOperatorREDUCE_MAX,
}

// reduce lowers ReduceMean, ReduceSum and ReduceMax: the ONNX axes become
// the TFLite positions they have under the input's layout. With keepdims
// the output shares that layout; without, the reducer's result is in the
// input's layout minus the reduced dims (reduceForward), and the input is
// first laid out to give the output's layout when that differs.
func (l *lowerer) reduce(n *ir.Node) error {
	red, err := ir.ReduceAxes(n)
	if err != nil {
		return err
	}
	if red == nil {
		return l.identity(n)
	}
	out := n.Outputs[0]
	keep := n.Attrs.Int("keepdims", 1) != 0
	var x int32
	var lin layout
	if keep {
		lin = l.layoutOf(out)
		if x, err = l.input(n, 0); err != nil {
			return err
		}
	} else {
		lin = l.layoutOf(n.Inputs[0])
		if !reduceForward(n, lin).equal(l.layoutOf(out)) {
			lin = reduceBackward(n, l.layoutOf(out))
		}
		if x, err = l.inputAs(n, 0, lin); err != nil {
			return err
		}
	}
	var axes []int32
	for j, d := range lin {
		if red[d] {
			axes = append(axes, int32(j))
		}
	}
	at := l.int32Tensor(nodeName(n)+"/axes", []int32{int32(len(axes))}, axes)
	l.emit(n, reduceBuiltins[n.Op], &reducerOptions{keepDims: keep}, []int32{x, at}, l.activation(out))
	return nil
}

// reduceForward maps the input layout of a reduction to its output's:
// with keepdims the same; without, the reduced dims dropped and the rest
// renumbered.
func reduceForward(n *ir.Node, p layout) layout {
	red, err := ir.ReduceAxes(n)
	if err != nil || red == nil || n.Attrs.Int("keepdims", 1) != 0 {
		if err != nil {
			return nil
		}
		return p
	}
	var q layout
	for _, d := range p {
		if !red[d] {
			q = append(q, d-reducedBefore(red, d))
		}
	}
	return q
}

// reduceBackward maps the output layout of a reduction to an input layout
// reduceForward takes to it: without keepdims each reduced dim goes just
// after the kept dim before it in ONNX order (leading ones first).
func reduceBackward(n *ir.Node, q layout) layout {
	red, err := ir.ReduceAxes(n)
	if err != nil || red == nil || n.Attrs.Int("keepdims", 1) != 0 {
		if err != nil {
			return nil
		}
		return q
	}
	var kept []int // ONNX input dim of each output dim
	for d, r := range red {
		if !r {
			kept = append(kept, d)
		}
	}
	if len(kept) != len(q) {
		return nil
	}
	var p layout
	for d := 0; d < len(red) && red[d]; d++ {
		p = append(p, d)
	}
	for _, o := range q {
		d := kept[o]
		p = append(p, d)
		for e := d + 1; e < len(red) && red[e]; e++ {
			p = append(p, e)
		}
	}
	return p
}

func reducedBefore(red []bool, d int) int {
	k := 0
	for _, r := range red[:d] {
		if r {
			k++
		}
	}
	return k
}

// logSoftmax lowers LogSoftmax as softmax does, with LOG_SOFTMAX.
func (l *lowerer) logSoftmax(n *ir.Node) error {
	return l.normalizeLast(n, fb.BuiltinOperatorLOG_SOFTMAX, logSoftmaxOptions{})
}

// mod lowers Mod. Only fmod=1 reaches it on float32 (the IR refuses
// fmod=0 on floats, as ONNX and onnxruntime do), and TFLite has no
// builtin for C's fmod, so it is computed exactly from FLOOR_MOD of the
// magnitudes: TFLite's FloorMod is std::fmod(x, y), plus y when the two
// differ in sign, which for x, y ≥ 0 never happens; and fmod(a, b) is
// fmod(|a|, |b|) with a's sign. So ABS (a constant divisor's |b| is
// folded), FLOOR_MOD, NEG, LESS(a, 0) and SELECT_V2 — each exact, no
// rounding anywhere. A dividend known to be ≥ 0 (a ReLU's output) needs
// FLOOR_MOD(a, |b|) alone.
func (l *lowerer) mod(n *ir.Node) error {
	if dt := n.Inputs[0].Type.DType; dt != ir.Float32 {
		return fmt.Errorf("operands are %s; only float32 Mod lowers (integer Mod folds on shape paths)", dt)
	}
	a, b := l.resolve(n.Inputs[0]), l.resolve(n.Inputs[1])
	switch {
	case a.Const != nil && b.Const != nil:
		return fmt.Errorf("both operands are constants; run the cleanup passes first")
	case a.Const != nil:
		return fmt.Errorf("a constant dividend %s with a computed divisor has no lowering yet", a)
	}
	name := nodeName(n)
	out := l.activation(n.Outputs[0])
	x, err := l.operand(n, 0)
	if err != nil {
		return err
	}
	xs := l.m.Tensors[x].Shape
	nonNeg := l.nonNegative(a)
	ax := x
	if !nonNeg {
		ax = l.addTensor(&Tensor{Name: name + "/abs_a", Type: fb.TensorTypeFLOAT32, Shape: xs})
		l.emit(n, fb.BuiltinOperatorABS, absOptions{}, []int32{x}, ax)
	}
	var ay int32
	if b.Const != nil {
		f := b.Const.AsFloat32s()
		abs := make([]float32, len(f))
		for i, v := range f {
			abs[i] = float32(math.Abs(float64(v)))
		}
		if ay, err = l.constAs(&ir.Value{Name: b.Name + "/abs", Const: ir.FromFloat32(b.Const.Shape, abs)}, l.layoutOf(n.Outputs[0])); err != nil {
			return err
		}
	} else {
		y, err := l.operand(n, 1)
		if err != nil {
			return err
		}
		ay = l.addTensor(&Tensor{Name: name + "/abs_b", Type: fb.TensorTypeFLOAT32, Shape: l.m.Tensors[y].Shape})
		l.emit(n, fb.BuiltinOperatorABS, absOptions{}, []int32{y}, ay)
	}
	if nonNeg {
		l.emit(n, fb.BuiltinOperatorFLOOR_MOD, floorModOptions{}, []int32{ax, ay}, out)
		return nil
	}
	shape := l.m.Tensors[out].Shape
	r := l.addTensor(&Tensor{Name: name + "/abs_mod", Type: fb.TensorTypeFLOAT32, Shape: shape})
	l.emit(n, fb.BuiltinOperatorFLOOR_MOD, floorModOptions{}, []int32{ax, ay}, r)
	neg := l.addTensor(&Tensor{Name: name + "/neg_mod", Type: fb.TensorTypeFLOAT32, Shape: shape})
	l.emit(n, fb.BuiltinOperatorNEG, negOptions{}, []int32{r}, neg)
	ones := make([]int32, len(xs))
	for i := range ones {
		ones[i] = 1
	}
	isNeg := l.addTensor(&Tensor{Name: name + "/a_negative", Type: fb.TensorTypeBOOL, Shape: xs})
	l.emit(n, fb.BuiltinOperatorLESS, nil, []int32{x, l.float32Tensor(name+"/zero", ones, []float32{0})}, isNeg)
	l.emit(n, fb.BuiltinOperatorSELECT_V2, selectV2Options{}, []int32{isNeg, neg, r}, out)
	return nil
}
