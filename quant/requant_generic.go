//go:build !amd64 || purego

package quant

// haveRequantAsm is false: this build requantizes in Go.
const haveRequantAsm = false

func requantRowFloatAVX2(d *int8, acc *int32, n int, p *requantParams) {
	panic("quant: no requantization assembly")
}
