//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA activation loops, 8 floats per iteration: y[i] = f(x[i]) for
// i < n, n a positive multiple of 8. They vectorise sigmoid32, swish32 and
// the ReLU-family loops of fastmath.go; see there for the constants.
//
// The exp in sigmoid and swish computes what expScaled does, arranged
// for a shorter dependency chain, which measured about 15% faster than a
// step-by-step translation on a Zen 1 EPYC: it works on x rather than
// u = -x, with r' = -r and the odd polynomial coefficients negated; it
// rounds with the 1.5·2²³ trick in an FMA, whose bits also give 2^n; it
// evaluates the polynomial by Estrin's scheme; and it adds the 1 of
// e^r = 1 + z to the scale factor instead, folding s + e^r·2^n·s into
// one FMA. The results are within a few units in the last place of the
// Go loops', and about as accurate.
//
// Registers: SI x, DI y, CX n, AX i. Scratch Y0-Y6; constants Y7 and Y8
// the clamps, Y9 1.5·2²³, Y10 log2e, Y11 C1, Y12 C2, Y14 bias, Y15 s;
// the polynomial's coefficients are memory operands.

// Constants, each repeated in the 8 lanes of a 32-byte row.
#define SPLAT(row, bits) \
	DATA ·actConsts+(row*32+0)(SB)/4, $bits;  \
	DATA ·actConsts+(row*32+4)(SB)/4, $bits;  \
	DATA ·actConsts+(row*32+8)(SB)/4, $bits;  \
	DATA ·actConsts+(row*32+12)(SB)/4, $bits; \
	DATA ·actConsts+(row*32+16)(SB)/4, $bits; \
	DATA ·actConsts+(row*32+20)(SB)/4, $bits; \
	DATA ·actConsts+(row*32+24)(SB)/4, $bits; \
	DATA ·actConsts+(row*32+28)(SB)/4, $bits

SPLAT(0, 0x3fb8aa3b)  // log2e
SPLAT(1, 0x3f318000)  // C1 = 0.693359375
SPLAT(2, 0x395e8083)  // C2 = 2.12194440e-4
SPLAT(3, 0xb9506967)  // Q0 = -1.9875691500e-4
SPLAT(4, 0x3ab743ce)  // Q1 = 1.3981999507e-3
SPLAT(5, 0xbc088908)  // Q2 = -8.3334519073e-3
SPLAT(6, 0x3d2aa9c1)  // Q3 = 4.1665795894e-2
SPLAT(7, 0xbe2aaaaa)  // Q4 = -1.6666665459e-1
SPLAT(8, 0x3f000000)  // Q5 = 0.5, also hard swish's ½
SPLAT(9, 0x3f800000)  // 1
SPLAT(10, 0x428c0000) // -sigmoidLo = 70
SPLAT(11, 0xc2d20000) // -sigmoidHi = -105
SPLAT(12, 0x33800000) // sigmoidS = 2^-24
SPLAT(13, 103)        // sigmoidBias, int32
SPLAT(14, 0xc2bb0000) // swishNegHi = -93.5
SPLAT(15, 0x42a00000) // -swishLo = 80
SPLAT(16, 0x3b800000) // swishS = 2^-8
SPLAT(17, 119)        // swishBias, int32
SPLAT(18, 0x3e2aaaab) // float32(1/6)
SPLAT(19, 0x40c00000) // 6
SPLAT(20, 0x4b400000) // 1.5·2²³
GLOBL ·actConsts(SB), RODATA|NOPTR, $672

#define C(row) ·actConsts+(row*32)(SB)

#define ARGS \
	MOVQ x+0(FP), SI; \
	MOVQ y+8(FP), DI; \
	MOVQ n+16(FP), CX; \
	XORQ AX, AX

#define EXPCONSTS \
	VMOVUPS C(20), Y9; \
	VMOVUPS C(0), Y10; \
	VMOVUPS C(1), Y11; \
	VMOVUPS C(2), Y12

