package quant

import (
	"math"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// The int8 kernels of the simulation table (simKernels), one prepare
// method per op family.

func (s *Simulator) prepareCopy(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	if err := sameParams(n, n.Inputs[0], n.Outputs[0]); err != nil {
		return nil, err
	}
	return func() { copy(out, in) }, nil
}

func (s *Simulator) prepareTranspose(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	if err := sameParams(n, n.Inputs[0], n.Outputs[0]); err != nil {
		return nil, err
	}
	idx := transposeIndex(n.Inputs[0].Type.Shape.Sizes(), n.Attrs.Ints("perm"))
	return func() {
		for i, j := range idx {
			out[i] = in[j]
		}
	}, nil
}

func (s *Simulator) prepareClamp(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	if lower.IsFusedActivation(n) {
		return func() { copy(out, in) }, nil // the producer clamped already
	}
	if err := sameParams(n, n.Inputs[0], n.Outputs[0]); err != nil {
		return nil, err
	}
	lo, hi := boundsOf(n, n.Outputs[0])
	return func() {
		for i, x := range in {
			out[i] = int8(clamp(int32(x), lo, hi))
		}
	}, nil
}

func (s *Simulator) prepareHardSwish(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	x, o := n.Inputs[0], n.Outputs[0]
	if s.opt.profile() == ProfileArmNNRef {
		lut := armnnLUT(x.Quant, o.Quant, armnnFunc(n.Op))
		return func() {
			for i, x := range in {
				out[i] = lut[uint8(x)]
			}
		}, nil
	}
	p := newHardSwishParams(x.Quant.Scale[0], o.Quant.Scale[0], zp(x), zp(o))
	if p.outExp > 0 {
		return nil, n.Errorf("quant: HARD_SWISH needs an output scale of at least input scale/128")
	}
	var lut [256]int8
	for q := -128; q <= 127; q++ {
		lut[uint8(int8(q))] = p.apply(int8(q))
	}
	return func() {
		for i, x := range in {
			out[i] = lut[uint8(x)]
		}
	}, nil
}

func (s *Simulator) prepareLUT(n *ir.Node) (func(), error) {
	out := s.vals[n.Outputs[0]]
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	lut := s.opt.tableLUT(n.Op, n.Inputs[0].Quant, n.Outputs[0].Quant)
	return func() {
		for i, x := range in {
			out[i] = lut[uint8(x)]
		}
	}, nil
}

// sigmoid32 is 1/(1+exp(−x)) in float32, as the table TFLite builds.
func sigmoid32(x float32) float32 { return 1 / (1 + float32(math.Exp(float64(-x)))) }

// buildLUT is TFLite's LUTPopulate for int8: dequantize every code in
// float, apply f, requantize with round half away from zero, saturate.
func buildLUT(in, out *ir.QuantParams, f func(float32) float32) *[256]int8 {
	var lut [256]int8
	inv := 1 / out.Scale[0]
	for q := -128; q <= 127; q++ {
		x := in.Scale[0] * float32(int64(q)-in.ZeroPoint[0])
		r := float32(math.Round(float64(f(x) * inv)))
		lut[uint8(int8(q))] = sat8(int32(r) + int32(out.ZeroPoint[0]))
	}
	return &lut
}

func (s *Simulator) prepareBinary(n *ir.Node) (func(), error) {
	a, b, out := n.Inputs[0], n.Inputs[1], n.Outputs[0]
	qa, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	qb, err := s.input(n, 1)
	if err != nil {
		return nil, err
	}
	dst := s.vals[out]
	os := out.Type.Shape.Sizes()
	ia, ib := broadcastIndex(a.Type.Shape.Sizes(), os), broadcastIndex(b.Type.Shape.Sizes(), os)
	lo, hi := actRange(n)
	at := func(q []int8, idx []int32, i int) int8 {
		if idx == nil {
			return q[i]
		}
		return q[idx[i]]
	}
	f := s.opt.binaryKernel(n.Op, a.Quant, b.Quant, out.Quant, lo, hi)
	return func() {
		for i := range dst {
			dst[i] = f(at(qa, ia, i), at(qb, ib, i))
		}
	}, nil
}

// int8Mul is TFLite's int8 MUL: (x₁ − z₁)(x₂ − z₂) rescaled by s₁s₂/s_out.
func int8Mul(a, b, out *ir.QuantParams, lo, hi int32) func(x, y int8) int8 {
	m := NewMultiplier(float64(a.Scale[0]) * float64(b.Scale[0]) / float64(out.Scale[0]))
	offA, offB, outZp := -int32(a.ZeroPoint[0]), -int32(b.ZeroPoint[0]), int32(out.ZeroPoint[0])
	return func(x, y int8) int8 {
		p := (int32(x) + offA) * (int32(y) + offB)
		return int8(clamp(m.Apply(p)+outZp, lo, hi))
	}
}

// int8Add is TFLite's int8 ADD: both inputs left-shifted by 20 and
// rescaled to twice the larger input scale, summed, then rescaled to the
// output (the multipliers of add.cc's Prepare, in double). With sub, input
// 2's multiplier is negated (sub.cc's PrepareGeneralSubOp, op_sign −1).
func int8Add(a, b, out *ir.QuantParams, lo, hi int32, sub bool) func(x, y int8) int8 {
	const leftShift = 20
	sa, sb := float64(a.Scale[0]), float64(b.Scale[0])
	twiceMax := 2 * math.Max(sa, sb)
	ma := NewMultiplier(sa / twiceMax)
	mb := NewMultiplier(sb / twiceMax)
	if sub {
		mb.Q = -mb.Q
	}
	mo := NewMultiplier(twiceMax / (float64(int64(1)<<leftShift) * float64(out.Scale[0])))
	offA, offB, outZp := -int32(a.ZeroPoint[0]), -int32(b.ZeroPoint[0]), int32(out.ZeroPoint[0])
	return func(x, y int8) int8 {
		s1 := ma.Apply((int32(x) + offA) << leftShift)
		s2 := mb.Apply((int32(y) + offB) << leftShift)
		return int8(clamp(mo.Apply(s1+s2)+outZp, lo, hi))
	}
}

// prepareHardSigmoid simulates HardSigmoid as lowering emits it
// (lower.PlanHardSigmoid): [MUL by 6α] → ADD 6β with a fused RELU6 → MUL
// by 1/6, each an int8 kernel with its own output quantization.
func (s *Simulator) prepareHardSigmoid(n *ir.Node) (func(), error) {
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	out := s.vals[n.Outputs[0]]
	p := lower.PlanHardSigmoid(n)
	one := func(c lower.PlanConst) int8 {
		return sat8(int32(math.Round(float64(c.Value/c.Quant.Scale[0]))) + int32(c.Quant.ZeroPoint[0]))
	}
	x := n.Inputs[0].Quant
	var scaleStep func(int8) int8
	if p.Scale != nil {
		f, c := s.opt.binaryKernel("Mul", x, p.Scale.Quant, p.Scaled, -128, 127), one(*p.Scale)
		scaleStep = func(v int8) int8 { return f(v, c) }
		x = p.Scaled
	}
	r6lo, r6hi := max(-128, quantizeRealParams(p.Relu6, 0)), min(127, quantizeRealParams(p.Relu6, 6))
	add, cb := s.opt.binaryKernel("Add", x, p.Offset.Quant, p.Relu6, r6lo, r6hi), one(p.Offset)
	mul, cs := s.opt.binaryKernel("Mul", p.Relu6, p.Sixth.Quant, n.Outputs[0].Quant, -128, 127), one(p.Sixth)
	var lut [256]int8
	for q := -128; q <= 127; q++ {
		v := int8(q)
		if scaleStep != nil {
			v = scaleStep(v)
		}
		lut[uint8(int8(q))] = mul(add(v, cb), cs)
	}
	return func() {
		for i, v := range in {
			out[i] = lut[uint8(v)]
		}
	}, nil
}

func (s *Simulator) preparePool(n *ir.Node) (func(), error) {
	x, out := n.Inputs[0], n.Outputs[0]
	if len(x.Type.Shape) != 4 {
		return nil, n.Errorf("quant: only 2-D pooling is simulated")
	}
	if err := sameParams(n, x, out); err != nil {
		return nil, err
	}
	in, dst := s.vals[x], s.vals[out]
	N, C, H, W := dims4(x)
	_, _, OH, OW := dims4(out)
	KH, KW, sy, sx, pt, pl := H, W, 1, 1, 0, 0
	if n.Op != "GlobalAveragePool" && n.Op != "GlobalMaxPool" {
		KH, KW = ints2(n.Attrs.Ints("kernel_shape"), 1)
		sy, sx = ints2(n.Attrs.Ints("strides"), 1)
		if p := n.Attrs.Ints("pads"); len(p) == 4 {
			pt, pl = int(p[0]), int(p[1])
		}
		if n.Attrs.Int("count_include_pad", 0) != 0 && (pt > 0 || pl > 0) {
			return nil, n.Errorf("quant: count_include_pad=1 with padding has no TFLite form")
		}
	}
	isMax := n.Op == "MaxPool" || n.Op == "GlobalMaxPool"
	if n.Op == "GlobalAveragePool" {
		return s.opt.meanKernel(in, dst, N*C, H*W, x.Quant, out.Quant), nil
	}
	if !isMax && s.opt.profile() == ProfileArmNNRef {
		return armnnAveragePool(in, dst, N*C, H, W, OH, OW, KH, KW, sy, sx, pt, pl, x.Quant, out.Quant), nil
	}
	return func() {
		for bc := range N * C {
			plane := in[bc*H*W:][:H*W]
			for oy := range OH {
				y0, y1 := max(0, oy*sy-pt), min(H, oy*sy-pt+KH)
				for ox := range OW {
					x0, x1 := max(0, ox*sx-pl), min(W, ox*sx-pl+KW)
					var r int32
					if isMax {
						r = -128
						for y := y0; y < y1; y++ {
							for xx := x0; xx < x1; xx++ {
								r = max(r, int32(plane[y*W+xx]))
							}
						}
					} else {
						acc := int32(0)
						for y := y0; y < y1; y++ {
							for xx := x0; xx < x1; xx++ {
								acc += int32(plane[y*W+xx])
							}
						}
						cnt := int32((y1 - y0) * (x1 - x0))
						// AVERAGE_POOL_2D's rounding.
						if acc > 0 {
							r = (acc + cnt/2) / cnt
						} else {
							r = (acc - cnt/2) / cnt
						}
					}
					dst[(bc*OH+oy)*OW+ox] = int8(clamp(r, -128, 127))
				}
			}
		}
	}, nil
}

// meanHW is MEAN over H×W with keep_dims, as TFLite's optimized int8 Mean
// (the CPU path for 4-D inputs reduced over axes 1 and 2) computes it: the
// raw sum times in/(count·out) in fixed point, plus a float32-rounded
// bias out_zp − in_zp·in/out.
func meanHW(in, dst []int8, planes, count int, iq, oq *ir.QuantParams) func() {
	is, os := iq.Scale[0], oq.Scale[0]
	temp := float32(iq.ZeroPoint[0]) * is / os
	if temp > 0 {
		temp += 0.5
	} else {
		temp -= 0.5
	}
	bias := int32(oq.ZeroPoint[0]) - int32(temp)
	m := NewMultiplier(float64(is / (float32(count) * os)))
	return func() {
		for p := range planes {
			acc := int32(0)
			for _, v := range in[p*count : (p+1)*count] {
				acc += int32(v)
			}
			dst[p] = sat8(m.Apply(acc) + bias)
		}
	}
}

func (s *Simulator) prepareSwish(n *ir.Node) (func(), error) {
	x, out := n.Inputs[0], n.Outputs[0]
	in, dst := s.vals[x], s.vals[out]
	sig := lower.FixedOutputParams("Sigmoid")
	lut := s.opt.tableLUT("Sigmoid", x.Quant, sig)
	mul := s.opt.binaryKernel("Mul", x.Quant, sig, out.Quant, -128, 127)
	return func() {
		for i, v := range in {
			dst[i] = mul(v, lut[uint8(v)])
		}
	}, nil
}

func (s *Simulator) prepareSoftmax(n *ir.Node) (func(), error) {
	x, out := n.Inputs[0], n.Outputs[0]
	in, dst := s.vals[x], s.vals[out]
	shape := x.Type.Shape.Sizes()
	axis := int(n.Attrs.Int("axis", -1))
	if n.Opset() < 13 && !n.Attrs.Has("axis") {
		axis = 1
	}
	if axis < 0 {
		axis += len(shape)
	}
	if n.Opset() >= 13 && axis != len(shape)-1 {
		return nil, n.Errorf("quant: int8 SOFTMAX runs over the last axis only")
	}
	inner := 1
	for _, d := range shape[axis:] {
		inner *= int(d)
	}
	sc := float32(scale(x))
	buf := make([]float64, inner)
	return func() {
		for o := 0; o < len(in); o += inner {
			row := in[o : o+inner]
			m := int8(-128)
			for _, v := range row {
				m = max(m, v)
			}
			sum := 0.0
			for i, v := range row {
				buf[i] = math.Exp(float64(sc * float32(int32(v)-int32(m))))
				sum += buf[i]
			}
			for i := range row {
				dst[o+i] = sat8(int32(math.Round(buf[i]/sum*256)) - 128)
			}
		}
	}, nil
}

func (s *Simulator) prepareConcat(n *ir.Node) (func(), error) {
	out := n.Outputs[0]
	shape := out.Type.Shape.Sizes()
	axis := int(n.Attrs.Int("axis", 0))
	if axis < 0 {
		axis += len(shape)
	}
	outer := 1
	for _, d := range shape[:axis] {
		outer *= int(d)
	}
	var ins [][]int8
	var widths []int
	for i, v := range n.Inputs {
		b, err := s.input(n, i)
		if err != nil {
			return nil, err
		}
		if err := sameParams(n, v, out); err != nil {
			return nil, err
		}
		ins = append(ins, b)
		widths = append(widths, len(b)/outer)
	}
	dst := s.vals[out]
	return func() {
		k := 0
		for o := range outer {
			for i, b := range ins {
				k += copy(dst[k:], b[o*widths[i]:(o+1)*widths[i]])
			}
		}
	}, nil
}

func (s *Simulator) preparePad(n *ir.Node) (func(), error) {
	x, out := n.Inputs[0], n.Outputs[0]
	if err := sameParams(n, x, out); err != nil {
		return nil, err
	}
	var pads []int64
	if n.Opset() < 11 {
		pads = n.Attrs.Ints("pads")
	} else if p := n.Input(1); p != nil && p.IsConst() {
		pads = p.Const.AsInt64s()
	}
	if len(pads) != 8 || len(x.Type.Shape) != 4 {
		return nil, n.Errorf("quant: only constant 4-D padding is simulated")
	}
	for _, p := range pads {
		if p < 0 {
			return nil, n.Errorf("quant: negative padding is not simulated")
		}
	}
	value := float32(n.Attrs.Float("value", 0))
	if v := n.Input(2); n.Opset() >= 11 && v != nil && v.IsConst() {
		value = float32(v.Const.Float64At(0))
	}
	fill := sat8(quantizeReal(out, value))
	in, dst := s.vals[x], s.vals[out]
	N, C, H, W := dims4(x)
	_, _, OH, OW := dims4(out)
	b0, c0, y0, x0 := int(pads[0]), int(pads[1]), int(pads[2]), int(pads[3])
	OC := C + c0 + int(pads[5])
	return func() {
		for i := range dst {
			dst[i] = fill
		}
		for b := range N {
			for c := range C {
				for y := range H {
					copy(dst[(((b+b0)*OC+c+c0)*OH+y+y0)*OW+x0:][:W], in[((b*C+c)*H+y)*W:][:W])
				}
			}
		}
	}, nil
}

// selectIndex maps each element of a selection (per dim: first, count,
// step) of a tensor of shape in to its input element.
func selectIndex(in []int64, sel []ir.SliceDim) []int32 {
	r := len(in)
	stride := make([]int64, r)
	st := int64(1)
	for i := r - 1; i >= 0; i-- {
		stride[i] = st
		st *= in[i]
	}
	total := int64(1)
	for _, d := range sel {
		total *= d.Count
	}
	idx := make([]int32, 0, total)
	var walk func(d int, off int64)
	walk = func(d int, off int64) {
		if d == r {
			idx = append(idx, int32(off))
			return
		}
		for k := range sel[d].Count {
			walk(d+1, off+(sel[d].First+k*sel[d].Step)*stride[d])
		}
	}
	walk(0, 0)
	return idx
}

// prepareSelect is an exact copy of the elements idx picks from input 0
// into output o (Slice, Split, Gather: STRIDED_SLICE, SPLIT, GATHER).
func (s *Simulator) prepareSelect(n *ir.Node, o int, idx []int32) (func(), error) {
	in, err := s.input(n, 0)
	if err != nil {
		return nil, err
	}
	if err := sameParams(n, n.Inputs[0], n.Outputs[o]); err != nil {
		return nil, err
	}
	out := s.vals[n.Outputs[o]]
	return func() {
		for i, j := range idx {
			out[i] = in[j]
		}
	}, nil
}

func (s *Simulator) prepareSlice(n *ir.Node) (func(), error) {
	sel, err := ir.SliceOf(n)
	if err != nil {
		return nil, err
	}
	return s.prepareSelect(n, 0, selectIndex(n.Inputs[0].Type.Shape.Sizes(), sel))
}

func (s *Simulator) prepareSplit(n *ir.Node) (func(), error) {
	axis, sizes, err := ir.SplitOf(n)
	if err != nil {
		return nil, err
	}
	shape := n.Inputs[0].Type.Shape.Sizes()
	var steps []func()
	first := int64(0)
	for o, size := range sizes {
		sel := make([]ir.SliceDim, len(shape))
		for d, dim := range shape {
			sel[d] = ir.SliceDim{First: 0, Count: dim, Step: 1}
		}
		sel[axis] = ir.SliceDim{First: first, Count: size, Step: 1}
		first += size
		step, err := s.prepareSelect(n, o, selectIndex(shape, sel))
		if err != nil {
			return nil, err
		}
		steps = append(steps, step)
	}
	return func() {
		for _, f := range steps {
			f()
		}
	}, nil
}

func (s *Simulator) prepareGather(n *ir.Node) (func(), error) {
	iv := n.Inputs[1]
	if iv.Const == nil {
		return nil, n.Errorf("quant: indices must be a constant")
	}
	shape := n.Inputs[0].Type.Shape.Sizes()
	axis := int(n.Attrs.Int("axis", 0))
	if axis < 0 {
		axis += len(shape)
	}
	outer, inner := int64(1), int64(1)
	for _, d := range shape[:axis] {
		outer *= d
	}
	for _, d := range shape[axis+1:] {
		inner *= d
	}
	var idx []int32
	for o := range outer {
		for k := range iv.Const.Len() {
			j := iv.Const.Int64At(k)
			if j < 0 {
				j += shape[axis]
			}
			for i := range inner {
				idx = append(idx, int32((o*shape[axis]+j)*inner+i))
			}
		}
	}
	return s.prepareSelect(n, 0, idx)
}
