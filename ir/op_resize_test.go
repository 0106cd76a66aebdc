package ir

import (
	"fmt"
	"math"
	"math/rand"
	"sort"
	"testing"
)

// refResize follows ONNX's reference implementation literally: one axis
// at a time, each output from the n nearest neighbours of its source
// coordinate in an edge-padded copy of the input line.
type refResize struct {
	mode, coord, nearest string
	cubicA               float64
	exclude              bool
	extrapol             float64
	roi                  []float64 // starts then ends, per axis
}

func (rr *refResize) coeffs(ratio float64) []float64 {
	switch rr.mode {
	case "nearest":
		if ratio == math.Trunc(ratio) {
			return []float64{0, 1}
		}
		b := func(v bool) float64 {
			if v {
				return 1
			}
			return 0
		}
		switch rr.nearest {
		case "round_prefer_floor":
			return []float64{b(ratio <= 0.5), b(ratio > 0.5)}
		case "round_prefer_ceil":
			return []float64{b(ratio < 0.5), b(ratio >= 0.5)}
		case "floor":
			return []float64{1, 0}
		}
		return []float64{0, 1}
	case "linear":
		return []float64{1 - ratio, ratio}
	}
	A, r := rr.cubicA, ratio
	return []float64{
		((A*(r+1)-5*A)*(r+1)+8*A)*(r+1) - 4*A,
		((A+2)*r-(A+3))*r*r + 1,
		((A+2)*(1-r)-(A+3))*(1-r)*(1-r) + 1,
		((A*((1-r)+1)-5*A)*((1-r)+1)+8*A)*((1-r)+1) - 4*A,
	}
}

func (rr *refResize) interp1d(data []float64, scale float64, outInt, x int, roi [2]float64) float64 {
	in := float64(len(data))
	width := scale * in
	xf := float64(x)
	var xo float64
	switch rr.coord {
	case "align_corners":
		if width != 1 {
			xo = xf * (in - 1) / (width - 1)
		}
	case "asymmetric":
		xo = xf / scale
	case "tf_crop_and_resize":
		if width == 1 {
			xo = (roi[1] - roi[0]) * (in - 1) / 2
		} else {
			xo = xf * (roi[1] - roi[0]) * (in - 1) / (width - 1)
		}
		xo += roi[0] * (in - 1)
		if xo < 0 || xo > in-1 {
			return rr.extrapol
		}
	case "pytorch_half_pixel":
		xo = -0.5
		if width != 1 {
			xo = (xf+0.5)/scale - 0.5
		}
	case "half_pixel":
		xo = (xf+0.5)/scale - 0.5
	case "half_pixel_symmetric":
		adj := float64(outInt) / width
		xo = in/2*(1-adj) + (xf+0.5)/scale - 0.5
	case "tf_half_pixel_for_nn":
		xo = (xf + 0.5) / scale
	}
	ratio := xo - math.Floor(xo)
	if xo == math.Floor(xo) {
		ratio = 1
	}
	c := rr.coeffs(ratio)
	n := len(c)
	pad := (n + 1) / 2
	padded := make([]float64, len(data)+2*pad)
	for i := range padded {
		padded[i] = data[max(0, min(len(data)-1, i-pad))]
	}
	xp := xo + float64(pad)
	idx := make([]int, len(padded))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool {
		da, db := math.Abs(xp-float64(idx[a])), math.Abs(xp-float64(idx[b]))
		if da != db {
			return da < db
		}
		return idx[a] < idx[b]
	})
	idx = idx[:n]
	sort.Ints(idx)
	if rr.exclude {
		var sum float64
		for i, k := range idx {
			if k-pad < 0 || k-pad >= len(data) {
				c[i] = 0
			}
			sum += c[i]
		}
		for i := range c {
			c[i] /= sum
		}
	}
	var s float64
	for i, k := range idx {
		s += c[i] * padded[k]
	}
	return s
}

// run resizes x (shape xs) to out with per-axis scales.
func (rr *refResize) run(x []float64, xs []int64, out []int64, scales []float64) []float64 {
	cur, shape := x, append([]int64{}, xs...)
	r := len(xs)
	for a := range r {
		if scales[a] == 1 && out[a] == shape[a] && (rr.roi == nil || rr.roi[a] == 0 && rr.roi[r+a] == 1) {
			continue
		}
		outer, in, inner := NumElements(shape[:a]), int(shape[a]), NumElements(shape[a+1:])
		next := make([]float64, outer*int(out[a])*inner)
		var roi [2]float64
		if rr.roi != nil {
			roi = [2]float64{rr.roi[a], rr.roi[r+a]}
		}
		line := make([]float64, in)
		for o := range outer {
			for i := range inner {
				for k := range in {
					line[k] = cur[(o*in+k)*inner+i]
				}
				for j := range int(out[a]) {
					next[(o*int(out[a])+j)*inner+i] = rr.interp1d(line, scales[a], int(out[a]), j, roi)
				}
			}
		}
		cur, shape[a] = next, out[a]
	}
	return cur
}

