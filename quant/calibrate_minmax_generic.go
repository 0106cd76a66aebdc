//go:build !amd64 || purego

package quant

// haveMinMaxAsm is false: this build folds minima and maxima in Go.
const haveMinMaxAsm = false

func minMaxKeysAVX2(x *float32, n int, lanes *[16]int32) { panic("quant: no min/max assembly") }
