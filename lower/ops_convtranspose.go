package lower

import (
	"fmt"

	"github.com/litefy/litefy/ir"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
)

// transposeConvPad is the begin padding TFLite's TRANSPOSE_CONV crops for
// an output of out positions (ComputePaddingHeightWidth with the output
// as the input of the forward convolution; C++ division truncates).
func transposeConvPad(padding fb.Padding, out, k, s int64) int64 {
	n := (out + s - 1) / s
	if padding == fb.PaddingVALID {
		n = (out - k + s) / s
	}
	return max(0, (n-1)*s+k-out) / 2
}

// convTranspose lowers a 2-D ConvTranspose of group 1 to TRANSPOSE_CONV:
// weights [Cin, Cout, kH, kW] as [Cout, kH, kW, Cin] (dilated with zero
// taps), the ONNX bias as the fourth input (version 3). TFLite places the
// windows for an output size by SAME or VALID padding; where neither
// crops ONNX's begin padding, the output is computed uncropped at the
// begin (VALID) and a STRIDED_SLICE crops it.
func (l *lowerer) convTranspose(n *ir.Node) error {
	if g := n.Attrs.Int("group", 1); g != 1 {
		return fmt.Errorf("group=%d: TRANSPOSE_CONV has no groups", g)
	}
	wv := n.Inputs[1]
	if wv.Const == nil || wv.Const.DType != ir.Float32 || len(wv.Const.Shape) != 4 {
		return fmt.Errorf("only 2-D convolutions with float32 constant weights lower (weights %s)", wv)
	}
	win, err := ir.ConvTransposeWindows(n)
	if err != nil {
		return err
	}
	ws := wv.Const.Shape
	ci, co := ws[0], ws[1]
	// The dilated kernel.
	var k [2]int64
	for i, a := range win {
		k[i] = (a.K-1)*a.D + 1
	}
	padding, crop := fb.PaddingVALID, false
	switch {
	case transposeConvPad(fb.PaddingVALID, win[0].Out, k[0], win[0].S) == win[0].PadBegin &&
		transposeConvPad(fb.PaddingVALID, win[1].Out, k[1], win[1].S) == win[1].PadBegin:
	case transposeConvPad(fb.PaddingSAME, win[0].Out, k[0], win[0].S) == win[0].PadBegin &&
		transposeConvPad(fb.PaddingSAME, win[1].Out, k[1], win[1].S) == win[1].PadBegin:
		padding = fb.PaddingSAME
	default:
		crop = true
		for i, a := range win {
			if transposeConvPad(fb.PaddingVALID, a.PadBegin+a.Out, k[i], a.S) != 0 {
				return fmt.Errorf("no TFLite padding places the windows along spatial axis %d", i)
			}
		}
	}
	kh, kw := ws[2], ws[3]
	// relayout moves the IOHW weights to O·kH'·kW'·I, dilated with zero taps.
	relayout := func(set func(dst, src int)) {
		for i := range ci {
			for o := range co {
				for y := range kh {
					for x := range kw {
						y2, x2 := y*win[0].D, x*win[1].D
						set(int(((o*k[0]+y2)*k[1]+x2)*ci+i), int(((i*co+o)*kh+y)*kw+x))
					}
				}
			}
		}
	}
	xt, err := l.input(n, 0)
	if err != nil {
		return err
	}
	wshape := []int32{int32(co), int32(k[0]), int32(k[1]), int32(ci)}
	ins := []int32{0, 0, xt}
	b := n.Input(2)
	if b != nil && (b.Const == nil || b.Const.Len() != int(co)) {
		return fmt.Errorf("bias %s must be a constant of %d values", b, co)
	}
	if l.int8 {
		// Per output channel (TFLite's quantized dimension 0 of OHWI) and
		// an int32 bias of scale input·weight[c].
		wq, err := l.int8Const(wv)
		if err != nil {
			return err
		}
		if wq.PerChannel() && (wq.Axis != 1 || len(wq.Scale) != int(co)) {
			return fmt.Errorf("weights %s are quantized per channel on axis %d; TRANSPOSE_CONV needs the output channels (axis 1 of IOHW)", wv, wq.Axis)
		}
		w := make([]int8, co*k[0]*k[1]*ci)
		relayout(func(dst, src int) { w[dst] = wq.data[src] })
		ins[1] = l.int8Tensor(wv.Name, wshape, w, perChannel(wq.QuantParams, 0))
		if b != nil {
			bias, err := int32Const(b)
			if err != nil {
				return err
			}
			ins = append(ins, l.biasTensor(b.Name, bias, perChannel(b.Quant, 0)))
		}
	} else {
		wd := wv.Const.AsFloat32s()
		w := make([]float32, co*k[0]*k[1]*ci)
		relayout(func(dst, src int) { w[dst] = wd[src] })
		ins[1] = l.float32Tensor(wv.Name, wshape, w)
		if b != nil {
			ins = append(ins, l.float32Tensor(b.Name, []int32{int32(co)}, b.Const.AsFloat32s()))
		}
	}
	xs := l.m.Tensors[xt].Shape
	oshape := []int32{xs[0], int32(win[0].Out), int32(win[1].Out), int32(co)}
	out := l.activation(n.Outputs[0])
	y := out
	if crop {
		oshape[1], oshape[2] = int32(win[0].PadBegin+win[0].Out), int32(win[1].PadBegin+win[1].Out)
		y = l.like(out, nodeName(n)+"/uncropped", oshape)
	}
	ins[0] = l.int32Tensor(nodeName(n)+"/output_shape", []int32{4}, oshape)
	l.emit(n, fb.BuiltinOperatorTRANSPOSE_CONV, &transposeConvOptions{padding: padding, strideH: int32(win[0].S), strideW: int32(win[1].S)}, ins, y)
	if len(ins) == 4 {
		l.m.Operators[len(l.m.Operators)-1].Version = 3
	}
	if crop {
		sel := []ir.SliceDim{{First: 0, Count: int64(xs[0]), Step: 1}, {First: 0, Count: co, Step: 1},
			{First: win[0].PadBegin, Count: win[0].Out, Step: 1}, {First: win[1].PadBegin, Count: win[1].Out, Step: 1}}
		return l.stridedSlice(n, y, channelsLast(4), sel, -1, out)
	}
	return nil
}
