package ir

import "math"

// Float32 elementwise math for the interpreter's activations. math.Exp
// works in float64 with full special-case handling; these are the Cephes
// single-precision algorithms (relative error below 2e-7), small enough to
// inline into the activation loops.
//
// Each slice function runs whole blocks of 8 through AVX2+FMA assembly
// when useActivationAsm is set (fastmath_amd64.s computes the same
// formulas, vectorised) and the rest, or everything on other builds,
// through the scalar functions here.

const (
	expMax = 88.3762626647949 // 127·ln2: e^expMax still has a normal exponent
	expLo  = -87.33654022216797
)

// Sigmoid and Swish divide s/(s + e^-x·s) and x·s/(s + e^-x·s) with s a
// power of two 2^-k: the quotient is the same as 1/(1+e^-x), but e^-x·s
// stays finite for larger -x, so far-negative inputs get their true tiny
// result instead of one computed from a clamped e^-x. The clamps keep
// n-k+127, the biased exponent of 2^n·s below, within [1, 254].
const (
	// Sigmoid: k = 24, -x clamped to [-70, 105]. Below -70 the sum
	// s + e^-x·s rounds to s anyway; sigmoid(-105) = 2.5e-46 already rounds
	// to 0, so sigmoid(-Inf) = 0 and sigmoid(+Inf) = 1 exactly.
	sigmoidLo   = -70
	sigmoidHi   = 105
	sigmoidBias = 127 - 24
	sigmoidS    = 1.0 / (1 << 24)

	// Swish: k = 8; x is clamped to ≥ -93.5 (swish(-93.5) ≈ -2.3e-39, below
	// the normal range) and -x to ≥ -80. This keeps 3e-7 relative accuracy
	// wherever swish(x) is a normal float, x ≥ -91.8; further down the
	// result is a subnormal within 2.4e-39 of the true value, and
	// swish(-Inf) ≈ -2.3e-39 rather than -Inf or NaN. For |x| < 2^-118 the
	// product x·s is subnormal, an absolute error below 2^-143.
	swishNegHi = -93.5
	swishLo    = -80
	swishBias  = 127 - 8
	swishS     = 1.0 / (1 << 8)
)

// expScaled returns e^u·2^(bias-127) for u already clamped so that this
// has a normal exponent: u = n·ln2 + r with |r| ≤ ln2/2, a degree-7
// polynomial for e^r and n+bias put into the exponent field. NaN stays NaN.
func expScaled(u float32, bias int32) float32 {
	// Adding 1.5·2²³ rounds to an integer.
	n := u*1.44269504088896341 + 12582912
	n -= 12582912
	r := u - n*0.693359375 + n*2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	y := p*r*r + r + 1
	return y * math.Float32frombits(uint32(int32(n)+bias)<<23)
}

// exp32 returns e^x for float32 x. It is branch-free: x is clamped to
// [expLo, expMax], so it returns a tiny positive number rather than 0 far
// below expLo and about 2.4e38 rather than +Inf above expMax; NaN stays NaN.
func exp32(x float32) float32 { return expScaled(min(max(x, expLo), expMax), 127) }

// sigmoid32 returns 1/(1+e^-x).
func sigmoid32(x float32) float32 {
	return sigmoidS / (sigmoidS + expScaled(min(max(-x, sigmoidLo), sigmoidHi), sigmoidBias))
}

// swish32 returns x/(1+e^-x).
func swish32(x float32) float32 {
	x = max(x, swishNegHi)
	return x * swishS / (swishS + expScaled(max(-x, swishLo), swishBias))
}

// hardSwish32 returns x·max(0, min(1, x/6 + ½)) as the assembly does: the
// conversion keeps the compiler from fusing x·(1/6) + ½ into an FMA.
func hardSwish32(x float32) float32 { return x * max(0, min(1, float32(x*(1.0/6))+0.5)) }

// useActivationAsm selects the assembly loops. It is true when the CPU
// supports them; tests turn it off to check the Go loops.
var useActivationAsm = haveActivationAsm

// useActivationAVX512 lets sigmoid and swish take 16 at a time on AVX-512
// (with useActivationAsm). The elements the assembly takes and their bits
// are the same either way; tests turn it off to compare.
var useActivationAVX512 = haveActivationAVX512

// asmBlocks returns how many leading elements of x the assembly loops
// should take: len(x) rounded down to a multiple of 8, or 0 without them.
func asmBlocks(x []float32) int {
	if !useActivationAsm {
		return 0
	}
	return len(x) &^ 7
}

// The loops whose assembly rounds differently from their Go code.
const (
	actSigmoid = iota
	actSwish
	actErf
	actSigmoidMul
)

// actAsm runs the assembly loop of kind over n elements, n a positive
// multiple of 16 when wide (AVX-512), of 8 otherwise. The calls are
// direct, so the pointers do not escape.
func actAsm(kind int, x, y *float32, n int, wide bool) {
	switch {
	case kind == actSigmoid && wide:
		sigmoidAVX512(x, y, n)
	case kind == actSigmoid:
		sigmoidAVX2(x, y, n)
	case kind == actSwish && wide:
		swishAVX512(x, y, n)
	case kind == actSwish:
		swishAVX2(x, y, n)
	case kind == actErf && wide:
		erfAVX512(x, y, n)
	case kind == actErf:
		erfAVX2(x, y, n)
	case kind == actSigmoidMul && wide:
		sigmoidMulAVX512(x, y, n)
	case kind == actSigmoidMul:
		sigmoidMulAVX2(x, y, n)
	}
}

