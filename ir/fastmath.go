package ir

import "math"

// Float32 elementwise math for the interpreter's activations. math.Exp
// works in float64 with full special-case handling; these are the Cephes
// single-precision algorithms (relative error below 2e-7), small enough to
// inline into the activation loops.

const (
	expMax = 88.3762626647949 // 127·ln2: e^expMax still has a normal exponent
	expLo  = -87.33654022216797
)

// exp32 returns e^x for float32 x. It is branch-free so loops over it
// stay fast: x is clamped to [expLo, expMax], so it returns a tiny positive
// number rather than 0 far below expLo and about 2.4e38 rather than +Inf
// above expMax; NaN stays NaN.
func exp32(x float32) float32 {
	x = min(max(x, expLo), expMax)
	// x = n·ln2 + r with |r| ≤ ln2/2; adding 1.5·2²³ rounds to an integer.
	n := x*1.44269504088896341 + 12582912
	n -= 12582912
	r := x - n*0.693359375 + n*2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	return y * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// sigmoid32 returns 1/(1+e^-x).
func sigmoid32(x float32) float32 { return 1 / (1 + exp32(-x)) }

func sigmoidSlice(x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = 1 / (1 + exp32(-v))
	}
}

func swishSlice(x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = v / (1 + exp32(-v))
	}
}

func reluSlice(x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

func relu6Slice(x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = min(max(v, 0), 6)
	}
}

func hardSwishSlice(x, y []float32) {
	y = y[:len(x)]
	for i, v := range x {
		y[i] = v * max(0, min(1, v*(1.0/6)+0.5))
	}
}
