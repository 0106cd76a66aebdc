//go:build amd64 && !purego

#include "textflag.h"

// AVX-512 versions of the 16-column tile kernels (see kernel_amd64.s for
// the contract and the register use they share). A ZMM register holds a
// whole 16-column row of a panel, so the kernels take four panels at a
// time (6 or 4 rows × 4 panels: 24 or 16 accumulators), then three, two
// or one for the panels left. Every element of C is computed exactly as
// the AVX2 kernels compute it — one FMA per k step into an accumulator
// that starts at zero, then one add into C — so the results are the same
// bits; only the width of the registers differs.
//
// Extra registers: BX = bnext in bytes (the second panel of a pair is at
// (DI)(BX*1)), CX = k counter, DX = C row pointer (3·bnext in the four-
// panel loop), R14 = where to prefetch A: pf, the next row tile, or the
// current tile when pf is nil, R15 = where to prefetch B: 8 k steps ahead.

// Prefetch the panels' row of B 2^PFBSHIFT k steps ahead (R15) every k
// step: a B read in place with a long row stride (the weights of a MatMul,
// rows 3 or 12 KiB apart) otherwise comes from L3 or memory at the pace of
// the first row tile, which the hardware prefetchers do not follow. Past
// the end of B a prefetch is only wasted: it never faults.
#define PFBSHIFT 3
#define PFB4 \
	PREFETCHT0 (R15);       \
	PREFETCHT0 (R15)(BX*1); \
	PREFETCHT0 (R15)(BX*2); \
	PREFETCHT0 (R15)(DX*1); \
	ADDQ       R12, R15
#define PFB3 \
	PREFETCHT0 (R15);       \
	PREFETCHT0 (R15)(BX*1); \
	PREFETCHT0 (R15)(BX*2); \
	ADDQ       R12, R15
#define PFB2 \
	PREFETCHT0 (R15);       \
	PREFETCHT0 (R15)(BX*1); \
	ADDQ       R12, R15
#define PFB1 \
	PREFETCHT0 (R15);       \
	ADDQ       R12, R15

#define KERNELARGSZ \
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
	SHLQ $2, R13;          \
	MOVQ bnext+48(FP), BX; \
	SHLQ $2, BX

// Prefetch the rows of C the tile will update (width bytes per row).
#define PREFETCHC(label, last) \
	MOVQ c+56(FP), DX;      \
	MOVQ rows+72(FP), CX;   \
	MOVQ DX, DI;            \
label:                      \
	PREFETCHT0 (DI);        \
	PREFETCHT0 last(DI);    \
	ADDQ       R13, DI;     \
	DECQ       CX;          \
	JNZ        label;       \
	MOVQ       a+8(FP), SI; \
	MOVQ       AX, DI;      \
	MOVQ       R12, R15;    \
	SHLQ       $PFBSHIFT, R15; \
	ADDQ       DI, R15;     \
	MOVQ       k+0(FP), CX; \
	MOVQ       pf+96(FP), R14; \
	TESTQ      R14, R14;    \
	CMOVQEQ    SI, R14

#define PREFETCHC4(label) \
	MOVQ c+56(FP), DX;      \
	MOVQ rows+72(FP), CX;   \
	MOVQ DX, DI;            \
label:                      \
	PREFETCHT0 (DI);        \
	PREFETCHT0 64(DI);      \
	PREFETCHT0 128(DI);     \
	PREFETCHT0 192(DI);     \
	PREFETCHT0 252(DI);     \
	ADDQ       R13, DI;     \
	DECQ       CX;          \
	JNZ        label;       \
	MOVQ       a+8(FP), SI; \
	MOVQ       AX, DI;      \
	MOVQ       R12, R15;    \
	SHLQ       $PFBSHIFT, R15; \
	ADDQ       DI, R15;     \
	MOVQ       k+0(FP), CX; \
	MOVQ       pf+96(FP), R14; \
	TESTQ      R14, R14;    \
	CMOVQEQ    SI, R14

// One k step of two panels: accumulators lo (first panel) and hi.
#define ROW2(addr, lo, hi) \
	VBROADCASTSS addr, Z2;  \
	VFMADD231PS  Z0, Z2, lo; \
	VFMADD231PS  Z1, Z2, hi

#define LOAD2 \
	VMOVUPS (DI), Z0;       \
	VMOVUPS (DI)(BX*1), Z1; \
	ADDQ    R12, DI

