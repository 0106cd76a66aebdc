//go:build amd64 && !purego

package ir

import "golang.org/x/sys/cpu"

// haveDepthwiseAsm reports whether the AVX2+FMA depthwise row kernels can
// run on this CPU.
var haveDepthwiseAsm = cpu.X86.HasAVX2 && cpu.X86.HasFMA

// dwRows1AVX2 computes out[j] = bias + Σ_{t<taps} w[t]·x[offs[t]+j] for
// j below n rounded down to a multiple of 8, and returns that count.
//
//go:noescape
func dwRows1AVX2(out *float32, n int, x *float32, offs *int, w *float32, taps int, bias float32) int

// dwRows2AVX2 is dwRows1AVX2 with stride 2: it reads x[offs[t]+2j] and
// also x[offs[t]+2j+1] for every computed j.
//
//go:noescape
func dwRows2AVX2(out *float32, n int, x *float32, offs *int, w *float32, taps int, bias float32) int

// dwc8AVX2 computes eight interleaved depthwise planes at stride 1
// (op_conv_amd64.s): y[8(oy·ow+ox)+c] = b[c] + Σ_{t<taps} w[8t+c] ·
// x[8(oy·wp+ox+offs[t])+c] for c < 8, oy < oh and ox below ow rounded up
// to 8, one FMA per tap in tap order.
//
//go:noescape
func dwc8AVX2(y, x *float32, offs *int, w, b *float32, taps, oh, ow, wp int)

// dwc8s2AVX2 is dwc8AVX2 at stride 2: output (oy, ox) reads
// x[8(2·oy·wp+2·ox+offs[t])+c].
//
//go:noescape
func dwc8s2AVX2(y, x *float32, offs *int, w, b *float32, taps, oh, ow, wp int)

// gather2AVX2 sets dst[i] = src[2i] for i < n, n a positive multiple of
// 8, reading src[0:2n] (im2col at stride 2).
//
//go:noescape
func gather2AVX2(dst, src *float32, n int)

// copy3AVX2 sets d0[j] = src[j], d1[j] = src[j+1] and d2[j] = src[j+2]
// for j < n, n a positive multiple of 8, reading src[0:n+2] (im2col's
// three taps of a 3×3 kernel row at stride 1).
//
//go:noescape
func copy3AVX2(d0, d1, d2, src *float32, n int)

// transpose8sAVX2 is n transpose8AVX2s in one call: block q < n sets
// dst[q*dstep+i*ldd+j] = src[q*sstep+j*lds+i] for i, j < 8, n ≥ 1
// (strides in elements).
//
//go:noescape
func transpose8sAVX2(dst *float32, ldd, dstep int, src *float32, lds, sstep, n int)

// transpose8sClampAVX2 is transpose8sAVX2 of min(max(x, 0), hi) with
// relu6AVX2's bits (-0 becomes +0, NaN stays): a depthwise convolution's
// fused input ReLU6, or ReLU with hi = +Inf.
//
//go:noescape
func transpose8sClampAVX2(dst *float32, ldd, dstep int, src *float32, lds, sstep, n int, hi float32)

// maxRowsAVX2 computes MaxPool rows (op_pool_amd64.s): out[j] = the
// running maximum over t < taps of x[offs[t]+stride·j], stride 1 or 2,
// for j below n rounded down to a multiple of 8, which it returns.
//
//go:noescape
func maxRowsAVX2(out *float32, n int, x *float32, offs *int, taps, stride int) int

// sum16AVX2 adds float64(v[16i+j]) to s[j] for 16i < n, n a positive
// multiple of 16 (poolSum64's blocks).
//
//go:noescape
func sum16AVX2(v *float32, n int, s *[16]float64)

// transpose8AVX2 sets dst[i*ldd+j] = src[j*lds+i] for i, j < 8, strides
// in elements (Transpose's tiles, op_tensor_copy.go).
//
//go:noescape
func transpose8AVX2(dst *float32, ldd int, src *float32, lds int)
