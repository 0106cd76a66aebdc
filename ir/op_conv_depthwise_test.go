package ir

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// Depthwise shapes of mobilenet_v2 and efficientnet_b0 at 224×224 below
// 112×112 (op_conv_test.go has the 112×112 ones).
func BenchmarkConvDepthwise3x3At56(b *testing.B) {
	benchConv(b, []int64{1, 144, 56, 56}, []int64{144, 1, 3, 3},
		Attrs{"group": IntAttr(144), "pads": IntsAttr(1, 1, 1, 1)})
}

func BenchmarkConvDepthwise3x3At28(b *testing.B) {
	benchConv(b, []int64{1, 192, 28, 28}, []int64{192, 1, 3, 3},
		Attrs{"group": IntAttr(192), "pads": IntsAttr(1, 1, 1, 1)})
}

func BenchmarkConvDepthwise3x3At14(b *testing.B) {
	benchConv(b, []int64{1, 576, 14, 14}, []int64{576, 1, 3, 3},
		Attrs{"group": IntAttr(576), "pads": IntsAttr(1, 1, 1, 1)})
}

func BenchmarkConvDepthwise5x5At14(b *testing.B) {
	benchConv(b, []int64{1, 672, 14, 14}, []int64{672, 1, 5, 5},
		Attrs{"group": IntAttr(672), "pads": IntsAttr(2, 2, 2, 2)})
}

func BenchmarkConvDepthwise5x5At7(b *testing.B) {
	benchConv(b, []int64{1, 1152, 7, 7}, []int64{1152, 1, 5, 5},
		Attrs{"group": IntAttr(1152), "pads": IntsAttr(2, 2, 2, 2)})
}

func BenchmarkConvDepthwise3x3s2At56(b *testing.B) {
	benchConv(b, []int64{1, 144, 56, 56}, []int64{144, 1, 3, 3},
		Attrs{"group": IntAttr(144), "strides": IntsAttr(2, 2), "pads": IntsAttr(0, 0, 1, 1)})
}

// TestDepthwiseLongRowSameBits: the long row and the in-place rows compute
// each output in the same order, so a plane gives the same bits whichever
// form dwLongRowMaxOW picks; widths around the thresholds, strides 1 and
// 2, 3×3 and 5×5, checked against the definition too.
func TestDepthwiseLongRowSameBits(t *testing.T) {
	if !haveDepthwiseAsm {
		t.Skip("no depthwise assembly")
	}
	defer func(v [3]int) { dwLongRowMaxOW = v }(dwLongRowMaxOW)
	r := rand.New(rand.NewSource(3))
	for _, c := range []struct{ h, w, k, s int }{
		{9, 31, 3, 1}, {7, 32, 3, 1}, {6, 47, 3, 1}, {5, 63, 3, 1}, {5, 64, 3, 1}, {4, 65, 5, 1},
		{9, 29, 3, 2}, {8, 31, 3, 2}, {7, 33, 5, 2}, {6, 40, 5, 2},
	} {
		pad := int64(c.k / 2)
		attrs := Attrs{"group": IntAttr(3), "pads": IntsAttr(pad, pad, pad, pad), "strides": IntsAttr(int64(c.s), int64(c.s))}
		x, w, b := nnRand(r, 2, 3, int64(c.h), int64(c.w)), nnRand(r, 3, 1, int64(c.k), int64(c.k)), nnRand(r, 3)
		var got [2]*Tensor
		for i, maxOW := range []int{0, 1 << 20} {
			dwLongRowMaxOW = [3]int{0, maxOW, maxOW}
			got[i] = nnRun(t, 13, "Conv", attrs, []nnArg{nnIn(x), nnConst(w), nnConst(b)}, 1)[0]
		}
		rows, long := got[0].Float32s(), got[1].Float32s()
		for i := range rows {
			if math.Float32bits(rows[i]) != math.Float32bits(long[i]) {
				t.Fatalf("%+v: element %d is %v by rows, %v by the long row", c, i, rows[i], long[i])
			}
		}
		s, p := []int{c.s, c.s}, []int{int(pad), int(pad)}
		nnClose(t, fmt.Sprintf("%+v", c), long, naiveConv(x, w, b.Float32s(), 3, s, []int{1, 1}, p, got[1].Shape), 1e-5)
	}
}

// TestDwRowsBlocks: the AVX2 row kernels give every output the same bits
// whatever block computes it (what lets the long row and the rows agree)
// — one call over n outputs (blocks of 64, 32, 8) equals calls of 8
// outputs each — for n = 8…400, strides 1 and 2, 1, 9 and 25 taps.
func TestDwRowsBlocks(t *testing.T) {
	if !haveDepthwiseAsm {
		t.Skip("no depthwise assembly")
	}
	r := rand.New(rand.NewSource(4))
	const ld = 37
	x := make([]float32, 5*ld+2*400+64)
	for i := range x {
		x[i] = r.Float32()*2 - 1
	}
	for _, k := range []int{1, 3, 5} {
		var offs []int
		w := make([]float32, k*k)
		for ki := range k {
			for kj := range k {
				offs = append(offs, ki*ld+kj)
				w[len(offs)-1] = r.Float32()*2 - 1
			}
		}
		for _, stride := range []int{1, 2} {
			rows := dwRows1AVX2
			if stride == 2 {
				rows = dwRows2AVX2
			}
			for n := 8; n <= 400; n += 8 {
				got, want := make([]float32, n), make([]float32, n)
				if done := rows(&got[0], n, &x[0], &offs[0], &w[0], len(offs), 0.25); done != n {
					t.Fatalf("k%d s%d n=%d: computed %d", k, stride, n, done)
				}
				for j := 0; j < n; j += 8 {
					rows(&want[j], 8, &x[stride*j], &offs[0], &w[0], len(offs), 0.25)
				}
				for j := range got {
					if math.Float32bits(got[j]) != math.Float32bits(want[j]) {
						t.Fatalf("k%d s%d n=%d: output %d is %v, %v alone", k, stride, n, j, got[j], want[j])
					}
				}
			}
		}
	}
}

