package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestRequantRowFloatSameBits: the float requantization's assembly gives
// the Go loop's bytes, on accumulators that round at ties, clamp at both
// ends and reach int32's extremes, for every length up to 41 (tails), and
// both equal float64 RoundToEven of the clamped float32 product.
func TestRequantRowFloatSameBits(t *testing.T) {
	if !haveRequantAsm {
		t.Skip("no AVX2")
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for trial := range 400 {
		n := trial % 42
		acc := make([]int32, n)
		for i := range acc {
			switch rng.IntN(6) {
			case 0:
				acc[i] = int32(rng.Uint32())
			case 1:
				acc[i] = []int32{math.MaxInt32, math.MinInt32, 0, -1, 1}[rng.IntN(5)]
			default:
				acc[i] = int32(rng.IntN(20001) - 10000)
			}
		}
		f := float32(math.Ldexp(1+rng.Float64(), -rng.IntN(12)))
		if trial%7 == 0 {
			f = 0.5 // every odd accumulator a tie
		}
		zp := int32(rng.IntN(256) - 128)
		lo, hi := int32(-128), int32(127)
		if trial%3 == 0 {
			lo = zp // a fused ReLU
		}
		bias := int32(rng.IntN(2001) - 1000)
		r := requantizer{f: f, float: true}
		got, want := make([]int8, n), make([]int8, n)
		useRequantAsm = true
		r.row(got, acc, bias, zp, lo, hi)
		useRequantAsm = false
		r.row(want, acc, bias, zp, lo, hi)
		useRequantAsm = true
		for i := range got {
			x := math.Min(math.Max(float64(float32(acc[i]+bias)*f), float64(lo-zp)), float64(hi-zp))
			ref := int8(int32(math.RoundToEven(x)) + zp)
			if got[i] != want[i] || want[i] != ref {
				t.Fatalf("trial %d: acc %d bias %d f %g zp %d [%d,%d]: asm %d, Go %d, RoundToEven %d", trial, acc[i], bias, f, zp, lo, hi, got[i], want[i], ref)
			}
		}
	}
}
