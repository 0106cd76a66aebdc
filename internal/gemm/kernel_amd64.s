//go:build amd64 && !purego

#include "textflag.h"

// The tile kernels compute, for each panel q < panels, i < rows and j < W,
//
//	c[q*W + i*ldc + j] += Σ_{p<k} a[i*rsa + p*ksa] · b[q*bnext + p*ksb + j]
//
// where W is 16 or 8: a row of tiles of C sharing the same rows of A.
// A(i,p) is read at SI + i*R8 + p*R11 (R9 = 3*R8, R10 = 5*R8) and row p of
// a panel of B at DI + p*R12, so packed panels and matrices in place work
// alike. The kNxW kernel reads all N rows of A and stores rows < rows.
// The rows of C being computed are prefetched first; only those rows:
// prefetching an unmapped address is slow (a failed page walk each time).
// Register use: R14 = k, R15 = A, AX = current panel of B, R13 = ldc in
// bytes, DX = C row pointer, CX/BX = loop counters, Y0–Y3 = B and
// broadcast A, Y4… = accumulators.

// Load the arguments (all kernels share one signature).
#define KERNELARGS \
	MOVQ k+0(FP), R14;     \
	MOVQ a+8(FP), R15;     \
	MOVQ rsa+16(FP), R8;   \
	SHLQ $2, R8;           \
	LEAQ (R8)(R8*2), R9;   \
	LEAQ (R8)(R8*4), R10;  \
	MOVQ ksa+24(FP), R11;  \
	SHLQ $2, R11;          \
	MOVQ b+32(FP), AX;     \
	MOVQ ksb+40(FP), R12;  \
	SHLQ $2, R12;          \
	MOVQ ldc+64(FP), R13;  \
	SHLQ $2, R13

// Add the accumulators of one row to C at DX and advance DX by R13.
#define STOREROW16(lo, hi) \
	VADDPS  (DX), lo, lo;    \
	VMOVUPS lo, (DX);        \
	VADDPS  32(DX), hi, hi;  \
	VMOVUPS hi, 32(DX);      \
	ADDQ    R13, DX

#define STOREROW8(acc) \
	VADDPS  (DX), acc, acc; \
	VMOVUPS acc, (DX);      \
	ADDQ    R13, DX

// With a bias (SI ≠ 0, one float per row): store the accumulators plus
// the row's bias, ignoring what C held, and advance SI to the next row's.
#define BSTOREROW16(lo, hi) \
	VBROADCASTSS (SI), Y0;   \
	VADDPS  Y0, lo, lo;      \
	VMOVUPS lo, (DX);        \
	VADDPS  Y0, hi, hi;      \
	VMOVUPS hi, 32(DX);      \
	ADDQ    R13, DX;         \
	ADDQ    $4, SI

#define BSTOREROW8(acc) \
	VBROADCASTSS (SI), Y0;  \
	VADDPS  Y0, acc, acc;   \
	VMOVUPS acc, (DX);      \
	ADDQ    R13, DX;        \
	ADDQ    $4, SI

// Advance AX to the next panel of B.
#define NEXTB \
	MOVQ bnext+48(FP), BX; \
	LEAQ (AX)(BX*4), AX

// Prefetch the next row tile's A (R14, pf or the current tile: six rows
// rsa apart) every four k steps, as the AVX-512 kernels do.
#define PFA \
	PREFETCHT0 (R14);        \
	PREFETCHT0 (R14)(R8*1);  \
	PREFETCHT0 (R14)(R8*2);  \
	PREFETCHT0 (R14)(R9*1);  \
	PREFETCHT0 (R14)(R8*4);  \
	PREFETCHT0 (R14)(R10*1); \
	LEAQ       (R14)(R11*4), R14