// One k step of four panels: accumulators a0..a3 for one row of A.
#define ROW4(addr, a0, a1, a2, a3) \
	VBROADCASTSS addr, Z4;   \
	VFMADD231PS  Z0, Z4, a0; \
	VFMADD231PS  Z1, Z4, a1; \
	VFMADD231PS  Z2, Z4, a2; \
	VFMADD231PS  Z3, Z4, a3

#define LOAD4 \
	VMOVUPS (DI), Z0;       \
	VMOVUPS (DI)(BX*1), Z1; \
	VMOVUPS (DI)(BX*2), Z2; \
	VMOVUPS (DI)(DX*1), Z3; \
	ADDQ    R12, DI

#define STEP6x64 \
	LOAD4;                                  \
	PFB4;                                   \
	ROW4((SI), Z8, Z9, Z10, Z11);           \
	ROW4((SI)(R8*1), Z12, Z13, Z14, Z15);   \
	ROW4((SI)(R8*2), Z16, Z17, Z18, Z19);   \
	ROW4((SI)(R9*1), Z20, Z21, Z22, Z23);   \
	ROW4((SI)(R8*4), Z24, Z25, Z26, Z27);   \
	ROW4((SI)(R10*1), Z28, Z29, Z30, Z31);  \
	ADDQ R11, SI

#define STEP4x64 \
	LOAD4;                                  \
	PFB4;                                   \
	ROW4((SI), Z8, Z9, Z10, Z11);           \
	ROW4((SI)(R8*1), Z12, Z13, Z14, Z15);   \
	ROW4((SI)(R8*2), Z16, Z17, Z18, Z19);   \
	ROW4((SI)(R9*1), Z20, Z21, Z22, Z23);   \
	ADDQ R11, SI

#define STORE4(a0, a1, a2, a3) \
	VADDPS  (DX), a0, a0;    \
	VMOVUPS a0, (DX);        \
	VADDPS  64(DX), a1, a1;  \
	VMOVUPS a1, 64(DX);      \
	VADDPS  128(DX), a2, a2; \
	VMOVUPS a2, 128(DX);     \
	VADDPS  192(DX), a3, a3; \
	VMOVUPS a3, 192(DX);     \
	ADDQ    R13, DX

#define ZERO24 \
	VPXORD Z8, Z8, Z8;    \
	VPXORD Z9, Z9, Z9;    \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15; \
	VPXORD Z16, Z16, Z16; \
	VPXORD Z17, Z17, Z17; \
	VPXORD Z18, Z18, Z18; \
	VPXORD Z19, Z19, Z19; \
	VPXORD Z20, Z20, Z20; \
	VPXORD Z21, Z21, Z21; \
	VPXORD Z22, Z22, Z22; \
	VPXORD Z23, Z23, Z23; \
	VPXORD Z24, Z24, Z24; \
	VPXORD Z25, Z25, Z25; \
	VPXORD Z26, Z26, Z26; \
	VPXORD Z27, Z27, Z27; \
	VPXORD Z28, Z28, Z28; \
	VPXORD Z29, Z29, Z29; \
	VPXORD Z30, Z30, Z30; \
	VPXORD Z31, Z31, Z31

// One k step of three panels.
#define ROW3(addr, a0, a1, a2) \
	VBROADCASTSS addr, Z4;   \
	VFMADD231PS  Z0, Z4, a0; \
	VFMADD231PS  Z1, Z4, a1; \
	VFMADD231PS  Z2, Z4, a2

#define LOAD3 \
	VMOVUPS (DI), Z0;       \
	VMOVUPS (DI)(BX*1), Z1; \
	VMOVUPS (DI)(BX*2), Z2; \
	ADDQ    R12, DI

#define STEP6x48 \
	LOAD3;                             \
	PFB3;                              \
	ROW3((SI), Z8, Z9, Z10);           \
	ROW3((SI)(R8*1), Z11, Z12, Z13);   \
	ROW3((SI)(R8*2), Z14, Z15, Z16);   \
	ROW3((SI)(R9*1), Z17, Z18, Z19);   \
	ROW3((SI)(R8*4), Z20, Z21, Z22);   \
	ROW3((SI)(R10*1), Z23, Z24, Z25);  \
	ADDQ R11, SI

