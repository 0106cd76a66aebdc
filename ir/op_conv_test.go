package ir

import (
	"fmt"
	"math"
	"math/rand"
	"runtime"
	"syscall"
	"testing"
)

// nnArg is tmArg (op_tensor_test.go): one input of a single-node test
// graph. The nn helpers differ from the tm ones only in nnRun, which
// compares the 1- and 2-thread runs of float kernels to a tolerance.
type nnArg = tmArg

func nnIn(t *Tensor) nnArg    { return tmIn(t) }
func nnConst(t *Tensor) nnArg { return tmConst(t) }

// nnTry infers, verifies and runs a single-node graph (tmTry).
func nnTry(opset int64, op string, attrs Attrs, args []nnArg, nout, threads int) ([]*Tensor, error) {
	return tmTry(opset, op, attrs, args, nout, threads)
}

// nnRun runs a single-node graph with 1 and 2 threads, fails the test on
// any error, checks both runs agree and returns the outputs.
func nnRun(t *testing.T, opset int64, op string, attrs Attrs, args []nnArg, nout int) []*Tensor {
	t.Helper()
	one, err := nnTry(opset, op, attrs, args, nout, 1)
	if err != nil {
		t.Fatal(err)
	}
	two, err := nnTry(opset, op, attrs, args, nout, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range one {
		if !sameInts(one[i].Shape, two[i].Shape) || one[i].DType != two[i].DType {
			t.Fatalf("output %d: 1 thread %s%v, 2 threads %s%v", i, one[i].DType, one[i].Shape, two[i].DType, two[i].Shape)
		}
		if one[i].DType == Float32 {
			nnClose(t, "2 threads vs 1", two[i].Float32s(), one[i].Float32s(), 1e-6)
		} else if !one[i].Equal(two[i]) {
			t.Fatalf("output %d differs between 1 and 2 threads", i)
		}
	}
	return one
}

// nnClose fails unless got and want agree to a relative tolerance.
func nnClose(t *testing.T, what string, got, want []float32, tol float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		g, w := float64(got[i]), float64(want[i])
		if math.IsNaN(w) && math.IsNaN(g) || g == w {
			continue
		}
		if math.IsNaN(g) || math.IsNaN(w) || math.Abs(g-w) > tol*(1+math.Abs(w)) {
			t.Fatalf("%s: element %d is %v, want %v", what, i, g, w)
		}
	}
}

func nnRand(r *rand.Rand, shape ...int64) *Tensor {
	v := make([]float32, NumElements(shape))
	for i := range v {
		v[i] = r.Float32()*2 - 1
	}
	return FromFloat32(shape, v)
}

func nnSeq(shape ...int64) *Tensor {
	v := make([]float32, NumElements(shape))
	for i := range v {
		v[i] = float32(i)
	}
	return FromFloat32(shape, v)
}

func nnFill(v float32, shape ...int64) *Tensor {
	t := FromFloat32(shape, make([]float32, NumElements(shape)))
	for i := range t.Float32s() {
		t.Float32s()[i] = v
	}
	return t
}

// naiveConv computes a 1-D or 2-D convolution from its definition.
// Spatial parameters are given per axis; 1-D shapes are rank 3.
func naiveConv(x, w *Tensor, b []float32, group int, strides, dils, padBegin []int, ys []int64) []float32 {
	xs, ws := x.Shape, w.Shape
	h, wd, kh, kw, oh, ow := 1, int(xs[len(xs)-1]), 1, int(ws[len(ws)-1]), 1, int(ys[len(ys)-1])
	sh, sw, dh, dw, pt, pl := 1, strides[len(strides)-1], 1, dils[len(dils)-1], 0, padBegin[len(padBegin)-1]
	if len(xs) == 4 {
		h, kh, oh, sh, dh, pt = int(xs[2]), int(ws[2]), int(ys[2]), strides[0], dils[0], padBegin[0]
	}
	n, c, m := int(xs[0]), int(xs[1]), int(ws[0])
	cg, mg := c/group, m/group
	xv, wv := x.Float32s(), w.Float32s()
	y := make([]float32, n*m*oh*ow)
	for img := range n {
		for oc := range m {
			g := oc / mg
			for oy := range oh {
				for ox := range ow {
					var s float64
					if b != nil {
						s = float64(b[oc])
					}
					for ic := range cg {
						for ki := range kh {
							for kj := range kw {
								iy, ix := oy*sh-pt+ki*dh, ox*sw-pl+kj*dw
								if iy < 0 || iy >= h || ix < 0 || ix >= wd {
									continue
								}
								xi := ((img*c+g*cg+ic)*h+iy)*wd + ix
								wi := ((oc*cg+ic)*kh+ki)*kw + kj
								s += float64(xv[xi]) * float64(wv[wi])
							}
						}
					}
					y[((img*m+oc)*oh+oy)*ow+ox] = float32(s)
				}
			}
		}
	}
	return y
}

func TestConvMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	type tc struct {
		x, w     []int64
		group    int
		s, d, p  []int // p: begin pads (end pads follow from the attrs)
		attrs    Attrs
		noBias   bool
		constW   bool
		expShape []int64
	}
	ints := func(v ...int64) Attr { return IntsAttr(v...) }
	cases := []tc{
		// im2col + GEMM.
		{x: []int64{1, 3, 17, 19}, w: []int64{8, 3, 3, 3}, s: []int{2, 2}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"strides": ints(2, 2), "pads": ints(1, 1, 1, 1)}, expShape: []int64{1, 8, 9, 10}},
		{x: []int64{2, 4, 12, 12}, w: []int64{5, 4, 3, 3}, s: []int{1, 1}, d: []int{2, 2}, p: []int{0, 0},
			attrs: Attrs{"dilations": ints(2, 2)}, expShape: []int64{2, 5, 8, 8}, constW: true},
		{x: []int64{1, 8, 40, 40}, w: []int64{16, 8, 3, 3}, s: []int{1, 1}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"pads": ints(1, 1, 1, 1), "kernel_shape": ints(3, 3)}, expShape: []int64{1, 16, 40, 40}, constW: true},
		{x: []int64{1, 64, 3, 3}, w: []int64{128, 64, 3, 3}, s: []int{1, 1}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"pads": ints(1, 1, 1, 1)}, expShape: []int64{1, 128, 3, 3}},
		{x: []int64{1, 6, 9, 8}, w: []int64{4, 6, 1, 1}, s: []int{2, 2}, d: []int{1, 1}, p: []int{0, 0},
			attrs: Attrs{"strides": ints(2, 2)}, expShape: []int64{1, 4, 5, 4}},
		{x: []int64{1, 2, 7, 7}, w: []int64{3, 2, 2, 4}, s: []int{3, 2}, d: []int{1, 1}, p: []int{0, 2},
			attrs: Attrs{"strides": ints(3, 2), "pads": ints(0, 2, 1, 0)}, expShape: []int64{1, 3, 3, 3}},
		// Grouped, including a depthwise multiplier.
		{x: []int64{1, 8, 9, 9}, w: []int64{12, 2, 3, 3}, group: 4, s: []int{1, 1}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"pads": ints(1, 1, 1, 1), "group": IntAttr(4)}, expShape: []int64{1, 12, 9, 9}},
		{x: []int64{2, 4, 6, 6}, w: []int64{8, 1, 3, 3}, group: 4, s: []int{2, 2}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"pads": ints(1, 1, 1, 1), "strides": ints(2, 2), "group": IntAttr(4)}, expShape: []int64{2, 8, 3, 3}},
		// Pointwise (direct GEMM), grouped pointwise.
		{x: []int64{2, 16, 7, 9}, w: []int64{24, 16, 1, 1}, s: []int{1, 1}, d: []int{1, 1}, p: []int{0, 0},
			expShape: []int64{2, 24, 7, 9}, constW: true},
		{x: []int64{1, 96, 12, 12}, w: []int64{20, 96, 1, 1}, s: []int{1, 1}, d: []int{1, 1}, p: []int{0, 0},
			expShape: []int64{1, 20, 12, 12}, noBias: true},
		{x: []int64{1, 8, 5, 5}, w: []int64{6, 4, 1, 1}, group: 2, s: []int{1, 1}, d: []int{1, 1}, p: []int{0, 0},
			attrs: Attrs{"group": IntAttr(2)}, expShape: []int64{1, 6, 5, 5}},
		// Depthwise: specialised 3×3 and 5×5 at stride 1 and 2, and general.
		{x: []int64{1, 6, 10, 11}, w: []int64{6, 1, 3, 3}, group: 6, s: []int{1, 1}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"pads": ints(1, 1, 1, 1), "group": IntAttr(6)}, expShape: []int64{1, 6, 10, 11}, constW: true},
		{x: []int64{2, 5, 11, 10}, w: []int64{5, 1, 3, 3}, group: 5, s: []int{2, 2}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"pads": ints(1, 1, 1, 1), "strides": ints(2, 2), "group": IntAttr(5)}, expShape: []int64{2, 5, 6, 5}},
		{x: []int64{1, 4, 12, 12}, w: []int64{4, 1, 3, 3}, group: 4, s: []int{2, 2}, d: []int{1, 1}, p: []int{0, 0},
			attrs: Attrs{"pads": ints(0, 0, 1, 1), "strides": ints(2, 2), "group": IntAttr(4)}, expShape: []int64{1, 4, 6, 6}, noBias: true},
		{x: []int64{1, 3, 13, 14}, w: []int64{3, 1, 5, 5}, group: 3, s: []int{1, 1}, d: []int{1, 1}, p: []int{2, 2},
			attrs: Attrs{"pads": ints(2, 2, 2, 2), "group": IntAttr(3)}, expShape: []int64{1, 3, 13, 14}},
		{x: []int64{1, 3, 14, 13}, w: []int64{3, 1, 5, 5}, group: 3, s: []int{2, 2}, d: []int{1, 1}, p: []int{2, 2},
			attrs: Attrs{"auto_pad": StringAttr("SAME_LOWER"), "strides": ints(2, 2), "group": IntAttr(3)}, expShape: []int64{1, 3, 7, 7}},
		{x: []int64{1, 3, 9, 9}, w: []int64{3, 1, 3, 3}, group: 3, s: []int{1, 1}, d: []int{2, 2}, p: []int{2, 2},
			attrs: Attrs{"pads": ints(2, 2, 2, 2), "dilations": ints(2, 2), "group": IntAttr(3)}, expShape: []int64{1, 3, 9, 9}},
		{x: []int64{1, 2, 9, 10}, w: []int64{2, 1, 3, 5}, group: 2, s: []int{1, 2}, d: []int{1, 1}, p: []int{1, 2},
			attrs: Attrs{"pads": ints(1, 2, 1, 2), "strides": ints(1, 2), "group": IntAttr(2)}, expShape: []int64{1, 2, 9, 5}},
		{x: []int64{1, 2, 3, 3}, w: []int64{2, 1, 5, 5}, group: 2, s: []int{1, 1}, d: []int{1, 1}, p: []int{2, 2},
			attrs: Attrs{"pads": ints(2, 2, 2, 2), "group": IntAttr(2)}, expShape: []int64{1, 2, 3, 3}},
		// Wide rows (computed in place row by row), stride 3 (Go loops).
		{x: []int64{1, 3, 5, 70}, w: []int64{3, 1, 3, 3}, group: 3, s: []int{1, 1}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"pads": ints(1, 1, 1, 1), "group": IntAttr(3)}, expShape: []int64{1, 3, 5, 70}},
		{x: []int64{2, 2, 6, 75}, w: []int64{2, 1, 5, 5}, group: 2, s: []int{2, 2}, d: []int{1, 1}, p: []int{2, 2},
			attrs: Attrs{"pads": ints(2, 2, 2, 2), "strides": ints(2, 2), "group": IntAttr(2)}, expShape: []int64{2, 2, 3, 38}},
		{x: []int64{1, 3, 9, 6}, w: []int64{3, 1, 3, 3}, group: 3, s: []int{1, 2}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"pads": ints(1, 1, 1, 1), "strides": ints(1, 2), "group": IntAttr(3)}, expShape: []int64{1, 3, 9, 3}},
		{x: []int64{1, 2, 10, 11}, w: []int64{2, 1, 3, 3}, group: 2, s: []int{3, 3}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"pads": ints(1, 1, 1, 1), "strides": ints(3, 3), "group": IntAttr(2)}, expShape: []int64{1, 2, 4, 4}},
		// auto_pad.
		{x: []int64{1, 2, 7, 8}, w: []int64{3, 2, 3, 3}, s: []int{2, 2}, d: []int{1, 1}, p: []int{1, 0},
			attrs: Attrs{"auto_pad": StringAttr("SAME_UPPER"), "strides": ints(2, 2)}, expShape: []int64{1, 3, 4, 4}},
		{x: []int64{1, 2, 7, 8}, w: []int64{3, 2, 3, 3}, s: []int{2, 2}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"auto_pad": StringAttr("SAME_LOWER"), "strides": ints(2, 2)}, expShape: []int64{1, 3, 4, 4}},
		{x: []int64{1, 2, 7, 8}, w: []int64{3, 2, 3, 3}, s: []int{2, 2}, d: []int{1, 1}, p: []int{0, 0},
			attrs: Attrs{"auto_pad": StringAttr("VALID"), "strides": ints(2, 2), "pads": ints(5, 5, 5, 5)}, expShape: []int64{1, 3, 3, 3}},
		// 1-D.
		{x: []int64{2, 4, 20}, w: []int64{6, 4, 5}, s: []int{2}, d: []int{1}, p: []int{2},
			attrs: Attrs{"strides": ints(2), "pads": ints(2, 1)}, expShape: []int64{2, 6, 10}},
		{x: []int64{1, 4, 16}, w: []int64{4, 1, 3}, group: 4, s: []int{1}, d: []int{1}, p: []int{1},
			attrs: Attrs{"pads": ints(1, 1), "group": IntAttr(4)}, expShape: []int64{1, 4, 16}},
		{x: []int64{1, 4, 16}, w: []int64{8, 4, 1}, s: []int{1}, d: []int{1}, p: []int{0},
			expShape: []int64{1, 8, 16}},
	}
	for i, c := range cases {
		if c.group == 0 {
			c.group = 1
		}
		x, w := nnRand(r, c.x...), nnRand(r, c.w...)
		args := []nnArg{nnIn(x), nnIn(w)}
		if c.constW {
			args[1] = nnConst(w)
		}
		var b []float32
		if !c.noBias {
			bt := nnRand(r, c.w[0])
			b = bt.Float32s()
			args = append(args, nnConst(bt))
		}
		out := nnRun(t, 13, "Conv", c.attrs, args, 1)[0]
		if !sameInts(out.Shape, c.expShape) {
			t.Fatalf("case %d: shape %v, want %v", i, out.Shape, c.expShape)
		}
		want := naiveConv(x, w, b, c.group, c.s, c.d, c.p, c.expShape)
		nnClose(t, fmt.Sprintf("case %d", i), out.Float32s(), want, 1e-5)
	}
}