// One k step of the 6x16 kernel.
#define STEP6x16 \
	VMOVUPS      (DI), Y0; \
	VMOVUPS      32(DI), Y1; \
	ADDQ         R12, DI; \
	VBROADCASTSS (SI), Y2; \
	VFMADD231PS  Y0, Y2, Y4; \
	VFMADD231PS  Y1, Y2, Y5; \
	VBROADCASTSS (SI)(R8*1), Y3; \
	VFMADD231PS  Y0, Y3, Y6; \
	VFMADD231PS  Y1, Y3, Y7; \
	VBROADCASTSS (SI)(R8*2), Y2; \
	VFMADD231PS  Y0, Y2, Y8; \
	VFMADD231PS  Y1, Y2, Y9; \
	VBROADCASTSS (SI)(R9*1), Y3; \
	VFMADD231PS  Y0, Y3, Y10; \
	VFMADD231PS  Y1, Y3, Y11; \
	VBROADCASTSS (SI)(R8*4), Y2; \
	VFMADD231PS  Y0, Y2, Y12; \
	VFMADD231PS  Y1, Y2, Y13; \
	VBROADCASTSS (SI)(R10*1), Y3; \
	VFMADD231PS  Y0, Y3, Y14; \
	VFMADD231PS  Y1, Y3, Y15; \
	ADDQ         R11, SI

// One k step of the 4x16 kernel.
#define STEP4x16 \
	VMOVUPS      (DI), Y0; \
	VMOVUPS      32(DI), Y1; \
	ADDQ         R12, DI; \
	VBROADCASTSS (SI), Y2; \
	VFMADD231PS  Y0, Y2, Y4; \
	VFMADD231PS  Y1, Y2, Y5; \
	VBROADCASTSS (SI)(R8*1), Y3; \
	VFMADD231PS  Y0, Y3, Y6; \
	VFMADD231PS  Y1, Y3, Y7; \
	VBROADCASTSS (SI)(R8*2), Y2; \
	VFMADD231PS  Y0, Y2, Y8; \
	VFMADD231PS  Y1, Y2, Y9; \
	VBROADCASTSS (SI)(R9*1), Y3; \
	VFMADD231PS  Y0, Y3, Y10; \
	VFMADD231PS  Y1, Y3, Y11; \
	ADDQ         R11, SI

// One k step of the 6x8 kernel.
#define STEP6x8 \
	VMOVUPS      (DI), Y0; \
	ADDQ         R12, DI; \
	VBROADCASTSS (SI), Y2; \
	VFMADD231PS  Y0, Y2, Y4; \
	VBROADCASTSS (SI)(R8*1), Y3; \
	VFMADD231PS  Y0, Y3, Y5; \
	VBROADCASTSS (SI)(R8*2), Y2; \
	VFMADD231PS  Y0, Y2, Y6; \
	VBROADCASTSS (SI)(R9*1), Y3; \
	VFMADD231PS  Y0, Y3, Y7; \
	VBROADCASTSS (SI)(R8*4), Y2; \
	VFMADD231PS  Y0, Y2, Y8; \
	VBROADCASTSS (SI)(R10*1), Y3; \
	VFMADD231PS  Y0, Y3, Y9; \
	ADDQ         R11, SI

// One k step of the 4x8 kernel.
#define STEP4x8 \
	VMOVUPS      (DI), Y0; \
	ADDQ         R12, DI; \
	VBROADCASTSS (SI), Y2; \
	VFMADD231PS  Y0, Y2, Y4; \
	VBROADCASTSS (SI)(R8*1), Y3; \
	VFMADD231PS  Y0, Y3, Y5; \
	VBROADCASTSS (SI)(R8*2), Y2; \
	VFMADD231PS  Y0, Y2, Y6; \
	VBROADCASTSS (SI)(R9*1), Y3; \
	VFMADD231PS  Y0, Y3, Y7; \
	ADDQ         R11, SI

// func sgemmKernel6x16(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias, pf *float32)
TEXT ·sgemmKernel6x16(SB), NOSPLIT, $0-104
	KERNELARGS