func f64s(t *Tensor) []float64 {
	v := make([]float64, t.Len())
	for i := range v {
		v[i] = t.Float64At(i)
	}
	return v
}

func f32s(v []float64) []float32 {
	r := make([]float32, len(v))
	for i, x := range v {
		r[i] = float32(x)
	}
	return r
}

func TestResizeMatchesReference(t *testing.T) {
	r := rand.New(rand.NewSource(13))
	x := nnRand(r, 1, 2, 5, 7)
	xs := x.Shape
	type target struct {
		scales []float32
		sizes  []int64
	}
	targets := []target{
		{scales: []float32{1, 1, 2, 1.5}},
		{scales: []float32{1, 1, 0.6, 0.5}},
		{scales: []float32{1, 1, 1, 3}},
		{sizes: []int64{1, 2, 3, 9}},
		{sizes: []int64{1, 2, 8, 4}},
		{sizes: []int64{1, 2, 1, 1}},
	}
	coords := []string{"half_pixel", "pytorch_half_pixel", "align_corners", "asymmetric", "tf_half_pixel_for_nn"}
	for _, tg := range targets {
		out, scales := make([]int64, 4), make([]float64, 4)
		for i := range 4 {
			if tg.scales != nil {
				scales[i] = float64(tg.scales[i])
				out[i] = int64(scales[i] * float64(xs[i]))
			} else {
				out[i] = tg.sizes[i]
				scales[i] = float64(out[i]) / float64(xs[i])
			}
		}
		for _, mode := range []string{"nearest", "linear", "cubic"} {
			for _, coord := range coords {
				nearestModes := []string{""}
				if mode == "nearest" {
					nearestModes = []string{"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"}
				}
				for _, nm := range nearestModes {
					for _, exclude := range []bool{false, true} {
						if exclude && mode != "cubic" {
							continue
						}
						rr := &refResize{mode: mode, coord: coord, nearest: nm, cubicA: -0.75, exclude: exclude}
						attrs := Attrs{"mode": StringAttr(mode), "coordinate_transformation_mode": StringAttr(coord)}
						if nm != "" {
							attrs["nearest_mode"] = StringAttr(nm)
						}
						if exclude {
							attrs["exclude_outside"] = IntAttr(1)
							attrs["cubic_coeff_a"] = FloatAttr(-0.5)
							rr.cubicA = -0.5
						}
						want := f32s(rr.run(f64s(x), xs, out, scales))
						what := fmt.Sprintf("%s %s %s exclude=%v scales=%v sizes=%v", mode, coord, nm, exclude, tg.scales, tg.sizes)
						// Opset 11 form: X, roi, scales[, sizes], with empty
						// tensors standing for absent ones.
						empty := FromFloat32([]int64{0}, nil)
						args := []nnArg{nnIn(x), nnConst(empty)}
						if tg.scales != nil {
							args = append(args, nnConst(FromFloat32([]int64{4}, tg.scales)))
						} else {
							args = append(args, nnConst(empty), nnConst(FromInt64([]int64{4}, tg.sizes)))
						}
						opsets := []int64{11, 13}
						if coord == "tf_half_pixel_for_nn" {
							opsets = []int64{11}
						}
						for _, opset := range opsets {
							got := nnRun(t, opset, "Resize", attrs, args, 1)[0]
							if !sameInts(got.Shape, out) {
								t.Fatalf("%s opset %d: shape %v, want %v", what, opset, got.Shape, out)
							}
							nnClose(t, fmt.Sprintf("%s opset %d", what, opset), got.Float32s(), want, 1e-5)
						}
					}
				}
			}
		}
	}
}

