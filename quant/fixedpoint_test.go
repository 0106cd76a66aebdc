package quant

import (
	"math"
	"testing"
)

func TestQuantizeMultiplier(t *testing.T) {
	for _, c := range []struct {
		m     float64
		q     int32
		shift int
	}{
		{0, 0, 0},
		{0.5, 1 << 30, 0},
		{1, 1 << 30, 1},
		{0.75, 1610612736, 0},
		{0.1, 1717986918, -3},      // 0.8·2³¹ = 1717986918.4
		{2.5, 1342177280, 2},       // 0.625·2³¹
		{1e-10, 0, 0},              // below 2⁻³¹: flushed to zero
		{0.9999999999, 1 << 30, 1}, // rounds up to 2³¹: carried into the shift
	} {
		q, s := QuantizeMultiplier(c.m)
		if q != c.q || s != c.shift {
			t.Errorf("QuantizeMultiplier(%g) = %d, %d; want %d, %d", c.m, q, s, c.q, c.shift)
		}
	}
}

func TestMultiplyByQuantizedMultiplier(t *testing.T) {
	for _, c := range []struct {
		x, q  int32
		shift int
		want  int32
	}{
		// m = 0.5: 2.5 rounds up; −2.5 rounds toward zero, because the
		// negative nudge is 1−2³⁰ and the division truncates.
		{5, 1 << 30, 0, 3},
		{-5, 1 << 30, 0, -2},
		// m = 0.1 (1717986918, −3): 1000·0.1 = 100; 15·0.1 = 1.5 → 2; −15 → −2.
		{1000, 1717986918, -3, 100},
		{15, 1717986918, -3, 2},
		{-15, 1717986918, -3, -2},
		// m = 2.5 (1342177280, 2): shift left first.
		{7, 1342177280, 2, 18}, // 17.5 → 18
		{-7, 1342177280, 2, -17},
		// m = 1: identity.
		{123456, 1 << 30, 1, 123456},
		{-123456, 1 << 30, 1, -123456},
	} {
		if got := MultiplyByQuantizedMultiplier(c.x, c.q, c.shift); got != c.want {
			t.Errorf("MultiplyByQuantizedMultiplier(%d, %d, %d) = %d, want %d", c.x, c.q, c.shift, got, c.want)
		}
	}
	// Double rounding: 5·0.25 = 1.25, but TFLite rounds 5·0.5 = 2.5 to 3
	// in the high multiply, then 3/2 = 1.5 to 2.
	if got := MultiplyByQuantizedMultiplier(5, 1<<30, -1); got != 2 {
		t.Errorf("double-rounding case = %d, want 2", got)
	}
	if got := SaturatingRoundingDoublingHighMul(math.MinInt32, math.MinInt32); got != math.MaxInt32 {
		t.Errorf("saturating case = %d", got)
	}
	for _, c := range []struct {
		x    int32
		e    int
		want int32
	}{{5, 1, 3}, {-5, 1, -3}, {6, 2, 2}, {-6, 2, -2}, {-7, 2, -2}, {9, 3, 1}, {12, 3, 2}, {-12, 3, -2}} {
		if got := RoundingDivideByPOT(c.x, c.e); got != c.want {
			t.Errorf("RoundingDivideByPOT(%d, %d) = %d, want %d", c.x, c.e, got, c.want)
		}
	}
}
