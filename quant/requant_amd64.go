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

// requantRowFromFloatAVX2 is requantRowFloatAVX2 on accumulators held as
// exact integers in float32.
//
//go:noescape
func requantRowFromFloatAVX2(d *int8, accf *float32, n int, p *requantParams)

// int8ToFloatAVX2 sets dst[i] = float32(int32(src[i]) − sub), i < n (a
// positive multiple of 8).
//
//go:noescape
func int8ToFloatAVX2(dst *float32, src *int8, n int, sub int32)

// requantRowFixedAVX2 is requantizer.row's fixed-point path on the first
// n elements (a positive multiple of 8) of acc and d.
//
//go:noescape
func requantRowFixedAVX2(d *int8, acc *int32, n int, p *fixedParams)
