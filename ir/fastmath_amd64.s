//go:build amd64 && !purego

#include "textflag.h"

// AVX2+FMA activation loops, 8 floats per iteration: y[i] = f(x[i]) for
// i < n, n a positive multiple of 8. They vectorise sigmoid32, swish32 and
// the ReLU-family loops of fastmath.go; see there for the constants.
//
// Registers: SI x, DI y, CX n, AX i. The exp loops keep Y0-Y4 as scratch,
// Y6 P0, Y7 s, Y8 bias, Y9 1, Y10 C2, Y11 C1, Y12 log2e, Y13 and Y14 the
// clamps and Y15 zero; P1-P5 are memory operands.

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
SPLAT(3, 0x39506967)  // P0 = 1.9875691500e-4
SPLAT(4, 0x3ab743ce)  // P1 = 1.3981999507e-3
SPLAT(5, 0x3c088908)  // P2 = 8.3334519073e-3
SPLAT(6, 0x3d2aa9c1)  // P3 = 4.1665795894e-2
SPLAT(7, 0x3e2aaaaa)  // P4 = 1.6666665459e-1
SPLAT(8, 0x3f000000)  // P5 = 0.5, also hard swish's ½
SPLAT(9, 0x3f800000)  // 1
SPLAT(10, 0xc28c0000) // sigmoidLo = -70
SPLAT(11, 0x42d20000) // sigmoidHi = 105
SPLAT(12, 0x33800000) // sigmoidS = 2^-24
SPLAT(13, 103)        // sigmoidBias, int32
SPLAT(14, 0xc2bb0000) // swishNegHi = -93.5
SPLAT(15, 0xc2a00000) // swishLo = -80
SPLAT(16, 0x3b800000) // swishS = 2^-8
SPLAT(17, 119)        // swishBias, int32
SPLAT(18, 0x3e2aaaab) // float32(1/6)
SPLAT(19, 0x40c00000) // 6
GLOBL ·actConsts(SB), RODATA|NOPTR, $640

#define C(row) ·actConsts+(row*32)(SB)

#define ARGS \
	MOVQ x+0(FP), SI; \
	MOVQ y+8(FP), DI; \
	MOVQ n+16(FP), CX; \
	XORQ AX, AX

#define EXPCONSTS \
	VMOVUPS C(3), Y6;  \
	VMOVUPS C(9), Y9;  \
	VMOVUPS C(2), Y10; \
	VMOVUPS C(1), Y11; \
	VMOVUPS C(0), Y12; \
	VXORPS  Y15, Y15, Y15

// EXP sets Y3 = e^Y1·2^(bias-127), bias in Y8, for Y1 already clamped;
// it clobbers Y1, Y2 and Y4. As in expScaled: Y2 = n = round(u·log2e),
// Y1 = r = u - n·C1 + n·C2, Y3 = 1 + r + r²·P(r), times 2^(n+bias-127)
// built in the exponent field.
#define EXP \
	VMULPS       Y12, Y1, Y2;  \
	VROUNDPS     $0, Y2, Y2;   \
	VFNMADD231PS Y2, Y11, Y1;  \
	VFMADD231PS  Y2, Y10, Y1;  \
	VMOVAPS      Y6, Y3;       \
	VFMADD213PS  C(4), Y1, Y3; \
	VFMADD213PS  C(5), Y1, Y3; \
	VFMADD213PS  C(6), Y1, Y3; \
	VFMADD213PS  C(7), Y1, Y3; \
	VFMADD213PS  C(8), Y1, Y3; \
	VMULPS       Y1, Y1, Y4;   \
	VFMADD213PS  Y1, Y4, Y3;   \
	VADDPS       Y9, Y3, Y3;   \
	VCVTPS2DQ    Y2, Y2;       \
	VPADDD       Y8, Y2, Y2;   \
	VPSLLD       $23, Y2, Y2;  \
	VMULPS       Y2, Y3, Y3

// VMAXPS and VMINPS return their first (Go order) operand when either is
// NaN, so the data goes first and NaN propagates as in Go's max and min.

#define NEXT(label) \
	ADDQ $8, AX;  \
	CMPQ AX, CX;  \
	JLT  label;   \
	VZEROUPPER;   \
	RET

// func sigmoidAVX2(x, y *float32, n int)
TEXT ·sigmoidAVX2(SB), NOSPLIT, $0-24
	ARGS
	EXPCONSTS
	VMOVUPS C(12), Y7
	VMOVUPS C(13), Y8
	VMOVUPS C(11), Y13
	VMOVUPS C(10), Y14

sigmoidLoop:
	VMOVUPS (SI)(AX*4), Y0
	VSUBPS  Y0, Y15, Y1    // u = -x
	VMAXPS  Y1, Y14, Y1    // max(u, sigmoidLo)
	VMINPS  Y1, Y13, Y1    // min(u, sigmoidHi)
	EXP
	VADDPS  Y7, Y3, Y3     // s + e^u·s
	VDIVPS  Y3, Y7, Y3     // s / (s + e^u·s)
	VMOVUPS Y3, (DI)(AX*4)
	NEXT(sigmoidLoop)

// func swishAVX2(x, y *float32, n int)
TEXT ·swishAVX2(SB), NOSPLIT, $0-24
	ARGS
	EXPCONSTS
	VMOVUPS C(16), Y7
	VMOVUPS C(17), Y8
	VMOVUPS C(14), Y13
	VMOVUPS C(15), Y14

swishLoop:
	VMOVUPS (SI)(AX*4), Y0
	VMAXPS  Y0, Y13, Y0    // x = max(x, swishNegHi)
	VSUBPS  Y0, Y15, Y1    // u = -x
	VMAXPS  Y1, Y14, Y1    // max(u, swishLo)
	EXP
	VADDPS  Y7, Y3, Y3     // s + e^u·s
	VMULPS  Y7, Y0, Y0     // x·s
	VDIVPS  Y3, Y0, Y3     // x·s / (s + e^u·s)
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
	VMOVUPS C(9), Y9
	VMOVUPS C(8), Y13
	VMOVUPS C(18), Y14

hardSwishLoop:
	VMOVUPS (SI)(AX*4), Y0
	VMULPS  Y14, Y0, Y1    // x·(1/6), then + ½ unfused as in Go
	VADDPS  Y13, Y1, Y1
	VMINPS  Y1, Y9, Y1     // min(t, 1)
	VMAXPS  Y1, Y15, Y1    // max(t, 0)
	VMULPS  Y1, Y0, Y1
	VMOVUPS Y1, (DI)(AX*4)
	NEXT(hardSwishLoop)
