package lower

import (
	"fmt"
	"math"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// node lowers one IR node; an error says why it has no lowering.
func (l *lowerer) node(n *ir.Node) error {
	for _, o := range n.Outputs {
		if o != nil && !o.Type.Shape.Static() {
			return fmt.Errorf("output %s has shape %s; TFLite needs static shapes", o, o.Type.Shape)
		}
		if o != nil && o.Type.DType != ir.Float32 && !(o.Type.DType == ir.Bool && boolOutputs[n.Op]) {
			return fmt.Errorf("output %s is %s; only float32 (and the bool of comparisons) lowers so far", o, o.Type.DType)
		}
	}
	for _, o := range n.Outputs {
		if r := len(o.Type.Shape); o != nil && r > 4 && !(r == 5 && movesOnly[n.Op]) {
			return fmt.Errorf("output %s has rank %d; litefy lowers ranks up to 4 (5 for RESHAPE and TRANSPOSE)", o, r)
		}
	}
	e := entry(n.Op)
	switch {
	case e == nil:
		return fmt.Errorf("litefy has no TFLite lowering for %s", n.Op)
	case e.lower == nil:
		return fmt.Errorf("%s", e.none)
	}
	return e.lower(l, n)
}

// boolOutputs are the ops whose bool output lowers (a BOOL tensor).
var boolOutputs = map[string]bool{"Equal": true, "Less": true, "Greater": true, "GreaterOrEqual": true, "LessOrEqual": true, "Not": true}

// compare lowers a comparison of two float32 operands (broadcast like an
// elementwise op) to its builtin with a BOOL output.
func compare(op fb.BuiltinOperator) func(*lowerer, *ir.Node) error {
	return func(l *lowerer, n *ir.Node) error {
		var ins []int32
		for i := range 2 {
			if dt := n.Inputs[i].Type.DType; dt != ir.Float32 {
				return fmt.Errorf("operand %s is %s; only float32 comparisons lower so far", n.Inputs[i], dt)
			}
			t, err := l.operand(n, i)
			if err != nil {
				return err
			}
			ins = append(ins, t)
		}
		if n.Inputs[0].Const != nil && n.Inputs[1].Const != nil {
			return fmt.Errorf("both operands are constants; run the cleanup passes first")
		}
		l.emit(n, op, nil, ins, l.activation(n.Outputs[0]))
		return nil
	}
}

// cast lowers Cast of a bool to float32 (CAST: false → 0, true → 1) and a
// float32 to float32 (nothing).
func (l *lowerer) cast(n *ir.Node) error {
	from, to := n.Inputs[0].Type.DType, n.Outputs[0].Type.DType
	switch {
	case from == ir.Float32 && to == ir.Float32:
		return l.identity(n)
	case from == ir.Bool && to == ir.Float32:
		return l.unary(n, fb.BuiltinOperatorCAST, nil)
	}
	return fmt.Errorf("Cast from %s to %s: only bool or float32 to float32 lowers so far", from, to)
}

// movesOnly are the ops that lower to RESHAPE or TRANSPOSE alone, which
// TFLite runs on 5-D tensors (channel shuffles are RESHAPE–TRANSPOSE–RESHAPE).
var movesOnly = map[string]bool{"Reshape": true, "Flatten": true, "Squeeze": true, "Unsqueeze": true, "Transpose": true, "Identity": true}

// identity lowers Identity and Dropout: the output is the input.
func (l *lowerer) identity(n *ir.Node) error {
	if len(n.Outputs) > 1 && n.Outputs[1] != nil && len(n.Outputs[1].Uses()) > 0 {
		return fmt.Errorf("the mask output is used")
	}
	l.alias[n.Outputs[0]] = l.resolve(n.Inputs[0])
	if n.Inputs[0].Const != nil {
		return fmt.Errorf("output is a constant; run the cleanup passes first")
	}
	return nil
}

// elementwise returns the lowering of an elementwise arithmetic op.
func elementwise(op fb.BuiltinOperator) func(*lowerer, *ir.Node) error {
	return func(l *lowerer, n *ir.Node) error { return l.binary(n, op) }
}

// oneBuiltin returns the lowering of a one-input op that maps to one builtin.
func oneBuiltin(op fb.BuiltinOperator, opts options) func(*lowerer, *ir.Node) error {
	return func(l *lowerer, n *ir.Node) error { return l.unary(n, op, opts) }
}

// activationOf classifies n as a ReLU-family activation TFLite can fuse.
func activationOf(n *ir.Node) (fb.ActivationFunctionType, bool) {
	lo, hi, ok := ir.ClipBounds(n)
	switch {
	case !ok:
	case lo == 0 && hi == 6:
		return fb.ActivationFunctionTypeRELU6, true
	case lo == 0 && hi >= math.MaxFloat32:
		return fb.ActivationFunctionTypeRELU, true
	case lo == -1 && hi == 1:
		return fb.ActivationFunctionTypeRELU_N1_TO_1, true
	}
	return fb.ActivationFunctionTypeNONE, false
}

// fuse finds the activation that alone reads n's output and fuses it: it
// returns the activation and the tensor the fused op writes.
func (l *lowerer) fuse(n *ir.Node) (fb.ActivationFunctionType, int32) {
	out := n.Outputs[0]
	if uses := out.Uses(); len(uses) == 1 && IsFusedActivation(uses[0]) && l.layoutOf(uses[0].Outputs[0]).equal(l.layoutOf(out)) {
		act, _ := activationOf(uses[0])
		l.fused[uses[0]] = true
		return act, l.activation(uses[0].Outputs[0])
	}
	return fb.ActivationFunctionTypeNONE, l.activation(out)
}

// nonNegative reports whether v is known to be ≥ 0: the output of a ReLU
// or ReLU6, fused or not.
func (l *lowerer) nonNegative(v *ir.Value) bool {
	p := v.Producer()
	if p == nil {
		return false
	}
	if act, ok := activationOf(p); ok {
		return act == fb.ActivationFunctionTypeRELU || act == fb.ActivationFunctionTypeRELU6
	}
	return false
}

func ints32(v []int64) []int32 {
	r := make([]int32, len(v))
	for i, x := range v {
		r[i] = int32(x)
	}
	return r
}

func (l *lowerer) binary(n *ir.Node, op fb.BuiltinOperator) error {
	rank := len(n.Outputs[0].Type.Shape)
	var ins []int32
	for i := range 2 {
		v := l.resolve(n.Inputs[i])
		if l.int8 && n.Op == "Div" {
			return fmt.Errorf("%s has no int8 lowering", n.Op)
		}
		if v.Const != nil && i == 1 && n.Op == "Div" && v.Const.DType == ir.Float32 {
			// Division by a constant is a multiplication by its reciprocal.
			r := v.Const.AsFloat32s()
			inv := make([]float32, len(r))
			for j, x := range r {
				inv[j] = 1 / x
			}
			op = fb.BuiltinOperatorMUL
			t, err := l.constAs(&ir.Value{Name: v.Name + "/reciprocal", Const: ir.FromFloat32(v.Const.Shape, inv)}, l.layoutOf(n.Outputs[0]))
			if err != nil {
				return err
			}
			ins = append(ins, t)
			continue
		}
		var t int32
		var err error
		if v.Const == nil && len(v.Type.Shape) < rank {
			t, err = l.broadcastAs(n, i, l.layoutOf(n.Outputs[0]))
		} else {
			t, err = l.input(n, i)
		}
		if err != nil {
			return err
		}
		ins = append(ins, t)
	}
	if n.Inputs[0].Const != nil && n.Inputs[1].Const != nil {
		return fmt.Errorf("both operands are constants; run the cleanup passes first")
	}
	act, out := l.fuse(n)
	l.emit(n, op, &binaryOptions{op: op, act: act}, ins, out)
	return nil
}

// clip lowers a standalone (unfused) ReLU-family activation or Clip.
func (l *lowerer) clip(n *ir.Node) error {
	if act, ok := activationOf(n); ok {
		op := map[fb.ActivationFunctionType]fb.BuiltinOperator{fb.ActivationFunctionTypeRELU: fb.BuiltinOperatorRELU,
			fb.ActivationFunctionTypeRELU6: fb.BuiltinOperatorRELU6, fb.ActivationFunctionTypeRELU_N1_TO_1: fb.BuiltinOperatorRELU_N1_TO_1}[act]
		return l.unary(n, op, nil)
	}
	lo, hi, ok := ir.ClipBounds(n)
	if !ok {
		return fmt.Errorf("bounds computed at run time have no TFLite form")
	}
	if l.int8 {
		return fmt.Errorf("Clip(%g, %g) has no int8 lowering (only ReLU, ReLU6 and Clip(-1, 1) do)", lo, hi)
	}
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	rank := len(n.Outputs[0].Type.Shape)
	ones := make([]int32, rank)
	for i := range ones {
		ones[i] = 1
	}
	out := l.activation(n.Outputs[0])
	if lo > -math.MaxFloat32 {
		c := l.float32Tensor(nodeName(n)+"/min", ones, []float32{lo})
		y := out
		if hi < math.MaxFloat32 {
			y = l.addTensor(&Tensor{Name: nodeName(n) + "/lower", Type: fb.TensorTypeFLOAT32, Shape: l.m.Tensors[out].Shape})
		}
		l.emit(n, fb.BuiltinOperatorMAXIMUM, maxMinOptions{}, []int32{x, c}, y)
		x = y
	}
	if hi < math.MaxFloat32 {
		c := l.float32Tensor(nodeName(n)+"/max", ones, []float32{hi})
		l.emit(n, fb.BuiltinOperatorMINIMUM, maxMinOptions{}, []int32{x, c}, out)
	}
	if lo <= -math.MaxFloat32 && hi >= math.MaxFloat32 {
		return fmt.Errorf("Clip without bounds; run the cleanup passes first")
	}
	return nil
}

func (l *lowerer) unary(n *ir.Node, op fb.BuiltinOperator, opts options) error {
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	l.emit(n, op, opts, []int32{x}, l.activation(n.Outputs[0]))
	return nil
}

// hardSigmoid lowers clip(αx+β, 0, 1) as relu6(6αx + 6β) / 6: MUL (when
// 6α ≠ 1), ADD with fused RELU6, MUL by 1/6.
func (l *lowerer) hardSigmoid(n *ir.Node) error {
	alpha, beta := n.Attrs.Float("alpha", 0.2), n.Attrs.Float("beta", 0.5)
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	name := nodeName(n)
	shape := l.m.Tensors[x].Shape
	ones := make([]int32, len(shape))
	for i := range ones {
		ones[i] = 1
	}
	rank := len(shape)
	if l.int8 {
		p := PlanHardSigmoid(n)
		if p.Scale != nil {
			y := l.temp(name+"/scaled", shape, p.Scaled)
			l.emit(n, fb.BuiltinOperatorMUL, &binaryOptions{op: fb.BuiltinOperatorMUL}, []int32{x, l.scalarInt8(name+"/6alpha", rank, *p.Scale)}, y)
			x = y
		}
		y := l.temp(name+"/relu6", shape, p.Relu6)
		l.emit(n, fb.BuiltinOperatorADD, &binaryOptions{op: fb.BuiltinOperatorADD, act: fb.ActivationFunctionTypeRELU6},
			[]int32{x, l.scalarInt8(name+"/6beta", rank, p.Offset)}, y)
		l.emit(n, fb.BuiltinOperatorMUL, &binaryOptions{op: fb.BuiltinOperatorMUL},
			[]int32{y, l.scalarInt8(name+"/sixth", rank, p.Sixth)}, l.activation(n.Outputs[0]))
		return nil
	}
	tmp := func(suffix string) int32 {
		return l.addTensor(&Tensor{Name: name + suffix, Type: fb.TensorTypeFLOAT32, Shape: shape})
	}
	if a6 := 6 * alpha; a6 != 1 {
		y := tmp("/scaled")
		l.emit(n, fb.BuiltinOperatorMUL, &binaryOptions{op: fb.BuiltinOperatorMUL}, []int32{x, l.float32Tensor(name+"/6alpha", ones, []float32{a6})}, y)
		x = y
	}
	y := tmp("/relu6")
	l.emit(n, fb.BuiltinOperatorADD, &binaryOptions{op: fb.BuiltinOperatorADD, act: fb.ActivationFunctionTypeRELU6},
		[]int32{x, l.float32Tensor(name+"/6beta", ones, []float32{6 * beta})}, y)
	l.emit(n, fb.BuiltinOperatorMUL, &binaryOptions{op: fb.BuiltinOperatorMUL},
		[]int32{y, l.float32Tensor(name+"/sixth", ones, []float32{1.0 / 6})}, l.activation(n.Outputs[0]))
	return nil
}

// swish lowers x·sigmoid(x) as LOGISTIC and MUL.
func (l *lowerer) swish(n *ir.Node) error {
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	s := l.temp(nodeName(n)+"/sigmoid", l.m.Tensors[x].Shape, FixedOutputParams("Sigmoid"))
	l.emit(n, fb.BuiltinOperatorLOGISTIC, nil, []int32{x}, s)
	l.emit(n, fb.BuiltinOperatorMUL, &binaryOptions{op: fb.BuiltinOperatorMUL}, []int32{x, s}, l.activation(n.Outputs[0]))
	return nil
}
