//go:build amd64 && !purego

#include "textflag.h"

// func gather2AVX2(dst, src *float32, n int)
//
// dst[i] = src[2i] for i < n, n a positive multiple of 8; reads src[0:2n].
// Per 8 outputs: two loads, VSHUFPS picks the even elements of each
// 128-bit lane (0 2 8 10 | 4 6 12 14) and VPERMPD puts the pairs in order.
TEXT ·gather2AVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	XORQ AX, AX

gather2loop:
	VMOVUPS (SI)(AX*8), Y0
	VMOVUPS 32(SI)(AX*8), Y1
	VSHUFPS $0x88, Y1, Y0, Y0
	VPERMPD $0xD8, Y0, Y0
	VMOVUPS Y0, (DI)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, CX
	JLT     gather2loop
	VZEROUPPER
	RET
