//go:build amd64 && !purego

package quant

import "golang.org/x/sys/cpu"

// haveMinMaxAsm reports whether minMaxKeysAVX2 can run on this CPU.
var haveMinMaxAsm = cpu.X86.HasAVX2

// minMaxKeysAVX2 folds the orderKey of x[i], i < n (a positive multiple of
// 32), into lanes: lanes[j] = min(lanes[j], keys of x[i] with i%8 == j),
// lanes[8+j] the same with max.
//
//go:noescape
func minMaxKeysAVX2(x *float32, n int, lanes *[16]int32)
