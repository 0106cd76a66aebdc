//go:build amd64 && !purego

package gemm

import "golang.org/x/sys/cpu"

// haveAsm reports whether the AVX2+FMA kernels can run on this CPU
// (x/sys/cpu also checks that the OS saves the YMM state).
var haveAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// haveAVX512 reports whether the AVX-512 16-column kernels can run
// (x/sys/cpu checks that the OS saves the ZMM state).
var haveAVX512 = haveAsm && cpu.X86.HasAVX512F

// The tile kernels compute, for each panel q < panels, i < rows and j < W,
//
//	c[q*W + i*ldc + j] += Σ_{p<k} a[i*rsa + p*ksa] · b[q*bnext + p*ksb + j]
//
// with k ≥ 0, panels ≥ 1 and W = 16 or 8: a row of tiles of C sharing the
// same rows of A. The kernel named RxW reads all R rows of a and stores
// rows i < rows ≤ R. For packed panels rsa = 1, ksa = 6, ksb = 16 and
// bnext = 16*k.

//go:noescape
func sgemmKernel6x16(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias, pf *float32)

//go:noescape
func sgemmKernel4x16(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias, pf *float32)

// sgemmKernel6x16Z and sgemmKernel4x16Z are sgemmKernel6x16 and
// sgemmKernel4x16 in AVX-512, up to four panels at a time; they compute
// the same bits. pf, when not nil, is the next row tile of A (6 rows, rsa
// apart, k long, all inside A), prefetched meanwhile.
//
//go:noescape
func sgemmKernel6x16Z(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias, pf *float32)

//go:noescape
func sgemmKernel4x16Z(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias, pf *float32)

//go:noescape
func sgemmKernel6x8(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias *float32)

//go:noescape
func sgemmKernel4x8(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias *float32)

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

// saxpy4 computes c[j] += Σ_{r<4} x[r]·b[r*ldb+j] for j < n; n must be a
// positive multiple of 8.
//
//go:noescape
func saxpy4(n int, x, b *float32, ldb int, c *float32)

// saxpy1 computes c[j] += x·b[j] for j < n; n must be a positive multiple
// of 8.
//
//go:noescape
func saxpy1(n int, x float32, b, c *float32)
