package ir

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

// naivePool2d pools a 2-D (or, with h = 1, 1-D) input from the ONNX
// reference definition: windows in padded coordinates, taps at
// o*s + t*d, counted when inside the declared padding.
func naivePool2d(x []float32, planes, h, w, oh, ow int, k, s, d, pb, pe [2]int, avg, includePad bool) []float32 {
	y := make([]float32, planes*oh*ow)
	for pl := range planes {
		for oy := range oh {
			for ox := range ow {
				var sum float64
				m := math.Inf(-1)
				cnt, valid := 0, 0
				for ty := range k[0] {
					py := oy*s[0] + ty*d[0]
					if py >= h+pb[0]+pe[0] {
						continue
					}
					for tx := range k[1] {
						px := ox*s[1] + tx*d[1]
						if px >= w+pb[1]+pe[1] {
							continue
						}
						cnt++
						iy, ix := py-pb[0], px-pb[1]
						if iy < 0 || iy >= h || ix < 0 || ix >= w {
							continue
						}
						valid++
						v := float64(x[(pl*h+iy)*w+ix])
						sum += v
						m = math.Max(m, v)
					}
				}
				switch {
				case !avg:
					y[(pl*oh+oy)*ow+ox] = float32(m)
				case includePad:
					y[(pl*oh+oy)*ow+ox] = float32(sum / float64(cnt))
				default:
					y[(pl*oh+oy)*ow+ox] = float32(sum / float64(valid))
				}
			}
		}
	}
	return y
}

