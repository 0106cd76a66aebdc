package quant

import (
	"math"

	"github.com/litefy/litefy/ir"
)

// The int8 kernels of LEAKY_RELU and GELU: both are a 256-entry table of
// the input code, built the way each runtime computes the op.

// prepareTable simulates a one-input op whose int8 output depends on the
// input code alone, through the table of the options' profile.
func (s *Simulator) prepareTable(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	var lut *[256]int8
	iq, oq := n.Inputs[0].Quant, n.Outputs[0].Quant
	switch n.Op {
	case "LeakyRelu":
		lut = s.opt.leakyReluLUT(iq, oq, n.Attrs.Float("alpha", 0.01))
	case "Gelu":
		lut = s.opt.geluLUT(iq, oq, n.Attrs.Str("approximate", "none") == "tanh")
	default:
		return nil, n.Errorf("quant: no int8 table for %s", n.Op)
	}
	return func() {
		for i, x := range in {
			out[i] = lut[uint8(x)]
		}
	}, nil
}

// leakyReluLUT tabulates LEAKY_RELU:
//   - TFLite (leaky_relu.cc, QuantizeLeakyRelu): x − z_in rescaled by the
//     fixed-point multiplier of s_in/s_out where it is ≥ 0 and of
//     s_in·α/s_out (float32 product) below, plus z_out;
//   - XNNPACK (the qs8-vlrelu kernels, when the delegate takes the node:
//     s_in/s_out in [2⁻⁸, 2⁷) and |α·s_in/s_out| in [2⁻⁸, 2⁷]): multipliers
//     lrintf(−256·ratio), (z_in − x)·128·m + 2¹⁴ shifted right by 15, plus
//     z_out; otherwise TFLite's kernel runs;
//   - Arm NN: decoded, max(x, αx) in float32, encoded.
func (o SimOptions) leakyReluLUT(in, out *ir.QuantParams, alpha float32) *[256]int8 {
	if o.profile() == ProfileArmNNRef {
		return armnnLUT(in, out, func(x float32) float32 {
			if x > 0 {
				return x
			}
			return alpha * x
		})
	}
	var lut [256]int8
	zi, zo := int32(in.ZeroPoint[0]), int32(out.ZeroPoint[0])
	pos := in.Scale[0] / out.Scale[0]
	neg := pos * alpha
	if o.profile() == ProfileXNNPACK && xnnLeakyReluDelegated(pos, neg) {
		mp := int32(math.RoundToEven(float64(-256 * pos)))
		mn := int32(math.RoundToEven(float64(-256 * neg)))
		for q := -128; q <= 127; q++ {
			v := (zi - int32(q)) * 128
			m := mn
			if v <= 0 {
				m = mp
			}
			lut[uint8(int8(q))] = sat8((v*m+1<<14)>>15 + zo)
		}
		return &lut
	}
	id := NewMultiplier(float64(in.Scale[0] / out.Scale[0]))
	al := NewMultiplier(float64(in.Scale[0] * alpha / out.Scale[0]))
	for q := -128; q <= 127; q++ {
		v := int32(q) - zi
		m := id
		if v < 0 {
			m = al
		}
		lut[uint8(int8(q))] = sat8(m.Apply(v) + zo)
	}
	return &lut
}

// xnnLeakyReluDelegated is xnn_create_leaky_relu_nc_qs8's range check.
func xnnLeakyReluDelegated(pos, neg float32) bool {
	const lo, hi = 1.0 / 256, 128
	return pos >= lo && pos < hi && neg > -hi && neg <= hi && float32(math.Abs(float64(neg))) >= lo
}

// geluLUT is TFLite's GELU table (gelu.cc: LUTPopulate of
// reference_ops::GeluTransform, 0.5f·x·erfcf(−x/√2) in float32, or of
// GeluTransformApproximate, the tanh form in float32). XNNPACK does not
// take an int8 GELU, and Arm NN 20.08 has no GELU, so every profile uses
// this table.
func (o SimOptions) geluLUT(in, out *ir.QuantParams, approximate bool) *[256]int8 {
	f := func(x float32) float32 {
		const c = float32(-0.70710678118654752440)
		return 0.5 * x * float32(math.Erfc(float64(x*c)))
	}
	if approximate {
		f = func(x float32) float32 {
			const k = float32(0.7978845608028654) // √(2/π)
			return 0.5 * x * (1 + float32(math.Tanh(float64(k*(x+0.044715*x*x*x)))))
		}
	}
	return buildLUT(in, out, f)
}

// prepareReduceMean simulates an int8 MEAN over any axes: the reduced
// axes are gathered to the end (the sum is an exact integer in TFLite's
// and XNNPACK's kernels, and Arm NN's float32 sum runs over the reduced
// elements in row-major order, which the gather keeps), then each output
// is the profile's MEAN of its reduced elements.
func (s *Simulator) prepareReduceMean(n *ir.Node) (func(), error) {
	x, out := n.Inputs[0], n.Outputs[0]
	red, err := ir.ReduceAxes(n)
	if err != nil {
		return nil, err
	}
	in, dst := s.vals[x], s.vals[out]
	if red == nil {
		if err := sameParams(n, x, out); err != nil {
			return nil, err
		}
		return func() { copy(dst, in) }, nil
	}
	shape := x.Type.Shape.Sizes()
	count := 1
	for d, r := range red {
		if r {
			count *= int(shape[d])
		}
	}
	planes := len(dst)
	// idx[p·count + j] is the input index of reduced element j of output p.
	idx := make([]int32, len(in))
	strides := make([]int, len(shape))
	st := 1
	for d := len(shape) - 1; d >= 0; d-- {
		strides[d] = st
		st *= int(shape[d])
	}
	var kept, reduced []int
	for d, r := range red {
		if r {
			reduced = append(reduced, d)
		} else {
			kept = append(kept, d)
		}
	}
	k := 0
	var walk func(dims []int, base int, leaf func(int))
	walk = func(dims []int, base int, leaf func(int)) {
		if len(dims) == 0 {
			leaf(base)
			return
		}
		for i := range int(shape[dims[0]]) {
			walk(dims[1:], base+i*strides[dims[0]], leaf)
		}
	}
	walk(kept, 0, func(b int) {
		walk(reduced, b, func(i int) {
			idx[k] = int32(i)
			k++
		})
	})
	buf := make([]int8, len(in))
	mean := s.opt.meanKernel(buf, dst, planes, count, x.Quant, out.Quant)
	return func() {
		for j, i := range idx {
			buf[j] = in[i]
		}
		mean()
	}, nil
}
