//go:build amd64 && !purego

#include "textflag.h"

// func maxRowsAVX2(out *float32, n int, x *float32, offs *int, taps, stride int) int
//
// out[j] = the running maximum over t < taps of x[offs[t] + stride·j],
// taken as MaxPool's Go loop takes it: the first tap's value, then each
// later one where it is greater: VMAXPS m, v, m (Go order) gives v if
// v > m, else m, so NaN and ±0 behave as `if v > m { m = v }`.
// Stride 1 or 2; j in blocks of 32, then 8, up to n rounded down to a
// multiple of 8, which it returns. At stride 2 a block reads one element
// past its last window.
//
// Registers: DI out, CX n, SI x, BX offs, R8 taps, R13 stride, R9 j,
// R10 t, R11 &x[stride·j], R12 the current tap's address.
TEXT ·maxRowsAVX2(SB), NOSPLIT, $0-56
	MOVQ out+0(FP), DI
	MOVQ n+8(FP), CX
	MOVQ x+16(FP), SI
	MOVQ offs+24(FP), BX
	MOVQ taps+32(FP), R8
	MOVQ stride+40(FP), R13
	XORQ R9, R9
	CMPQ R13, $2
	JEQ  s2loop32

s1loop32:
	LEAQ 32(R9), AX
	CMPQ AX, CX
	JGT  s1loop8
	LEAQ (SI)(R9*4), R11
	MOVQ (BX), R12
	LEAQ (R11)(R12*4), R12
	VMOVUPS (R12), Y0
	VMOVUPS 32(R12), Y1
	VMOVUPS 64(R12), Y2
	VMOVUPS 96(R12), Y3
	MOVQ $1, R10
	CMPQ R10, R8
	JGE  s1store32

s1tap32:
	MOVQ   (BX)(R10*8), R12
	LEAQ   (R11)(R12*4), R12
	VMOVUPS (R12), Y4
	VMOVUPS 32(R12), Y5
	VMOVUPS 64(R12), Y6
	VMOVUPS 96(R12), Y7
	VMAXPS  Y0, Y4, Y0
	VMAXPS  Y1, Y5, Y1
	VMAXPS  Y2, Y6, Y2
	VMAXPS  Y3, Y7, Y3
	INCQ   R10
	CMPQ   R10, R8
	JLT    s1tap32

s1store32:
	VMOVUPS Y0, (DI)(R9*4)
	VMOVUPS Y1, 32(DI)(R9*4)
	VMOVUPS Y2, 64(DI)(R9*4)
	VMOVUPS Y3, 96(DI)(R9*4)
	MOVQ    AX, R9
	JMP     s1loop32

s1loop8:
	LEAQ 8(R9), AX
	CMPQ AX, CX
	JGT  done
	LEAQ (SI)(R9*4), R11
	MOVQ (BX), R12
	LEAQ (R11)(R12*4), R12
	VMOVUPS (R12), Y0
	MOVQ $1, R10
	CMPQ R10, R8
	JGE  s1store8

s1tap8:
	MOVQ   (BX)(R10*8), R12
	LEAQ   (R11)(R12*4), R12
	VMOVUPS (R12), Y4
	VMAXPS  Y0, Y4, Y0
	INCQ    R10
	CMPQ   R10, R8
	JLT    s1tap8

s1store8:
	VMOVUPS Y0, (DI)(R9*4)
	MOVQ    AX, R9
	JMP     s1loop8

// Stride 2: the even elements of x[off+2j .. +16) in VSHUFPS order
// 0 2 8 10 | 4 6 12 14 (the maximum is taken lane by lane, so the order
// is fixed once at the end with VPERMPD).
#define EVEN(disp, r) \
	VMOVUPS disp(R12), r;        \
	VMOVUPS disp+32(R12), Y15;   \
	VSHUFPS $0x88, Y15, r, r

