// Package quant calibrates float models for int8 quantization and simulates
// what TFLite's int8 kernels compute on a quantized graph, so conversion can
// report the accuracy of the int8 model (per-tensor SQNR) without a runtime.
//
// The arithmetic follows TensorFlow Lite's reference integer kernels
// (tensorflow/lite/kernels/internal/common.h, quantization_util.cc and
// reference/integer_ops/*.h) in their default double-rounding form.
package quant

import (
	"math"
)

// QuantizeMultiplier splits a real multiplier m into a Q31 fixed-point
// multiplier and a power-of-two shift, m ≈ q·2^(shift−31), as TFLite's
// QuantizeMultiplier does: frexp, round q·2³¹ half away from zero, carry a
// rounded-up 2³¹ into the shift, and flush multipliers below 2⁻³¹ to zero.
func QuantizeMultiplier(m float64) (q int32, shift int) {
	if m == 0 {
		return 0, 0
	}
	frac, exp := math.Frexp(m)
	qf := int64(math.Round(frac * (1 << 31)))
	if qf == 1<<31 {
		qf /= 2
		exp++
	}
	if exp < -31 {
		return 0, 0
	}
	return int32(qf), exp
}

// SaturatingRoundingDoublingHighMul returns the high 32 bits of 2·a·b,
// rounded to nearest (gemmlowp's rounding: ties away from zero), saturating
// the one overflowing case a = b = −2³¹.
func SaturatingRoundingDoublingHighMul(a, b int32) int32 {
	if a == b && a == math.MinInt32 {
		return math.MaxInt32
	}
	ab := int64(a) * int64(b)
	nudge := int64(1 << 30)
	if ab < 0 {
		nudge = 1 - (1 << 30)
	}
	return int32((ab + nudge) / (1 << 31)) // Go's / truncates toward zero like C's
}

// RoundingDivideByPOT returns x/2^exponent rounded to nearest, ties away
// from zero.
func RoundingDivideByPOT(x int32, exponent int) int32 {
	mask := int32(1)<<exponent - 1
	remainder := x & mask
	threshold := mask >> 1
	if x < 0 {
		threshold++
	}
	r := x >> exponent
	if remainder > threshold {
		r++
	}
	return r
}

// MultiplyByQuantizedMultiplier returns x·q·2^(shift−31) the way TFLite's
// reference kernels compute it: a saturating left shift for positive
// shifts, the rounding doubling high multiply, then a rounding right shift.
func MultiplyByQuantizedMultiplier(x, q int32, shift int) int32 {
	left, right := 0, 0
	if shift > 0 {
		left = shift
	} else {
		right = -shift
	}
	return RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x*(int32(1)<<left), q), right)
}

// Multiplier is a real multiplier in TFLite's fixed-point form.
type Multiplier struct {
	Q     int32
	Shift int
}

// NewMultiplier quantizes m.
func NewMultiplier(m float64) Multiplier {
	q, s := QuantizeMultiplier(m)
	return Multiplier{q, s}
}

// Apply returns x·m.
func (m Multiplier) Apply(x int32) int32 { return MultiplyByQuantizedMultiplier(x, m.Q, m.Shift) }