func TestConvSpecExamples(t *testing.T) {
	// From the ONNX operator documentation: x = 0..34 as 1×1×7×5, 3×3 ones.
	x, w := nnSeq(1, 1, 7, 5), nnFill(1, 1, 1, 3, 3)
	ints := func(v ...int64) Attr { return IntsAttr(v...) }
	got := nnRun(t, 11, "Conv", Attrs{"kernel_shape": ints(3, 3), "pads": ints(1, 1, 1, 1), "strides": ints(2, 2)},
		[]nnArg{nnIn(x), nnConst(w)}, 1)[0]
	nnClose(t, "strides and padding", got.Float32s(), []float32{12, 27, 24, 63, 108, 81, 123, 198, 141, 112, 177, 124}, 0)
	got = nnRun(t, 11, "Conv", Attrs{"kernel_shape": ints(3, 3), "pads": ints(1, 0, 1, 0), "strides": ints(2, 2)},
		[]nnArg{nnIn(x), nnConst(w)}, 1)[0]
	nnClose(t, "asymmetric padding", got.Float32s(), []float32{21, 33, 99, 117, 189, 207, 171, 183}, 0)
	x = nnSeq(1, 1, 5, 5)
	got = nnRun(t, 11, "Conv", Attrs{"auto_pad": StringAttr("SAME_LOWER"), "kernel_shape": ints(3, 3), "strides": ints(2, 2)},
		[]nnArg{nnIn(x), nnConst(w)}, 1)[0]
	nnClose(t, "autopad same", got.Float32s(), []float32{12, 27, 24, 63, 108, 81, 72, 117, 84}, 0)
}