func TestPoolMatchesDefinition(t *testing.T) {
	r := rand.New(rand.NewSource(4))
	type tc struct {
		x               []int64
		k, s, d, pb, pe [2]int
		oh, ow          int
		attrs           Attrs
	}
	ints := func(v ...int64) Attr { return IntsAttr(v...) }
	cases := []tc{
		{x: []int64{1, 3, 8, 8}, k: [2]int{2, 2}, s: [2]int{2, 2}, d: [2]int{1, 1}, oh: 4, ow: 4,
			attrs: Attrs{"kernel_shape": ints(2, 2), "strides": ints(2, 2)}},
		{x: []int64{2, 2, 9, 7}, k: [2]int{3, 3}, s: [2]int{2, 2}, d: [2]int{1, 1}, pb: [2]int{1, 1}, pe: [2]int{1, 1}, oh: 5, ow: 4,
			attrs: Attrs{"kernel_shape": ints(3, 3), "strides": ints(2, 2), "pads": ints(1, 1, 1, 1)}},
		// ceil_mode: the last window hangs over the end.
		{x: []int64{1, 2, 6, 7}, k: [2]int{3, 3}, s: [2]int{2, 2}, d: [2]int{1, 1}, oh: 3, ow: 3,
			attrs: Attrs{"kernel_shape": ints(3, 3), "strides": ints(2, 2), "ceil_mode": IntAttr(1)}},
		{x: []int64{1, 2, 5, 5}, k: [2]int{2, 2}, s: [2]int{2, 2}, d: [2]int{1, 1}, pb: [2]int{1, 1}, pe: [2]int{0, 0}, oh: 3, ow: 3,
			attrs: Attrs{"kernel_shape": ints(2, 2), "strides": ints(2, 2), "pads": ints(1, 1, 0, 0), "ceil_mode": IntAttr(1)}},
		// Dilations, asymmetric pads.
		{x: []int64{1, 1, 8, 9}, k: [2]int{3, 2}, s: [2]int{1, 2}, d: [2]int{2, 3}, pb: [2]int{2, 0}, pe: [2]int{1, 2}, oh: 7, ow: 4,
			attrs: Attrs{"kernel_shape": ints(3, 2), "strides": ints(1, 2), "dilations": ints(2, 3), "pads": ints(2, 0, 1, 2)}},
		// auto_pad.
		{x: []int64{1, 2, 7, 6}, k: [2]int{3, 2}, s: [2]int{2, 2}, d: [2]int{1, 1}, pb: [2]int{1, 0}, pe: [2]int{1, 0}, oh: 4, ow: 3,
			attrs: Attrs{"kernel_shape": ints(3, 2), "strides": ints(2, 2), "auto_pad": StringAttr("SAME_UPPER")}},
		{x: []int64{1, 2, 6, 6}, k: [2]int{3, 3}, s: [2]int{1, 1}, d: [2]int{1, 1}, pb: [2]int{1, 1}, pe: [2]int{1, 1}, oh: 6, ow: 6,
			attrs: Attrs{"kernel_shape": ints(3, 3), "auto_pad": StringAttr("SAME_LOWER")}},
		{x: []int64{1, 2, 6, 5}, k: [2]int{2, 2}, s: [2]int{1, 1}, d: [2]int{1, 1}, pb: [2]int{1, 1}, pe: [2]int{0, 0}, oh: 6, ow: 5,
			attrs: Attrs{"kernel_shape": ints(2, 2), "auto_pad": StringAttr("SAME_LOWER")}},
		{x: []int64{1, 2, 7, 7}, k: [2]int{3, 3}, s: [2]int{2, 2}, d: [2]int{1, 1}, oh: 3, ow: 3,
			attrs: Attrs{"kernel_shape": ints(3, 3), "strides": ints(2, 2), "auto_pad": StringAttr("VALID")}},
		// 1-D.
		{x: []int64{2, 3, 11}, k: [2]int{1, 3}, s: [2]int{1, 2}, d: [2]int{1, 1}, pb: [2]int{0, 1}, pe: [2]int{0, 1}, oh: 1, ow: 6,
			attrs: Attrs{"kernel_shape": ints(3), "strides": ints(2), "pads": ints(1, 1)}},
	}
	for i, c := range cases {
		x := nnRand(r, c.x...)
		h, w := 1, int(c.x[len(c.x)-1])
		if len(c.x) == 4 {
			h = int(c.x[2])
		}
		planes := int(c.x[0] * c.x[1])
		for _, op := range []string{"MaxPool", "AveragePool"} {
			for _, incl := range []int64{0, 1} {
				if op == "MaxPool" && incl == 1 {
					continue
				}
				attrs := Attrs{}
				for k, v := range c.attrs {
					attrs[k] = v
				}
				if op == "AveragePool" {
					attrs["count_include_pad"] = IntAttr(incl)
				}
				opset := int64(12)
				if attrs.Has("dilations") {
					opset = 19
				}
				got := nnRun(t, opset, op, attrs, []nnArg{nnIn(x)}, 1)[0]
				want := naivePool2d(x.Float32s(), planes, h, w, c.oh, c.ow, c.k, c.s, c.d, c.pb, c.pe, op == "AveragePool", incl == 1)
				nnClose(t, fmt.Sprintf("case %d %s include_pad=%d", i, op, incl), got.Float32s(), want, 1e-6)
			}
		}
	}
}

