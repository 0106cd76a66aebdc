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
	need8 := make([]bool, len(n.Outputs)) // read by an int8 node, or a graph output
	for i, o := range n.Outputs {
		if o == nil {
			continue
		}
		out[i] = ir.NewTensor(o.Type.DType, o.Type.Shape.Sizes())
		s.fvals[o] = out[i]
		need8[i] = s.g.IsOutput(o)
		for _, u := range o.Uses() {
			need8[i] = need8[i] || !u.KeepFloat
		}
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
			if o == nil || !need8[i] {
				continue
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
