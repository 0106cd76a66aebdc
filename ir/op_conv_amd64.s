//go:build amd64 && !purego

#include "textflag.h"

// Depthwise convolution rows. Both functions compute, for j < done,
//
//	out[j] = bias + Σ_{t<taps} w[t] · x[offs[t] + stride·j]
//
// in blocks of 64, 32 and then 8 outputs, and return done = n rounded
// down to a multiple of 8; the caller finishes the rest. Each block keeps
// one accumulator per 8 outputs, so a block of 64 has 8 independent FMA
// chains, enough to hide the FMA latency.
//
// Registers: DI out, CX n, SI x, BX offs, DX w, R8 taps, R9 j, R10 t,
// R11 &x[stride·j], R12 the current tap's address, Y15 bias, Y14 weight.

#define ARGS \
	MOVQ         out+0(FP), DI;  \
	MOVQ         n+8(FP), CX;    \
	MOVQ         x+16(FP), SI;   \
	MOVQ         offs+24(FP), BX; \
	MOVQ         w+32(FP), DX;   \
	MOVQ         taps+40(FP), R8; \
	VBROADCASTSS bias+48(FP), Y15; \
	XORQ         R9, R9

// TAP loads the address and weight of tap R10 for the block at R11.
#define TAP \
	MOVQ         (BX)(R10*8), R12; \
	LEAQ         (R11)(R12*4), R12; \
	VBROADCASTSS (DX)(R10*4), Y14

#define NEXT(label) \
	INCQ R10;     \
	CMPQ R10, R8; \
	JLT  label

// Stride 1: accumulator a takes x[off+j+8i .. +8).
#define FMA1(i, a) VFMADD231PS (i*32)(R12), Y14, a

// Stride 2: x[off+2j+16i .. +16), even elements in VSHUFPS order
// 0 2 8 10 | 4 6 12 14; the accumulators are permuted once at the end.
#define FMA2(i, a) \
	VMOVUPS     (i*64)(R12), Y12;    \
	VMOVUPS     (i*64+32)(R12), Y13; \
	VSHUFPS     $0x88, Y13, Y12, Y12; \
	VFMADD231PS Y12, Y14, a

#define STORE(i, a) VMOVUPS a, (i*32)(DI)(R9*4)
#define FIX(a) VPERMPD $0xD8, a, a

// func dwRows1AVX2(out *float32, n int, x *float32, offs *int, w *float32, taps int, bias float32) int
TEXT ·dwRows1AVX2(SB), NOSPLIT, $0-64
	ARGS

s1loop64:
	LEAQ 64(R9), AX
	CMPQ AX, CX
	JGT  s1loop32
	VMOVAPS Y15, Y0
	VMOVAPS Y15, Y1
	VMOVAPS Y15, Y2
	VMOVAPS Y15, Y3
	VMOVAPS Y15, Y4
	VMOVAPS Y15, Y5
	VMOVAPS Y15, Y6
	VMOVAPS Y15, Y7
	LEAQ    (SI)(R9*4), R11
	XORQ    R10, R10

s1tap64:
	TAP
	FMA1(0, Y0)
	FMA1(1, Y1)
	FMA1(2, Y2)
	FMA1(3, Y3)
	FMA1(4, Y4)
	FMA1(5, Y5)
	FMA1(6, Y6)
	FMA1(7, Y7)
	NEXT(s1tap64)
	STORE(0, Y0)
	STORE(1, Y1)
	STORE(2, Y2)
	STORE(3, Y3)
	STORE(4, Y4)
	STORE(5, Y5)
	STORE(6, Y6)
	STORE(7, Y7)
	MOVQ AX, R9
	JMP  s1loop64

s1loop32:
	LEAQ 32(R9), AX
	CMPQ AX, CX
	JGT  s1loop8
	VMOVAPS Y15, Y0
	VMOVAPS Y15, Y1
	VMOVAPS Y15, Y2
	VMOVAPS Y15, Y3
	LEAQ    (SI)(R9*4), R11
	XORQ    R10, R10

s1tap32:
	TAP
	FMA1(0, Y0)
	FMA1(1, Y1)
	FMA1(2, Y2)
	FMA1(3, Y3)
	NEXT(s1tap32)
	STORE(0, Y0)
	STORE(1, Y1)
	STORE(2, Y2)
	STORE(3, Y3)
	MOVQ AX, R9

s1loop8:
	LEAQ 8(R9), AX
	CMPQ AX, CX
	JGT  s1done
	VMOVAPS Y15, Y0
	LEAQ    (SI)(R9*4), R11
	XORQ    R10, R10

s1tap8:
	TAP
	FMA1(0, Y0)
	NEXT(s1tap8)
	STORE(0, Y0)
	MOVQ AX, R9
	JMP  s1loop8