k6x16panel:
	MOVQ c+56(FP), DX
	MOVQ rows+72(FP), CX
	MOVQ DX, BX
k6x16prefetch:
	PREFETCHT0 (BX)
	PREFETCHT0 60(BX)
	ADDQ R13, BX
	DECQ CX
	JNZ  k6x16prefetch
	MOVQ R15, SI
	MOVQ AX, DI
	MOVQ k+0(FP), CX
	MOVQ pf+96(FP), R14
	TESTQ R14, R14
	CMOVQEQ SI, R14
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
	JZ   k6x16k1

k6x16k4:
	STEP6x16
	STEP6x16
	STEP6x16
	STEP6x16
	PFA
	DECQ BX
	JNZ  k6x16k4

k6x16k1:
	ANDQ $3, CX
	JZ   k6x16store

k6x16k1loop:
	STEP6x16
	DECQ CX
	JNZ  k6x16k1loop

k6x16store:
	MOVQ  bias+88(FP), SI
	TESTQ SI, SI
	JNZ   k6x16bias
	MOVQ rows+72(FP), BX
	STOREROW16(Y4, Y5)
	DECQ BX
	JZ   k6x16next
	STOREROW16(Y6, Y7)
	DECQ BX
	JZ   k6x16next
	STOREROW16(Y8, Y9)
	DECQ BX
	JZ   k6x16next
	STOREROW16(Y10, Y11)
	DECQ BX
	JZ   k6x16next
	STOREROW16(Y12, Y13)
	DECQ BX
	JZ   k6x16next
	STOREROW16(Y14, Y15)

	JMP   k6x16next

k6x16bias:
	MOVQ rows+72(FP), BX
	BSTOREROW16(Y4, Y5)
	DECQ BX
	JZ   k6x16next
	BSTOREROW16(Y6, Y7)
	DECQ BX
	JZ   k6x16next
	BSTOREROW16(Y8, Y9)
	DECQ BX
	JZ   k6x16next
	BSTOREROW16(Y10, Y11)
	DECQ BX
	JZ   k6x16next
	BSTOREROW16(Y12, Y13)
	DECQ BX
	JZ   k6x16next
	BSTOREROW16(Y14, Y15)

k6x16next:
	NEXTB
	ADDQ $64, c+56(FP)
	DECQ panels+80(FP)
	JNZ  k6x16panel

	VZEROUPPER
	RET

// func sgemmKernel4x16(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias, pf *float32)
TEXT ·sgemmKernel4x16(SB), NOSPLIT, $0-104
	KERNELARGS

k4x16panel:
	MOVQ c+56(FP), DX
	MOVQ rows+72(FP), CX
	MOVQ DX, BX
k4x16prefetch:
	PREFETCHT0 (BX)
	PREFETCHT0 60(BX)
	ADDQ R13, BX
	DECQ CX
	JNZ  k4x16prefetch
	MOVQ R15, SI
	MOVQ AX, DI
	MOVQ k+0(FP), CX
	MOVQ pf+96(FP), R14
	TESTQ R14, R14
	CMOVQEQ SI, R14
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11

	MOVQ CX, BX
	SHRQ $2, BX
	JZ   k4x16k1

k4x16k4:
	STEP4x16
	STEP4x16
	STEP4x16
	STEP4x16
	PFA
	DECQ BX
	JNZ  k4x16k4

k4x16k1:
	ANDQ $3, CX
	JZ   k4x16store

k4x16k1loop:
	STEP4x16
	DECQ CX
	JNZ  k4x16k1loop

k4x16store:
	MOVQ  bias+88(FP), SI
	TESTQ SI, SI
	JNZ   k4x16bias
	MOVQ rows+72(FP), BX
	STOREROW16(Y4, Y5)
	DECQ BX
	JZ   k4x16next
	STOREROW16(Y6, Y7)
	DECQ BX
	JZ   k4x16next
	STOREROW16(Y8, Y9)
	DECQ BX
	JZ   k4x16next
	STOREROW16(Y10, Y11)

	JMP   k4x16next