func TestResizeForms(t *testing.T) {
	r := rand.New(rand.NewSource(14))
	x := nnRand(r, 1, 2, 4, 6)
	xs := x.Shape
	scales := FromFloat32([]int64{2}, []float32{1.5, 0.5})
	lin := &refResize{mode: "linear", coord: "half_pixel"}
	want := f32s(lin.run(f64s(x), xs, []int64{1, 2, 6, 3}, []float64{1, 1, 1.5, 0.5}))

	// Opset 13: roi and scales may be omitted; opset 18: axes.
	got := nnRun(t, 18, "Resize", Attrs{"mode": StringAttr("linear"), "axes": IntsAttr(2, -1)},
		[]nnArg{nnIn(x), {}, nnConst(scales)}, 1)[0]
	nnClose(t, "axes", got.Float32s(), want, 1e-5)
	if _, err := nnTry(13, "Resize", Attrs{"axes": IntsAttr(2, 3)}, []nnArg{nnIn(x), {}, nnConst(scales)}, 1, 1); err == nil {
		t.Error("axes before opset 18: no error")
	}

	// keep_aspect_ratio_policy: sizes 3×9 for a 4×6 image.
	sizes := FromInt64([]int64{2}, []int64{3, 9})
	for policy, out := range map[string][]int64{"not_larger": {1, 2, 3, 5}, "not_smaller": {1, 2, 6, 9}} {
		s := float64(out[3]) / 6
		if policy == "not_larger" {
			s = 3.0 / 4
		} else {
			s = 9.0 / 6
		}
		ref := &refResize{mode: "nearest", coord: "half_pixel", nearest: "round_prefer_floor"}
		w := f32s(ref.run(f64s(x), xs, out, []float64{1, 1, s, s}))
		got := nnRun(t, 18, "Resize", Attrs{"axes": IntsAttr(2, 3), "keep_aspect_ratio_policy": StringAttr(policy)},
			[]nnArg{nnIn(x), {}, {}, nnConst(sizes)}, 1)[0]
		if !sameInts(got.Shape, out) {
			t.Fatalf("%s: shape %v, want %v", policy, got.Shape, out)
		}
		nnClose(t, policy, got.Float32s(), w, 0)
	}

	// half_pixel_symmetric (opset 19) with a scale whose product is not whole.
	sc := FromFloat32([]int64{4}, []float32{1, 1, 1.3, 0.7})
	ref := &refResize{mode: "linear", coord: "half_pixel_symmetric"}
	w := f32s(ref.run(f64s(x), xs, []int64{1, 2, 5, 4}, []float64{1, 1, float64(float32(1.3)), float64(float32(0.7))}))
	got = nnRun(t, 19, "Resize", Attrs{"mode": StringAttr("linear"), "coordinate_transformation_mode": StringAttr("half_pixel_symmetric")},
		[]nnArg{nnIn(x), {}, nnConst(sc)}, 1)[0]
	nnClose(t, "half_pixel_symmetric", got.Float32s(), w, 1e-5)

	// tf_crop_and_resize with extrapolation.
	roi := FromFloat32([]int64{8}, []float32{0, 0, 0.4, -0.2, 1, 1, 1.2, 0.9})
	for _, mode := range []string{"nearest", "linear", "cubic"} {
		ref := &refResize{mode: mode, coord: "tf_crop_and_resize", nearest: "round_prefer_floor", cubicA: -0.75, extrapol: 10,
			roi: f64s(roi)}
		out := []int64{1, 2, 5, 5}
		w := f32s(ref.run(f64s(x), xs, out, []float64{1, 1, 5.0 / 4, 5.0 / 6}))
		got := nnRun(t, 13, "Resize", Attrs{"mode": StringAttr(mode), "coordinate_transformation_mode": StringAttr("tf_crop_and_resize"),
			"extrapolation_value": FloatAttr(10)}, []nnArg{nnIn(x), nnConst(roi), {}, nnConst(FromInt64([]int64{4}, out))}, 1)[0]
		nnClose(t, "tf_crop_and_resize "+mode, got.Float32s(), w, 1e-5)
	}

	// Errors.
	if _, err := nnTry(18, "Resize", Attrs{"mode": StringAttr("linear"), "antialias": IntAttr(1)}, []nnArg{nnIn(x), {}, nnConst(FromFloat32([]int64{4}, []float32{1, 1, 0.5, 0.5}))}, 1, 1); err == nil {
		t.Error("antialias: no error")
	}
	if _, err := nnTry(13, "Resize", nil, []nnArg{nnIn(x), {}, nnConst(FromFloat32([]int64{4}, []float32{1, 1, 2, 2})), nnConst(FromInt64([]int64{4}, []int64{1, 2, 8, 12}))}, 1, 1); err == nil {
		t.Error("scales and sizes: no error")
	}
	if _, err := nnTry(13, "Resize", nil, []nnArg{nnIn(x), {}, nnIn(FromFloat32([]int64{4}, []float32{1, 1, 2, 2}))}, 1, 1); err == nil {
		t.Error("computed scales: no error")
	}
}

