//go:build amd64 && !purego

#include "textflag.h"

// The float kernels' parameters (requantParams at DX): Y8 bias, Y9 f,
// Y10 lo, Y11 hi, Y12 magic, Y13 zp.
#define FLOAT_PARAMS \
	VPBROADCASTD 0(DX), Y8;  \
	VBROADCASTSS 4(DX), Y9;  \
	VBROADCASTSS 8(DX), Y10; \
	VBROADCASTSS 12(DX), Y11; \
	VBROADCASTSS 16(DX), Y12; \
	VPBROADCASTD 20(DX), Y13

// STORE8 packs the eight int32 lanes of Y0, each within int8's range, to
// eight bytes at (DI)(AX*1).
#define STORE8 \
	VEXTRACTI128 $1, Y0, X1; \
	VPACKSSDW    X1, X0, X0; \
	VPACKSSWB    X0, X0, X0; \
	MOVQ         X0, (DI)(AX*1)

// FLOAT_REQUANT takes the int32 accumulators in Y0 to int8 at
// (DI)(AX*1): plus the bias, times f in float32, clamped to [lo, hi],
// rounded to nearest even with 1.5·2²³, plus the zero point.
#define FLOAT_REQUANT \
	VPADDD     Y8, Y0, Y0;  \
	VCVTDQ2PS  Y0, Y0;      \
	VMULPS     Y9, Y0, Y0;  \
	VMAXPS     Y10, Y0, Y0; \
	VMINPS     Y11, Y0, Y0; \
	VADDPS     Y12, Y0, Y0; \
	VSUBPS     Y12, Y0, Y0; \
	VCVTTPS2DQ Y0, Y0;      \
	VPADDD     Y13, Y0, Y0; \
	STORE8

// func requantRowFloatAVX2(d *int8, acc *int32, n int, p *requantParams)
//
// requantizer.row's float path, 8 elements per iteration, n a positive
// multiple of 8: d[i] = int8(int32(round(min(max(float32(acc[i]+bias)·f,
// lo), hi))) + zp), rounding by adding and subtracting 1.5·2²³ as the Go
// loop does; every step is one IEEE float32 operation per lane, so the
// bits are the Go loop's. Registers: DI d, SI acc, CX n, AX i, and
// FLOAT_PARAMS'.
TEXT ·requantRowFloatAVX2(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ p+24(FP), DX
	FLOAT_PARAMS
	XORQ AX, AX

loop:
	VMOVDQU      (SI)(AX*4), Y0
	FLOAT_REQUANT
	ADDQ         $8, AX
	CMPQ         AX, CX
	JLT          loop
	VZEROUPPER
	RET

// func requantRowFromFloatAVX2(d *int8, accf *float32, n int, p *requantParams)
//
// requantRowFloatAVX2 on accumulators held as exact integers in float32
// (truncated to int32 first, as the Go loop's int32(v) does).
TEXT ·requantRowFromFloatAVX2(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ accf+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ p+24(FP), DX
	FLOAT_PARAMS
	XORQ AX, AX

floop:
	VCVTTPS2DQ   (SI)(AX*4), Y0
	FLOAT_REQUANT
	ADDQ         $8, AX
	CMPQ         AX, CX
	JLT          floop
	VZEROUPPER
	RET

// func int8ToFloatAVX2(dst *float32, src *int8, n int, sub int32)
//
// dst[i] = float32(int32(src[i]) − sub) for i < n, a positive multiple of 8.
TEXT ·int8ToFloatAVX2(SB), NOSPLIT, $0-28
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL         sub+24(FP), AX
	MOVD         AX, X8
	VPBROADCASTD X8, Y8
	XORQ         AX, AX

cloop:
	VPMOVSXBD (SI)(AX*1), Y0
	VPSUBD    Y8, Y0, Y0
	VCVTDQ2PS Y0, Y0
	VMOVUPS   Y0, (DI)(AX*4)
	ADDQ      $8, AX
	CMPQ      AX, CX
	JLT       cloop
	VZEROUPPER
	RET

// func requantRowFixedAVX2(d *int8, acc *int32, n int, p *fixedParams)
//
// requantizer.row's fixed-point path (TFLite's MultiplyByQuantizedMultiplier
// with double rounding), 8 accumulators per iteration, n a positive
// multiple of 8. The high multiply trunc((a·q + nudge)/2³¹), nudge 2³⁰ or
// 1 − 2³⁰ by the sign, equals floor((a·q + 2³⁰)/2³¹) for either sign, so
// it is the low half of a 64-bit sum shifted right by 31 (logically: the
// bits an arithmetic shift would differ in are dropped). Then the rounding
// shift right: h>>right, plus 1 where h's remainder passes its threshold
// (mask>>1, plus 1 for negative h). Registers: Y8 bias, Y9 q (in every
// dword), Y10 2³⁰ (qwords), X11 left, X12 right, Y13 mask, Y14 mask>>1,
// Y15 zp, Y6 lo, Y7 hi.
TEXT ·requantRowFixedAVX2(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ p+24(FP), DX
	VPBROADCASTD 0(DX), Y8
	VPBROADCASTD 4(DX), Y9
	VPBROADCASTQ 8(DX), Y10
	VMOVQ        16(DX), X11
	VMOVQ        24(DX), X12
	VPBROADCASTD 32(DX), Y13
	VPBROADCASTD 36(DX), Y14
	VPBROADCASTD 40(DX), Y15
	VPBROADCASTD 44(DX), Y6
	VPBROADCASTD 48(DX), Y7
	XORQ AX, AX

xloop:
	VMOVDQU      (SI)(AX*4), Y0
	VPADDD       Y8, Y0, Y0
	VPSLLD       X11, Y0, Y0
	VPSRLQ       $32, Y0, Y1
	VPMULDQ      Y9, Y0, Y0
	VPMULDQ      Y9, Y1, Y1
	VPADDQ       Y10, Y0, Y0
	VPADDQ       Y10, Y1, Y1
	VPSRLQ       $31, Y0, Y0
	VPSRLQ       $31, Y1, Y1
	VPSLLQ       $32, Y1, Y1
	VPBLENDD     $0xAA, Y1, Y0, Y0
	VPAND        Y13, Y0, Y2
	VPSRLD       $31, Y0, Y3
	VPADDD       Y14, Y3, Y3
	VPCMPGTD     Y3, Y2, Y2
	VPSRAD       X12, Y0, Y0
	VPSUBD       Y2, Y0, Y0
	VPADDD       Y15, Y0, Y0
	VPMAXSD      Y6, Y0, Y0
	VPMINSD      Y7, Y0, Y0
	STORE8
	ADDQ         $8, AX
	CMPQ         AX, CX
	JLT          xloop
	VZEROUPPER
	RET
