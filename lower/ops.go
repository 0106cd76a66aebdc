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
		if o != nil && o.Type.DType != ir.Float32 {
			return fmt.Errorf("output %s is %s; only float32 lowers so far", o, o.Type.DType)
		}
	}
	for _, o := range n.Outputs {
		if o != nil && len(o.Type.Shape) > 4 {
			return fmt.Errorf("output %s has rank %d; litefy lowers ranks up to 4", o, len(o.Type.Shape))
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
	if uses := out.Uses(); len(uses) == 1 && IsFusedActivation(uses[0]) {
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

// window2D reads a 2-D conv or pool window of n over input x (NCHW).
func window2D(n *ir.Node, x ir.Shape, kernel []int64) ([2]axisWindow, error) {
	var w [2]axisWindow
	if len(x) != 4 || len(kernel) != 2 {
		return w, fmt.Errorf("only 2-D windows over 4-D inputs lower (input %s)", x)
	}
	out := n.Outputs[0].Type.Shape
	strides := n.Attrs.Ints("strides")
	dil := n.Attrs.Ints("dilations")
	pads := n.Attrs.Ints("pads")
	autoPad := n.Attrs.Str("auto_pad", "NOTSET")
	for i := range 2 {
		a := axisWindow{in: x[2+i].Size, k: kernel[i], s: 1, d: 1, out: out[2+i].Size}
		if strides != nil {
			a.s = strides[i]
		}
		if dil != nil {
			a.d = dil[i]
		}
		switch autoPad {
		case "SAME_UPPER", "SAME_LOWER":
			total := max(0, (a.out-1)*a.s+(a.k-1)*a.d+1-a.in)
			a.padBegin = total / 2
			if autoPad == "SAME_LOWER" {
				a.padBegin = total - total/2
			}
		case "VALID":
		default:
			if pads != nil {
				a.padBegin = pads[i]
			}
		}
		w[i] = a
	}
	return w, nil
}

// explicitPad emits a PAD of x by pads [top, bottom, left, right] (NHWC).
func (l *lowerer) explicitPad(n *ir.Node, x int32, pads []int64) int32 {
	xs := l.m.Tensors[x].Shape
	p := l.int32Tensor(nodeName(n)+"/paddings", []int32{4, 2}, []int32{0, 0, int32(pads[0]), int32(pads[1]), int32(pads[2]), int32(pads[3]), 0, 0})
	out := l.like(x, nodeName(n)+"/padded",
		[]int32{xs[0], xs[1] + int32(pads[0]+pads[1]), xs[2] + int32(pads[2]+pads[3]), xs[3]})
	l.emit(n, fb.BuiltinOperatorPAD, padOptions{}, []int32{x, p}, out)
	return out
}

func (l *lowerer) conv(n *ir.Node) error {
	x, wv := n.Inputs[0], n.Inputs[1]
	if wv.Const == nil || wv.Const.DType != ir.Float32 {
		return fmt.Errorf("weights %s must be a float32 constant", wv)
	}
	ws := wv.Const.Shape
	if len(ws) != 4 {
		return fmt.Errorf("only 2-D convolutions lower (weights %v)", ws)
	}
	win, err := window2D(n, x.Type.Shape, ws[2:])
	if err != nil {
		return err
	}
	cin, cout := x.Type.Shape[1].Size, ws[0]
	group := n.Attrs.Int("group", 1)
	depthwise := group != 1
	if depthwise && !(group == cin && ws[1] == 1 && cout%cin == 0) {
		return fmt.Errorf("grouped convolution (group=%d, %d input channels) has no TFLite builtin", group, cin)
	}
	xt, err := l.input(n, 0)
	if err != nil {
		return err
	}
	plan := planPadding(win[0], win[1], l.opt.ZeroTaps)
	if plan.explicit != nil {
		xt = l.explicitPad(n, xt, plan.explicit)
	}
	// Weights: OIHW, widened with zero taps, then OHWI or 1HW(C·M).
	o, ci, kh, kw := ws[0], ws[1], ws[2], ws[3]
	wh, ww := plan.widen[0], plan.widen[1]
	kh2, kw2 := kh+wh.before+wh.after, kw+ww.before+ww.after
	var wshape []int32
	if depthwise {
		wshape = []int32{1, int32(kh2), int32(kw2), int32(o)}
	} else {
		wshape = []int32{int32(o), int32(kh2), int32(kw2), int32(ci)}
	}
	b := n.Input(2)
	if b != nil && (b.Const == nil || b.Const.Len() != int(o)) {
		return fmt.Errorf("bias %s must be a constant of %d values", b, o)
	}
	bname := nodeName(n) + "/bias"
	if b != nil {
		bname = b.Name
	}
	var wt, bt int32
	if l.int8 {
		wq, err := l.int8Const(wv)
		if err != nil {
			return err
		}
		if wq.PerChannel() && (wq.Axis != 0 || len(wq.Scale) != int(o)) {
			return fmt.Errorf("weights %s are quantized per channel on axis %d; TFLite needs the output channels (axis 0)", wv, wq.Axis)
		}
		dim := int32(0) // OHWI
		if depthwise {
			dim = 3 // 1HW(C·M)
		}
		wt = l.int8Tensor(wv.Name, wshape, relayoutConv(wq.data, o, ci, kh, kw, wh, ww, depthwise), perChannel(wq.QuantParams, dim))
		xq := n.Inputs[0].Quant
		bq := biasQuant(xq, wq.QuantParams)
		bias := make([]int32, o)
		if b != nil {
			if bias, err = int32Const(b); err != nil {
				return err
			}
			bq = b.Quant
		}
		bt = l.biasTensor(bname, bias, perChannel(bq, 0))
	} else {
		wt = l.float32Tensor(wv.Name, wshape, relayoutConv(wv.Const.AsFloat32s(), o, ci, kh, kw, wh, ww, depthwise))
		bias := make([]float32, o)
		if b != nil {
			bias = b.Const.AsFloat32s()
		}
		bt = l.float32Tensor(bname, []int32{int32(o)}, bias)
	}
	act, out := l.fuse(n)
	conv := convOptions{padding: plan.padding, strideH: int32(win[0].s), strideW: int32(win[1].s),
		act: act, dilationH: int32(win[0].d), dilationW: int32(win[1].d)}
	if depthwise {
		l.emit(n, fb.BuiltinOperatorDEPTHWISE_CONV_2D, &depthwiseOptions{conv, int32(cout / cin)}, []int32{xt, wt, bt}, out)
		if conv.dilationH != 1 || conv.dilationW != 1 {
			l.m.Operators[len(l.m.Operators)-1].Version = 2
		}
	} else {
		l.emit(n, fb.BuiltinOperatorCONV_2D, &conv, []int32{xt, wt, bt}, out)
	}
	return nil
}

// relayoutConv lays out OIHW weights as OHWI, or as 1HW(C·M) for a
// depthwise convolution, widening the kernel with zero taps.
func relayoutConv[T any](src []T, o, ci, kh, kw int64, wh, ww widening, depthwise bool) []T {
	kh2, kw2 := kh+wh.before+wh.after, kw+ww.before+ww.after
	dst := make([]T, o*ci*kh2*kw2)
	for io := range o {
		for ii := range ci {
			for y := range kh {
				for xx := range kw {
					v := src[((io*ci+ii)*kh+y)*kw+xx]
					y2, x2 := y+wh.before, xx+ww.before
					if depthwise {
						dst[(y2*kw2+x2)*o+io] = v
					} else {
						dst[((io*kh2+y2)*kw2+x2)*ci+ii] = v
					}
				}
			}
		}
	}
	return dst
}

// fullyConnected emits FULLY_CONNECTED with float weights [out, in] and
// bias (nil: zeros); in a quantized graph the weights are wv's int8 form,
// laid out the same way (transposed when transB is 0).
func (l *lowerer) fullyConnected(n *ir.Node, wv *ir.Value, transB bool, weights []float32, nout, nin int64, bias []float32, wname, bname string) error {
	if s := n.Inputs[0].Type.Shape; len(s) != 2 {
		return fmt.Errorf("input %s: only 2-D inputs lower to FULLY_CONNECTED", s)
	}
	xt, err := l.input(n, 0)
	if err != nil {
		return err
	}
	chw, reorder := l.nhwcColumns[l.resolve(n.Inputs[0])]
	var wt, bt int32
	if l.int8 {
		wq, err := l.int8Const(wv)
		if err != nil {
			return err
		}
		if wq.PerChannel() {
			return fmt.Errorf("weights %s are quantized per channel; litefy writes FULLY_CONNECTED weights per tensor", wv)
		}
		w := wq.data
		if !transB {
			w = transpose2D(w, nin, nout)
		}
		if reorder {
			w = permuteColumns(w, nout, chw)
		}
		wt = l.int8Tensor(wname, []int32{int32(nout), int32(nin)}, w, perTensor(wq.QuantParams))
		bq := biasQuant(n.Inputs[0].Quant, wq.QuantParams)
		ib := make([]int32, nout)
		if c := n.Input(2); c != nil {
			if ib, err = int32Const(c); err != nil {
				return err
			}
			bq = c.Quant
		}
		bt = l.biasTensor(bname, ib, perTensor(bq))
	} else {
		if reorder {
			weights = permuteColumns(weights, nout, chw)
		}
		wt = l.float32Tensor(wname, []int32{int32(nout), int32(nin)}, weights)
		if bias == nil {
			bias = make([]float32, nout)
		}
		bt = l.float32Tensor(bname, []int32{int32(nout)}, bias)
	}
	act, out := l.fuse(n)
	l.emit(n, fb.BuiltinOperatorFULLY_CONNECTED, &fullyConnectedOptions{act: act}, []int32{xt, wt, bt}, out)
	return nil
}

func (l *lowerer) gemm(n *ir.Node) error {
	b := n.Inputs[1]
	if b.Const == nil || b.Const.DType != ir.Float32 || len(b.Const.Shape) != 2 {
		return fmt.Errorf("B %s must be a 2-D float32 constant", b)
	}
	if n.Attrs.Int("transA", 0) != 0 {
		return fmt.Errorf("transA=1 has no FULLY_CONNECTED form")
	}
	alpha, beta := n.Attrs.Float("alpha", 1), n.Attrs.Float("beta", 1)
	if l.int8 && (alpha != 1 || beta != 1) {
		return fmt.Errorf("int8 FULLY_CONNECTED needs alpha=1 and beta=1")
	}
	transB := n.Attrs.Int("transB", 0) != 0
	w := b.Const.AsFloat32s()
	nout, nin := b.Const.Shape[0], b.Const.Shape[1]
	if !transB {
		nin, nout = nout, nin
		w = transpose2D(w, nin, nout)
	} else {
		w = append([]float32(nil), w...)
	}
	if alpha != 1 {
		for i := range w {
			w[i] *= alpha
		}
	}
	var bias []float32
	bname := nodeName(n) + "/bias"
	if c := n.Input(2); c != nil {
		if c.Const == nil || c.Const.Len() != int(nout) {
			return fmt.Errorf("C %s must be a constant of %d values", c, nout)
		}
		bias, bname = append([]float32(nil), c.Const.AsFloat32s()...), c.Name
		for i := range bias {
			bias[i] *= beta
		}
	}
	return l.fullyConnected(n, b, transB, w, nout, nin, bias, b.Name, bname)
}

func (l *lowerer) matmul(n *ir.Node) error {
	b := n.Inputs[1]
	if b.Const == nil || b.Const.DType != ir.Float32 || len(b.Const.Shape) != 2 {
		return fmt.Errorf("only a 2-D constant right operand lowers (FULLY_CONNECTED); %s is not", b)
	}
	if l.int8 {
		return fmt.Errorf("MatMul has no int8 lowering (write it as Gemm)")
	}
	nin, nout := b.Const.Shape[0], b.Const.Shape[1]
	return l.fullyConnected(n, b, false, transpose2D(b.Const.AsFloat32s(), nin, nout), nout, nin, nil, b.Name, nodeName(n)+"/bias")
}

// transpose2D transposes an r×c matrix.
func transpose2D[T any](x []T, r, c int64) []T {
	y := make([]T, len(x))
	for i := range r {
		for j := range c {
			y[j*r+i] = x[i*c+j]
		}
	}
	return y
}

func (l *lowerer) binary(n *ir.Node, op fb.BuiltinOperator) error {
	rank := len(n.Outputs[0].Type.Shape)
	var ins []int32
	for i := range 2 {
		v := l.resolve(n.Inputs[i])
		if v.Const == nil && len(v.Type.Shape) != rank && rank == 4 {
			return fmt.Errorf("operand %s of rank %d broadcast against a 4-D value: NHWC layout would change its meaning", v, len(v.Type.Shape))
		}
		if l.int8 && (n.Op == "Div" || n.Op == "Sub") {
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
			t, err := l.constOperand(&ir.Value{Name: v.Name + "/reciprocal", Const: ir.FromFloat32(v.Const.Shape, inv)}, rank)
			if err != nil {
				return err
			}
			ins = append(ins, t)
			continue
		}
		t, err := l.input(n, i)
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

func (l *lowerer) globalAveragePool(n *ir.Node) error {
	if len(n.Inputs[0].Type.Shape) != 4 {
		return fmt.Errorf("only 4-D inputs lower")
	}
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	axes := l.int32Tensor(nodeName(n)+"/axes", []int32{2}, []int32{1, 2})
	l.emit(n, fb.BuiltinOperatorMEAN, &reducerOptions{keepDims: true}, []int32{x, axes}, l.activation(n.Outputs[0]))
	return nil
}

func (l *lowerer) pool(n *ir.Node) error {
	if len(n.Outputs) > 1 && n.Outputs[1] != nil && len(n.Outputs[1].Uses()) > 0 {
		return fmt.Errorf("the indices output has no TFLite form")
	}
	kernel := n.Attrs.Ints("kernel_shape")
	win, err := window2D(n, n.Inputs[0].Type.Shape, kernel)
	if err != nil {
		return err
	}
	if win[0].d != 1 || win[1].d != 1 {
		return fmt.Errorf("dilated pooling has no TFLite builtin")
	}
	x, err := l.input(n, 0)
	if err != nil {
		return err
	}
	plan := planPadding(win[0], win[1], false)
	op := fb.BuiltinOperatorMAX_POOL_2D
	if n.Op == "AveragePool" {
		op = fb.BuiltinOperatorAVERAGE_POOL_2D
		padded := win[0].padBegin > 0 || win[0].usedEnd() > 0 || win[1].padBegin > 0 || win[1].usedEnd() > 0
		if padded && (plan.explicit != nil || n.Attrs.Int("count_include_pad", 0) != 0) {
			return fmt.Errorf("padded average pooling lowers only where SAME padding fits and count_include_pad=0")
		}
	}
	if plan.explicit != nil && n.Op == "MaxPool" {
		if stride1SameFits(win) {
			// The windows of a stride-1 SAME pool, every s-th kept: a second
			// 1×1 pool with stride s subsamples them. Padding is excluded
			// from the maximum, as ONNX's -inf padding is.
			full := l.m.Tensors[x].Shape
			tmp := l.like(x, nodeName(n)+"/stride1", append([]int32(nil), full...))
			l.emit(n, op, &poolOptions{padding: fb.PaddingSAME, strideH: 1, strideW: 1,
				filterH: int32(win[0].k), filterW: int32(win[1].k)}, []int32{x}, tmp)
			l.emit(n, op, &poolOptions{padding: fb.PaddingVALID, strideH: int32(win[0].s), strideW: int32(win[1].s),
				filterH: 1, filterW: 1}, []int32{tmp}, l.activation(n.Outputs[0]))
			return nil
		}
		// Zero padding is exact for a max pool only when the input is ≥ 0.
		if !l.nonNegative(n.Inputs[0]) {
			return fmt.Errorf("padding %v fits no SAME/VALID window and the input may be negative, so a zero PAD would change the maximum", plan.explicit)
		}
		x = l.explicitPad(n, x, plan.explicit)
	}
	l.emit(n, op, &poolOptions{padding: plan.padding, strideH: int32(win[0].s), strideW: int32(win[1].s),
		filterH: int32(win[0].k), filterW: int32(win[1].k)}, []int32{x}, l.activation(n.Outputs[0]))
	return nil
}

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

// stride1SameFits reports whether a strided window equals every s-th
// window of the stride-1 SAME window of the same kernel: the begin padding
// is SAME's for stride 1 and keeping every s-th of the in outputs gives
// ONNX's output size.
func stride1SameFits(win [2]axisWindow) bool {
	for _, a := range win {
		if a.d != 1 || a.padBegin != (a.k-1)/2 || (a.in+a.s-1)/a.s != a.out {
			return false
		}
	}
	return true
}

// flattenIntoFC reports whether n flattens a 4-D value with H, W > 1 into
// [N, C·H·W] read only by fully connected layers with constant weights.
// Flattening NHWC gives the elements in (h, w, c) order rather than ONNX's
// (c, h, w); those layers take their weight columns in the same order
// instead (l.nhwcColumns), so no TRANSPOSE is needed.
func (l *lowerer) flattenIntoFC(n *ir.Node, in, out ir.Shape) bool {
	if len(in) != 4 || len(out) != 2 || (in[2].Size == 1 && in[3].Size == 1) || out[0].Size != in[0].Size || l.g.IsOutput(n.Outputs[0]) {
		return false
	}
	uses := n.Outputs[0].Uses()
	if len(uses) == 0 {
		return false
	}
	for _, u := range uses {
		b := u.Input(1)
		ok := u.Inputs[0] == n.Outputs[0] && b != nil && b.Const != nil && len(b.Const.Shape) == 2 &&
			((u.Op == "Gemm" && u.Attrs.Int("transA", 0) == 0) || u.Op == "MatMul")
		if !ok {
			return false
		}
	}
	l.nhwcColumns[n.Outputs[0]] = [3]int64{in[1].Size, in[2].Size, in[3].Size}
	return true
}

// permuteColumns reorders the columns of an r×(C·H·W) weight matrix from
// (c, h, w) to (h, w, c) order.
func permuteColumns[T any](w []T, rows int64, chw [3]int64) []T {
	c, h, wd := chw[0], chw[1], chw[2]
	k := c * h * wd
	y := make([]T, len(w))
	for r := range rows {
		for ic := range c {
			for ih := range h {
				for iw := range wd {
					y[r*k+(ih*wd+iw)*c+ic] = w[r*k+(ic*h+ih)*wd+iw]
				}
			}
		}
	}
	return y
}