// DEN sets Y3 = s + e^-x·s for Y1 = x already clamped, with s in Y15 and
// bias = 127 + log2(s) in Y14; it clobbers Y1, Y2 and Y4-Y6.
//
//	Y2 = m = 1.5·2²³ - x·log2e, whose low bits are n = round(-x·log2e)
//	Y4 = n
//	Y1 = r' = x + n·C1 - n·C2 = -r
//	Y4 = r'²; Y3, Y5, Y6 = Q0·r'+Q1, Q2·r'+Q3, Q4·r'+Q5
//	Y6 = Y6·r'² - r'
//	Y3 = (Y3·r'² + Y5)·r'⁴ + Y6 = z = e^r - 1
//	Y2 = 2^n·s, from (m + bias) << 23, which drops m's high bits
//	Y3 = z·2^n·s + (2^n·s + s)
#define DEN \
	VMOVAPS      Y9, Y2;       \
	VFNMADD231PS Y10, Y1, Y2;  \
	VSUBPS       Y9, Y2, Y4;   \
	VMULPS       Y4, Y12, Y5;  \
	VFMADD231PS  Y4, Y11, Y1;  \
	VSUBPS       Y5, Y1, Y1;   \
	VMULPS       Y1, Y1, Y4;   \
	VMOVUPS      C(3), Y3;     \
	VFMADD213PS  C(4), Y1, Y3; \
	VMOVUPS      C(5), Y5;     \
	VFMADD213PS  C(6), Y1, Y5; \
	VMOVUPS      C(7), Y6;     \
	VFMADD213PS  C(8), Y1, Y6; \
	VFMADD213PS  Y5, Y4, Y3;   \
	VFMSUB213PS  Y1, Y4, Y6;   \
	VMULPS       Y4, Y4, Y4;   \
	VFMADD213PS  Y6, Y4, Y3;   \
	VPADDD       Y14, Y2, Y2;  \
	VPSLLD       $23, Y2, Y2;  \
	VADDPS       Y15, Y2, Y5;  \
	VFMADD213PS  Y5, Y2, Y3

// VMAXPS and VMINPS return their first (Go order) operand when either is
// NaN, so the data goes first and NaN propagates as in Go's max and min.

#define NEXT(label) \
	ADDQ $8, AX;  \
	CMPQ AX, CX;  \
	JLT  label;   \
	VZEROUPPER;   \
	RET

// BINARGS loads the arguments of the binary loops below.
#define BINARGS \
	MOVQ y+0(FP), DI; \
	MOVQ a+8(FP), SI; \
	MOVQ b+16(FP), DX; \
	MOVQ n+24(FP), CX; \
	XORQ AX, AX

// func sigmoidAVX2(x, y *float32, n int)
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-24
	ARGS
	EXPCONSTS
	VMOVUPS C(10), Y7
	VMOVUPS C(11), Y8
	VMOVUPS C(13), Y14
	VMOVUPS C(12), Y15

sigmoidLoop:
	VMOVUPS (SI)(AX*4), Y1
	VMAXPS  Y1, Y8, Y1     // max(x, -sigmoidHi)
	VMINPS  Y1, Y7, Y1     // min(x, -sigmoidLo)
	DEN
	VDIVPS  Y3, Y15, Y3    // s / (s + e^-x·s)
	VMOVUPS Y3, (DI)(AX*4)
	NEXT(sigmoidLoop)

// func sigmoidMulAVX2(x, y *float32, n int)
//
// x·sigmoid(x): sigmoidAVX2's quotient, then one product, so the bits are
// those of a Sigmoid followed by a Mul of its input and output.
TEXT ·sigmoidMulAVX2(SB), NOSPLIT, $0-24
	ARGS
	EXPCONSTS
	VMOVUPS C(10), Y7
	VMOVUPS C(11), Y8
	VMOVUPS C(13), Y14
	VMOVUPS C(12), Y15

sigmoidMulLoop:
	VMOVUPS (SI)(AX*4), Y0
	VMAXPS  Y0, Y8, Y1
	VMINPS  Y1, Y7, Y1
	DEN
	VDIVPS  Y3, Y15, Y3
	VMULPS  Y3, Y0, Y3     // x · sigmoid(x)
	VMOVUPS Y3, (DI)(AX*4)
	NEXT(sigmoidMulLoop)

// func swishAVX2(x, y *float32, n int)
TEXT ·swishAVX2(SB), NOSPLIT, $0-24
	ARGS
	EXPCONSTS
	VMOVUPS C(15), Y7
	VMOVUPS C(14), Y8
	VMOVUPS C(17), Y14
	VMOVUPS C(16), Y15

swishLoop:
	VMOVUPS (SI)(AX*4), Y0
	VMAXPS  Y0, Y8, Y0     // x = max(x, swishNegHi)
	VMINPS  Y0, Y7, Y1     // min(x, -swishLo) for the exp
	DEN
	VMULPS  Y15, Y0, Y0    // x·s
	VDIVPS  Y3, Y0, Y3     // x·s / (s + e^-x·s)
	VMOVUPS Y3, (DI)(AX*4)
	NEXT(swishLoop)

