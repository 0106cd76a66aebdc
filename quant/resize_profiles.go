package quant

import (
	"math"

	"github.com/litefy/litefy/ir"
)

// The int8 RESIZE_BILINEAR and RESIZE_NEAREST_NEIGHBOR of ProfileXNNPACK
// and ProfileArmNNRef; resize.go holds the default (TFLite reference)
// forms and picks one of these by profile.

// resizePlanes runs f over the planes of an NCHW resize: src is one input
// plane (h×w), dst one output plane.
func resizePlanes(in, out []int8, planes, h, w, oh, ow int, f func(src, dst []int8)) func() {
	return func() {
		for p := range planes {
			f(in[p*h*w:(p+1)*h*w], out[p*oh*ow:(p+1)*oh*ow])
		}
	}
}

// gatherPlanes is nearest-neighbour resizing with the index maps iy, ix.
func gatherPlanes(in, out []int8, planes, h, w int, iy, ix []int) func() {
	oh, ow := len(iy), len(ix)
	return resizePlanes(in, out, planes, h, w, oh, ow, func(src, dst []int8) {
		for y := range oh {
			row := src[iy[y]*w:]
			for x := range ow {
				dst[y*ow+x] = row[ix[x]]
			}
		}
	})
}

// tap11 is one output coordinate of XNNPACK's int8 bilinear resize: the
// two input coordinates and the weight of the second in 1/2048 units.
type tap11 struct {
	i0, i1 int
	a      int32
}

// xnnBilinearTaps are the coordinates and weights of one axis as
// xnn_indirection_init_resize_bilinear2d_hwc_q11 (google/XNNPACK
// src/indirection.c) computes them. TFLite's delegate
// (VisitResizeBilinearNode in tflite/delegates/xnnpack/xnnpack_delegate.cc)
// passes XNN_FLAG_ALIGN_CORNERS for align_corners, otherwise
// XNN_FLAG_TENSORFLOW_LEGACY_MODE unless half_pixel_centers. All in
// float32: scale = in/out, or (in−1)/(out−1) with align_corners and
// out ≠ 1; the source coordinate is j·scale (legacy and align_corners)
// or j·scale + (0.5·scale − 0.5) clamped below at 0 (half-pixel), then
// clamped above at in−1; the first index is its truncation, the second
// the next one clamped to in−1, and the weight lrintf(frac·2048), ties
// to even.
func xnnBilinearTaps(in, out int, alignCorners, halfPixel bool) []tap11 {
	scale := float32(in) / float32(out)
	if alignCorners && out != 1 {
		scale = float32(in-1) / float32(out-1)
	}
	hi := float32(in - 1)
	off := float32(0.5*scale) - 0.5
	taps := make([]tap11, out)
	for j := range taps {
		v := float32(float32(j) * scale)
		if halfPixel && !alignCorners {
			v = max(float32(v+off), 0)
		}
		v = min(v, hi)
		i0 := int(v)
		taps[j] = tap11{i0: i0, i1: min(i0+1, in-1), a: int32(math.RoundToEven(float64((v - float32(i0)) * 2048)))}
	}
	return taps
}

// xnnResizeBilinear is XNNPACK's s8 ibilinear microkernel (src/s8-ibilinear,
// the scalar template and the wasmsimd dot16x2 one LiteRT.js runs compute
// the same): on the raw int8 values, top = tl·2¹¹ + (tr − tl)·αx and
// bottom likewise, acc = top·2¹¹ + (bottom − top)·αy, and the output is
// (acc + 2²¹) >> 22, an arithmetic shift, so ties round toward +∞.
func xnnResizeBilinear(in, out []int8, planes, h, w, oh, ow int, alignCorners, halfPixel bool) func() {
	ys, xs := xnnBilinearTaps(h, oh, alignCorners, halfPixel), xnnBilinearTaps(w, ow, alignCorners, halfPixel)
	return resizePlanes(in, out, planes, h, w, oh, ow, func(src, dst []int8) {
		for y, ty := range ys {
			r0, r1 := src[ty.i0*w:][:w], src[ty.i1*w:][:w]
			for x, tx := range xs {
				tl, tr := int32(r0[tx.i0]), int32(r0[tx.i1])
				bl, br := int32(r1[tx.i0]), int32(r1[tx.i1])
				top := tl<<11 + (tr-tl)*tx.a
				bottom := bl<<11 + (br-bl)*tx.a
				acc := top<<11 + (bottom-top)*ty.a
				dst[y*ow+x] = int8((acc + 1<<21) >> 22)
			}
		}
	})
}

