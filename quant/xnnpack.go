package quant

import (
	"math"

	"github.com/litefy/litefy/ir"
)

// XNNPACK's int8 kernels, as LiteRT runs them on the CPU (ProfileXNNPACK).
// Sources: google/XNNPACK src/microparams-init.c (parameter setup, in
// float32), the qs8-vadd, qs8-vmul and reduce microkernels, and
// src/operators/convolution-nhwc.c (init_requantization_scale_qx8_qc8w:
// input·kernel[c]/output in float32, then the fp32 requantization of the
// qs8-qc8w gemm/igemm/dwconv kernels: float32(acc)·scale rounded to
// nearest even by the magic-bias addition) — SimOptions.FloatRequantize.

// xnnAdd is XNNPACK's int8 ADD (xnn_init_qs8_add_minmax_scalar_params and
// the qs8-vadd microkernels): each input's scale ratio s/s_out, in
// float32, becomes an integer multiplier with 20–21 significant bits
// (rounded to nearest even, the largest in [2²⁰, 2²¹)), the products of
// the raw int8 inputs are summed with a bias holding the zero points and
// half an output step, and an arithmetic right shift divides (ties round
// up, toward +∞), then the output zero point and clamp.
//
// SUB is the same kernel with b's scale ratio negated (the parameters take
// |ratio| for the shift and round the signed ratio).
func xnnAdd(a, b, out *ir.QuantParams, lo, hi int32, sub bool) func(x, y int8) int8 {
	as := a.Scale[0] / out.Scale[0]
	bs := b.Scale[0] / out.Scale[0]
	_, e := math.Frexp(float64(max(as, bs))) // max = f·2^e, f in [0.5, 1)
	if sub {
		bs = -bs
	}
	shift := 21 - e // 20 − the float's unbiased exponent
	ma := int32(math.RoundToEven(math.Ldexp(float64(as), shift)))
	mb := int32(math.RoundToEven(math.Ldexp(float64(bs), shift)))
	bias := int32(1)<<(shift-1) - ma*int32(a.ZeroPoint[0]) - mb*int32(b.ZeroPoint[0])
	outZp := int32(out.ZeroPoint[0])
	return func(x, y int8) int8 {
		acc := bias + int32(x)*ma + int32(y)*mb
		return int8(clamp(acc>>shift+outZp, lo, hi))
	}
}

// xnnMul is XNNPACK's int8 MUL (xnn_init_qs8_mul_minmax_scalar_params and
// the qs8-vmul fp32 microkernels): (x₁ − z₁)(x₂ − z₂) converted to float32,
// times the float32 scale (s₁·s₂)/s_out, rounded to nearest even, plus the
// output zero point.
func xnnMul(a, b, out *ir.QuantParams, lo, hi int32) func(x, y int8) int8 {
	sc := a.Scale[0] * b.Scale[0] / out.Scale[0]
	za, zb, zo := int32(a.ZeroPoint[0]), int32(b.ZeroPoint[0]), int32(out.ZeroPoint[0])
	return func(x, y int8) int8 {
		p := (int32(x) - za) * (int32(y) - zb)
		return int8(clamp(roundEven32(float32(p)*sc)+zo, lo, hi))
	}
}

// roundEven32 rounds a float32 to the nearest integer, ties to even, as
// XNNPACK's magic-bias and lrintf conversions do (saturated to int32's
// range; callers clamp to int8 anyway).
func roundEven32(f float32) int32 {
	r := math.RoundToEven(float64(f))
	return int32(max(math.MinInt32, min(math.MaxInt32, r)))
}

// xnnMeanHW is XNNPACK's int8 MEAN over H×W (src/operators/reduce-nd.c
// with the reference int32→qs8 convert of src/reference/unary-elementwise.cc):
// the raw int8 values are summed in int32, then converted as
// nearbyint(sum·m + z) with m = (s_in/s_out)·(1/count) and
// z = z_out − (count·z_in)·m, all in float32 (ties to even).
func xnnMeanHW(in, dst []int8, planes, count int, iq, oq *ir.QuantParams) func() {
	m := iq.Scale[0] / oq.Scale[0] * (1 / float32(count))
	z := float32(oq.ZeroPoint[0]) - float32(int32(count)*int32(iq.ZeroPoint[0]))*m
	return func() {
		for p := range planes {
			acc := int32(0)
			for _, v := range in[p*count : (p+1)*count] {
				acc += int32(v)
			}
			dst[p] = sat8(roundEven32(float32(float32(acc)*m) + z)) // no fused multiply-add
		}
	}
}
