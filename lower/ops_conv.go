package lower

import (
	"fmt"
	"unsafe"

	flatbuffers "github.com/google/flatbuffers/go"

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
	depthwise := group != 1 && group == cin && ws[1] == 1 && cout%cin == 0
	if group != 1 && !depthwise && (group <= 0 || cin%group != 0 || cout%group != 0 || ws[1] != cin/group) {
		return fmt.Errorf("grouped convolution (group=%d, %d input channels, weights %v) is malformed", group, cin, ws)
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
		if lay := l.deferLayout(wv.Const, o, ci, kh, kw, wh, ww, depthwise, group); lay != nil {
			wt = l.addTensor(&Tensor{Name: wv.Name, Type: fb.TensorTypeFLOAT32, Shape: wshape, lay: lay})
		} else {
			wt = l.float32Tensor(wv.Name, wshape, relayoutConv(readFloat32s(wv.Const), o, ci, kh, kw, wh, ww, depthwise))
		}
		bias := make([]float32, o)
		if b != nil {
			bias = b.Const.AsFloat32s()
		}
		bt = l.float32Tensor(bname, []int32{int32(o)}, bias)
	}
	var w, bias *Tensor
	native := group != 1 && !depthwise && l.nativeGroups()
	if group != 1 && !depthwise && !native {
		// The groups take rows of the weights and bias, the last two
		// tensors added, instead of the whole.
		if bt != wt+1 || int(bt) != len(l.m.Tensors)-1 {
			return fmt.Errorf("weights and bias are not the last tensors (a litefy bug)")
		}
		w, bias = l.m.Tensors[wt], l.m.Tensors[bt]
		l.m.Tensors = l.m.Tensors[:wt]
	}
	act, out := l.fuse(n)
	conv := convOptions{padding: plan.padding, strideH: int32(win[0].s), strideW: int32(win[1].s),
		act: act, dilationH: int32(win[0].d), dilationW: int32(win[1].d)}
	if w != nil {
		l.groupedConv(n, int(group), xt, w, bias, conv, out)
		return nil
	}
	if depthwise {
		l.emit(n, fb.BuiltinOperatorDEPTHWISE_CONV_2D, &depthwiseOptions{conv, int32(cout / cin)}, []int32{xt, wt, bt}, out)
		if conv.dilationH != 1 || conv.dilationW != 1 {
			l.m.Operators[len(l.m.Operators)-1].Version = 2
		}
	} else {
		l.emit(n, fb.BuiltinOperatorCONV_2D, &conv, []int32{xt, wt, bt}, out)
		if native {
			// op_version.cc: a filter of fewer input channels than the
			// input is a grouped convolution, version 6 (int8 too).
			l.m.Operators[len(l.m.Operators)-1].Version = 6
		}
	}
	return nil
}

// isGroupedConv2D reports whether op is a CONV_2D whose filter has fewer
// input channels than its input (groups = the ratio), as op_version.cc
// tells a grouped convolution.
func isGroupedConv2D(m *Model, op *Operator) bool {
	if op.Builtin != fb.BuiltinOperatorCONV_2D || len(op.Inputs) < 2 {
		return false
	}
	x, w := m.Tensors[op.Inputs[0]].Shape, m.Tensors[op.Inputs[1]].Shape
	return len(x) == 4 && len(w) == 4 && x[3] != w[3]
}

// groupedNotDepthwise reports whether n is a Conv with groups that is not
// depthwise (the form Options.GroupedConv2D lowers as one CONV_2D).
func groupedNotDepthwise(n *ir.Node) bool {
	if n.Op != "Conv" || len(n.Inputs[0].Type.Shape) != 4 || n.Inputs[1].Const == nil || len(n.Inputs[1].Const.Shape) != 4 {
		return false
	}
	group, cin := n.Attrs.Int("group", 1), n.Inputs[0].Type.Shape[1].Size
	ws := n.Inputs[1].Const.Shape
	depthwise := group == cin && ws[1] == 1 && ws[0]%cin == 0
	return group != 1 && !depthwise
}

// nativeGroups reports whether a grouped convolution lowers as one CONV_2D
// (Options.GroupedConv2D). Hybrid graphs keep the SPLIT form: litefy has
// not checked that TFLite's hybrid CONV_2D kernel takes groups.
func (l *lowerer) nativeGroups() bool {
	return l.opt.GroupedConv2D && l.opt.Weights != WeightsDynamic
}

