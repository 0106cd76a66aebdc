//go:build amd64 && !purego

#include "textflag.h"

// One k step of the 6×16 kernel: load 16 floats of B, broadcast 6 floats
// of A and accumulate the outer product into Y4..Y15 (row r in Y(4+2r),
// Y(5+2r)).
#define STEP(aoff, boff) \
	VMOVUPS      (boff)(DI), Y0;        \
	VMOVUPS      (boff+32)(DI), Y1;     \
	VBROADCASTSS (aoff)(SI), Y2;        \
	VFMADD231PS  Y0, Y2, Y4;            \
	VFMADD231PS  Y1, Y2, Y5;            \
	VBROADCASTSS (aoff+4)(SI), Y3;      \
	VFMADD231PS  Y0, Y3, Y6;            \
	VFMADD231PS  Y1, Y3, Y7;            \
	VBROADCASTSS (aoff+8)(SI), Y2;      \
	VFMADD231PS  Y0, Y2, Y8;            \
	VFMADD231PS  Y1, Y2, Y9;            \
	VBROADCASTSS (aoff+12)(SI), Y3;     \
	VFMADD231PS  Y0, Y3, Y10;           \
	VFMADD231PS  Y1, Y3, Y11;           \
	VBROADCASTSS (aoff+16)(SI), Y2;     \
	VFMADD231PS  Y0, Y2, Y12;           \
	VFMADD231PS  Y1, Y2, Y13;           \
	VBROADCASTSS (aoff+20)(SI), Y3;     \
	VFMADD231PS  Y0, Y3, Y14;           \
	VFMADD231PS  Y1, Y3, Y15

// Add the accumulators of one row to C at DX and advance DX by R8.
#define STOREROW(lo, hi) \
	VADDPS  (DX), lo, lo;    \
	VMOVUPS lo, (DX);        \
	VADDPS  32(DX), hi, hi;  \
	VMOVUPS hi, 32(DX);      \
	ADDQ    R8, DX

// func sgemmKernel6x16(k int, a, b, c *float32, ldc int)
TEXT ·sgemmKernel6x16(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8

	// Warm the C tile while the k loop runs.
	MOVQ DX, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)
	ADDQ R8, AX
	PREFETCHT0 (AX)
	PREFETCHT0 60(AX)

	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

	MOVQ CX, BX
	SHRQ $2, BX
	JZ   k1

