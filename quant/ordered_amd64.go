//go:build amd64 && !purego

package quant

import "golang.org/x/sys/cpu"

// haveOrderedAsm reports whether orderedKernel4x16 can run (AVX, with the
// YMM state saved by the OS).
var haveOrderedAsm = cpu.X86.HasAVX

// orderedKernel4x16 computes, for i < 4 and j < 16, in order p = 0 … k−1,
//
//	c[i*ldc + j] = c[i*ldc + j] + a[i*lda + p]·b[p*ldb + j]
//
// each product rounded to float32 before the addition (VMULPS, VADDPS: no
// fused multiply-add), as Go's float32 arithmetic does element by element.
// k ≥ 1.
//
//go:noescape
func orderedKernel4x16(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int)

// taps3 computes, for r < rows and i < n,
//
//	a[r*lda+i] = ((a[r*lda+i] + w0·s0[r*lds+i]) + w1·s1[r*lds+i]) + w2·s2[r*lds+i]
//
// with every product and sum rounded to float32, in that order.
//
//go:noescape
func taps3(n, rows int, a *float32, lda int, s0, s1, s2 *float32, lds int, w0, w1, w2 float32)