// TestConv3D checks the N-d path against the 2-D one: with a kernel one
// deep, each depth slice of a 3-D (transposed) convolution is a 2-D one.
func TestConv3D(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	ints := func(v ...int64) Attr { return IntsAttr(v...) }
	x := nnRand(r, 2, 4, 3, 6, 7)
	slice := func(t5 *Tensor, d int) *Tensor {
		s := t5.Shape
		out := NewTensor(Float32, []int64{s[0], s[1], s[3], s[4]})
		plane := int(s[3] * s[4])
		for nc := range int(s[0] * s[1]) {
			copy(out.Float32s()[nc*plane:(nc+1)*plane], t5.Float32s()[(nc*int(s[2])+d)*plane:])
		}
		return out
	}
	squeeze := func(w *Tensor) *Tensor {
		s := w.Shape
		return FromFloat32([]int64{s[0], s[1], s[3], s[4]}, w.Float32s())
	}
	for _, op := range []string{"Conv", "ConvTranspose"} {
		w := nnRand(r, 4, 2, 1, 3, 3)
		b := nnRand(r, 4)
		attrs3 := Attrs{"group": IntAttr(2), "strides": ints(1, 2, 1), "pads": ints(0, 1, 0, 0, 1, 2), "dilations": ints(1, 1, 2)}
		attrs2 := Attrs{"group": IntAttr(2), "strides": ints(2, 1), "pads": ints(1, 0, 1, 2), "dilations": ints(1, 2)}
		got := nnRun(t, 13, op, attrs3, []nnArg{nnIn(x), nnConst(w), nnConst(b)}, 1)[0]
		for d := range 3 {
			want := nnRun(t, 13, op, attrs2, []nnArg{nnIn(slice(x, d)), nnConst(squeeze(w)), nnConst(b)}, 1)[0]
			nnClose(t, fmt.Sprintf("%s depth %d", op, d), slice(got, d).Float32s(), want.Float32s(), 1e-5)
		}
	}
}