// xnnNearestIndex is the input coordinate TFLite's optimized int8
// RESIZE_NEAREST_NEIGHBOR reads (optimized_ops::ResizeNearestNeighbor in
// tflite/kernels/internal/optimized/optimized_ops.h; XNNPACK's delegate
// has no nearest resize, so LiteRT runs TFLite's kernel, the optimized one
// its builtin resolver registers). Without align_corners and
// half_pixel_centers it computes in 16.16 fixed point,
// min((j·(⌊in·2¹⁶/out⌋ + 1)) >> 16, in − 1), which can exceed the
// reference kernel's ⌊j·in/out⌋ by one for large sizes; with either
// option it calls the reference kernel (ref, ONNX's map that
// lower.TFLiteResizeOf proved equal to it).
func xnnNearestIndex(in, out int, alignCorners, halfPixel bool, ref []int) []int {
	if alignCorners || halfPixel {
		return ref
	}
	scale := int64(in)<<16/int64(out) + 1
	idx := make([]int, out)
	for j := range idx {
		idx[j] = int(min(int64(j)*scale>>16, int64(in-1)))
	}
	return idx
}

// armnnResizeScale and armnnResizeCoord are CalculateResizeScale and the
// coordinate of Arm NN's Resize (src/backends/reference/workloads/
// Resize.cpp) with half_pixel_centers unset: Arm NN 20.08's TfLite parser
// (TfLiteParser::ParseResize) copies align_corners from RESIZE_BILINEAR's
// options and nothing else, so ResizeDescriptor::m_HalfPixelCenters keeps
// its default, false, for both builtins (and align_corners stays false for
// RESIZE_NEAREST_NEIGHBOR). Measured: a half-pixel RESIZE_BILINEAR gives in
// float32 what the asymmetric one gives (internal/e2e TestTFLiteResize),
// and the int8 ops agree bit for bit with this simulation.
func armnnResizeScale(in, out int, alignCorners bool) float32 {
	if alignCorners && out > 1 {
		return float32(in-1) / float32(out-1)
	}
	return float32(in) / float32(out)
}

// armnnNearestIndex is Arm NN's nearest-neighbour coordinate without
// either option: ⌊j·scale⌋ in float32 (the Euclidean-distance choice
// among the four neighbours then picks that one, at distance 0).
func armnnNearestIndex(in, out int) []int {
	scale := armnnResizeScale(in, out, false)
	idx := make([]int, out)
	for j := range idx {
		idx[j] = min(int(float32(j)*scale), in-1)
	}
	return idx
}

// armnnResizeBilinear is Arm NN's Resize for Bilinear (Resize.cpp): the
// four neighbours decoded to float32, y0 = ⌊j·scale⌋ and y1 = min(y0+1,
// in−1) per axis with weight j·scale − y0, interpolated by
// Lerp(a, b, w) = w·b + (1 − w)·a along x on both rows and then along y,
// in float32 without fused multiply-adds, and encoded (armnnQuantize).
// align_corners is honoured, half_pixel_centers ignored (see
// armnnResizeScale).
func armnnResizeBilinear(in, out []int8, planes, h, w, oh, ow int, alignCorners bool, iq, oq *ir.QuantParams) func() {
	type tap struct {
		i0, i1 int
		w      float32
	}
	taps := func(in, out int) []tap {
		scale := armnnResizeScale(in, out, alignCorners)
		t := make([]tap, out)
		for j := range t {
			v := float32(float32(j) * scale)
			f := float32(math.Floor(float64(v)))
			i0 := int(max(f, 0))
			t[j] = tap{i0: i0, i1: min(i0+1, in-1), w: v - f}
		}
		return t
	}
	ys, xs := taps(h, oh), taps(w, ow)
	is, iz := iq.Scale[0], int32(iq.ZeroPoint[0])
	os, oz := oq.Scale[0], int32(oq.ZeroPoint[0])
	lerp := func(a, b, w float32) float32 { return float32(w*b) + float32((1-w)*a) }
	return resizePlanes(in, out, planes, h, w, oh, ow, func(src, dst []int8) {
		for y, ty := range ys {
			r0, r1 := src[ty.i0*w:][:w], src[ty.i1*w:][:w]
			for x, tx := range xs {
				ly0 := lerp(armnnDequantize(r0[tx.i0], is, iz), armnnDequantize(r0[tx.i1], is, iz), tx.w)
				ly1 := lerp(armnnDequantize(r1[tx.i0], is, iz), armnnDequantize(r1[tx.i1], is, iz), tx.w)
				dst[y*ow+x] = int8(armnnQuantize(lerp(ly0, ly1, ty.w), os, oz))
			}
		}
	})
}