k4x16bias:
	MOVQ rows+72(FP), BX
	BSTOREROW16(Y4, Y5)
	DECQ BX
	JZ   k4x16next
	BSTOREROW16(Y6, Y7)
	DECQ BX
	JZ   k4x16next
	BSTOREROW16(Y8, Y9)
	DECQ BX
	JZ   k4x16next
	BSTOREROW16(Y10, Y11)

k4x16next:
	NEXTB
	ADDQ $64, c+56(FP)
	DECQ panels+80(FP)
	JNZ  k4x16panel

	VZEROUPPER
	RET

// func sgemmKernel6x8(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias *float32)
TEXT ·sgemmKernel6x8(SB), NOSPLIT, $0-96
	KERNELARGS

k6x8panel:
	MOVQ c+56(FP), DX
	MOVQ rows+72(FP), CX
	MOVQ DX, BX
k6x8prefetch:
	PREFETCHT0 (BX)
	PREFETCHT0 28(BX)
	ADDQ R13, BX
	DECQ CX
	JNZ  k6x8prefetch
	MOVQ R15, SI
	MOVQ AX, DI
	MOVQ R14, CX
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9

	MOVQ CX, BX
	SHRQ $2, BX
	JZ   k6x8k1

k6x8k4:
	STEP6x8
	STEP6x8
	STEP6x8
	STEP6x8
	DECQ BX
	JNZ  k6x8k4

k6x8k1:
	ANDQ $3, CX
	JZ   k6x8store

k6x8k1loop:
	STEP6x8
	DECQ CX
	JNZ  k6x8k1loop

k6x8store:
	MOVQ  bias+88(FP), SI
	TESTQ SI, SI
	JNZ   k6x8bias
	MOVQ rows+72(FP), BX
	STOREROW8(Y4)
	DECQ BX
	JZ   k6x8next
	STOREROW8(Y5)
	DECQ BX
	JZ   k6x8next
	STOREROW8(Y6)
	DECQ BX
	JZ   k6x8next
	STOREROW8(Y7)
	DECQ BX
	JZ   k6x8next
	STOREROW8(Y8)
	DECQ BX
	JZ   k6x8next
	STOREROW8(Y9)

	JMP   k6x8next

k6x8bias:
	MOVQ rows+72(FP), BX
	BSTOREROW8(Y4)
	DECQ BX
	JZ   k6x8next
	BSTOREROW8(Y5)
	DECQ BX
	JZ   k6x8next
	BSTOREROW8(Y6)
	DECQ BX
	JZ   k6x8next
	BSTOREROW8(Y7)
	DECQ BX
	JZ   k6x8next
	BSTOREROW8(Y8)
	DECQ BX
	JZ   k6x8next
	BSTOREROW8(Y9)

k6x8next:
	NEXTB
	ADDQ $32, c+56(FP)
	DECQ panels+80(FP)
	JNZ  k6x8panel

	VZEROUPPER
	RET

// func sgemmKernel4x8(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias *float32)
TEXT ·sgemmKernel4x8(SB), NOSPLIT, $0-96
	KERNELARGS

k4x8panel:
	MOVQ c+56(FP), DX
	MOVQ rows+72(FP), CX
	MOVQ DX, BX
k4x8prefetch:
	PREFETCHT0 (BX)
	PREFETCHT0 28(BX)
	ADDQ R13, BX
	DECQ CX
	JNZ  k4x8prefetch
	MOVQ R15, SI
	MOVQ AX, DI
	MOVQ R14, CX
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

	MOVQ CX, BX
	SHRQ $2, BX
	JZ   k4x8k1

k4x8k4:
	STEP4x8
	STEP4x8
	STEP4x8
	STEP4x8
	DECQ BX
	JNZ  k4x8k4

k4x8k1:
	ANDQ $3, CX
	JZ   k4x8store

