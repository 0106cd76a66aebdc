//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// haveAsm reports whether the AVX2+FMA kernels can run on this CPU
// (x/sys/cpu also checks that the OS saves the YMM state).
var haveAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// sgemmKernel6x16 computes c[i*ldc+j] += Σ_{p<k} a[p*6+i]·b[p*16+j] for
// i < 6, j < 16. a and b are packed panels; k ≥ 0.
//
//go:noescape
func sgemmKernel6x16(k int, a, b, c *float32, ldc int)

// sdot4 stores into out[r] the dot product of x[0:k] with the row
// a[r*lda : r*lda+k], for r < 4. k must be a positive multiple of 8.
//
//go:noescape
func sdot4(k int, a *float32, lda int, x *float32, out *[4]float32)

// sdot1 returns the dot product of a[0:k] and x[0:k]. k must be a
// positive multiple of 8.
//
//go:noescape
func sdot1(k int, a, x *float32) float32

// saxpyStrip64 computes c[j] += Σ_{p<k} x[p]·b[p*ldb+j] for j < 64; k ≥ 1.
//
//go:noescape
func saxpyStrip64(k int, x, b *float32, ldb int, c *float32)

// saxpyStrip8 computes c[j] += Σ_{p<k} x[p]·b[p*ldb+j] for j < 8; k ≥ 1.
//
//go:noescape
func saxpyStrip8(k int, x, b *float32, ldb int, c *float32)
