//go:build !amd64 || purego

package ir

// haveDepthwiseAsm is false: this build has only the Go depthwise loops.
const haveDepthwiseAsm = false

func dwRows1AVX2(out *float32, n int, x *float32, offs *int, w *float32, taps int, bias float32) int {
	panic("ir: no depthwise assembly")
}

func dwRows2AVX2(out *float32, n int, x *float32, offs *int, w *float32, taps int, bias float32) int {
	panic("ir: no depthwise assembly")
}

func dwc8AVX2(y, x *float32, offs *int, w, b *float32, taps, oh, ow, wp int) {
	panic("ir: no depthwise assembly")
}

func dwc8s2AVX2(y, x *float32, offs *int, w, b *float32, taps, oh, ow, wp int) {
	panic("ir: no depthwise assembly")
}

func gather2AVX2(dst, src *float32, n int) { panic("ir: no depthwise assembly") }

func copy3AVX2(d0, d1, d2, src *float32, n int) { panic("ir: no depthwise assembly") }

func transpose8sAVX2(dst *float32, ldd, dstep int, src *float32, lds, sstep, n int) {
	panic("ir: no transpose assembly")
}

func transpose8sClampAVX2(dst *float32, ldd, dstep int, src *float32, lds, sstep, n int, hi float32) {
	panic("ir: no transpose assembly")
}

func maxRowsAVX2(out *float32, n int, x *float32, offs *int, taps, stride int) int {
	panic("ir: no pooling assembly")
}

func sum16AVX2(v *float32, n int, s *[16]float64) { panic("ir: no pooling assembly") }

func transpose8AVX2(dst *float32, ldd int, src *float32, lds int) { panic("ir: no transpose assembly") }