k4x8k1loop:
	STEP4x8
	DECQ CX
	JNZ  k4x8k1loop

k4x8store:
	MOVQ  bias+88(FP), SI
	TESTQ SI, SI
	JNZ   k4x8bias
	MOVQ rows+72(FP), BX
	STOREROW8(Y4)
	DECQ BX
	JZ   k4x8next
	STOREROW8(Y5)
	DECQ BX
	JZ   k4x8next
	STOREROW8(Y6)
	DECQ BX
	JZ   k4x8next
	STOREROW8(Y7)

	JMP   k4x8next

k4x8bias:
	MOVQ rows+72(FP), BX
	BSTOREROW8(Y4)
	DECQ BX
	JZ   k4x8next
	BSTOREROW8(Y5)
	DECQ BX
	JZ   k4x8next
	BSTOREROW8(Y6)
	DECQ BX
	JZ   k4x8next
	BSTOREROW8(Y7)

k4x8next:
	NEXTB
	ADDQ $32, c+56(FP)
	DECQ panels+80(FP)
	JNZ  k4x8panel

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

// func saxpy4(n int, x, b *float32, ldb int, c *float32)
TEXT ·saxpy4(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ ldb+24(FP), R8
	SHLQ $2, R8
	MOVQ c+32(FP), DX

	VBROADCASTSS (SI), Y0
	VBROADCASTSS 4(SI), Y1
	VBROADCASTSS 8(SI), Y2
	VBROADCASTSS 12(SI), Y3
	LEAQ         (DI)(R8*1), R9
	LEAQ         (DI)(R8*2), R10
	LEAQ         (R9)(R8*2), R11
	XORQ         AX, AX

	SHRQ $3, CX
	MOVQ CX, BX
	SHRQ $1, BX
	JZ   axpy4one

axpy4loop:
	VMOVUPS     (DX)(AX*1), Y4
	VMOVUPS     32(DX)(AX*1), Y5
	VFMADD231PS (DI)(AX*1), Y0, Y4
	VFMADD231PS 32(DI)(AX*1), Y0, Y5
	VFMADD231PS (R9)(AX*1), Y1, Y4
	VFMADD231PS 32(R9)(AX*1), Y1, Y5
	VFMADD231PS (R10)(AX*1), Y2, Y4
	VFMADD231PS 32(R10)(AX*1), Y2, Y5
	VFMADD231PS (R11)(AX*1), Y3, Y4
	VFMADD231PS 32(R11)(AX*1), Y3, Y5
	VMOVUPS     Y4, (DX)(AX*1)
	VMOVUPS     Y5, 32(DX)(AX*1)
	ADDQ        $64, AX
	DECQ        BX
	JNZ         axpy4loop

axpy4one:
	TESTQ $1, CX
	JZ    axpy4done
	VMOVUPS     (DX)(AX*1), Y4
	VFMADD231PS (DI)(AX*1), Y0, Y4
	VFMADD231PS (R9)(AX*1), Y1, Y4
	VFMADD231PS (R10)(AX*1), Y2, Y4
	VFMADD231PS (R11)(AX*1), Y3, Y4
	VMOVUPS     Y4, (DX)(AX*1)

axpy4done:
	VZEROUPPER
	RET

// func saxpy1(n int, x float32, b, c *float32)
TEXT ·saxpy1(SB), NOSPLIT, $0-32
	MOVQ         n+0(FP), CX
	VBROADCASTSS x+8(FP), Y0
	MOVQ         b+16(FP), DI
	MOVQ         c+24(FP), DX
	XORQ         AX, AX
	SHRQ         $3, CX

axpy1loop:
	VMOVUPS     (DX)(AX*1), Y4
	VFMADD231PS (DI)(AX*1), Y0, Y4
	VMOVUPS     Y4, (DX)(AX*1)
	ADDQ        $32, AX
	DECQ        CX
	JNZ         axpy1loop

	VZEROUPPER
	RET