s1done:
	MOVQ R9, ret+56(FP)
	VZEROUPPER
	RET

// func dwRows2AVX2(out *float32, n int, x *float32, offs *int, w *float32, taps int, bias float32) int
TEXT ·dwRows2AVX2(SB), NOSPLIT, $0-64
	ARGS

s2loop64:
	LEAQ 64(R9), AX
	CMPQ AX, CX
	JGT  s2loop32
	VMOVAPS Y15, Y0
	VMOVAPS Y15, Y1
	VMOVAPS Y15, Y2
	VMOVAPS Y15, Y3
	VMOVAPS Y15, Y4
	VMOVAPS Y15, Y5
	VMOVAPS Y15, Y6
	VMOVAPS Y15, Y7
	LEAQ    (SI)(R9*8), R11
	XORQ    R10, R10

s2tap64:
	TAP
	FMA2(0, Y0)
	FMA2(1, Y1)
	FMA2(2, Y2)
	FMA2(3, Y3)
	FMA2(4, Y4)
	FMA2(5, Y5)
	FMA2(6, Y6)
	FMA2(7, Y7)
	NEXT(s2tap64)
	FIX(Y0)
	FIX(Y1)
	FIX(Y2)
	FIX(Y3)
	FIX(Y4)
	FIX(Y5)
	FIX(Y6)
	FIX(Y7)
	STORE(0, Y0)
	STORE(1, Y1)
	STORE(2, Y2)
	STORE(3, Y3)
	STORE(4, Y4)
	STORE(5, Y5)
	STORE(6, Y6)
	STORE(7, Y7)
	MOVQ AX, R9
	JMP  s2loop64

s2loop32:
	LEAQ 32(R9), AX
	CMPQ AX, CX
	JGT  s2loop8
	VMOVAPS Y15, Y0
	VMOVAPS Y15, Y1
	VMOVAPS Y15, Y2
	VMOVAPS Y15, Y3
	LEAQ    (SI)(R9*8), R11
	XORQ    R10, R10

s2tap32:
	TAP
	FMA2(0, Y0)
	FMA2(1, Y1)
	FMA2(2, Y2)
	FMA2(3, Y3)
	NEXT(s2tap32)
	FIX(Y0)
	FIX(Y1)
	FIX(Y2)
	FIX(Y3)
	STORE(0, Y0)
	STORE(1, Y1)
	STORE(2, Y2)
	STORE(3, Y3)
	MOVQ AX, R9

s2loop8:
	LEAQ 8(R9), AX
	CMPQ AX, CX
	JGT  s2done
	VMOVAPS Y15, Y0
	LEAQ    (SI)(R9*8), R11
	XORQ    R10, R10

s2tap8:
	TAP
	FMA2(0, Y0)
	NEXT(s2tap8)
	FIX(Y0)
	STORE(0, Y0)
	MOVQ AX, R9
	JMP  s2loop8

s2done:
	MOVQ R9, ret+56(FP)
	VZEROUPPER
	RET

// func dwc8AVX2(y, x *float32, offs *int, w, b *float32, taps, oh, ow, wp int)
//
// Eight channels at once, interleaved (element c of position p at
// [8p+c]): for oy < oh and ox < ow rounded up to 8,
//
//	y[oy*ow+ox] = b + Σ_{t<taps} w[t] · x[oy*wp + ox + offs[t]]
//
// (8-float vectors; w[t] and b are vectors too), one FMA per tap in tap
// order, so each output has the bits of dwRows1AVX2's. Outputs are
// computed 8 positions of a row at a time (8 FMA chains); the ones past
// ow land in the next row's place, computed later, or past the end.
//
// Registers: DI y row, SI x row, BX offs, DX w, R8 taps, R9 oy, R10 t,
// R11 ox, R12 tap address, R13 ow·32, R14 wp·32, CX oh, Y15 b, Y14 w[t].
TEXT ·dwc8AVX2(SB), NOSPLIT, $0-72
	MOVQ    y+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    offs+16(FP), BX
	MOVQ    w+24(FP), DX
	MOVQ    b+32(FP), AX
	VMOVUPS (AX), Y15
	MOVQ    taps+40(FP), R8
	MOVQ    oh+48(FP), CX
	MOVQ    ow+56(FP), R13
	SHLQ    $5, R13
	MOVQ    wp+64(FP), R14
	SHLQ    $5, R14
	XORQ    R9, R9

c8row:
	XORQ R11, R11

c8block:
	VMOVAPS Y15, Y0
	VMOVAPS Y15, Y1
	VMOVAPS Y15, Y2
	VMOVAPS Y15, Y3
	VMOVAPS Y15, Y4
	VMOVAPS Y15, Y5
	VMOVAPS Y15, Y6
	VMOVAPS Y15, Y7
	XORQ    R10, R10

