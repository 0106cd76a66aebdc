//go:build amd64 && !purego

package quant

import "golang.org/x/sys/cpu"

// haveRequantAsm reports whether requantRowFloatAVX2 can run on this CPU.
var haveRequantAsm = cpu.X86.HasAVX2

// requantRowFloatAVX2 is requantizer.row's float path on the first n
// elements (a positive multiple of 8) of acc and d.
//
//go:noescape
func requantRowFloatAVX2(d *int8, acc *int32, n int, p *requantParams)
