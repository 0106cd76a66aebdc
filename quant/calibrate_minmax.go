package quant

import "math"

// minMax returns min(l, xs...) and max(h, xs...) as Go's min and max
// builtins fold them (-0 below +0; a NaN anywhere makes both NaN), at a
// fraction of their cost: calibration folds every float value the model
// computes, and the builtins' NaN and signed-zero checks took 60% of an
// int8 conversion's CPU time.
//
// Each float maps to an int32 key whose order is the floats' with -0
// below +0 (orderKey), so the fold is an integer min and max: 8 lanes of
// AVX2 where the CPU has it, else a Go loop. A NaN (in xs, l or h) sends
// the slice to the builtins' loop, which says which NaN results.
func minMax(xs []float32, l, h float32) (float32, float32) {
	if l != l || h != h {
		return minMaxBuiltin(xs, l, h)
	}
	kl, kh := orderKey(l), orderKey(h)
	n := 0
	if haveMinMaxAsm && len(xs) >= 32 {
		n = len(xs) &^ 31
		lanes := [16]int32{}
		for j := range 8 {
			lanes[j], lanes[8+j] = kl, kh
		}
		minMaxKeysAVX2(&xs[0], n, &lanes)
		for j := range 8 {
			kl, kh = min(kl, lanes[j]), max(kh, lanes[8+j])
		}
	}
	for _, x := range xs[n:] {
		k := orderKey(x)
		kl, kh = min(kl, k), max(kh, k)
	}
	if kl < orderKey(float32(math.Inf(-1))) || kh > orderKey(float32(math.Inf(1))) {
		return minMaxBuiltin(xs, l, h) // a NaN: negative ones key below -Inf, positive above +Inf
	}
	return fromOrderKey(kl), fromOrderKey(kh)
}

func minMaxBuiltin(xs []float32, l, h float32) (float32, float32) {
	for _, x := range xs {
		l, h = min(l, x), max(h, x)
	}
	return l, h
}

// orderKey maps x to an int32 that orders as x does, -0 below +0: the
// bits of a positive float already order as integers; a negative one's
// magnitude bits are flipped so that larger magnitudes come lower.
func orderKey(x float32) int32 {
	b := int32(math.Float32bits(x))
	return b ^ (b >> 31 & math.MaxInt32)
}

// fromOrderKey inverts orderKey.
func fromOrderKey(k int32) float32 {
	return math.Float32frombits(uint32(k ^ (k >> 31 & math.MaxInt32)))
}