func TestConvErrors(t *testing.T) {
	r := rand.New(rand.NewSource(2))
	x := nnRand(r, 1, 4, 5, 5)
	if _, err := nnTry(13, "Conv", Attrs{"group": IntAttr(3)}, []nnArg{nnIn(x), nnConst(nnRand(r, 3, 1, 3, 3))}, 1, 1); err == nil {
		t.Error("bad group: no error")
	}
	if _, err := nnTry(13, "Conv", Attrs{"auto_pad": StringAttr("SAME")}, []nnArg{nnIn(x), nnConst(nnRand(r, 3, 4, 3, 3))}, 1, 1); err == nil {
		t.Error("bad auto_pad: no error")
	}
}

// naiveConvTranspose scatters every input value through the kernel.
func naiveConvTranspose(x, w *Tensor, b []float32, group int, strides, dils, padBegin []int, ys []int64) []float32 {
	xs, ws := x.Shape, w.Shape
	h, wd, kh, kw, oh, ow := 1, int(xs[len(xs)-1]), 1, int(ws[len(ws)-1]), 1, int(ys[len(ys)-1])
	sh, sw, dh, dw, pt, pl := 1, strides[len(strides)-1], 1, dils[len(dils)-1], 0, padBegin[len(padBegin)-1]
	if len(xs) == 4 {
		h, kh, oh, sh, dh, pt = int(xs[2]), int(ws[2]), int(ys[2]), strides[0], dils[0], padBegin[0]
	}
	n, c, m := int(xs[0]), int(xs[1]), int(ys[1])
	cg, mg := c/group, m/group
	xv, wv := x.Float32s(), w.Float32s()
	acc := make([]float64, n*m*oh*ow)
	for img := range n {
		for oc := range m {
			for i := range oh * ow {
				if b != nil {
					acc[(img*m+oc)*oh*ow+i] = float64(b[oc])
				}
			}
		}
		for ic := range c {
			g := ic / cg
			for iy := range h {
				for ix := range wd {
					xv := float64(xv[((img*c+ic)*h+iy)*wd+ix])
					for mo := range mg {
						for ki := range kh {
							for kj := range kw {
								oy, ox := iy*sh-pt+ki*dh, ix*sw-pl+kj*dw
								if oy < 0 || oy >= oh || ox < 0 || ox >= ow {
									continue
								}
								oc := g*mg + mo
								acc[((img*m+oc)*oh+oy)*ow+ox] += xv * float64(wv[((ic*mg+mo)*kh+ki)*kw+kj])
							}
						}
					}
				}
			}
		}
	}
	y := make([]float32, len(acc))
	for i, v := range acc {
		y[i] = float32(v)
	}
	return y
}

