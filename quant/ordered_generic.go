//go:build !amd64 || purego

package quant

// haveOrderedAsm is false: this build has only the Go loop.
const haveOrderedAsm = false

func orderedKernel4x16(k int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int) {
	panic("quant: no assembly kernel")
}

func taps3(n, rows int, a *float32, lda int, s0, s1, s2 *float32, lds int, w0, w1, w2 float32) {
	panic("quant: no assembly kernel")
}