// The ReLU family adds +0 after max(x, 0), which turns its -0 for x = -0
// into Go's +0 and changes nothing else.

// func reluAVX2(x, y *float32, n int)
TEXT ·reluAVX2(SB), NOSPLIT, $0-24
	ARGS
	VXORPS Y15, Y15, Y15

reluLoop:
	VMOVUPS (SI)(AX*4), Y0
	VMAXPS  Y0, Y15, Y0
	VADDPS  Y15, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	NEXT(reluLoop)

// func relu6AVX2(x, y *float32, n int)
TEXT ·relu6AVX2(SB), NOSPLIT, $0-24
	ARGS
	VXORPS  Y15, Y15, Y15
	VMOVUPS C(19), Y14

relu6Loop:
	VMOVUPS (SI)(AX*4), Y0
	VMAXPS  Y0, Y15, Y0
	VADDPS  Y15, Y0, Y0
	VMINPS  Y0, Y14, Y0
	VMOVUPS Y0, (DI)(AX*4)
	NEXT(relu6Loop)

// func hardSwishAVX2(x, y *float32, n int)
TEXT ·hardSwishAVX2(SB), NOSPLIT, $0-24
	ARGS
	VXORPS  Y15, Y15, Y15
	VMOVUPS C(9), Y13
	VMOVUPS C(8), Y12
	VMOVUPS C(18), Y14

hardSwishLoop:
	VMOVUPS (SI)(AX*4), Y0
	VMULPS  Y14, Y0, Y1    // x·(1/6), then + ½ unfused as in Go
	VADDPS  Y12, Y1, Y1
	VMINPS  Y1, Y13, Y1    // min(t, 1)
	VMAXPS  Y1, Y15, Y1    // max(t, 0)
	VMULPS  Y1, Y0, Y1
	VMOVUPS Y1, (DI)(AX*4)
	NEXT(hardSwishLoop)

// Elementwise binary loops for binLoop: y[i] = a[i] op b[i] (full) or
// a[i] op b[0] (scalar), 8 at a time, n a positive multiple of 8. IEEE
// single-precision add, subtract, multiply and divide round exactly as
// the Go loops do, so the results are the same bits.
// func addAVX2(y, a, b *float32, n int)
TEXT ·addAVX2(SB), NOSPLIT, $0-32
	BINARGS
addLoop:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y1
	VADDPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	NEXT(addLoop)

// func subAVX2(y, a, b *float32, n int)
TEXT ·subAVX2(SB), NOSPLIT, $0-32
	BINARGS
subLoop:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y1
	VSUBPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	NEXT(subLoop)

// func mulAVX2(y, a, b *float32, n int)
TEXT ·mulAVX2(SB), NOSPLIT, $0-32
	BINARGS
mulLoop:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y1
	VMULPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	NEXT(mulLoop)

// func divAVX2(y, a, b *float32, n int)
TEXT ·divAVX2(SB), NOSPLIT, $0-32
	BINARGS
divLoop:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS (DX)(AX*4), Y1
	VDIVPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	NEXT(divLoop)

// func addScalarAVX2(y, a, b *float32, n int)
TEXT ·addScalarAVX2(SB), NOSPLIT, $0-32
	BINARGS
	VBROADCASTSS (DX), Y1
addScalarLoop:
	VMOVUPS (SI)(AX*4), Y0
	VADDPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	NEXT(addScalarLoop)

// func subScalarAVX2(y, a, b *float32, n int)
TEXT ·subScalarAVX2(SB), NOSPLIT, $0-32
	BINARGS
	VBROADCASTSS (DX), Y1
subScalarLoop:
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	NEXT(subScalarLoop)

// func mulScalarAVX2(y, a, b *float32, n int)
TEXT ·mulScalarAVX2(SB), NOSPLIT, $0-32
	BINARGS
	VBROADCASTSS (DX), Y1
mulScalarLoop:
	VMOVUPS (SI)(AX*4), Y0
	VMULPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	NEXT(mulScalarLoop)

// func divScalarAVX2(y, a, b *float32, n int)
TEXT ·divScalarAVX2(SB), NOSPLIT, $0-32
	BINARGS
	VBROADCASTSS (DX), Y1
divScalarLoop:
	VMOVUPS (SI)(AX*4), Y0
	VDIVPS  Y1, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	NEXT(divScalarLoop)