func TestConvTranspose(t *testing.T) {
	ints := func(v ...int64) Attr { return IntsAttr(v...) }
	// ONNX documentation examples: x = 0..8 as 1×1×3×3, W ones 1×2×3×3.
	x, w := nnSeq(1, 1, 3, 3), nnFill(1, 1, 2, 3, 3)
	plane := func(v ...float32) []float32 { return append(append([]float32{}, v...), v...) }
	got := nnRun(t, 11, "ConvTranspose", nil, []nnArg{nnIn(x), nnConst(w)}, 1)[0]
	nnClose(t, "default", got.Float32s(), plane(0, 1, 3, 3, 2, 3, 8, 15, 12, 7, 9, 21, 36, 27, 15, 9, 20, 33, 24, 13, 6, 13, 21, 15, 8), 0)
	got = nnRun(t, 11, "ConvTranspose", Attrs{"auto_pad": StringAttr("SAME_UPPER"), "strides": ints(2, 2)}, []nnArg{nnIn(x), nnConst(w)}, 1)[0]
	nnClose(t, "autopad same", got.Float32s(), plane(0, 0, 1, 1, 3, 2, 0, 0, 1, 1, 3, 2, 3, 3, 8, 5, 12, 7, 3, 3, 7, 4, 9, 5, 9, 9, 20, 11, 24, 13, 6, 6, 13, 7, 15, 8), 0)
	got = nnRun(t, 11, "ConvTranspose", Attrs{"strides": ints(3, 2), "output_shape": ints(10, 8)}, []nnArg{nnIn(x), nnConst(w)}, 1)[0]
	if !sameInts(got.Shape, []int64{1, 2, 10, 8}) {
		t.Fatalf("output_shape: got %v", got.Shape)
	}
	want := naiveConvTranspose(x, w, nil, 1, []int{3, 2}, []int{1, 1}, []int{0, 0}, got.Shape)
	nnClose(t, "output_shape", got.Float32s(), want, 0)
	got = nnRun(t, 11, "ConvTranspose", Attrs{"strides": ints(3, 2), "output_shape": ints(1, 2, 10, 8), "kernel_shape": ints(3, 3), "output_padding": ints(1, 1)}, []nnArg{nnIn(x), nnConst(w)}, 1)[0]
	nnClose(t, "output_shape with N, C and output_padding", got.Float32s(), want, 0)

	r := rand.New(rand.NewSource(3))
	type tc struct {
		x, w    []int64
		group   int
		s, d, p []int
		attrs   Attrs
		shape   []int64
	}
	cases := []tc{
		{x: []int64{1, 3, 4, 5}, w: []int64{3, 2, 3, 3}, s: []int{2, 2}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"strides": ints(2, 2), "pads": ints(1, 1, 1, 1), "output_padding": ints(1, 1)}, shape: []int64{1, 2, 8, 10}},
		{x: []int64{2, 4, 3, 3}, w: []int64{4, 3, 2, 2}, group: 2, s: []int{2, 2}, d: []int{1, 1}, p: []int{0, 0},
			attrs: Attrs{"strides": ints(2, 2), "group": IntAttr(2)}, shape: []int64{2, 6, 6, 6}},
		{x: []int64{1, 2, 5, 5}, w: []int64{2, 3, 3, 3}, s: []int{1, 1}, d: []int{2, 2}, p: []int{0, 1},
			attrs: Attrs{"dilations": ints(2, 2), "pads": ints(0, 1, 2, 0)}, shape: []int64{1, 3, 7, 8}},
		{x: []int64{1, 16, 4, 4}, w: []int64{16, 8, 4, 4}, s: []int{2, 2}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"strides": ints(2, 2), "pads": ints(1, 1, 1, 1)}, shape: []int64{1, 8, 8, 8}},
		{x: []int64{1, 2, 6}, w: []int64{2, 3, 3}, s: []int{2}, d: []int{1}, p: []int{1},
			attrs: Attrs{"strides": ints(2), "pads": ints(1, 0)}, shape: []int64{1, 3, 12}},
		{x: []int64{1, 1, 3, 3}, w: []int64{1, 2, 3, 3}, s: []int{2, 2}, d: []int{1, 1}, p: []int{1, 1},
			attrs: Attrs{"auto_pad": StringAttr("SAME_LOWER"), "strides": ints(2, 2)}, shape: []int64{1, 2, 6, 6}},
	}
	for i, c := range cases {
		if c.group == 0 {
			c.group = 1
		}
		x, w, b := nnRand(r, c.x...), nnRand(r, c.w...), nnRand(r, c.shape[1])
		for _, constW := range []bool{true, false} {
			wa := nnIn(w)
			if constW {
				wa = nnConst(w)
			}
			got := nnRun(t, 13, "ConvTranspose", c.attrs, []nnArg{nnIn(x), wa, nnConst(b)}, 1)[0]
			if !sameInts(got.Shape, c.shape) {
				t.Fatalf("case %d: shape %v, want %v", i, got.Shape, c.shape)
			}
			want := naiveConvTranspose(x, w, b.Float32s(), c.group, c.s, c.d, c.p, c.shape)
			nnClose(t, fmt.Sprintf("case %d", i), got.Float32s(), want, 1e-5)
		}
	}
}

