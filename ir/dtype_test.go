package ir

import (
	"math"
	"testing"
)

// TestFloat32ToFloat16 checks the float32 → float16 rounding on values whose
// IEEE 754 binary16 encodings are known, ties to even and the subnormal
// and overflow edges included, and that every finite float16 converts
// back to itself.
func TestFloat32ToFloat16(t *testing.T) {
	for _, c := range []struct {
		x    float32
		want uint16
	}{
		{0, 0x0000}, {float32(math.Copysign(0, -1)), 0x8000}, {1, 0x3c00}, {-2, 0xc000},
		{0.1, 0x2e66}, {1.0 / 3, 0x3555}, {6, 0x4600}, {1.0 / 6, 0x3155},
		{65504, 0x7bff}, {65519, 0x7bff}, {65520, 0x7c00}, {1e6, 0x7c00}, {-1e6, 0xfc00},
		{float32(math.Inf(1)), 0x7c00}, {float32(math.NaN()), 0x7e00},
		{1 + 1.0/2048, 0x3c00},    // tie between 0x3c00 and 0x3c01: even
		{1 + 3.0/2048, 0x3c02},    // tie between 0x3c01 and 0x3c02: even
		{1 + 1.5/2048, 0x3c01},    // above the tie
		{0x1p-14, 0x0400},         // smallest normal
		{0x1p-24, 0x0001},         // smallest subnormal
		{0x1p-25, 0x0000},         // tie between 0 and 2^-24: even
		{0x1.8p-25, 0x0001},       // above it
		{0x1p-26, 0x0000},         // below half the smallest subnormal
		{0x1.ff8p-15, 0x03ff},     // largest subnormal
		{0x1.ffcp-15, 0x0400},     // tie between it and 2^-14: even, a carry into the exponent
		{-0x1.8p-24, 0x8002},      // tie between 1 and 2 units: even
		{0x1.fffffep+127, 0x7c00}, // largest float32
	} {
		if got := Float32ToFloat16(c.x); got != c.want {
			t.Errorf("Float32ToFloat16(%g) = %#04x, want %#04x", c.x, got, c.want)
		}
	}
	for h := range 1 << 16 {
		b := uint16(h)
		if b&0x7c00 == 0x7c00 && b&0x3ff != 0 {
			continue // NaN
		}
		if got := Float32ToFloat16(Float16ToFloat32(b)); got != b {
			t.Fatalf("%#04x → %g → %#04x", b, Float16ToFloat32(b), got)
		}
	}
}
