package quant

import (
	"math"

	"github.com/litefy/litefy/ir"
)

// Kept-float nodes (ir.Node.KeepFloat, lower.KeepFloat) run the reference
// interpreter's float32 kernel on their inputs as the file's float
// operators see them: an int8 value dequantized, (q − zero point)·scale in
// float32 as DEQUANTIZE computes it, a value computed in float as it is.
// Every float output is also quantized, as the QUANTIZE an int8 reader
// takes it through computes it: TFLite's kernel rounds x/scale half away
// from zero, XNNPACK's rounds x·(1/scale) to nearest even. The float
// kernels are the interpreter's, within float32 rounding of the runtime's
// own, so a code next to a rounding boundary can differ by one step from
// the runtime's (the int8 parts stay bit-exact on identical inputs).

// prepareFloat prepares the float step of a kept node.
func (s *Simulator) prepareFloat(n *ir.Node) (func(), error) {
	d := n.Def()
	if d == nil || d.Kernel == nil {
		return nil, n.Errorf("quant: no reference kernel for the kept-float node")
	}
	k, err := d.Kernel(n)
	if err != nil {
		return nil, err
	}
	if s.opt.profile() == ProfileXNNPACK && !s.opt.FastFloat {
		alt, err := XNNPACKKernel(n)
		if err != nil {
			return nil, err
		}
		if alt != nil {
			k = alt
		}
	}
	in := make([]*ir.Tensor, len(n.Inputs))
	var fills []func()
	for i, v := range n.Inputs {
		switch {
		case v == nil:
		case v.IsConst():
			in[i] = v.Const
		case s.fvals[v] != nil:
			in[i] = s.fvals[v]
		default:
			q, ok := s.vals[v]
			if !ok {
				return nil, n.Errorf("input %s is not computed before the node", v)
			}
			t := ir.NewTensor(v.Type.DType, v.Type.Shape.Sizes())
			in[i] = t
			switch v.Type.DType {
			case ir.Bool: // 0 and 1 bytes
				fills = append(fills, func() {
					for j, x := range q {
						t.Data[j] = byte(x)
					}
				})
			case ir.Float32:
				sc, zp := v.Quant.Scale[0], int32(v.Quant.ZeroPoint[0])
				fills = append(fills, func() {
					f := t.Float32s()
					for j, x := range q {
						f[j] = float32(int32(x)-zp) * sc
					}
				})
			default:
				return nil, n.Errorf("quant: input %s is %s; a kept-float node reads float32 or bool", v, v.Type.DType)
			}
		}
	}
	out := make([]*ir.Tensor, len(n.Outputs))
	for i, o := range n.Outputs {
		if o == nil {
			continue
		}
		out[i] = ir.NewTensor(o.Type.DType, o.Type.Shape.Sizes())
		s.fvals[o] = out[i]
	}
	xnn := s.opt.profile() == ProfileXNNPACK
	return func() {
		for _, f := range fills {
			f()
		}
		if err := k(s.exec, in, out); err != nil && s.err == nil {
			s.err = n.Errorf("%v", err)
		}
		for i, o := range n.Outputs {
			if o == nil {
				continue // every output is quantized, as an int8 reader or an int8 output would see it (Int8)
			}
			switch {
			case o.Type.DType == ir.Bool:
				for j, b := range out[i].Data {
					s.vals[o][j] = int8(b)
				}
			case o.Quant != nil && xnn:
				quantizeXNNPACK(s.vals[o], out[i].Float32s(), o.Quant.Scale[0], o.Quant.ZeroPoint[0])
			case o.Quant != nil:
				QuantizeFloats(s.vals[o], out[i].Float32s(), o.Quant.Scale[0], o.Quant.ZeroPoint[0])
			}
		}
	}, nil
}

// quantizeXNNPACK quantizes f into q as XNNPACK's f32→qs8 conversion does:
// x·(1/scale) in float32, clamped, rounded to nearest even, plus the zero
// point, saturated.
func quantizeXNNPACK(q []int8, f []float32, scale float32, zp int64) {
	inv := 1 / scale
	for i, x := range f {
		y := x * inv
		y = max(-2147483520, min(2147483520, y)) // NaN stays NaN: it saturates below
		q[i] = sat8(int32(math.RoundToEven(float64(y))) + int32(zp))
	}
}

// XNNPACKKernel returns, for a node whose float32 arithmetic XNNPACK does
// in an order of its own, a kernel that computes it so (a convolution,
// xnnpackConvF32), and nil for the others: ir.SessionOptions.Kernel with
// it runs a float graph as LiteRT.js's XNNPACK computes its convolutions.
func XNNPACKKernel(n *ir.Node) (ir.Kernel, error) {
	if n.Op == "Conv" && len(n.Inputs[0].Type.Shape) == 4 && n.Inputs[1].IsConst() {
		return xnnpackConvF32(n)
	}
	return nil, nil
}

// xnnpackConvF32 is a float32 convolution as XNNPACK computes it (the
// order TestTFLiteFloatOrder pins in LiteRT.js and tfjs-tflite): each
// output starts from its bias and adds one rounded product after another,
// no fused multiply-add, padding taps included as products with 0, in the
// order (ky, kx, c) for a dense or grouped convolution and (kx, ky) for a
// depthwise one. The interpreter's convolution sums in another order, and
// one rounding apart is enough to move a code at a QUANTIZE after a kept
// node, which the int8 layers after it can amplify.
func xnnpackConvF32(n *ir.Node) (ir.Kernel, error) {
	g, err := convGeometry(n)
	if err != nil {
		return nil, err
	}
	w := n.Inputs[1].Const.AsFloat32s()
	bias := make([]float32, g.O)
	if b := n.Input(2); b != nil {
		if !b.IsConst() {
			return nil, n.Errorf("quant: a convolution's bias must be a constant")
		}
		copy(bias, b.Const.AsFloat32s())
	}
	depthwise := g.group != 1 && g.group == g.C && g.cpg == 1 // as the lowering decides: DEPTHWISE_CONV_2D
	type tap struct{ c, ky, kx int }
	var taps []tap
	if depthwise {
		for kx := range g.KW {
			for ky := range g.KH {
				taps = append(taps, tap{0, ky, kx})
			}
		}
	} else {
		for ky := range g.KH {
			for kx := range g.KW {
				for c := range g.cpg {
					taps = append(taps, tap{c, ky, kx})
				}
			}
		}
	}
	return func(_ *ir.Exec, in, out []*ir.Tensor) error {
		x, y := in[0].Float32s(), out[0].Float32s()
		for b := range g.N {
			for o := range g.O {
				c0 := o / g.opg * g.cpg
				for oy := range g.OH {
					for ox := range g.OW {
						acc := bias[o]
						for _, t := range taps {
							iy, ix := oy*g.sy+t.ky*g.dy-g.pt, ox*g.sx+t.kx*g.dx-g.pl
							xv := float32(0)
							if iy >= 0 && iy < g.H && ix >= 0 && ix < g.W {
								xv = x[((b*g.C+c0+t.c)*g.H+iy)*g.W+ix]
							}
							p := float32(xv * w[((o*g.cpg+t.c)*g.KH+t.ky)*g.KW+t.kx]) // rounded: Go may not fuse it into the add
							acc += p
						}
						y[((b*g.O+o)*g.OH+oy)*g.OW+ox] = acc
					}
				}
			}
		}
		return nil
	}, nil
}
