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

// func transpose8AVX2(dst *float32, ldd int, src *float32, lds int)
//
// dst[i*ldd+j] = src[j*lds+i] for i, j < 8 (strides in elements): eight
// rows loaded, transposed in registers (unpack, shuffle, lane permute),
// eight rows stored.
TEXT ·transpose8AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), DX
	MOVQ src+16(FP), SI
	MOVQ lds+24(FP), CX
	SHLQ $2, DX
	SHLQ $2, CX
	LEAQ (CX)(CX*2), AX // 3·lds
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(CX*1), Y1
	VMOVUPS (SI)(CX*2), Y2
	VMOVUPS (SI)(AX*1), Y3
	LEAQ    (SI)(CX*4), SI
	VMOVUPS (SI), Y4
	VMOVUPS (SI)(CX*1), Y5
	VMOVUPS (SI)(CX*2), Y6
	VMOVUPS (SI)(AX*1), Y7

	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15

	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7

	LEAQ       (DX)(DX*2), AX // 3·ldd
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS    Y8, (DI)
	VMOVUPS    Y9, (DI)(DX*1)
	VMOVUPS    Y10, (DI)(DX*2)
	VMOVUPS    Y11, (DI)(AX*1)
	LEAQ       (DI)(DX*4), DI
	VMOVUPS    Y12, (DI)
	VMOVUPS    Y13, (DI)(DX*1)
	VMOVUPS    Y14, (DI)(DX*2)
	VMOVUPS    Y15, (DI)(AX*1)
	VZEROUPPER
	RET

// func copy3AVX2(d0, d1, d2, src *float32, n int)
//
// d0[j] = src[j], d1[j] = src[j+1], d2[j] = src[j+2] for j < n, n a
// positive multiple of 8; reads src[0:n+2] (im2col's three taps of a 3×3
// kernel row at stride 1).
TEXT ·copy3AVX2(SB), NOSPLIT, $0-40
	MOVQ d0+0(FP), DI
	MOVQ d1+8(FP), DX
	MOVQ d2+16(FP), R8
	MOVQ src+24(FP), SI
	MOVQ n+32(FP), CX
	XORQ AX, AX

copy3loop:
	VMOVUPS (SI)(AX*4), Y0
	VMOVUPS 4(SI)(AX*4), Y1
	VMOVUPS 8(SI)(AX*4), Y2
	VMOVUPS Y0, (DI)(AX*4)
	VMOVUPS Y1, (DX)(AX*4)
	VMOVUPS Y2, (R8)(AX*4)
	ADDQ    $8, AX
	CMPQ    AX, CX
	JLT     copy3loop
	VZEROUPPER
	RET

// func transpose8sAVX2(dst *float32, ldd, dstep int, src *float32, lds, sstep, n int)
//
// n transpose8AVX2s: block q sets dst[q*dstep + i*ldd + j] = src[q*sstep +
// j*lds + i] for i, j < 8 (all in elements): a row of 8×8 blocks in one
// call (the depthwise planes' interleaving, planes8).
TEXT ·transpose8sAVX2(SB), NOSPLIT, $0-56
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), DX
	MOVQ dstep+16(FP), R8
	MOVQ src+24(FP), SI
	MOVQ lds+32(FP), CX
	MOVQ sstep+40(FP), R9
	MOVQ n+48(FP), R10
	SHLQ $2, DX
	SHLQ $2, CX
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (CX)(CX*2), AX  // 3·lds
	LEAQ (DX)(DX*2), R11 // 3·ldd

t8sloop:
	MOVQ    SI, R12
	VMOVUPS (R12), Y0
	VMOVUPS (R12)(CX*1), Y1
	VMOVUPS (R12)(CX*2), Y2
	VMOVUPS (R12)(AX*1), Y3
	LEAQ    (R12)(CX*4), R12
	VMOVUPS (R12), Y4
	VMOVUPS (R12)(CX*1), Y5
	VMOVUPS (R12)(CX*2), Y6
	VMOVUPS (R12)(AX*1), Y7

	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15

	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7

	MOVQ       DI, R13
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS    Y8, (R13)
	VMOVUPS    Y9, (R13)(DX*1)
	VMOVUPS    Y10, (R13)(DX*2)
	VMOVUPS    Y11, (R13)(R11*1)
	LEAQ       (R13)(DX*4), R13
	VMOVUPS    Y12, (R13)
	VMOVUPS    Y13, (R13)(DX*1)
	VMOVUPS    Y14, (R13)(DX*2)
	VMOVUPS    Y15, (R13)(R11*1)

	ADDQ R8, DI
	ADDQ R9, SI
	DECQ R10
	JNZ  t8sloop
	VZEROUPPER
	RET

