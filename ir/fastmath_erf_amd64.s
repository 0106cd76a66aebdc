//go:build amd64 && !purego

#include "textflag.h"

// erf32 (fastmath.go) vectorised: y[i] = erf(x[i]) for i < n, 8 (AVX2)
// or 16 (AVX-512) at a time. Both branches are computed for every lane
// and blended on |x| < erfSplit. The polynomials use FMA where the Go
// code rounds twice, so the results are within an ulp or so of the Go
// loop's; the AVX-512 loop is the AVX2 one on wider registers, the same
// bits.
//
// Registers (Y for AVX2, Z for AVX-512): SI x, DI y, CX n, AX i.
// 0 x, 1 |x|, 2 x² then the small branch, 3 a = min(|x|, erfHi) then g,
// 4 m = 1.5·2²³ + g·log2e, 5 n then r, 6 p, 7 r², 8 2^n, 9 the result;
// constants 10 the sign mask, 11 erfSplit, 12 erfHi, 13 1.5·2²³,
// 14 log2e, 15 1; the rest are memory operands (AVX2) or Z16-Z31.

#define SPLAT(row, bits) \
	DATA ·erfConsts+(row*32+0)(SB)/4, $bits;  \
	DATA ·erfConsts+(row*32+4)(SB)/4, $bits;  \
	DATA ·erfConsts+(row*32+8)(SB)/4, $bits;  \
	DATA ·erfConsts+(row*32+12)(SB)/4, $bits; \
	DATA ·erfConsts+(row*32+16)(SB)/4, $bits; \
	DATA ·erfConsts+(row*32+20)(SB)/4, $bits; \
	DATA ·erfConsts+(row*32+24)(SB)/4, $bits; \
	DATA ·erfConsts+(row*32+28)(SB)/4, $bits

SPLAT(0, 0x80000000)  // sign mask
SPLAT(1, 0x3f6c0000)  // erfSplit = 0.921875
SPLAT(2, 0x407b3333)  // erfHi = 3.925
SPLAT(3, 0x4b400000)  // 1.5·2²³
SPLAT(4, 0x3fb8aa3b)  // log2e
SPLAT(5, 0x3f800000)  // 1
SPLAT(6, 0xba1d2df5)  // P5
SPLAT(7, 0x3ba3a60d)  // P4
SPLAT(8, 0xbcdb470a)  // P3
SPLAT(9, 0x3de70d4d)  // P2
SPLAT(10, 0xbec09373) // P1
SPLAT(11, 0x3e0375d3) // P0
SPLAT(12, 0x394cc862) // G6
SPLAT(13, 0xbb470716) // G5
SPLAT(14, 0x3cb5e08a) // G4
SPLAT(15, 0xbdd4bebb) // G3
SPLAT(16, 0xbf232247) // G2
SPLAT(17, 0xbf905684) // G1
SPLAT(18, 0xb9562e01) // G0
SPLAT(19, 0x3f318000) // C1 = 0.693359375
SPLAT(20, 0x395e8083) // C2 = 2.12194440e-4
SPLAT(21, 0x39506967) // E0 = 1.9875691500e-4
SPLAT(22, 0x3ab743ce) // E1 = 1.3981999507e-3
SPLAT(23, 0x3c088908) // E2 = 8.3334519073e-3
SPLAT(24, 0x3d2aa9c1) // E3 = 4.1665795894e-2
SPLAT(25, 0x3e2aaaaa) // E4 = 1.6666665459e-1
SPLAT(26, 0x3f000000) // E5 = 0.5
SPLAT(27, 127)        // exponent bias, int32
GLOBL ·erfConsts(SB), RODATA|NOPTR, $896

#define C(row) ·erfConsts+(row*32)(SB)

#define ARGS \
	MOVQ x+0(FP), SI; \
	MOVQ y+8(FP), DI; \
	MOVQ n+16(FP), CX; \
	XORQ AX, AX

// func erfAVX2(x, y *float32, n int)
TEXT ·erfAVX2(SB), NOSPLIT, $0-24
	ARGS
	VMOVUPS C(0), Y10
	VMOVUPS C(1), Y11
	VMOVUPS C(2), Y12
	VMOVUPS C(3), Y13
	VMOVUPS C(4), Y14
	VMOVUPS C(5), Y15

