package quant

import (
	"math"
	"math/rand/v2"
	"testing"
)

// minMax gives the bits the builtins' fold gives: signed zeros, infinities,
// subnormals and NaNs of either sign, in the vector body and the tail,
// from any starting range.
func TestMinMaxBuiltinBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	negNaN := math.Float32frombits(0xffc00001)
	special := []float32{0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)),
		math.Float32frombits(1), -math.Float32frombits(1), math.MaxFloat32, -math.MaxFloat32, float32(math.NaN()), negNaN}
	starts := [][2]float32{{float32(math.Inf(1)), float32(math.Inf(-1))}, {0, 0}, {float32(math.Copysign(0, -1)), float32(math.Copysign(0, -1))},
		{-1, 1}, {float32(math.NaN()), 2}, {-3, negNaN}}
	for trial := range 3000 {
		n := rng.IntN(140)
		xs := make([]float32, n)
		for i := range xs {
			switch rng.IntN(4) {
			case 0:
				xs[i] = special[rng.IntN(len(special)-2)] // NaNs are rarer, below
			default:
				xs[i] = float32(rng.NormFloat64() * math.Pow(10, float64(rng.IntN(8)-4)))
			}
		}
		if n > 0 && trial%7 == 0 {
			xs[rng.IntN(n)] = special[len(special)-1-rng.IntN(2)]
		}
		st := starts[trial%len(starts)]
		l, h := minMax(xs, st[0], st[1])
		wl, wh := minMaxBuiltin(xs, st[0], st[1])
		if math.Float32bits(l) != math.Float32bits(wl) || math.Float32bits(h) != math.Float32bits(wh) {
			t.Fatalf("trial %d, %d values from %v: minMax %v %v (%#x %#x), builtins %v %v (%#x %#x)", trial, n, st,
				l, h, math.Float32bits(l), math.Float32bits(h), wl, wh, math.Float32bits(wl), math.Float32bits(wh))
		}
	}
}

func TestOrderKey(t *testing.T) {
	xs := []float32{float32(math.Inf(-1)), -math.MaxFloat32, -1, -math.Float32frombits(1), float32(math.Copysign(0, -1)), 0,
		math.Float32frombits(1), 1, math.MaxFloat32, float32(math.Inf(1))}
	for i, x := range xs {
		if fromOrderKey(orderKey(x)) != x || math.Signbit(float64(fromOrderKey(orderKey(x)))) != math.Signbit(float64(x)) {
			t.Errorf("%v does not survive orderKey", x)
		}
		if i > 0 && orderKey(xs[i-1]) >= orderKey(x) {
			t.Errorf("orderKey(%v) ≥ orderKey(%v)", xs[i-1], x)
		}
	}
}

func BenchmarkMinMax(b *testing.B) {
	xs := make([]float32, 1<<16)
	for i := range xs {
		xs[i] = float32(math.Sin(float64(i)))
	}
	b.SetBytes(int64(4 * len(xs)))
	b.Run("keys", func(b *testing.B) {
		for b.Loop() {
			minMax(xs, float32(math.Inf(1)), float32(math.Inf(-1)))
		}
	})
	b.Run("builtins", func(b *testing.B) {
		for b.Loop() {
			minMaxBuiltin(xs, float32(math.Inf(1)), float32(math.Inf(-1)))
		}
	})
}