// groupedConv lowers a grouped convolution that is not depthwise, unless
// Options.GroupedConv2D asks for the one CONV_2D version 6, as SPLIT of
// the channels-last input into the groups, one CONV_2D per group with its
// rows of the OHWI weights and bias (int8: their per-channel scales) and
// CONCATENATION of the results. TFLite's CONV_2D takes groups itself from
// version 6 (TFLite 2.9): LiteRT.js runs that form right and faster
// ([1,64,28,28], group 8: 11 vs 14–24 ms), but Arm NN 20.08 loads it and
// computes something else (max |Δ| 1.5), and older runtimes lack it
// (internal/e2e TestTFLiteGroupedConv).
func (l *lowerer) groupedConv(n *ir.Node, group int, xt int32, w, b *Tensor, conv convOptions, out int32) {
	name := nodeName(n)
	xs, os := l.m.Tensors[xt].Shape, l.m.Tensors[out].Shape
	opg, cpg := w.Shape[0]/int32(group), xs[3]/int32(group)
	parts := make([]int32, group)
	for g := range parts {
		parts[g] = l.like(xt, fmt.Sprintf("%s/group%d/input", name, g), []int32{xs[0], xs[1], xs[2], cpg})
	}
	at := l.int32Tensor(name+"/split_axis", []int32{}, []int32{3})
	l.emit(n, fb.BuiltinOperatorSPLIT, &splitOptions{numSplits: int32(group)}, []int32{at, xt}, parts...)
	rowBytes := len(w.Data) / int(w.Shape[0])
	biasBytes := len(b.Data) / int(b.Shape[0])
	outs := make([]int32, group)
	for g := range parts {
		lo, hi := g*int(opg), (g+1)*int(opg)
		gw := &Tensor{Name: fmt.Sprintf("%s/group%d", w.Name, g), Type: w.Type, Shape: []int32{opg, w.Shape[1], w.Shape[2], w.Shape[3]},
			Data: w.Data[lo*rowBytes : hi*rowBytes], Quant: sliceQuant(w.Quant, lo, hi)}
		gb := &Tensor{Name: fmt.Sprintf("%s/group%d", b.Name, g), Type: b.Type, Shape: []int32{opg},
			Data: b.Data[lo*biasBytes : hi*biasBytes], Quant: sliceQuant(b.Quant, lo, hi)}
		outs[g] = l.like(out, fmt.Sprintf("%s/group%d", name, g), []int32{os[0], os[1], os[2], opg})
		c := conv
		l.emit(n, fb.BuiltinOperatorCONV_2D, &c, []int32{parts[g], l.addTensor(gw), l.addTensor(gb)}, outs[g])
	}
	l.emit(n, fb.BuiltinOperatorCONCATENATION, &concatOptions{axis: 3}, outs, out)
}

// sliceQuant returns the per-channel parameters of channels [lo, hi) (q
// itself when it is per tensor).
func sliceQuant(q *Quantization, lo, hi int) *Quantization {
	if q == nil || len(q.Scale) <= 1 {
		return q
	}
	return &Quantization{Scale: q.Scale[lo:hi], ZeroPoint: q.ZeroPoint[lo:hi], Dim: q.Dim}
}

// readFloat32s returns t's values to read: its own for a float32 tensor
// (no copy), else converted.
func readFloat32s(t *ir.Tensor) []float32 {
	if t.DType == ir.Float32 {
		return t.Float32s()
	}
	return t.AsFloat32s()
}

// relayoutConv lays out OIHW weights as OHWI, or as 1HW(C·M) for a
// depthwise convolution, widening the kernel with zero taps. 1×1 kernels
// are OHWI already: it returns src itself (most of a MobileNet's or
// EfficientNet's weights, which the file then takes without a copy).
func relayoutConv[T any](src []T, o, ci, kh, kw int64, wh, ww widening, depthwise bool) []T {
	if !depthwise && kh == 1 && kw == 1 && wh == (widening{}) && ww == (widening{}) {
		return src
	}
	kh2, kw2 := kh+wh.before+wh.after, kw+ww.before+ww.after
	dst := make([]T, o*ci*kh2*kw2)
	relayoutConvInto(dst, src, o, ci, kh, kw, wh, ww, depthwise)
	return dst
}