func TestPoolSpecExamples(t *testing.T) {
	ints := func(v ...int64) Attr { return IntsAttr(v...) }
	x := nnSeq(1, 1, 4, 4)
	for i := range x.Float32s() {
		x.Float32s()[i]++
	}
	ceil := Attrs{"kernel_shape": ints(3, 3), "strides": ints(2, 2), "ceil_mode": IntAttr(1)}
	got := nnRun(t, 11, "AveragePool", ceil, []nnArg{nnIn(x)}, 1)[0]
	nnClose(t, "averagepool_2d_ceil", got.Float32s(), []float32{6, 7.5, 12, 13.5}, 0)
	got = nnRun(t, 11, "MaxPool", ceil, []nnArg{nnIn(x)}, 1)[0]
	nnClose(t, "maxpool_2d_ceil", got.Float32s(), []float32{11, 12, 15, 16}, 0)
	got = nnRun(t, 11, "MaxPool", Attrs{"kernel_shape": ints(2, 2), "dilations": ints(2, 2)}, []nnArg{nnIn(x)}, 1)[0]
	nnClose(t, "maxpool_2d_dilations", got.Float32s(), []float32{11, 12, 15, 16}, 0)

	x = nnSeq(1, 1, 5, 5)
	for i := range x.Float32s() {
		x.Float32s()[i]++
	}
	res := nnRun(t, 12, "MaxPool", Attrs{"kernel_shape": ints(5, 5), "pads": ints(2, 2, 2, 2)}, []nnArg{nnIn(x)}, 2)
	nnClose(t, "argmax pads values", res[0].Float32s(), []float32{
		13, 14, 15, 15, 15, 18, 19, 20, 20, 20, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25, 23, 24, 25, 25, 25}, 0)
	wantIdx := []int64{12, 13, 14, 14, 14, 17, 18, 19, 19, 19, 22, 23, 24, 24, 24, 22, 23, 24, 24, 24, 22, 23, 24, 24, 24}
	if fmt.Sprint(res[1].Int64s()) != fmt.Sprint(wantIdx) {
		t.Errorf("argmax pads indices %v, want %v", res[1].Int64s(), wantIdx)
	}
	res = nnRun(t, 12, "MaxPool", Attrs{"kernel_shape": ints(2, 2), "strides": ints(2, 2), "storage_order": IntAttr(1)}, []nnArg{nnIn(x)}, 2)
	nnClose(t, "argmax strides values", res[0].Float32s(), []float32{7, 9, 17, 19}, 0)
	if fmt.Sprint(res[1].Int64s()) != "[6 16 8 18]" {
		t.Errorf("argmax column-major indices %v, want [6 16 8 18]", res[1].Int64s())
	}

	// uint8 MaxPool (opset 12).
	u := &Tensor{DType: Uint8, Shape: []int64{1, 1, 2, 3}, Data: []byte{1, 200, 3, 4, 5, 250}}
	got = nnRun(t, 12, "MaxPool", Attrs{"kernel_shape": ints(2, 2)}, []nnArg{nnIn(u)}, 1)[0]
	if fmt.Sprint(got.Data) != "[200 250]" {
		t.Errorf("uint8 maxpool %v, want [200 250]", got.Data)
	}
}

func TestPool3D(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	x := nnRand(r, 1, 2, 4, 5, 6)
	got := nnRun(t, 11, "AveragePool", Attrs{"kernel_shape": IntsAttr(2, 2, 2)}, []nnArg{nnIn(x)}, 1)[0]
	if !sameInts(got.Shape, []int64{1, 2, 3, 4, 5}) {
		t.Fatalf("shape %v", got.Shape)
	}
	xv := x.Float32s()
	at := func(c, d, h, w int) float32 { return xv[((c*4+d)*5+h)*6+w] }
	var want []float32
	for c := range 2 {
		for d := range 3 {
			for h := range 4 {
				for w := range 5 {
					var s float32
					for i := range 8 {
						s += at(c, d+i/4, h+i/2%2, w+i%2)
					}
					want = append(want, s/8)
				}
			}
		}
	}
	nnClose(t, "3-D average", got.Float32s(), want, 1e-5)
}

func TestGlobalPool(t *testing.T) {
	r := rand.New(rand.NewSource(6))
	x := nnRand(r, 2, 3, 5, 7)
	avg := nnRun(t, 13, "GlobalAveragePool", nil, []nnArg{nnIn(x)}, 1)[0]
	mx := nnRun(t, 13, "GlobalMaxPool", nil, []nnArg{nnIn(x)}, 1)[0]
	if !sameInts(avg.Shape, []int64{2, 3, 1, 1}) || !sameInts(mx.Shape, []int64{2, 3, 1, 1}) {
		t.Fatalf("shapes %v %v", avg.Shape, mx.Shape)
	}
	var wantAvg, wantMax []float32
	for p := range 6 {
		var s float64
		m := float32(math.Inf(-1))
		for _, v := range x.Float32s()[p*35 : (p+1)*35] {
			s += float64(v)
			m = max(m, v)
		}
		wantAvg, wantMax = append(wantAvg, float32(s/35)), append(wantMax, m)
	}
	nnClose(t, "global average", avg.Float32s(), wantAvg, 1e-6)
	nnClose(t, "global max", mx.Float32s(), wantMax, 0)
	x1 := nnRand(r, 1, 4, 9)
	got := nnRun(t, 13, "GlobalAveragePool", nil, []nnArg{nnIn(x1)}, 1)[0]
	if !sameInts(got.Shape, []int64{1, 4, 1}) {
		t.Fatalf("1-D shape %v", got.Shape)
	}
}

