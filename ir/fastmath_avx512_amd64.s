//go:build amd64 && !purego

#include "textflag.h"

// sigmoidAVX2 and swishAVX2 (fastmath_amd64.s) on AVX-512 registers, 16
// floats per iteration, n a positive multiple of 16. The instructions are
// the AVX2 loops' one for one on wider registers, so the results are the
// same bits; all the constants stay in registers.
//
// Registers: SI x, DI y, CX n, AX i. Scratch Z0-Z6; Z7 and Z8 the clamps,
// Z9 1.5·2²³, Z10 log2e, Z11 C1, Z12 C2, Z14 bias, Z15 s, Z16-Z21 Q0-Q5.

#define C(row) ·actConsts+(row*32)(SB)

#define ARGS \
	MOVQ x+0(FP), SI; \
	MOVQ y+8(FP), DI; \
	MOVQ n+16(FP), CX; \
	XORQ AX, AX

#define EXPCONSTS \
	VBROADCASTSS C(20), Z9;  \
	VBROADCASTSS C(0), Z10;  \
	VBROADCASTSS C(1), Z11;  \
	VBROADCASTSS C(2), Z12;  \
	VBROADCASTSS C(3), Z16;  \
	VBROADCASTSS C(4), Z17;  \
	VBROADCASTSS C(5), Z18;  \
	VBROADCASTSS C(6), Z19;  \
	VBROADCASTSS C(7), Z20;  \
	VBROADCASTSS C(8), Z21

// DEN is fastmath_amd64.s's DEN: Z3 = s + e^-x·s for Z1 = x clamped.
#define DEN \
	VMOVAPS      Z9, Z2;       \
	VFNMADD231PS Z10, Z1, Z2;  \
	VSUBPS       Z9, Z2, Z4;   \
	VMULPS       Z4, Z12, Z5;  \
	VFMADD231PS  Z4, Z11, Z1;  \
	VSUBPS       Z5, Z1, Z1;   \
	VMULPS       Z1, Z1, Z4;   \
	VMOVAPS      Z16, Z3;      \
	VFMADD213PS  Z17, Z1, Z3;  \
	VMOVAPS      Z18, Z5;      \
	VFMADD213PS  Z19, Z1, Z5;  \
	VMOVAPS      Z20, Z6;      \
	VFMADD213PS  Z21, Z1, Z6;  \
	VFMADD213PS  Z5, Z4, Z3;   \
	VFMSUB213PS  Z1, Z4, Z6;   \
	VMULPS       Z4, Z4, Z4;   \
	VFMADD213PS  Z6, Z4, Z3;   \
	VPADDD       Z14, Z2, Z2;  \
	VPSLLD       $23, Z2, Z2;  \
	VADDPS       Z15, Z2, Z5;  \
	VFMADD213PS  Z5, Z2, Z3

#define NEXT(label) \
	ADDQ $16, AX; \
	CMPQ AX, CX;  \
	JLT  label;   \
	VZEROUPPER;   \
	RET

// func sigmoidAVX512(x, y *float32, n int)
TEXT ·sigmoidAVX512(SB), NOSPLIT, $0-24
	ARGS
	EXPCONSTS
	VBROADCASTSS C(10), Z7
	VBROADCASTSS C(11), Z8
	VPBROADCASTD C(13), Z14
	VBROADCASTSS C(12), Z15

sigmoidLoop:
	VMOVUPS (SI)(AX*4), Z1
	VMAXPS  Z1, Z8, Z1
	VMINPS  Z1, Z7, Z1
	DEN
	VDIVPS  Z3, Z15, Z3
	VMOVUPS Z3, (DI)(AX*4)
	NEXT(sigmoidLoop)

// func sigmoidMulAVX512(x, y *float32, n int)
TEXT ·sigmoidMulAVX512(SB), NOSPLIT, $0-24
	ARGS
	EXPCONSTS
	VBROADCASTSS C(10), Z7
	VBROADCASTSS C(11), Z8
	VPBROADCASTD C(13), Z14
	VBROADCASTSS C(12), Z15

sigmoidMulLoop:
	VMOVUPS (SI)(AX*4), Z0
	VMAXPS  Z0, Z8, Z1
	VMINPS  Z1, Z7, Z1
	DEN
	VDIVPS  Z3, Z15, Z3
	VMULPS  Z3, Z0, Z3
	VMOVUPS Z3, (DI)(AX*4)
	NEXT(sigmoidMulLoop)

// func swishAVX512(x, y *float32, n int)
TEXT ·swishAVX512(SB), NOSPLIT, $0-24
	ARGS
	EXPCONSTS
	VBROADCASTSS C(15), Z7
	VBROADCASTSS C(14), Z8
	VPBROADCASTD C(17), Z14
	VBROADCASTSS C(16), Z15

swishLoop:
	VMOVUPS (SI)(AX*4), Z0
	VMAXPS  Z0, Z8, Z0
	VMINPS  Z0, Z7, Z1
	DEN
	VMULPS  Z15, Z0, Z0
	VDIVPS  Z3, Z0, Z3
	VMOVUPS Z3, (DI)(AX*4)
	NEXT(swishLoop)
