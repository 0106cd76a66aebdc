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
		acc := testAccumulators(rng, n, 10000)
		f := float32(math.Ldexp(1+rng.Float64(), -rng.IntN(12)))
		if trial%7 == 0 {
			f = 0.5 // every odd accumulator a tie
		}
		zp, lo, hi, bias := testOutputRange(rng, trial)
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

// TestRequantRowFromFloatSameBits: rowF on exact-integer float
// accumulators gives row's bytes on the same values as int32, with and
// without the assembly, for every length up to 41.
func TestRequantRowFromFloatSameBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	defer func() { useRequantAsm = true }()
	for trial := range 400 {
		n := trial % 42
		acc, accf := make([]int32, n), make([]float32, n)
		for i := range acc {
			acc[i] = int32(rng.IntN(1<<25) - 1<<24) // the exact float32 integers
			accf[i] = float32(acc[i])
		}
		r := requantizer{f: float32(math.Ldexp(1+rng.Float64(), -rng.IntN(14))), float: trial%2 == 0, m: NewMultiplier(math.Ldexp(1+rng.Float64(), -rng.IntN(14)-1))}
		zp, lo, hi, bias := testOutputRange(rng, trial)
		want := make([]int8, n)
		r.row(want, acc, bias, zp, lo, hi)
		for _, asm := range []bool{true, false} {
			useRequantAsm = asm
			got := make([]int8, n)
			r.rowF(got, accf, make([]int32, n), bias, zp, lo, hi)
			for i := range got {
				if got[i] != want[i] {
					t.Fatalf("trial %d (asm %v, float %v): accumulator %d: rowF %d, row %d", trial, asm, r.float, acc[i], got[i], want[i])
				}
			}
		}
	}
}

// TestInt8ToFloat: the conversion equals the value table it replaces,
// float32(q − sub), for every int8 and every length up to 41.
func TestInt8ToFloat(t *testing.T) {
	defer func() { useRequantAsm = true }()
	src := make([]int8, 256+41)
	for i := range src {
		src[i] = int8(i * 7)
	}
	for _, asm := range []bool{true, false} {
		useRequantAsm = asm
		for _, sub := range []int32{0, -128, 127, 5} {
			for n := range 42 {
				for _, off := range []int{0, 1, 256} {
					s := src[off : off+n]
					dst := make([]float32, n)
					int8ToFloat(dst, s, sub)
					for i, q := range s {
						if want := float32(int32(q) - sub); dst[i] != want {
							t.Fatalf("asm %v, sub %d, n %d: element %d (%d) is %g, want %g", asm, sub, n, i, q, dst[i], want)
						}
					}
				}
			}
		}
	}
}

// TestRequantRowFixedSameBits: the fixed-point requantization's assembly
// gives the Go loop's bytes (which tests of Multiplier.Apply hold to
// TFLite's), for multipliers from 2⁻²⁰ to 16 (left and right shifts),
// accumulators at int32's extremes and at rounding ties, every length to
// 41.
func TestRequantRowFixedSameBits(t *testing.T) {
	if !haveRequantAsm {
		t.Skip("no AVX2")
	}
	defer func() { useRequantAsm = true }()
	rng := rand.New(rand.NewPCG(5, 6))
	for trial := range 2000 {
		n := trial % 42
		acc := testAccumulators(rng, n, 100000)
		real := math.Ldexp(0.5+rng.Float64(), rng.IntN(25)-20)
		if trial%5 == 0 {
			real = math.Ldexp(1, -rng.IntN(10)) // exact powers of two: remainders at the tie
		}
		r := requantizer{m: NewMultiplier(real)}
		zp, lo, hi, bias := testOutputRange(rng, trial)
		got, want := make([]int8, n), make([]int8, n)
		useRequantAsm = true
		r.row(got, acc, bias, zp, lo, hi)
		useRequantAsm = false
		r.row(want, acc, bias, zp, lo, hi)
		for i := range got {
			ref := int8(clamp(r.m.Apply(acc[i]+bias)+zp, lo, hi))
			if got[i] != want[i] || want[i] != ref {
				t.Fatalf("trial %d: acc %d bias %d multiplier %+v zp %d [%d,%d]: asm %d, Go loop %d, Apply %d", trial, acc[i], bias, r.m, zp, lo, hi, got[i], want[i], ref)
			}
		}
	}
}

// testAccumulators returns n int32 accumulators: a sixth anywhere in
// int32, a sixth at its extremes and around 0 and ±2²⁰, the rest within
// ±spread.
func testAccumulators(rng *rand.Rand, n, spread int) []int32 {
	edges := []int32{math.MaxInt32, math.MinInt32, 0, -1, 1, 1 << 20, -1 << 20}
	acc := make([]int32, n)
	for i := range acc {
		switch rng.IntN(6) {
		case 0:
			acc[i] = int32(rng.Uint32())
		case 1:
			acc[i] = edges[rng.IntN(len(edges))]
		default:
			acc[i] = int32(rng.IntN(2*spread+1) - spread)
		}
	}
	return acc
}

// testOutputRange returns an output zero point, the clamp (every third
// trial a fused ReLU's, from the zero point) and a bias.
func testOutputRange(rng *rand.Rand, trial int) (zp, lo, hi, bias int32) {
	zp = int32(rng.IntN(256) - 128)
	lo, hi = -128, 127
	if trial%3 == 0 {
		lo = zp
	}
	return zp, lo, hi, int32(rng.IntN(2001) - 1000)
}