// relayoutConvInto is relayoutConv into dst, zeroed where the kernel is
// widened.
func relayoutConvInto[T any](dst, src []T, o, ci, kh, kw int64, wh, ww widening, depthwise bool) {
	kh2, kw2 := kh+wh.before+wh.after, kw+ww.before+ww.after
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
}

// convLayout is float32 convolution weights in OIHW, which the file takes
// laid out as relayoutConv does (not widened) (Options.LayOutInFile).
type convLayout struct {
	src           []float32 // the graph constant's own
	o, ci, kh, kw int64
	depthwise     bool
}

// deferLayout returns the layout of the float32 weights w for the encoder
// to write, when Options.LayOutInFile asks for it and they take one: not
// 1×1 kernels (the file takes the constant's bytes), widened ones or the
// groups of a split grouped convolution (whose rows the lowering slices).
func (l *lowerer) deferLayout(w *ir.Tensor, o, ci, kh, kw int64, wh, ww widening, depthwise bool, group int64) *convLayout {
	switch {
	case !l.opt.LayOutInFile || l.int8 || (l.opt.Weights != "" && l.opt.Weights != WeightsFloat32) || w.DType != ir.Float32:
		return nil
	case wh != (widening{}) || ww != (widening{}) || !depthwise && kh == 1 && kw == 1:
		return nil
	case group != 1 && !depthwise && !l.nativeGroups():
		return nil
	}
	return &convLayout{src: w.Float32s(), o: o, ci: ci, kh: kh, kw: kw, depthwise: depthwise}
}

// size is the layout's size in bytes.
func (c *convLayout) size() int { return 4 * len(c.src) }

// write writes the layout into b as an aligned byte vector: the constant's
// bytes, to take the vector's place, then laid out over them.
func (c *convLayout) write(b *flatbuffers.Builder) flatbuffers.UOffsetT {
	src := unsafe.Slice((*byte)(unsafe.Pointer(unsafe.SliceData(c.src))), c.size())
	off := alignedByteVector(b, src)
	at := len(b.Bytes) - int(off) + flatbuffers.SizeUOffsetT
	dst := b.Bytes[at : at+len(src)]
	if len(dst) == 0 {
		return off
	}
	if uintptr(unsafe.Pointer(&dst[0]))%4 != 0 {
		// Not reached: the vectors are 16-byte aligned in a buffer that
		// ends on 16 bytes (Model.encode).
		laid := relayoutConv(c.src, c.o, c.ci, c.kh, c.kw, widening{}, widening{}, c.depthwise)
		copy(dst, unsafe.Slice((*byte)(unsafe.Pointer(&laid[0])), len(dst)))
		return off
	}
	relayoutConvInto(unsafe.Slice((*float32)(unsafe.Pointer(&dst[0])), len(c.src)), c.src, c.o, c.ci, c.kh, c.kw, widening{}, widening{}, c.depthwise)
	return off
}

