//go:build !amd64 || purego

package quant

// haveRequantAsm is false: this build requantizes in Go.
const haveRequantAsm = false

func requantRowFloatAVX2(d *int8, acc *int32, n int, p *requantParams) {
	panic("quant: no requantization assembly")
}

func requantRowFromFloatAVX2(d *int8, accf *float32, n int, p *requantParams) {
	panic("quant: no requantization assembly")
}

func int8ToFloatAVX2(dst *float32, src *int8, n int, sub int32) {
	panic("quant: no conversion assembly")
}

func requantRowFixedAVX2(d *int8, acc *int32, n int, p *fixedParams) {
	panic("quant: no requantization assembly")
}