func TestResizeLegacy(t *testing.T) {
	// Upsample-9 and Resize-10: asymmetric coordinates; nearest rounds
	// down when enlarging and up when shrinking.
	x := nnSeq(1, 1, 2, 2)
	up := FromFloat32([]int64{4}, []float32{1, 1, 2, 3})
	wantUp := []float32{0, 0, 0, 1, 1, 1, 0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 2, 2, 2, 3, 3, 3}
	got := nnRun(t, 9, "Upsample", nil, []nnArg{nnIn(x), nnConst(up)}, 1)[0]
	nnClose(t, "upsample nearest", got.Float32s(), wantUp, 0)
	got = nnRun(t, 10, "Resize", nil, []nnArg{nnIn(x), nnConst(up)}, 1)[0]
	nnClose(t, "resize-10 nearest", got.Float32s(), wantUp, 0)

	x = nnSeq(1, 1, 4, 5)
	down := FromFloat32([]int64{4}, []float32{1, 1, 0.5, 0.6})
	// Rows ceil(0/0.5), ceil(1/0.5) = 0, 2; columns ceil(j/0.6) = 0, 2, 4.
	got = nnRun(t, 10, "Resize", nil, []nnArg{nnIn(x), nnConst(down)}, 1)[0]
	nnClose(t, "resize-10 nearest down", got.Float32s(), []float32{0, 2, 4, 10, 12, 14}, 0)

	lin := &refResize{mode: "linear", coord: "asymmetric"}
	xr := nnRand(rand.New(rand.NewSource(15)), 1, 2, 3, 4)
	sc := FromFloat32([]int64{4}, []float32{1, 1, 2, 2.5})
	want := f32s(lin.run(f64s(xr), xr.Shape, []int64{1, 2, 6, 10}, []float64{1, 1, 2, 2.5}))
	got = nnRun(t, 9, "Upsample", Attrs{"mode": StringAttr("linear")}, []nnArg{nnIn(xr), nnConst(sc)}, 1)[0]
	nnClose(t, "upsample linear", got.Float32s(), want, 1e-6)
	got = nnRun(t, 10, "Resize", Attrs{"mode": StringAttr("linear")}, []nnArg{nnIn(xr), nnConst(sc)}, 1)[0]
	nnClose(t, "resize-10 linear", got.Float32s(), want, 1e-6)

	if _, err := nnTry(10, "Upsample", nil, []nnArg{nnIn(x), nnConst(up)}, 1, 1); err == nil {
		t.Error("Upsample at opset 10: no error")
	}
}

func TestResizeNearestAnyType(t *testing.T) {
	x := FromInt64([]int64{1, 2, 3}, []int64{1, 2, 3, 4, 5, 6})
	got := nnRun(t, 13, "Resize", Attrs{"coordinate_transformation_mode": StringAttr("asymmetric"), "nearest_mode": StringAttr("floor")},
		[]nnArg{nnIn(x), {}, nnConst(FromFloat32([]int64{3}, []float32{1, 2, 2}))}, 1)[0]
	want := "[1 1 2 2 3 3 1 1 2 2 3 3 4 4 5 5 6 6 4 4 5 5 6 6]"
	if fmt.Sprint(got.Int64s()) != want {
		t.Errorf("int64 nearest: %v, want %s", got.Int64s(), want)
	}
	u := &Tensor{DType: Uint8, Shape: []int64{2, 2}, Data: []byte{1, 2, 3, 4}}
	got = nnRun(t, 13, "Resize", nil, []nnArg{nnIn(u), {}, {}, nnConst(FromInt64([]int64{2}, []int64{4, 4}))}, 1)[0]
	if fmt.Sprint(got.Data) != "[1 1 2 2 1 1 2 2 3 3 4 4 3 3 4 4]" {
		t.Errorf("uint8 nearest: %v", got.Data)
	}
}

func BenchmarkResizeBilinear2x(b *testing.B) {
	r := rand.New(rand.NewSource(1))
	x := nnRand(r, 1, 64, 56, 56)
	g := NewGraph("b", 13)
	in := g.AddInput("x", x.Type())
	sc := g.AddConst("s", FromFloat32([]int64{4}, []float32{1, 1, 2, 2}))
	n := g.NewNode("Resize", "resize", []*Value{in, nil, sc}, []string{"y"}, Attrs{"mode": StringAttr("linear")})
	g.Outputs = n.Outputs
	if err := InferShapes(g); err != nil {
		b.Fatal(err)
	}
	k, err := n.Def().Kernel(n)
	if err != nil {
		b.Fatal(err)
	}
	out := []*Tensor{NewTensor(Float32, n.Outputs[0].Type.Shape.Sizes())}
	e := NewExec(1)
	defer e.Close()
	b.ResetTimer()
	for range b.N {
		k(e, []*Tensor{x, nil, sc.Const}, out)
	}
}