// TestGather2: im2col's stride-2 copy, every length 1…70 and a long one,
// with src exactly 2n-1 long or longer, never writing past dst.
func TestGather2(t *testing.T) {
	for _, n := range append(func() (v []int) {
		for n := 1; n <= 70; n++ {
			v = append(v, n)
		}
		return v
	}(), 1000) {
		for extra := range 3 {
			src := make([]float32, 2*n-1+extra)
			for i := range src {
				src[i] = float32(i) + 0.5
			}
			dst := make([]float32, n+1)
			dst[n] = -1
			gather2(dst[:n], src)
			for i := range n {
				if dst[i] != src[2*i] {
					t.Fatalf("n=%d: dst[%d] = %v, want %v", n, i, dst[i], src[2*i])
				}
			}
			if dst[n] != -1 {
				t.Fatalf("n=%d: wrote past dst", n)
			}
		}
	}
}

// TestDepthwiseInterleaveSameBits: planes8 computes each output in the
// order plane does, so a convolution gives the same bits with or without
// it (dwInterleaveMaxOW); 11 channels in 2 images (runs of 8 that cross
// the images, and planes left over) or 8 in one, 1 and 2 threads,
// strides 1 and 2, widths on either side of a block of 8, 3×3, 5×5, 3×5,
// dilation and uneven padding, checked against the definition too.
func TestDepthwiseInterleaveSameBits(t *testing.T) {
	if !haveDepthwiseAsm {
		t.Skip("no depthwise assembly")
	}
	defer func(v [3]int) { dwInterleaveMaxOW = v }(dwInterleaveMaxOW)
	r := rand.New(rand.NewSource(4))
	for _, c := range []struct {
		h, w, kh, kw, d, s int
		pads               []int64
	}{
		{7, 7, 3, 3, 1, 1, []int64{1, 1, 1, 1}}, {7, 7, 5, 5, 1, 1, []int64{2, 2, 2, 2}},
		{14, 14, 3, 3, 1, 1, []int64{1, 1, 1, 1}}, {14, 14, 5, 5, 1, 1, []int64{2, 2, 2, 2}},
		{9, 8, 3, 3, 1, 1, []int64{1, 1, 1, 1}}, {5, 9, 3, 5, 1, 1, []int64{1, 2, 1, 2}},
		{6, 16, 3, 3, 1, 1, []int64{0, 1, 2, 1}}, {8, 12, 3, 3, 2, 1, []int64{2, 2, 2, 2}},
		{3, 3, 5, 5, 1, 1, []int64{2, 2, 2, 2}}, {1, 5, 1, 3, 1, 1, []int64{0, 0, 0, 0}},
		{14, 14, 3, 3, 1, 2, []int64{0, 0, 1, 1}}, {28, 28, 3, 3, 1, 2, []int64{1, 1, 1, 1}},
		{14, 14, 5, 5, 1, 2, []int64{2, 2, 2, 2}}, {9, 13, 5, 5, 1, 2, []int64{1, 2, 2, 1}},
		{33, 35, 3, 3, 1, 2, []int64{1, 1, 1, 1}}, {5, 5, 3, 3, 2, 2, []int64{2, 2, 2, 2}},
	} {
		// 8 channels in one image: a run of 8 that ends the tensor.
		ch, n := int64(11), int64(2)
		if c.w%2 == 1 {
			ch, n = 8, 1
		}
		attrs := Attrs{"group": IntAttr(ch), "pads": IntsAttr(c.pads...), "dilations": IntsAttr(int64(c.d), int64(c.d)),
			"strides": IntsAttr(int64(c.s), int64(c.s))}
		x, w, b := nnRand(r, n, ch, int64(c.h), int64(c.w)), nnRand(r, ch, 1, int64(c.kh), int64(c.kw)), nnRand(r, ch)
		args, bias := []nnArg{nnIn(x), nnConst(w), nnConst(b)}, b.Float32s()
		if c.h%2 == 1 { // and some without a bias
			args, bias = args[:2], nil
		}
		var got [2][]*Tensor
		for i, maxOW := range []int{0, 1 << 20} {
			dwInterleaveMaxOW = [3]int{0, maxOW, maxOW}
			for _, threads := range []int{1, 2} {
				out, err := nnTry(13, "Conv", attrs, args, 1, threads)
				if err != nil {
					t.Fatal(err)
				}
				got[i] = append(got[i], out[0])
			}
		}
		want := got[0][0].Float32s()
		for i, g := range [][]float32{got[0][1].Float32s(), got[1][0].Float32s(), got[1][1].Float32s()} {
			for j := range want {
				if math.Float32bits(g[j]) != math.Float32bits(want[j]) {
					t.Fatalf("%+v, run %d: element %d is %v, %v by the row kernels on one thread", c, i+1, j, g[j], want[j])
				}
			}
		}
		s, d, p := []int{c.s, c.s}, []int{c.d, c.d}, []int{int(c.pads[0]), int(c.pads[1])}
		nnClose(t, fmt.Sprintf("%+v", c), want, naiveConv(x, w, bias, int(ch), s, d, p, got[0][0].Shape), 1e-5)
	}
}