#define STEP4x48 \
	LOAD3;                             \
	PFB3;                              \
	ROW3((SI), Z8, Z9, Z10);           \
	ROW3((SI)(R8*1), Z11, Z12, Z13);   \
	ROW3((SI)(R8*2), Z14, Z15, Z16);   \
	ROW3((SI)(R9*1), Z17, Z18, Z19);   \
	ADDQ R11, SI

#define STORE3(a0, a1, a2) \
	VADDPS  (DX), a0, a0;    \
	VMOVUPS a0, (DX);        \
	VADDPS  64(DX), a1, a1;  \
	VMOVUPS a1, 64(DX);      \
	VADDPS  128(DX), a2, a2; \
	VMOVUPS a2, 128(DX);     \
	ADDQ    R13, DX

#define STEP6x32 \
	LOAD2;                       \
	PFB2;                        \
	ROW2((SI), Z4, Z5);          \
	ROW2((SI)(R8*1), Z6, Z7);    \
	ROW2((SI)(R8*2), Z8, Z9);    \
	ROW2((SI)(R9*1), Z10, Z11);  \
	ROW2((SI)(R8*4), Z12, Z13);  \
	ROW2((SI)(R10*1), Z14, Z15); \
	ADDQ R11, SI

#define STEP4x32 \
	LOAD2;                       \
	PFB2;                        \
	ROW2((SI), Z4, Z5);          \
	ROW2((SI)(R8*1), Z6, Z7);    \
	ROW2((SI)(R8*2), Z8, Z9);    \
	ROW2((SI)(R9*1), Z10, Z11);  \
	ADDQ R11, SI

// One k step of one panel.
#define ROW1(addr, acc) \
	VBROADCASTSS addr, Z2; \
	VFMADD231PS  Z0, Z2, acc

#define STEP6x16 \
	VMOVUPS (DI), Z0;         \
	PFB1;                     \
	ADDQ    R12, DI;          \
	ROW1((SI), Z4);           \
	ROW1((SI)(R8*1), Z6);     \
	ROW1((SI)(R8*2), Z8);     \
	ROW1((SI)(R9*1), Z10);    \
	ROW1((SI)(R8*4), Z12);    \
	ROW1((SI)(R10*1), Z14);   \
	ADDQ R11, SI

#define STEP4x16 \
	VMOVUPS (DI), Z0;         \
	PFB1;                     \
	ADDQ    R12, DI;          \
	ROW1((SI), Z4);           \
	ROW1((SI)(R8*1), Z6);     \
	ROW1((SI)(R8*2), Z8);     \
	ROW1((SI)(R9*1), Z10);    \
	ADDQ R11, SI

// Prefetch the next row tile's A (R14, rows rsa apart) four k steps at a
// time: with the weights of a 7×7 layer (A of 1 MiB read once) the tile
// kernels otherwise wait on L3.
#define PFA \
	PREFETCHT0 (R14);        \
	PREFETCHT0 (R14)(R8*1);  \
	PREFETCHT0 (R14)(R8*2);  \
	PREFETCHT0 (R14)(R9*1);  \
	PREFETCHT0 (R14)(R8*4);  \
	PREFETCHT0 (R14)(R10*1); \
	LEAQ       (R14)(R11*4), R14

// Run step over CX = k steps, four at a time, then the rest.
#define KLOOP(step, l4, l1, done) \
	CMPQ CX, $4;  \
	JLT  l1;      \
l4:               \
	step;         \
	step;         \
	step;         \
	step;         \
	PFA;          \
	SUBQ $4, CX;  \
	CMPQ CX, $4;  \
	JGE  l4;      \
l1:               \
	TESTQ CX, CX; \
	JZ    done;   \
	step;         \
	DECQ  CX;     \
	JMP   l1

#define STORE2(lo, hi) \
	VADDPS  (DX), lo, lo;   \
	VMOVUPS lo, (DX);       \
	VADDPS  64(DX), hi, hi; \
	VMOVUPS hi, 64(DX);     \
	ADDQ    R13, DX

#define STORE1(acc) \
	VADDPS  (DX), acc, acc; \
	VMOVUPS acc, (DX);      \
	ADDQ    R13, DX

// With a bias (SI ≠ 0): the accumulators plus the row's bias, ignoring C.
#define BSTORE3(a0, a1, a2) \
	VBROADCASTSS (SI), Z0;   \
	VADDPS  Z0, a0, a0;      \
	VMOVUPS a0, (DX);        \
	VADDPS  Z0, a1, a1;      \
	VMOVUPS a1, 64(DX);      \
	VADDPS  Z0, a2, a2;      \
	VMOVUPS a2, 128(DX);     \
	ADDQ    R13, DX;         \
	ADDQ    $4, SI