// TestMaxRowsSameBits compares the float32 2-D MaxPool rows (maxRows)
// with maxPlane bit for bit: kernels 1-5, strides 1-2 (3 falls back),
// pads, ceil_mode, widths below and around the 8- and 32-blocks, and
// inputs with NaN, ±0, ±Inf and repeated values.
func TestMaxRowsSameBits(t *testing.T) {
	if !haveDepthwiseAsm {
		t.Skip("no pooling assembly")
	}
	defer func(v bool) { useMaxRowsAsm = v }(useMaxRowsAsm)
	r := rand.New(rand.NewSource(3))
	specials := []float32{float32(math.NaN()), 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), 1, 1}
	cases := 0
	for _, k := range [][2]int64{{1, 1}, {2, 2}, {3, 3}, {3, 2}, {2, 5}, {5, 5}} {
		for _, s := range []int64{1, 2, 3} {
			for _, pad := range []int64{0, 1, 2} {
				if pad >= k[0] || pad >= k[1] {
					continue
				}
				for _, w := range []int64{3, 8, 9, 17, 40, 71, 112} {
					if w+2*pad < k[1] {
						continue
					}
					for _, ceil := range []int64{0, 1} {
						h := 1 + w%7 + k[0]
						x := NewTensor(Float32, []int64{2, 3, h, w})
						for i := range x.Float32s() {
							if r.Intn(9) == 0 {
								x.Float32s()[i] = specials[r.Intn(len(specials))]
							} else {
								x.Float32s()[i] = float32(r.Intn(11) - 5)
							}
						}
						attrs := Attrs{"kernel_shape": IntsAttr(k[0], k[1]), "strides": IntsAttr(s, s),
							"pads": IntsAttr(pad, pad, pad, pad), "ceil_mode": IntAttr(ceil)}
						var got [2][]*Tensor
						for z := range got {
							useMaxRowsAsm = z == 1
							var err error
							if got[z], err = nnTry(13, "MaxPool", attrs, []nnArg{nnIn(x)}, 1, 1+z); err != nil {
								t.Fatal(err)
							}
						}
						cases++
						want, have := got[0][0].Float32s(), got[1][0].Float32s()
						for i := range want {
							if math.Float32bits(want[i]) != math.Float32bits(have[i]) {
								t.Fatalf("kernel %v stride %d pad %d width %d ceil %d: [%d] = %v, maxPlane %v", k, s, pad, w, ceil, i, have[i], want[i])
							}
						}
					}
				}
			}
		}
	}
	t.Logf("%d cases", cases)
}

// TestPoolSum64Paths: the assembly blocks of poolSum64 give the Go loop's
// bits, for lengths around the blocks of 16 and a 56×56 plane.
func TestPoolSum64Paths(t *testing.T) {
	if !haveDepthwiseAsm {
		t.Skip("no pooling assembly")
	}
	defer func(v bool) { usePoolSumAsm = v }(usePoolSumAsm)
	r := rand.New(rand.NewSource(5))
	for _, n := range []int{0, 1, 15, 16, 17, 31, 32, 33, 49, 100, 196, 3136} {
		v := make([]float32, n)
		for i := range v {
			v[i] = float32(r.NormFloat64() * math.Pow(10, float64(r.Intn(9)-4)))
		}
		usePoolSumAsm = true
		a := poolSum64(v)
		usePoolSumAsm = false
		b := poolSum64(v)
		if math.Float64bits(a) != math.Float64bits(b) {
			t.Errorf("n=%d: assembly %v, Go %v", n, a, b)
		}
		var want float64
		for _, e := range v {
			want += float64(e)
		}
		if math.Abs(a-want) > 1e-12*math.Abs(want)+1e-300 {
			t.Errorf("n=%d: sum %v, want %v", n, a, want)
		}
	}
}
