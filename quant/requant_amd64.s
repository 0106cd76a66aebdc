//go:build amd64 && !purego

#include "textflag.h"

// func requantRowFloatAVX2(d *int8, acc *int32, n int, p *requantParams)
//
// requantizer.row's float path, 8 elements per iteration, n a positive
// multiple of 8: d[i] = int8(int32(round(min(max(float32(acc[i]+bias)·f,
// lo), hi))) + zp), rounding by adding and subtracting 1.5·2²³ as the Go
// loop does; every step is one IEEE float32 operation per lane, so the
// bits are the Go loop's. Registers: DI d, SI acc, CX n, AX i; Y8 bias,
// Y9 f, Y10 lo, Y11 hi, Y12 magic, Y13 zp.
TEXT ·requantRowFloatAVX2(SB), NOSPLIT, $0-32
	MOVQ d+0(FP), DI
	MOVQ acc+8(FP), SI
	MOVQ n+16(FP), CX
	MOVQ p+24(FP), DX
	VPBROADCASTD 0(DX), Y8
	VBROADCASTSS 4(DX), Y9
	VBROADCASTSS 8(DX), Y10
	VBROADCASTSS 12(DX), Y11
	VBROADCASTSS 16(DX), Y12
	VPBROADCASTD 20(DX), Y13
	XORQ AX, AX

loop:
	VMOVDQU      (SI)(AX*4), Y0
	VPADDD       Y8, Y0, Y0
	VCVTDQ2PS    Y0, Y0
	VMULPS       Y9, Y0, Y0
	VMAXPS       Y10, Y0, Y0
	VMINPS       Y11, Y0, Y0
	VADDPS       Y12, Y0, Y0
	VSUBPS       Y12, Y0, Y0
	VCVTTPS2DQ   Y0, Y0
	VPADDD       Y13, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW    X1, X0, X0
	VPACKSSWB    X0, X0, X0
	MOVQ         X0, (DI)(AX*1)
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
	VPBROADCASTD 0(DX), Y8
	VBROADCASTSS 4(DX), Y9
	VBROADCASTSS 8(DX), Y10
	VBROADCASTSS 12(DX), Y11
	VBROADCASTSS 16(DX), Y12
	VPBROADCASTD 20(DX), Y13
	XORQ AX, AX

floop:
	VCVTTPS2DQ   (SI)(AX*4), Y0
	VPADDD       Y8, Y0, Y0
	VCVTDQ2PS    Y0, Y0
	VMULPS       Y9, Y0, Y0
	VMAXPS       Y10, Y0, Y0
	VMINPS       Y11, Y0, Y0
	VADDPS       Y12, Y0, Y0
	VSUBPS       Y12, Y0, Y0
	VCVTTPS2DQ   Y0, Y0
	VPADDD       Y13, Y0, Y0
	VEXTRACTI128 $1, Y0, X1
	VPACKSSDW    X1, X0, X0
	VPACKSSWB    X0, X0, X0
	MOVQ         X0, (DI)(AX*1)
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