#define BSTORE4(a0, a1, a2, a3) \
	VBROADCASTSS (SI), Z0;   \
	VADDPS  Z0, a0, a0;      \
	VMOVUPS a0, (DX);        \
	VADDPS  Z0, a1, a1;      \
	VMOVUPS a1, 64(DX);      \
	VADDPS  Z0, a2, a2;      \
	VMOVUPS a2, 128(DX);     \
	VADDPS  Z0, a3, a3;      \
	VMOVUPS a3, 192(DX);     \
	ADDQ    R13, DX;         \
	ADDQ    $4, SI

#define BSTORE2(lo, hi) \
	VBROADCASTSS (SI), Z0;   \
	VADDPS  Z0, lo, lo;      \
	VMOVUPS lo, (DX);        \
	VADDPS  Z0, hi, hi;      \
	VMOVUPS hi, 64(DX);      \
	ADDQ    R13, DX;         \
	ADDQ    $4, SI

#define BSTORE1(acc) \
	VBROADCASTSS (SI), Z0;   \
	VADDPS  Z0, acc, acc;    \
	VMOVUPS acc, (DX);       \
	ADDQ    R13, DX;         \
	ADDQ    $4, SI

// Store row r of the tile unless rows ≤ r (CX counts rows down).
#define IFROW(done) \
	DECQ CX; \
	JZ   done

#define ZERO12 \
	VPXORD Z4, Z4, Z4;    \
	VPXORD Z5, Z5, Z5;    \
	VPXORD Z6, Z6, Z6;    \
	VPXORD Z7, Z7, Z7;    \
	VPXORD Z8, Z8, Z8;    \
	VPXORD Z9, Z9, Z9;    \
	VPXORD Z10, Z10, Z10; \
	VPXORD Z11, Z11, Z11; \
	VPXORD Z12, Z12, Z12; \
	VPXORD Z13, Z13, Z13; \
	VPXORD Z14, Z14, Z14; \
	VPXORD Z15, Z15, Z15

// func sgemmKernel6x16Z(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias, pf *float32)
TEXT ·sgemmKernel6x16Z(SB), NOSPLIT, $0-104
	KERNELARGSZ

z6quad:
	CMPQ panels+80(FP), $4
	JLT  z6triple
	PREFETCHC4(z6pf4)
	ZERO24
	LEAQ (BX)(BX*2), DX
	KLOOP(STEP6x64, z6q4, z6q1, z6store4)

z6store4:
	MOVQ  bias+88(FP), SI
	TESTQ SI, SI
	JNZ   z6store4bias
	MOVQ c+56(FP), DX
	MOVQ rows+72(FP), CX
	STORE4(Z8, Z9, Z10, Z11)
	IFROW(z6next4)
	STORE4(Z12, Z13, Z14, Z15)
	IFROW(z6next4)
	STORE4(Z16, Z17, Z18, Z19)
	IFROW(z6next4)
	STORE4(Z20, Z21, Z22, Z23)
	IFROW(z6next4)
	STORE4(Z24, Z25, Z26, Z27)
	IFROW(z6next4)
	STORE4(Z28, Z29, Z30, Z31)

	JMP   z6next4

z6store4bias:
	MOVQ c+56(FP), DX
	MOVQ rows+72(FP), CX
	BSTORE4(Z8, Z9, Z10, Z11)
	IFROW(z6next4)
	BSTORE4(Z12, Z13, Z14, Z15)
	IFROW(z6next4)
	BSTORE4(Z16, Z17, Z18, Z19)
	IFROW(z6next4)
	BSTORE4(Z20, Z21, Z22, Z23)
	IFROW(z6next4)
	BSTORE4(Z24, Z25, Z26, Z27)
	IFROW(z6next4)
	BSTORE4(Z28, Z29, Z30, Z31)

z6next4:
	LEAQ (AX)(BX*4), AX
	ADDQ $256, c+56(FP)
	SUBQ $4, panels+80(FP)
	JMP  z6quad

z6triple:
	CMPQ panels+80(FP), $3
	JLT  z6pair
	PREFETCHC4(z6pf3)
	ZERO24
	KLOOP(STEP6x48, z6t4, z6t1, z6store3)

