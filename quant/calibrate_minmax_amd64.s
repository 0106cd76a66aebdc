//go:build amd64 && !purego

#include "textflag.h"

// func minMaxKeysAVX2(x *float32, n int, lanes *[16]int32)
//
// 32 floats per iteration in four independent lane sets. A float's
// orderKey is its bits XOR (its sign spread over the 31 low bits):
// VPSRAD 31 gives all ones for a negative float, VPSRLD 1 of that the
// 31-bit mask. Registers: SI x, CX n, AX i; Y8-Y11 minima, Y12-Y15
// maxima; Y0-Y7 scratch.
#define KEY(src, tmp) \
	VPSRAD $31, src, tmp; \
	VPSRLD $1, tmp, tmp;  \
	VPXOR  tmp, src, src

TEXT ·minMaxKeysAVX2(SB), NOSPLIT, $0-24
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ lanes+16(FP), DI
	VMOVDQU (DI), Y8
	VMOVDQU 32(DI), Y12
	VMOVDQA Y8, Y9
	VMOVDQA Y8, Y10
	VMOVDQA Y8, Y11
	VMOVDQA Y12, Y13
	VMOVDQA Y12, Y14
	VMOVDQA Y12, Y15
	XORQ    AX, AX

loop:
	VMOVDQU (SI)(AX*4), Y0
	VMOVDQU 32(SI)(AX*4), Y1
	VMOVDQU 64(SI)(AX*4), Y2
	VMOVDQU 96(SI)(AX*4), Y3
	KEY(Y0, Y4)
	KEY(Y1, Y5)
	KEY(Y2, Y6)
	KEY(Y3, Y7)
	VPMINSD Y0, Y8, Y8
	VPMINSD Y1, Y9, Y9
	VPMINSD Y2, Y10, Y10
	VPMINSD Y3, Y11, Y11
	VPMAXSD Y0, Y12, Y12
	VPMAXSD Y1, Y13, Y13
	VPMAXSD Y2, Y14, Y14
	VPMAXSD Y3, Y15, Y15
	ADDQ    $32, AX
	CMPQ    AX, CX
	JLT     loop

	VPMINSD Y9, Y8, Y8
	VPMINSD Y11, Y10, Y10
	VPMINSD Y10, Y8, Y8
	VPMAXSD Y13, Y12, Y12
	VPMAXSD Y15, Y14, Y14
	VPMAXSD Y14, Y12, Y12
	VMOVDQU Y8, (DI)
	VMOVDQU Y12, 32(DI)
	VZEROUPPER
	RET
