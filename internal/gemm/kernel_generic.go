//go:build !amd64 || purego

package gemm

// haveAsm is false: this build has only the portable Go kernels.
const haveAsm = false

// haveAVX512 is false: this build has no AVX-512 kernels.
const haveAVX512 = false

func sgemmKernel6x16(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias, pf *float32) {
	panic("gemm: no assembly kernels")
}

func sgemmKernel4x16(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias, pf *float32) {
	panic("gemm: no assembly kernels")
}

func sgemmKernel6x16Z(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias, pf *float32) {
	panic("gemm: no assembly kernels")
}

func sgemmKernel4x16Z(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias, pf *float32) {
	panic("gemm: no assembly kernels")
}

func sgemmKernel6x8(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias *float32) {
	panic("gemm: no assembly kernels")
}

func sgemmKernel4x8(k int, a *float32, rsa, ksa int, b *float32, ksb, bnext int, c *float32, ldc, rows, panels int, bias *float32) {
	panic("gemm: no assembly kernels")
}

func sdot4(k int, a *float32, lda int, x *float32, out *[4]float32) {
	panic("gemm: no assembly kernels")
}

func sdot1(k int, a, x *float32) float32 { panic("gemm: no assembly kernels") }

func saxpy4(n int, x, b *float32, ldb int, c *float32) { panic("gemm: no assembly kernels") }

func saxpy1(n int, x float32, b, c *float32) { panic("gemm: no assembly kernels") }
