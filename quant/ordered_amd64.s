//go:build amd64 && !purego

#include "textflag.h"

// One p step of row i of the tile: broadcast A(i, p), multiply by the two
// halves of B's row p (Y0, Y1), add to the row's accumulators.
#define ROW(addr, lo, hi) \
	VBROADCASTSS addr, Y2; \
	VMULPS       Y0, Y2, Y3; \
	VMULPS       Y1, Y2, Y12; \
	VADDPS       Y3, lo, lo; \
	VADDPS       Y12, hi, hi

// func orderedKernel4x16(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)
TEXT ·orderedKernel4x16(SB), NOSPLIT, $0-56
	MOVQ k+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ lda+16(FP), R8
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	MOVQ b+24(FP), DI
	MOVQ ldb+32(FP), R12
	SHLQ $2, R12
	MOVQ c+40(FP), DX
	MOVQ ldc+48(FP), R13
	SHLQ $2, R13

	MOVQ    DX, BX
	VMOVUPS (BX), Y4
	VMOVUPS 32(BX), Y5
	ADDQ    R13, BX
	VMOVUPS (BX), Y6
	VMOVUPS 32(BX), Y7
	ADDQ    R13, BX
	VMOVUPS (BX), Y8
	VMOVUPS 32(BX), Y9
	ADDQ    R13, BX
	VMOVUPS (BX), Y10
	VMOVUPS 32(BX), Y11

loop:
	VMOVUPS (DI), Y0
	VMOVUPS 32(DI), Y1
	ADDQ    R12, DI
	ROW((SI), Y4, Y5)
	ROW((SI)(R8*1), Y6, Y7)
	ROW((SI)(R8*2), Y8, Y9)
	ROW((SI)(R9*1), Y10, Y11)
	ADDQ $4, SI
	DECQ CX
	JNZ  loop

	VMOVUPS Y4, (DX)
	VMOVUPS Y5, 32(DX)
	ADDQ    R13, DX
	VMOVUPS Y6, (DX)
	VMOVUPS Y7, 32(DX)
	ADDQ    R13, DX
	VMOVUPS Y8, (DX)
	VMOVUPS Y9, 32(DX)
	ADDQ    R13, DX
	VMOVUPS Y10, (DX)
	VMOVUPS Y11, 32(DX)
	VZEROUPPER
	RET

// func taps3(n, rows int, a *float32, lda int, s0, s1, s2 *float32, lds int, w0, w1, w2 float32)
TEXT ·taps3(SB), NOSPLIT, $0-76
	MOVQ         a+16(FP), DX
	MOVQ         lda+24(FP), R11
	SHLQ         $2, R11
	MOVQ         s0+32(FP), R8
	MOVQ         s1+40(FP), R9
	MOVQ         s2+48(FP), R10
	MOVQ         lds+56(FP), R12
	SHLQ         $2, R12
	VBROADCASTSS w0+64(FP), Y5
	VBROADCASTSS w1+68(FP), Y6
	VBROADCASTSS w2+72(FP), Y7
	MOVQ         rows+8(FP), BX
	TESTQ        BX, BX
	JZ           tapsdone

tapsrow:
	MOVQ n+0(FP), CX
	XORQ AX, AX
	CMPQ CX, $8
	JLT  tapstail

tapsloop:
	VMOVUPS (DX)(AX*4), Y0
	VMULPS  (R8)(AX*4), Y5, Y1
	VADDPS  Y1, Y0, Y0
	VMULPS  (R9)(AX*4), Y6, Y2
	VADDPS  Y2, Y0, Y0
	VMULPS  (R10)(AX*4), Y7, Y3
	VADDPS  Y3, Y0, Y0
	VMOVUPS Y0, (DX)(AX*4)
	ADDQ    $8, AX
	SUBQ    $8, CX
	CMPQ    CX, $8
	JGE     tapsloop

tapstail:
	TESTQ CX, CX
	JZ    tapsnext

tapsscalar:
	VMOVSS (DX)(AX*4), X0
	VMULSS (R8)(AX*4), X5, X1
	VADDSS X1, X0, X0
	VMULSS (R9)(AX*4), X6, X2
	VADDSS X2, X0, X0
	VMULSS (R10)(AX*4), X7, X3
	VADDSS X3, X0, X0
	VMOVSS X0, (DX)(AX*4)
	INCQ   AX
	DECQ   CX
	JNZ    tapsscalar

tapsnext:
	ADDQ R11, DX
	ADDQ R12, R8
	ADDQ R12, R9
	ADDQ R12, R10
	DECQ BX
	JNZ  tapsrow

tapsdone:
	VZEROUPPER
	RET