z6store3:
	MOVQ  bias+88(FP), SI
	MOVQ  c+56(FP), DX
	MOVQ  rows+72(FP), CX
	TESTQ SI, SI
	JNZ   z6store3bias
	STORE3(Z8, Z9, Z10)
	IFROW(z6next3)
	STORE3(Z11, Z12, Z13)
	IFROW(z6next3)
	STORE3(Z14, Z15, Z16)
	IFROW(z6next3)
	STORE3(Z17, Z18, Z19)
	IFROW(z6next3)
	STORE3(Z20, Z21, Z22)
	IFROW(z6next3)
	STORE3(Z23, Z24, Z25)
	JMP   z6next3

z6store3bias:
	BSTORE3(Z8, Z9, Z10)
	IFROW(z6next3)
	BSTORE3(Z11, Z12, Z13)
	IFROW(z6next3)
	BSTORE3(Z14, Z15, Z16)
	IFROW(z6next3)
	BSTORE3(Z17, Z18, Z19)
	IFROW(z6next3)
	BSTORE3(Z20, Z21, Z22)
	IFROW(z6next3)
	BSTORE3(Z23, Z24, Z25)

z6next3:
	LEAQ (AX)(BX*2), AX
	ADDQ BX, AX
	ADDQ $192, c+56(FP)
	SUBQ $3, panels+80(FP)
	JMP  z6pair

z6pair:
	CMPQ panels+80(FP), $2
	JLT  z6single
	PREFETCHC(z6pf2, 124)
	ZERO12
	KLOOP(STEP6x32, z6k4, z6k1, z6store2)

z6store2:
	MOVQ  bias+88(FP), SI
	TESTQ SI, SI
	JNZ   z6store2bias
	MOVQ rows+72(FP), CX
	STORE2(Z4, Z5)
	IFROW(z6next2)
	STORE2(Z6, Z7)
	IFROW(z6next2)
	STORE2(Z8, Z9)
	IFROW(z6next2)
	STORE2(Z10, Z11)
	IFROW(z6next2)
	STORE2(Z12, Z13)
	IFROW(z6next2)
	STORE2(Z14, Z15)

	JMP   z6next2

z6store2bias:
	MOVQ rows+72(FP), CX
	BSTORE2(Z4, Z5)
	IFROW(z6next2)
	BSTORE2(Z6, Z7)
	IFROW(z6next2)
	BSTORE2(Z8, Z9)
	IFROW(z6next2)
	BSTORE2(Z10, Z11)
	IFROW(z6next2)
	BSTORE2(Z12, Z13)
	IFROW(z6next2)
	BSTORE2(Z14, Z15)

z6next2:
	LEAQ (AX)(BX*2), AX
	ADDQ $128, c+56(FP)
	SUBQ $2, panels+80(FP)
	JMP  z6pair

z6single:
	CMPQ panels+80(FP), $0
	JEQ  z6done
	PREFETCHC(z6pf1, 60)
	ZERO12
	KLOOP(STEP6x16, z6s4, z6s1, z6store1)

z6store1:
	MOVQ  bias+88(FP), SI
	TESTQ SI, SI
	JNZ   z6store1bias
	MOVQ rows+72(FP), CX
	STORE1(Z4)
	IFROW(z6done)
	STORE1(Z6)
	IFROW(z6done)
	STORE1(Z8)
	IFROW(z6done)
	STORE1(Z10)
	IFROW(z6done)
	STORE1(Z12)
	IFROW(z6done)
	STORE1(Z14)

	JMP   z6done

z6store1bias:
	MOVQ rows+72(FP), CX
	BSTORE1(Z4)
	IFROW(z6done)
	BSTORE1(Z6)
	IFROW(z6done)
	BSTORE1(Z8)
	IFROW(z6done)
	BSTORE1(Z10)
	IFROW(z6done)
	BSTORE1(Z12)
	IFROW(z6done)
	BSTORE1(Z14)

z6done:
	VZEROUPPER
	RET

// func sgemmKernel4x16Z(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias, pf *float32)
TEXT ·sgemmKernel4x16Z(SB), NOSPLIT, $0-104
	KERNELARGSZ

z4quad:
	CMPQ panels+80(FP), $4
	JLT  z4triple
	PREFETCHC4(z4pf4)
	ZERO24
	LEAQ (BX)(BX*2), DX
	KLOOP(STEP4x64, z4q4, z4q1, z4store4)