// func transpose8sClampAVX2(dst *float32, ldd, dstep int, src *float32, lds, sstep, n int, hi float32)
//
// transpose8sAVX2 of min(max(x, 0) + 0, hi): relu6AVX2's instructions on
// each element before the transpose (a fused input ReLU6, or ReLU with
// hi = +Inf, whose minimum returns x).
TEXT ·transpose8sClampAVX2(SB), NOSPLIT, $0-60
	MOVQ dst+0(FP), DI
	MOVQ ldd+8(FP), DX
	MOVQ dstep+16(FP), R8
	MOVQ src+24(FP), SI
	MOVQ lds+32(FP), CX
	MOVQ sstep+40(FP), R9
	MOVQ n+48(FP), R10
	SHLQ $2, DX
	SHLQ $2, CX
	SHLQ $2, R8
	SHLQ $2, R9
	LEAQ (CX)(CX*2), AX  // 3·lds
	LEAQ (DX)(DX*2), R11 // 3·ldd

t8csloop:
	MOVQ    SI, R12
	VMOVUPS (R12), Y0
	VMOVUPS (R12)(CX*1), Y1
	VMOVUPS (R12)(CX*2), Y2
	VMOVUPS (R12)(AX*1), Y3
	LEAQ    (R12)(CX*4), R12
	VMOVUPS (R12), Y4
	VMOVUPS (R12)(CX*1), Y5
	VMOVUPS (R12)(CX*2), Y6
	VMOVUPS (R12)(AX*1), Y7

	VXORPS       Y8, Y8, Y8
	VBROADCASTSS hi+56(FP), Y9
	VMAXPS       Y0, Y8, Y0
	VMAXPS       Y1, Y8, Y1
	VMAXPS       Y2, Y8, Y2
	VMAXPS       Y3, Y8, Y3
	VMAXPS       Y4, Y8, Y4
	VMAXPS       Y5, Y8, Y5
	VMAXPS       Y6, Y8, Y6
	VMAXPS       Y7, Y8, Y7
	VADDPS       Y8, Y0, Y0
	VADDPS       Y8, Y1, Y1
	VADDPS       Y8, Y2, Y2
	VADDPS       Y8, Y3, Y3
	VADDPS       Y8, Y4, Y4
	VADDPS       Y8, Y5, Y5
	VADDPS       Y8, Y6, Y6
	VADDPS       Y8, Y7, Y7
	VMINPS       Y0, Y9, Y0
	VMINPS       Y1, Y9, Y1
	VMINPS       Y2, Y9, Y2
	VMINPS       Y3, Y9, Y3
	VMINPS       Y4, Y9, Y4
	VMINPS       Y5, Y9, Y5
	VMINPS       Y6, Y9, Y6
	VMINPS       Y7, Y9, Y7

	VUNPCKLPS Y1, Y0, Y8
	VUNPCKHPS Y1, Y0, Y9
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12
	VUNPCKHPS Y5, Y4, Y13
	VUNPCKLPS Y7, Y6, Y14
	VUNPCKHPS Y7, Y6, Y15

	VSHUFPS $0x44, Y10, Y8, Y0
	VSHUFPS $0xEE, Y10, Y8, Y1
	VSHUFPS $0x44, Y11, Y9, Y2
	VSHUFPS $0xEE, Y11, Y9, Y3
	VSHUFPS $0x44, Y14, Y12, Y4
	VSHUFPS $0xEE, Y14, Y12, Y5
	VSHUFPS $0x44, Y15, Y13, Y6
	VSHUFPS $0xEE, Y15, Y13, Y7

	MOVQ       DI, R13
	VPERM2F128 $0x20, Y4, Y0, Y8
	VPERM2F128 $0x20, Y5, Y1, Y9
	VPERM2F128 $0x20, Y6, Y2, Y10
	VPERM2F128 $0x20, Y7, Y3, Y11
	VPERM2F128 $0x31, Y4, Y0, Y12
	VPERM2F128 $0x31, Y5, Y1, Y13
	VPERM2F128 $0x31, Y6, Y2, Y14
	VPERM2F128 $0x31, Y7, Y3, Y15
	VMOVUPS    Y8, (R13)
	VMOVUPS    Y9, (R13)(DX*1)
	VMOVUPS    Y10, (R13)(DX*2)
	VMOVUPS    Y11, (R13)(R11*1)
	LEAQ       (R13)(DX*4), R13
	VMOVUPS    Y12, (R13)
	VMOVUPS    Y13, (R13)(DX*1)
	VMOVUPS    Y14, (R13)(DX*2)
	VMOVUPS    Y15, (R13)(R11*1)

	ADDQ R8, DI
	ADDQ R9, SI
	DECQ R10
	JNZ  t8csloop
	VZEROUPPER
	RET