// benchConv times the kernel of one Conv node on a single thread (the
// input copy a Session makes is left out).
func benchConv(b *testing.B, x, w []int64, attrs Attrs) {
	r := rand.New(rand.NewSource(1))
	g := NewGraph("b", 13)
	in := g.AddInput("x", Type{DType: Float32, Shape: S(x...)})
	wt := g.AddConst("w", nnRand(r, w...))
	bt := g.AddConst("b", nnRand(r, w[0]))
	n := g.NewNode("Conv", "conv", []*Value{in, wt, bt}, []string{"y"}, attrs)
	g.Outputs = n.Outputs
	if err := InferShapes(g); err != nil {
		b.Fatal(err)
	}
	k, err := n.Def().Kernel(n)
	if err != nil {
		b.Fatal(err)
	}
	ys := n.Outputs[0].Type.Shape.Sizes()
	ins := []*Tensor{nnRand(r, x...), wt.Const, bt.Const}
	outs := []*Tensor{NewTensor(Float32, ys)}
	e := NewExec(1)
	defer e.Close()
	if err := k(e, ins, outs); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	cpu0 := threadCPU()
	b.ResetTimer()
	for range b.N {
		k(e, ins, outs)
	}
	b.StopTimer()
	if cpu0 >= 0 {
		// CPU time of this thread: steadier than wall time on a busy machine.
		b.ReportMetric(float64(threadCPU()-cpu0)/float64(b.N), "cpu-ns/op")
	}
	macs := float64(NumElements(ys)) * float64(NumElements(w[1:]))
	b.ReportMetric(macs*float64(b.N)/b.Elapsed().Seconds()/1e9, "GMAC/s")
}

// Shapes typical of efficientnet_b0 at 224×224.
func BenchmarkConvStem3x3s2(b *testing.B) {
	benchConv(b, []int64{1, 3, 224, 224}, []int64{32, 3, 3, 3},
		Attrs{"strides": IntsAttr(2, 2), "pads": IntsAttr(1, 1, 1, 1)})
}

func BenchmarkConvDepthwise3x3At112(b *testing.B) {
	benchConv(b, []int64{1, 96, 112, 112}, []int64{96, 1, 3, 3},
		Attrs{"group": IntAttr(96), "pads": IntsAttr(1, 1, 1, 1)})
}

func BenchmarkConvDepthwise3x3s2At112(b *testing.B) {
	benchConv(b, []int64{1, 96, 112, 112}, []int64{96, 1, 3, 3},
		Attrs{"group": IntAttr(96), "strides": IntsAttr(2, 2), "pads": IntsAttr(0, 0, 1, 1)})
}

func BenchmarkConvPointwise192to32At56(b *testing.B) {
	benchConv(b, []int64{1, 192, 56, 56}, []int64{32, 192, 1, 1}, nil)
}

func BenchmarkConvDepthwise5x5At28(b *testing.B) {
	benchConv(b, []int64{1, 240, 28, 28}, []int64{240, 1, 5, 5},
		Attrs{"group": IntAttr(240), "pads": IntsAttr(2, 2, 2, 2)})
}

func BenchmarkConvDepthwise5x5s2At56(b *testing.B) {
	benchConv(b, []int64{1, 144, 56, 56}, []int64{144, 1, 5, 5},
		Attrs{"group": IntAttr(144), "strides": IntsAttr(2, 2), "pads": IntsAttr(1, 1, 2, 2)})
}

func BenchmarkConv3x3At56(b *testing.B) {
	benchConv(b, []int64{1, 64, 56, 56}, []int64{64, 64, 3, 3}, Attrs{"pads": IntsAttr(1, 1, 1, 1)})
}

// threadCPU returns the CPU time the calling OS thread has used, in ns,
// or -1 where the OS cannot tell.
func threadCPU() int64 {
	const rusageThread = 1 // Linux RUSAGE_THREAD
	var ru syscall.Rusage
	if runtime.GOOS != "linux" || syscall.Getrusage(rusageThread, &ru) != nil {
		return -1
	}
	return ru.Utime.Nano() + ru.Stime.Nano()
}

func BenchmarkConvPointwise16to96At112(b *testing.B) {
	benchConv(b, []int64{1, 16, 112, 112}, []int64{96, 16, 1, 1}, nil)
}

func BenchmarkConvPointwise320to1280At7(b *testing.B) {
	benchConv(b, []int64{1, 320, 7, 7}, []int64{1280, 320, 1, 1}, nil)
}

