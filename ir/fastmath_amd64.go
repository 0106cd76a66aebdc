//go:build amd64 && !purego

package ir

import "golang.org/x/sys/cpu"

// haveActivationAsm reports whether the AVX2+FMA activation loops can run
// on this CPU (x/sys/cpu also checks that the OS saves the YMM state).
var haveActivationAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// haveActivationAVX512 reports whether the AVX-512 sigmoid and swish loops
// can run.
var haveActivationAVX512 = haveActivationAsm && cpu.X86.HasAVX512F

// The activation loops compute y[i] = f(x[i]) for i < n, 8 at a time; n
// must be a positive multiple of 8. They compute sigmoid32, swish32 and
// the scalar loops in fastmath.go: the ReLU family bit for bit, sigmoid
// and swish with the exp rearranged around FMA (see fastmath_amd64.s), to
// within a few units in the last place. x and y may be the same slice.

//go:noescape
func sigmoidAVX2(x, y *float32, n int)

//go:noescape
func swishAVX2(x, y *float32, n int)

// sigmoidAVX512 and swishAVX512 are sigmoidAVX2 and swishAVX2, 16 at a
// time (n a positive multiple of 16), with the same results bit for bit.
//
//go:noescape
func sigmoidAVX512(x, y *float32, n int)

//go:noescape
func swishAVX512(x, y *float32, n int)

// sigmoidMulAVX2 and sigmoidMulAVX512 compute x·sigmoid(x) as the
// sigmoid loops' result times x: the bits of a Sigmoid and then a Mul.
//
//go:noescape
func sigmoidMulAVX2(x, y *float32, n int)

//go:noescape
func sigmoidMulAVX512(x, y *float32, n int)

// erfAVX2 and erfAVX512 compute erf32 (fastmath_erf_amd64.s), within an
// ulp or so of it; erfAVX512 takes n a positive multiple of 16 and gives
// erfAVX2's bits.
//
//go:noescape
func erfAVX2(x, y *float32, n int)

//go:noescape
func erfAVX512(x, y *float32, n int)

//go:noescape
func reluAVX2(x, y *float32, n int)

//go:noescape
func relu6AVX2(x, y *float32, n int)

//go:noescape
func hardSwishAVX2(x, y *float32, n int)

// The binary loops compute y[i] = a[i] op b[i] (or a[i] op *b for the
// Scalar forms) for i < n, n a positive multiple of 8; y may be a or b.

//go:noescape
func addAVX2(y, a, b *float32, n int)

//go:noescape
func subAVX2(y, a, b *float32, n int)

//go:noescape
func mulAVX2(y, a, b *float32, n int)

//go:noescape
func divAVX2(y, a, b *float32, n int)

//go:noescape
func addScalarAVX2(y, a, b *float32, n int)

//go:noescape
func subScalarAVX2(y, a, b *float32, n int)

//go:noescape
func mulScalarAVX2(y, a, b *float32, n int)

//go:noescape
func divScalarAVX2(y, a, b *float32, n int)