c8tap:
	MOVQ        (BX)(R10*8), R12
	SHLQ        $5, R12
	ADDQ        SI, R12
	ADDQ        R11, R12
	MOVQ        R10, AX
	SHLQ        $5, AX
	VMOVUPS     (DX)(AX*1), Y14
	VFMADD231PS (R12), Y14, Y0
	VFMADD231PS 32(R12), Y14, Y1
	VFMADD231PS 64(R12), Y14, Y2
	VFMADD231PS 96(R12), Y14, Y3
	VFMADD231PS 128(R12), Y14, Y4
	VFMADD231PS 160(R12), Y14, Y5
	VFMADD231PS 192(R12), Y14, Y6
	VFMADD231PS 224(R12), Y14, Y7
	INCQ        R10
	CMPQ        R10, R8
	JLT         c8tap

	VMOVUPS Y0, (DI)(R11*1)
	VMOVUPS Y1, 32(DI)(R11*1)
	VMOVUPS Y2, 64(DI)(R11*1)
	VMOVUPS Y3, 96(DI)(R11*1)
	VMOVUPS Y4, 128(DI)(R11*1)
	VMOVUPS Y5, 160(DI)(R11*1)
	VMOVUPS Y6, 192(DI)(R11*1)
	VMOVUPS Y7, 224(DI)(R11*1)
	ADDQ    $256, R11
	CMPQ    R11, R13
	JLT     c8block

	ADDQ R13, DI
	ADDQ R14, SI
	INCQ R9
	CMPQ R9, CX
	JLT  c8row
	VZEROUPPER
	RET

// func dwc8s2AVX2(y, x *float32, offs *int, w, b *float32, taps, oh, ow, wp int)
//
// dwc8AVX2 at stride 2: output (oy, ox) reads x[2·oy·wp + 2·ox + offs[t]]
// (R14 = 2·wp·32, the x offset of a block twice its y offset R11).
TEXT ·dwc8s2AVX2(SB), NOSPLIT, $0-72
	MOVQ    y+0(FP), DI
	MOVQ    x+8(FP), SI
	MOVQ    offs+16(FP), BX
	MOVQ    w+24(FP), DX
	MOVQ    b+32(FP), AX
	VMOVUPS (AX), Y15
	MOVQ    taps+40(FP), R8
	MOVQ    oh+48(FP), CX
	MOVQ    ow+56(FP), R13
	SHLQ    $5, R13
	MOVQ    wp+64(FP), R14
	SHLQ    $6, R14
	XORQ    R9, R9

s2c8row:
	XORQ R11, R11

s2c8block:
	VMOVAPS Y15, Y0
	VMOVAPS Y15, Y1
	VMOVAPS Y15, Y2
	VMOVAPS Y15, Y3
	VMOVAPS Y15, Y4
	VMOVAPS Y15, Y5
	VMOVAPS Y15, Y6
	VMOVAPS Y15, Y7
	XORQ    R10, R10

s2c8tap:
	MOVQ        (BX)(R10*8), R12
	SHLQ        $5, R12
	ADDQ        SI, R12
	LEAQ        (R12)(R11*2), R12
	MOVQ        R10, AX
	SHLQ        $5, AX
	VMOVUPS     (DX)(AX*1), Y14
	VFMADD231PS (R12), Y14, Y0
	VFMADD231PS 64(R12), Y14, Y1
	VFMADD231PS 128(R12), Y14, Y2
	VFMADD231PS 192(R12), Y14, Y3
	VFMADD231PS 256(R12), Y14, Y4
	VFMADD231PS 320(R12), Y14, Y5
	VFMADD231PS 384(R12), Y14, Y6
	VFMADD231PS 448(R12), Y14, Y7
	INCQ        R10
	CMPQ        R10, R8
	JLT         s2c8tap

	VMOVUPS Y0, (DI)(R11*1)
	VMOVUPS Y1, 32(DI)(R11*1)
	VMOVUPS Y2, 64(DI)(R11*1)
	VMOVUPS Y3, 96(DI)(R11*1)
	VMOVUPS Y4, 128(DI)(R11*1)
	VMOVUPS Y5, 160(DI)(R11*1)
	VMOVUPS Y6, 192(DI)(R11*1)
	VMOVUPS Y7, 224(DI)(R11*1)
	ADDQ    $256, R11
	CMPQ    R11, R13
	JLT     s2c8block

	ADDQ R13, DI
	ADDQ R14, SI
	INCQ R9
	CMPQ R9, CX
	JLT  s2c8row
	VZEROUPPER
	RET