// TestIm2colContiguous checks that im2colContiguous writes exactly what
// the general im2col writes, on every tile of geometries with unit strides
// and output rows as wide as the input's: paddings on either side or
// none, dilation, kernels wider and taller than the padding, an image
// shorter than the kernel, and tiles that start and end inside rows.
func TestIm2colContiguous(t *testing.T) {
	defer func(v bool) { useIm2colContiguous = v }(useIm2colContiguous)
	type geom struct{ c, h, w, kh, kw, dh, dw, pt, pb, pl, pr, tile int }
	geoms := []geom{
		{c: 3, h: 14, w: 14, kh: 3, kw: 3, dh: 1, dw: 1, pt: 1, pb: 1, pl: 1, pr: 1, tile: 64},
		{c: 2, h: 7, w: 7, kh: 3, kw: 3, dh: 1, dw: 1, pt: 1, pb: 1, pl: 1, pr: 1, tile: 49},
		{c: 2, h: 9, w: 11, kh: 5, kw: 5, dh: 1, dw: 1, pt: 2, pb: 2, pl: 2, pr: 2, tile: 23},
		{c: 2, h: 8, w: 10, kh: 3, kw: 3, dh: 2, dw: 2, pt: 2, pb: 2, pl: 2, pr: 2, tile: 17},
		{c: 1, h: 6, w: 9, kh: 1, kw: 3, dh: 1, dw: 1, pt: 0, pb: 0, pl: 0, pr: 2, tile: 20},
		{c: 1, h: 6, w: 9, kh: 3, kw: 1, dh: 1, dw: 1, pt: 2, pb: 0, pl: 0, pr: 0, tile: 16},
		{c: 2, h: 2, w: 5, kh: 7, kw: 7, dh: 1, dw: 1, pt: 3, pb: 3, pl: 3, pr: 3, tile: 3},
		{c: 1, h: 5, w: 4, kh: 2, kw: 4, dh: 1, dw: 1, pt: 1, pb: 0, pl: 3, pr: 0, tile: 7},
		// 3 wide with a padding of 1 (im2col3): whole planes, one-column
		// and one-row planes, long runs for the vector copy.
		{c: 4, h: 30, w: 30, kh: 3, kw: 3, dh: 1, dw: 1, pt: 1, pb: 1, pl: 1, pr: 1, tile: 200},
		{c: 3, h: 9, w: 13, kh: 1, kw: 3, dh: 1, dw: 1, pt: 0, pb: 0, pl: 1, pr: 1, tile: 117},
		{c: 2, h: 5, w: 1, kh: 3, kw: 3, dh: 1, dw: 1, pt: 1, pb: 1, pl: 1, pr: 1, tile: 5},
		{c: 2, h: 1, w: 9, kh: 3, kw: 3, dh: 1, dw: 1, pt: 1, pb: 1, pl: 1, pr: 1, tile: 4},
		{c: 2, h: 6, w: 6, kh: 5, kw: 3, dh: 2, dw: 1, pt: 4, pb: 4, pl: 1, pr: 1, tile: 10},
		{c: 2, h: 8, w: 17, kh: 3, kw: 3, dh: 1, dw: 1, pt: 0, pb: 2, pl: 1, pr: 1, tile: 51},
	}
	r := rand.New(rand.NewSource(3))
	for i, gm := range geoms {
		p := &conv2d{n: 1, c: gm.c, h: gm.h, w: gm.w, m: 1, kh: gm.kh, kw: gm.kw, sh: 1, sw: 1, dh: gm.dh, dw: gm.dw,
			pt: gm.pt, pl: gm.pl, group: 1, cg: gm.c, mg: 1}
		p.oh = gm.h + gm.pt + gm.pb - (gm.kh-1)*gm.dh
		p.ow = gm.w + gm.pl + gm.pr - (gm.kw-1)*gm.dw
		if p.ow != p.w || p.oh < 1 {
			t.Fatalf("geometry %d: output %d×%d for input %d×%d", i, p.oh, p.ow, p.h, p.w)
		}
		g := newGemmConv(p, false, nil)
		if !g.contiguous {
			t.Fatalf("geometry %d is not contiguous", i)
		}
		x := make([]float32, gm.c*gm.h*gm.w)
		for j := range x {
			x[j] = r.Float32() + 1 // no zeros: a missed copy shows
		}
		pos := p.oh * p.ow
		for p0 := 0; p0 < pos; p0 += gm.tile {
			p1 := min(pos, p0+gm.tile)
			var cols [2][]float32
			for v, fast := range []bool{false, true} {
				useIm2colContiguous = fast
				cols[v] = make([]float32, g.k*(p1-p0))
				for j := range cols[v] {
					cols[v][j] = -7 // poison: every element must be written
				}
				g.im2col(&convWorker{}, cols[v], x, p0, p1)
			}
			for j := range cols[0] {
				if math.Float32bits(cols[0][j]) != math.Float32bits(cols[1][j]) {
					t.Fatalf("geometry %d, tile [%d,%d): element %d (row %d) is %v, want %v",
						i, p0, p1, j, j/(p1-p0), cols[1][j], cols[0][j])
				}
			}
		}
	}
}