k4:
	STEP(0, 0)
	STEP(24, 64)
	STEP(48, 128)
	STEP(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ BX
	JNZ  k4

k1:
	ANDQ $3, CX
	JZ   store

k1loop:
	STEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  k1loop

store:
	STOREROW(Y4, Y5)
	STOREROW(Y6, Y7)
	STOREROW(Y8, Y9)
	STOREROW(Y10, Y11)
	STOREROW(Y12, Y13)
	STOREROW(Y14, Y15)
	VZEROUPPER
	RET

// func sdot4(k int, a *float32, lda int, x *float32, out *[4]float32)
TEXT ·sdot4(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $2, R8
	MOVQ x+24(FP), DI
	MOVQ out+32(FP), DX
	LEAQ (SI)(R8*1), R10
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12

	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ   AX, AX

	MOVQ CX, BX
	SHRQ $4, BX
	JZ   dot4rem

dot4loop:
	VMOVUPS     (DI)(AX*1), Y0
	VMOVUPS     32(DI)(AX*1), Y1
	VFMADD231PS (SI)(AX*1), Y0, Y4
	VFMADD231PS 32(SI)(AX*1), Y1, Y5
	VFMADD231PS (R10)(AX*1), Y0, Y6
	VFMADD231PS 32(R10)(AX*1), Y1, Y7
	VFMADD231PS (R11)(AX*1), Y0, Y8
	VFMADD231PS 32(R11)(AX*1), Y1, Y9
	VFMADD231PS (R12)(AX*1), Y0, Y10
	VFMADD231PS 32(R12)(AX*1), Y1, Y11
	ADDQ        $64, AX
	DECQ        BX
	JNZ         dot4loop

dot4rem:
	TESTQ $8, CX
	JZ    dot4reduce
	VMOVUPS     (DI)(AX*1), Y0
	VFMADD231PS (SI)(AX*1), Y0, Y4
	VFMADD231PS (R10)(AX*1), Y0, Y6
	VFMADD231PS (R11)(AX*1), Y0, Y8
	VFMADD231PS (R12)(AX*1), Y0, Y10

dot4reduce:
	VADDPS       Y5, Y4, Y4
	VADDPS       Y7, Y6, Y6
	VADDPS       Y9, Y8, Y8
	VADDPS       Y11, Y10, Y10
	VHADDPS      Y6, Y4, Y0
	VHADDPS      Y10, Y8, Y1
	VHADDPS      Y1, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS       X1, X0, X0
	VMOVUPS      X0, (DX)
	VZEROUPPER
	RET

// func sdot1(k int, a, x *float32) float32
TEXT ·sdot1(SB), NOSPLIT, $0-28
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ x+16(FP), DI

	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ   AX, AX

	MOVQ CX, BX
	SHRQ $5, BX
	JZ   dot1rem

dot1loop:
	VMOVUPS     (DI)(AX*1), Y0
	VMOVUPS     32(DI)(AX*1), Y1
	VMOVUPS     64(DI)(AX*1), Y2
	VMOVUPS     96(DI)(AX*1), Y3
	VFMADD231PS (SI)(AX*1), Y0, Y4
	VFMADD231PS 32(SI)(AX*1), Y1, Y5
	VFMADD231PS 64(SI)(AX*1), Y2, Y6
	VFMADD231PS 96(SI)(AX*1), Y3, Y7
	ADDQ        $128, AX
	DECQ        BX
	JNZ         dot1loop

dot1rem:
	ANDQ $31, CX
	SHRQ $3, CX
	JZ   dot1reduce

dot1remloop:
	VMOVUPS     (DI)(AX*1), Y0
	VFMADD231PS (SI)(AX*1), Y0, Y4
	ADDQ        $32, AX
	DECQ        CX
	JNZ         dot1remloop

dot1reduce:
	VADDPS       Y5, Y4, Y4
	VADDPS       Y7, Y6, Y6
	VADDPS       Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X1
	VADDPS       X1, X4, X0
	VHADDPS      X0, X0, X0
	VHADDPS      X0, X0, X0
	VZEROUPPER
	MOVSS        X0, ret+24(FP)
	RET

// func saxpyStrip64(k int, x, b *float32, ldb int, c *float32)
TEXT ·saxpyStrip64(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R8
	SHLQ $2, R8
	MOVQ c+32(FP), DX

	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15

axpy64loop:
	VBROADCASTSS (SI), Y0
	VFMADD231PS  (DI), Y0, Y8
	VFMADD231PS  32(DI), Y0, Y9
	VFMADD231PS  64(DI), Y0, Y10
	VFMADD231PS  96(DI), Y0, Y11
	VFMADD231PS  128(DI), Y0, Y12
	VFMADD231PS  160(DI), Y0, Y13
	VFMADD231PS  192(DI), Y0, Y14
	VFMADD231PS  224(DI), Y0, Y15
	ADDQ         $4, SI
	ADDQ         R8, DI
	DECQ         CX
	JNZ          axpy64loop

	VADDPS  (DX), Y8, Y8
	VMOVUPS Y8, (DX)
	VADDPS  32(DX), Y9, Y9
	VMOVUPS Y9, 32(DX)
	VADDPS  64(DX), Y10, Y10
	VMOVUPS Y10, 64(DX)
	VADDPS  96(DX), Y11, Y11
	VMOVUPS Y11, 96(DX)
	VADDPS  128(DX), Y12, Y12
	VMOVUPS Y12, 128(DX)
	VADDPS  160(DX), Y13, Y13
	VMOVUPS Y13, 160(DX)
	VADDPS  192(DX), Y14, Y14
	VMOVUPS Y14, 192(DX)
	VADDPS  224(DX), Y15, Y15
	VMOVUPS Y15, 224(DX)
	VZEROUPPER
	RET

// func saxpyStrip8(k int, x, b *float32, ldb int, c *float32)
TEXT ·saxpyStrip8(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R8
	SHLQ $2, R8
	MOVQ c+32(FP), DX

	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ CX, BX
	SHRQ $2, BX
	JZ   axpy8rem

axpy8loop:
	VBROADCASTSS (SI), Y0
	VBROADCASTSS 4(SI), Y1
	VBROADCASTSS 8(SI), Y2
	VBROADCASTSS 12(SI), Y3
	VFMADD231PS  (DI), Y0, Y8
	ADDQ         R8, DI
	VFMADD231PS  (DI), Y1, Y9
	ADDQ         R8, DI
	VFMADD231PS  (DI), Y2, Y10
	ADDQ         R8, DI
	VFMADD231PS  (DI), Y3, Y11
	ADDQ         R8, DI
	ADDQ         $16, SI
	DECQ         BX
	JNZ          axpy8loop

axpy8rem:
	ANDQ $3, CX
	JZ   axpy8store

axpy8remloop:
	VBROADCASTSS (SI), Y0
	VFMADD231PS  (DI), Y0, Y8
	ADDQ         R8, DI
	ADDQ         $4, SI
	DECQ         CX
	JNZ          axpy8remloop

axpy8store:
	VADDPS  Y9, Y8, Y8
	VADDPS  Y11, Y10, Y10
	VADDPS  Y10, Y8, Y8
	VADDPS  (DX), Y8, Y8
	VMOVUPS Y8, (DX)
	VZEROUPPER
	RET