#define EVENMAX(disp, a) \
	VMOVUPS disp(R12), Y14;      \
	VMOVUPS disp+32(R12), Y15;   \
	VSHUFPS $0x88, Y15, Y14, Y14; \
	VMAXPS  a, Y14, a

s2loop32:
	LEAQ 32(R9), AX
	CMPQ AX, CX
	JGT  s2loop8
	LEAQ (SI)(R9*8), R11
	MOVQ (BX), R12
	LEAQ (R11)(R12*4), R12
	EVEN(0, Y0)
	EVEN(64, Y1)
	EVEN(128, Y2)
	EVEN(192, Y3)
	MOVQ $1, R10
	CMPQ R10, R8
	JGE  s2store32

s2tap32:
	MOVQ (BX)(R10*8), R12
	LEAQ (R11)(R12*4), R12
	EVENMAX(0, Y0)
	EVENMAX(64, Y1)
	EVENMAX(128, Y2)
	EVENMAX(192, Y3)
	INCQ R10
	CMPQ R10, R8
	JLT  s2tap32

s2store32:
	VPERMPD $0xD8, Y0, Y0
	VPERMPD $0xD8, Y1, Y1
	VPERMPD $0xD8, Y2, Y2
	VPERMPD $0xD8, Y3, Y3
	VMOVUPS Y0, (DI)(R9*4)
	VMOVUPS Y1, 32(DI)(R9*4)
	VMOVUPS Y2, 64(DI)(R9*4)
	VMOVUPS Y3, 96(DI)(R9*4)
	MOVQ    AX, R9
	JMP     s2loop32

s2loop8:
	LEAQ 8(R9), AX
	CMPQ AX, CX
	JGT  done
	LEAQ (SI)(R9*8), R11
	MOVQ (BX), R12
	LEAQ (R11)(R12*4), R12
	EVEN(0, Y0)
	MOVQ $1, R10
	CMPQ R10, R8
	JGE  s2store8

s2tap8:
	MOVQ (BX)(R10*8), R12
	LEAQ (R11)(R12*4), R12
	EVENMAX(0, Y0)
	INCQ R10
	CMPQ R10, R8
	JLT  s2tap8

s2store8:
	VPERMPD $0xD8, Y0, Y0
	VMOVUPS Y0, (DI)(R9*4)
	MOVQ    AX, R9
	JMP     s2loop8

done:
	MOVQ R9, ret+48(FP)
	VZEROUPPER
	RET

// func sum16AVX2(v *float32, n int, s *[16]float64)
//
// s[j] += Σ_i float64(v[16i+j]) for j < 16 and 16i < n, n a positive
// multiple of 16: sixteen float64 chains in four registers, the order of
// sum16's Go loop.
TEXT ·sum16AVX2(SB), NOSPLIT, $0-24
	MOVQ    v+0(FP), SI
	MOVQ    n+8(FP), CX
	MOVQ    s+16(FP), DI
	VMOVUPD (DI), Y0
	VMOVUPD 32(DI), Y1
	VMOVUPD 64(DI), Y2
	VMOVUPD 96(DI), Y3
	XORQ    AX, AX

sum16loop:
	VCVTPS2PD (SI)(AX*4), Y4
	VCVTPS2PD 16(SI)(AX*4), Y5
	VCVTPS2PD 32(SI)(AX*4), Y6
	VCVTPS2PD 48(SI)(AX*4), Y7
	VADDPD    Y4, Y0, Y0
	VADDPD    Y5, Y1, Y1
	VADDPD    Y6, Y2, Y2
	VADDPD    Y7, Y3, Y3
	ADDQ      $16, AX
	CMPQ      AX, CX
	JLT       sum16loop
	VMOVUPD   Y0, (DI)
	VMOVUPD   Y1, 32(DI)
	VMOVUPD   Y2, 64(DI)
	VMOVUPD   Y3, 96(DI)
	VZEROUPPER
	RET