// actSlice computes y = f(x) with the assembly loops of kind, when the
// CPU has them: blocks of 16 on AVX-512, then of 8, and a tail of fewer
// than 8 through the 8-wide loop on a zero-padded copy. Every element
// thus gets the assembly's bits whatever the slice's length and start,
// so the activation the session runs on each block of a convolution's
// output (fuse.go) gives the bits of one pass over the whole tensor. It
// reports whether it did the work.
func actSlice(kind int, x, y []float32) bool {
	if !useActivationAsm {
		return false
	}
	y = y[:len(x)]
	n := len(x) &^ 7
	if n16 := n &^ 15; useActivationAVX512 && n16 > 0 {
		actAsm(kind, &x[0], &y[0], n16, true)
		if n > n16 {
			actAsm(kind, &x[n16], &y[n16], n-n16, false)
		}
	} else if n > 0 {
		actAsm(kind, &x[0], &y[0], n, false)
	}
	if rem := len(x) - n; rem > 0 {
		var buf [8]float32
		copy(buf[:], x[n:])
		actAsm(kind, &buf[0], &buf[0], 8, false)
		copy(y[n:], buf[:rem])
	}
	return true
}

func sigmoidSlice(x, y []float32) {
	if actSlice(actSigmoid, x, y) {
		return
	}
	y = y[:len(x)]
	for i, v := range x {
		y[i] = sigmoid32(v)
	}
}

// sigmoidMulSlice computes x·sigmoid(x) with the bits of sigmoidSlice
// followed by a multiplication by x: the Sigmoid and Mul of an exported
// SiLU, which the session runs as one pass (fuse.go).
func sigmoidMulSlice(x, y []float32) {
	if actSlice(actSigmoidMul, x, y) {
		return
	}
	y = y[:len(x)]
	for i, v := range x {
		y[i] = v * sigmoid32(v)
	}
}

func swishSlice(x, y []float32) {
	if actSlice(actSwish, x, y) {
		return
	}
	y = y[:len(x)]
	for i, v := range x {
		y[i] = swish32(v)
	}
}

func reluSlice(x, y []float32) {
	y = y[:len(x)]
	if n := asmBlocks(x); n > 0 {
		reluAVX2(&x[0], &y[0], n)
		x, y = x[n:], y[n:len(x)]
	}
	for i, v := range x {
		y[i] = max(v, 0)
	}
}

func relu6Slice(x, y []float32) {
	y = y[:len(x)]
	if n := asmBlocks(x); n > 0 {
		relu6AVX2(&x[0], &y[0], n)
		x, y = x[n:], y[n:len(x)]
	}
	for i, v := range x {
		y[i] = min(max(v, 0), 6)
	}
}

func hardSwishSlice(x, y []float32) {
	y = y[:len(x)]
	if n := asmBlocks(x); n > 0 {
		hardSwishAVX2(&x[0], &y[0], n)
		x, y = x[n:], y[n:len(x)]
	}
	for i, v := range x {
		y[i] = hardSwish32(v)
	}
}

// Erf is two float32 approximations, fitted for this interpreter
// (minimax in erf's relative error by Lawson's algorithm in 40-digit
// arithmetic, coefficients then rounded to float32), split at
// erfSplit as in the erff of MLAS, which onnxruntime uses:
//
//	|x| < erfSplit:  x + x·P(x²), P of degree 5 (fit error 1.5e-8)
//	|x| ≥ erfSplit:  ±(1 - e^g(|x|)), g of degree 6 approximating
//	                 log erfc on [erfSplit, erfHi] (fit error 1.5e-9)
//
// |x| is clamped to erfHi = 3.925, past which erf(x) rounds to ±1.
// Against float64 math.Erf over all 2^32 inputs the largest error is
// 1.27 ulp here and 1.11 ulp in the assembly (which fuses the
// polynomials' multiply-adds); TestErf32Sweep checks every 127th input.
const (
	erfSplit = 0.921875
	erfHi    = 3.925

	erfP0 = 0.12837915122509003
	erfP1 = -0.37612494826316833
	erfP2 = 0.11281833797693253
	erfP3 = -0.026767272502183914
	erfP4 = 0.004994160030037165
	erfP5 = -0.0005995922838337719

	erfG0 = -0.00020425768161658198
	erfG1 = -1.1276402473449707
	erfG2 = -0.637241780757904
	erfG3 = -0.103879414498806
	erfG4 = 0.022201795130968094
	erfG5 = -0.003036921378225088
	erfG6 = 0.00019529604469425976
)

// erf32 returns erf(x) in float32 arithmetic. In the large branch e^g is
// expScaled's with 1 - 2^n·(1+z) evaluated as (1 - 2^n) - 2^n·z, whose
// first difference is exact. NaN stays NaN, erf(±Inf) = ±1, erf(-0) = -0.
func erf32(x float32) float32 {
	a := math.Float32frombits(math.Float32bits(x) &^ (1 << 31))
	if a < erfSplit {
		s := x * x
		p := float32(erfP5)
		p = p*s + erfP4
		p = p*s + erfP3
		p = p*s + erfP2
		p = p*s + erfP1
		p = p*s + erfP0
		return p*x + x
	}
	a = min(a, erfHi)
	g := float32(erfG6)
	g = g*a + erfG5
	g = g*a + erfG4
	g = g*a + erfG3
	g = g*a + erfG2
	g = g*a + erfG1
	g = g*a + erfG0
	n := g*1.44269504088896341 + 12582912
	n -= 12582912
	r := g - n*0.693359375 + n*2.12194440e-4
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	z := p*r*r + r
	e := math.Float32frombits(uint32(int32(n)+127) << 23)
	y := (1 - e) - e*z
	return math.Float32frombits(math.Float32bits(y) | math.Float32bits(x)&(1<<31))
}

func erfSlice(x, y []float32) {
	if actSlice(actErf, x, y) {
		return
	}
	y = y[:len(x)]
	for i, v := range x {
		y[i] = erf32(v)
	}
}
