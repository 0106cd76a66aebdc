package lower

import (
	"fmt"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// Lowerings of convolutions and fully connected layers: CONV_2D,
// DEPTHWISE_CONV_2D and FULLY_CONNECTED, with their weight re-layouts.

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

// flattenIntoFC reports whether n flattens a 4-D value with H, W > 1 into
// [N, C·H·W] read only by fully connected layers with constant weights.
// Flattening NHWC gives the elements in (h, w, c) order rather than ONNX's
// (c, h, w); those layers take their weight columns in the same order
// instead (l.nhwcColumns), so no TRANSPOSE is needed.
func (l *lowerer) flattenIntoFC(n *ir.Node, in, out ir.Shape) bool {
	if len(in) != 4 || len(out) != 2 || (in[2].Size == 1 && in[3].Size == 1) || out[0].Size != in[0].Size || l.g.IsOutput(n.Outputs[0]) ||
		!l.layoutOf(n.Inputs[0]).equal(channelsLast(4)) || !l.layoutOf(n.Outputs[0]).isIdentity() {
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