// fullyConnected emits FULLY_CONNECTED with float weights [out, in] and
// bias (nil: zeros); in a quantized graph the weights are wv's int8 form,
// laid out the same way (transposed when transB is 0).
func (l *lowerer) fullyConnected(n *ir.Node, wv *ir.Value, transB bool, weights []float32, nout, nin int64, bias []float32, wname, bname string) error {
	s := n.Inputs[0].Type.Shape.Sizes()
	if len(s) < 2 || s[len(s)-1] != nin {
		return fmt.Errorf("input %v: FULLY_CONNECTED takes a matrix of %d columns", s, nin)
	}
	rows := int64(ir.NumElements(s)) / nin
	var xt int32
	var err error
	if len(s) == 2 {
		if xt, err = l.input(n, 0); err != nil {
			return err
		}
	} else {
		// [..., K] in the ONNX order as a [rows, K] matrix, the result
		// reshaped back after.
		if xt, err = l.inputAs(n, 0, nil); err != nil {
			return err
		}
		flat := []int32{int32(rows), int32(nin)}
		x2 := l.like(xt, nodeName(n)+"/2d", flat)
		l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: flat}, []int32{xt, l.int32Tensor(nodeName(n)+"/2d/shape", []int32{2}, flat)}, x2)
		xt = x2
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
	if len(s) == 2 {
		act, out := l.fuse(n)
		l.emit(n, fb.BuiltinOperatorFULLY_CONNECTED, &fullyConnectedOptions{act: act}, []int32{xt, wt, bt}, out)
		return nil
	}
	os := n.Outputs[0].Type.Shape.Sizes()
	act, out := fb.ActivationFunctionTypeNONE, int32(-1)
	lout := l.layoutOf(n.Outputs[0])
	if lout.orderEquivalent(os) {
		act, out = l.fuse(n)
	}
	y2 := l.temp(nodeName(n)+"/fc", []int32{int32(rows), int32(nout)}, n.Outputs[0].Quant)
	l.emit(n, fb.BuiltinOperatorFULLY_CONNECTED, &fullyConnectedOptions{act: act}, []int32{xt, wt, bt}, y2)
	if out >= 0 {
		shape := lout.permuted(os)
		l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: shape}, []int32{y2, l.int32Tensor(nodeName(n)+"/shape", []int32{int32(len(shape))}, shape)}, out)
		return nil
	}
	id := identityLayout(len(os))
	shape := id.permuted(os)
	y := l.like(y2, nodeName(n)+"/onnx_order", shape)
	l.emit(n, fb.BuiltinOperatorRESHAPE, &reshapeOptions{shape: shape}, []int32{y2, l.int32Tensor(nodeName(n)+"/shape", []int32{int32(len(shape))}, shape)}, y)
	l.writeFrom(n, n.Outputs[0], y, id)
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
	w := readFloat32s(b.Const) // copied below where it changes
	nout, nin := b.Const.Shape[0], b.Const.Shape[1]
	if !transB {
		nin, nout = nout, nin
		w = transpose2D(w, nin, nout)
	} else if alpha != 1 {
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

// matmul lowers MatMul: FULLY_CONNECTED for a constant 2-D right operand
// (with RESHAPEs around it for a left operand of rank > 2), BATCH_MATMUL
// of two activations, both in the ONNX order.
func (l *lowerer) matmul(n *ir.Node) error {
	b := n.Inputs[1]
	if b.Const == nil {
		return l.batchMatMul(n)
	}
	if b.Const.DType != ir.Float32 || len(b.Const.Shape) != 2 {
		return fmt.Errorf("only a 2-D float32 constant right operand lowers (FULLY_CONNECTED); %s is not", b)
	}
	nin, nout := b.Const.Shape[0], b.Const.Shape[1]
	return l.fullyConnected(n, b, false, transpose2D(readFloat32s(b.Const), nin, nout), nout, nin, nil, b.Name, nodeName(n)+"/bias")
}

// batchMatMul lowers MatMul of two activations of rank 2 to 4 to
// BATCH_MATMUL, which broadcasts the batch dims; a lower-rank operand is
// given leading size-1 dims first.
func (l *lowerer) batchMatMul(n *ir.Node) error {
	if n.Inputs[0].Const != nil {
		return fmt.Errorf("a constant left operand %s does not lower", n.Inputs[0])
	}
	r := len(n.Outputs[0].Type.Shape)
	id := identityLayout(r)
	var ins []int32
	for i := range 2 {
		ri := len(n.Inputs[i].Type.Shape)
		if ri < 2 {
			return fmt.Errorf("operand %s has rank %d; only matrices (rank ≥ 2) lower to BATCH_MATMUL", n.Inputs[i], ri)
		}
		var t int32
		var err error
		if ri == r {
			t, err = l.inputAs(n, i, id)
		} else {
			t, err = l.broadcastAs(n, i, id)
		}
		if err != nil {
			return err
		}
		ins = append(ins, t)
	}
	y := l.activation(n.Outputs[0])
	if !l.layoutOf(n.Outputs[0]).isIdentity() {
		y = l.like(l.activation(n.Outputs[0]), nodeName(n)+"/onnx_order", id.permuted(n.Outputs[0].Type.Shape.Sizes()))
	}
	l.emit(n, fb.BuiltinOperatorBATCH_MATMUL, batchMatMulOptions{}, ins, y)
	if !l.layoutOf(n.Outputs[0]).isIdentity() {
		l.writeFrom(n, n.Outputs[0], y, id)
	}
	return nil
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