z4store4:
	MOVQ  bias+88(FP), SI
	TESTQ SI, SI
	JNZ   z4store4bias
	MOVQ c+56(FP), DX
	MOVQ rows+72(FP), CX
	STORE4(Z8, Z9, Z10, Z11)
	IFROW(z4next4)
	STORE4(Z12, Z13, Z14, Z15)
	IFROW(z4next4)
	STORE4(Z16, Z17, Z18, Z19)
	IFROW(z4next4)
	STORE4(Z20, Z21, Z22, Z23)

	JMP   z4next4

z4store4bias:
	MOVQ c+56(FP), DX
	MOVQ rows+72(FP), CX
	BSTORE4(Z8, Z9, Z10, Z11)
	IFROW(z4next4)
	BSTORE4(Z12, Z13, Z14, Z15)
	IFROW(z4next4)
	BSTORE4(Z16, Z17, Z18, Z19)
	IFROW(z4next4)
	BSTORE4(Z20, Z21, Z22, Z23)

z4next4:
	LEAQ (AX)(BX*4), AX
	ADDQ $256, c+56(FP)
	SUBQ $4, panels+80(FP)
	JMP  z4quad

z4triple:
	CMPQ panels+80(FP), $3
	JLT  z4pair
	PREFETCHC4(z4pf3)
	ZERO24
	KLOOP(STEP4x48, z4t4, z4t1, z4store3)

z4store3:
	MOVQ  bias+88(FP), SI
	MOVQ  c+56(FP), DX
	MOVQ  rows+72(FP), CX
	TESTQ SI, SI
	JNZ   z4store3bias
	STORE3(Z8, Z9, Z10)
	IFROW(z4next3)
	STORE3(Z11, Z12, Z13)
	IFROW(z4next3)
	STORE3(Z14, Z15, Z16)
	IFROW(z4next3)
	STORE3(Z17, Z18, Z19)
	JMP   z4next3

z4store3bias:
	BSTORE3(Z8, Z9, Z10)
	IFROW(z4next3)
	BSTORE3(Z11, Z12, Z13)
	IFROW(z4next3)
	BSTORE3(Z14, Z15, Z16)
	IFROW(z4next3)
	BSTORE3(Z17, Z18, Z19)

z4next3:
	LEAQ (AX)(BX*2), AX
	ADDQ BX, AX
	ADDQ $192, c+56(FP)
	SUBQ $3, panels+80(FP)
	JMP  z4pair

z4pair:
	CMPQ panels+80(FP), $2
	JLT  z4single
	PREFETCHC(z4pf2, 124)
	ZERO12
	KLOOP(STEP4x32, z4k4, z4k1, z4store2)

z4store2:
	MOVQ  bias+88(FP), SI
	TESTQ SI, SI
	JNZ   z4store2bias
	MOVQ rows+72(FP), CX
	STORE2(Z4, Z5)
	IFROW(z4next2)
	STORE2(Z6, Z7)
	IFROW(z4next2)
	STORE2(Z8, Z9)
	IFROW(z4next2)
	STORE2(Z10, Z11)

	JMP   z4next2

z4store2bias:
	MOVQ rows+72(FP), CX
	BSTORE2(Z4, Z5)
	IFROW(z4next2)
	BSTORE2(Z6, Z7)
	IFROW(z4next2)
	BSTORE2(Z8, Z9)
	IFROW(z4next2)
	BSTORE2(Z10, Z11)

z4next2:
	LEAQ (AX)(BX*2), AX
	ADDQ $128, c+56(FP)
	SUBQ $2, panels+80(FP)
	JMP  z4pair

z4single:
	CMPQ panels+80(FP), $0
	JEQ  z4done
	PREFETCHC(z4pf1, 60)
	ZERO12
	KLOOP(STEP4x16, z4s4, z4s1, z4store1)

z4store1:
	MOVQ  bias+88(FP), SI
	TESTQ SI, SI
	JNZ   z4store1bias
	MOVQ rows+72(FP), CX
	STORE1(Z4)
	IFROW(z4done)
	STORE1(Z6)
	IFROW(z4done)
	STORE1(Z8)
	IFROW(z4done)
	STORE1(Z10)

	JMP   z4done

z4store1bias:
	MOVQ rows+72(FP), CX
	BSTORE1(Z4)
	IFROW(z4done)
	BSTORE1(Z6)
	IFROW(z4done)
	BSTORE1(Z8)
	IFROW(z4done)
	BSTORE1(Z10)

z4done:
	VZEROUPPER
	RET