erfLoop:
	VMOVUPS (SI)(AX*4), Y0
	VANDNPS Y0, Y10, Y1         // |x|
	VMULPS  Y0, Y0, Y2          // s = x²

	// Small: x + x·P(s).
	VMOVUPS     C(6), Y6
	VFMADD213PS C(7), Y2, Y6
	VFMADD213PS C(8), Y2, Y6
	VFMADD213PS C(9), Y2, Y6
	VFMADD213PS C(10), Y2, Y6
	VFMADD213PS C(11), Y2, Y6
	VFMADD213PS Y0, Y0, Y6      // Y6 = p·x + x

	// Large: g(a), a = min(|x|, erfHi); NaN stays in a.
	VMINPS      Y1, Y12, Y3
	VMOVUPS     C(12), Y5
	VFMADD213PS C(13), Y3, Y5
	VFMADD213PS C(14), Y3, Y5
	VFMADD213PS C(15), Y3, Y5
	VFMADD213PS C(16), Y3, Y5
	VFMADD213PS C(17), Y3, Y5
	VFMADD213PS C(18), Y3, Y5   // Y5 = g

	// e^g = 2^n·(1 + z): n = round(g·log2e), r = g - n·C1 + n·C2.
	VMOVAPS      Y13, Y4
	VFMADD231PS  Y14, Y5, Y4    // m = 1.5·2²³ + g·log2e
	VSUBPS       Y13, Y4, Y3    // n
	VFNMADD231PS C(19), Y3, Y5  // g - n·C1
	VFMADD231PS  C(20), Y3, Y5  // r
	VMOVUPS      C(21), Y7
	VFMADD213PS  C(22), Y5, Y7
	VFMADD213PS  C(23), Y5, Y7
	VFMADD213PS  C(24), Y5, Y7
	VFMADD213PS  C(25), Y5, Y7
	VFMADD213PS  C(26), Y5, Y7  // p
	VMULPS       Y5, Y5, Y8     // r²
	VFMADD213PS  Y5, Y8, Y7     // z = p·r² + r
	VPADDD       C(27), Y4, Y4
	VPSLLD       $23, Y4, Y4    // 2^n
	VSUBPS       Y4, Y15, Y9    // 1 - 2^n
	VFNMADD231PS Y7, Y4, Y9     // (1 - 2^n) - 2^n·z
	VANDPS       Y0, Y10, Y8
	VORPS        Y8, Y9, Y9     // with x's sign

	VCMPPS    $1, Y11, Y1, Y8   // |x| < erfSplit
	VBLENDVPS Y8, Y6, Y9, Y9
	VMOVUPS   Y9, (DI)(AX*4)
	ADDQ      $8, AX
	CMPQ      AX, CX
	JLT       erfLoop
	VZEROUPPER
	RET

// func erfAVX512(x, y *float32, n int)
//
// The constants of rows 12-27 stay in Z16-Z31; P5-P0 are broadcast from
// memory. The masks are AVX-512F integer ops (VANDNPS on Z needs DQ).
TEXT ·erfAVX512(SB), NOSPLIT, $0-24
	ARGS
	VBROADCASTSS C(0), Z10
	VBROADCASTSS C(1), Z11
	VBROADCASTSS C(2), Z12
	VBROADCASTSS C(3), Z13
	VBROADCASTSS C(4), Z14
	VBROADCASTSS C(5), Z15
	VBROADCASTSS C(12), Z16
	VBROADCASTSS C(13), Z17
	VBROADCASTSS C(14), Z18
	VBROADCASTSS C(15), Z19
	VBROADCASTSS C(16), Z20
	VBROADCASTSS C(17), Z21
	VBROADCASTSS C(18), Z22
	VBROADCASTSS C(19), Z23
	VBROADCASTSS C(20), Z24
	VBROADCASTSS C(21), Z25
	VBROADCASTSS C(22), Z26
	VBROADCASTSS C(23), Z27
	VBROADCASTSS C(24), Z28
	VBROADCASTSS C(25), Z29
	VBROADCASTSS C(26), Z30
	VPBROADCASTD C(27), Z31

erf512Loop:
	VMOVUPS (SI)(AX*4), Z0
	VPANDND Z0, Z10, Z1
	VMULPS  Z0, Z0, Z2

	VBROADCASTSS     C(6), Z6
	VFMADD213PS.BCST C(7), Z2, Z6
	VFMADD213PS.BCST C(8), Z2, Z6
	VFMADD213PS.BCST C(9), Z2, Z6
	VFMADD213PS.BCST C(10), Z2, Z6
	VFMADD213PS.BCST C(11), Z2, Z6
	VFMADD213PS      Z0, Z0, Z6

	VMINPS      Z1, Z12, Z3
	VMOVAPS     Z16, Z5
	VFMADD213PS Z17, Z3, Z5
	VFMADD213PS Z18, Z3, Z5
	VFMADD213PS Z19, Z3, Z5
	VFMADD213PS Z20, Z3, Z5
	VFMADD213PS Z21, Z3, Z5
	VFMADD213PS Z22, Z3, Z5

	VMOVAPS      Z13, Z4
	VFMADD231PS  Z14, Z5, Z4
	VSUBPS       Z13, Z4, Z3
	VFNMADD231PS Z23, Z3, Z5
	VFMADD231PS  Z24, Z3, Z5
	VMOVAPS      Z25, Z7
	VFMADD213PS  Z26, Z5, Z7
	VFMADD213PS  Z27, Z5, Z7
	VFMADD213PS  Z28, Z5, Z7
	VFMADD213PS  Z29, Z5, Z7
	VFMADD213PS  Z30, Z5, Z7
	VMULPS       Z5, Z5, Z8
	VFMADD213PS  Z5, Z8, Z7
	VPADDD       Z31, Z4, Z4
	VPSLLD       $23, Z4, Z4
	VSUBPS       Z4, Z15, Z9
	VFNMADD231PS Z7, Z4, Z9
	VPANDD       Z0, Z10, Z8
	VPORD        Z8, Z9, Z9

	VCMPPS  $1, Z11, Z1, K1
	VMOVAPS Z6, K1, Z9
	VMOVUPS Z9, (DI)(AX*4)
	ADDQ    $16, AX
	CMPQ    AX, CX
	JLT     erf512Loop
	VZEROUPPER
	RET
