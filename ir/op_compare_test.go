package ir

import (
	"math"
	"math/rand"
	"testing"
)

// tmBroadcastIndex returns, for output coordinates c, the linear index of
// the element an input of shape in reads under numpy broadcasting.
func tmBroadcastIndex(in []int64, c []int64) int {
	ic := make([]int64, len(in))
	for d := range in {
		if in[d] != 1 {
			ic[d] = c[d+len(c)-len(in)]
		}
	}
	return tmLinear(in, ic)
}

// tmRandOf fills a tensor with small random values of dtype dt, so
// comparisons find equal pairs.
func tmRandOf(r *rand.Rand, dt DType, shape ...int64) *Tensor {
	t := NewTensor(dt, shape)
	for i := range t.Len() {
		v := float64(r.Intn(5) - 2)
		if dt == Uint8 || dt == Bool {
			v = float64(r.Intn(2))
		}
		t.SetFloat64At(i, v)
	}
	return t
}

var tmBroadcastCases = [][2][]int64{
	{{2, 3}, {2, 3}},
	{{2, 3, 4}, {4}},
	{{2, 1, 4}, {3, 1}},
	{{}, {5}},
	{{3, 1, 5}, {1, 4, 1}},
	{{1, 1}, {}},
}

func TestCompare(t *testing.T) {
	r := rand.New(rand.NewSource(5))
	ops := map[string]func(a, b float64) bool{
		"Equal":   func(a, b float64) bool { return a == b },
		"Less":    func(a, b float64) bool { return a < b },
		"Greater": func(a, b float64) bool { return a > b },

		"LessOrEqual":    func(a, b float64) bool { return a <= b },
		"GreaterOrEqual": func(a, b float64) bool { return a >= b },
	}
	for name, f := range ops {
		for _, dt := range []DType{Float32, Int64, Int32, Int8, Uint8} {
			for _, c := range tmBroadcastCases {
				a, b := tmRandOf(r, dt, c[0]...), tmRandOf(r, dt, c[1]...)
				out := tmRun(t, 13, name, nil, []tmArg{tmIn(a), tmIn(b)}, 1)[0]
				if out.DType != Bool {
					t.Fatalf("%s gave %s", name, out.DType)
				}
				for i := range out.Len() {
					co := tmCoords(out.Shape, i)
					want := f(a.Float64At(tmBroadcastIndex(a.Shape, co)), b.Float64At(tmBroadcastIndex(b.Shape, co)))
					if (out.Data[i] != 0) != want {
						t.Fatalf("%s %s %v %v: element %d wrong", name, dt, a.Shape, b.Shape, i)
					}
				}
			}
		}
	}
	nan := tmF32([]int64{2}, float32(math.NaN()), 1)
	out := tmRun(t, 11, "Equal", nil, []tmArg{tmIn(nan), tmIn(nan)}, 1)[0]
	tmExpect(t, "NaN == NaN", out, []int64{2}, []float64{0, 1})
	bools := NewTensor(Bool, []int64{3})
	bools.Data[1] = 1
	out = tmRun(t, 11, "Equal", nil, []tmArg{tmIn(bools), tmConst(NewTensor(Bool, nil))}, 1)[0]
	tmExpect(t, "bool equal", out, []int64{3}, []float64{1, 0, 1})
	out = tmRun(t, 9, "Not", nil, []tmArg{tmIn(bools)}, 1)[0]
	tmExpect(t, "not", out, []int64{3}, []float64{1, 0, 1})
	tmFail(t, 13, "Less", nil, []tmArg{tmIn(bools), tmIn(bools)}, 1, "not supported")
	tmFail(t, 13, "Equal", nil, []tmArg{tmIn(nan), tmIn(tmI64([]int64{2}, 1, 2))}, 1, "input 1 is i64")
	tmFail(t, 13, "Not", nil, []tmArg{tmIn(nan)}, 1, "must be bool")
}

func TestWhere(t *testing.T) {
	cond := NewTensor(Bool, []int64{2, 2})
	copy(cond.Data, []byte{1, 0, 1, 1})
	out := tmRun(t, 9, "Where", nil, []tmArg{tmIn(cond), tmIn(tmF32([]int64{2, 2}, 1, 2, 3, 4)), tmIn(tmF32([]int64{2, 2}, 9, 8, 7, 6))}, 1)[0]
	tmExpect(t, "example", out, []int64{2, 2}, []float64{1, 8, 3, 4})

	r := rand.New(rand.NewSource(6))
	shapes := [][3][]int64{
		{{2, 3}, {2, 3}, {2, 3}},
		{{3, 1}, {1, 4}, {}},
		{{1, 4}, {3, 1}, {2, 1, 1}},
		{{5}, {}, {5}},
	}
	for _, dt := range tmDTypes {
		for _, s := range shapes {
			c, x, y := tmRandOf(r, Bool, s[0]...), tmSeq(dt, s[1]...), tmRandOf(r, dt, s[2]...)
			out := tmRun(t, 16, "Where", nil, []tmArg{tmIn(c), tmIn(x), tmIn(y)}, 1)[0]
			for i := range out.Len() {
				co := tmCoords(out.Shape, i)
				want := y.Float64At(tmBroadcastIndex(y.Shape, co))
				if c.Data[tmBroadcastIndex(c.Shape, co)] != 0 {
					want = x.Float64At(tmBroadcastIndex(x.Shape, co))
				}
				if got := out.Float64At(i); got != want {
					t.Fatalf("%s %v: element %d is %v, want %v", dt, s, i, got, want)
				}
			}
		}
	}
	tmFail(t, 9, "Where", nil, []tmArg{tmIn(tmF32(nil, 1)), tmIn(tmF32(nil, 1)), tmIn(tmF32(nil, 1))}, 1, "condition must be bool")
}

func TestMinMax(t *testing.T) {
	d0, d1, d2 := tmF32([]int64{3}, 3, 2, 1), tmF32([]int64{3}, 1, 4, 4), tmF32([]int64{3}, 2, 5, 3)
	out := tmRun(t, 13, "Max", nil, []tmArg{tmIn(d0), tmIn(d1), tmIn(d2)}, 1)[0]
	tmExpect(t, "max example", out, []int64{3}, []float64{3, 5, 4})
	out = tmRun(t, 13, "Min", nil, []tmArg{tmIn(d0), tmIn(d1), tmIn(d2)}, 1)[0]
	tmExpect(t, "min example", out, []int64{3}, []float64{1, 2, 1})
	out = tmRun(t, 13, "Min", nil, []tmArg{tmIn(d0)}, 1)[0]
	tmExpect(t, "one input", out, []int64{3}, []float64{3, 2, 1})
	out = tmRun(t, 13, "Max", nil, []tmArg{tmIn(d0), tmIn(tmF32(nil, float32(math.NaN())))}, 1)[0]
	if !math.IsNaN(out.Float64At(0)) {
		t.Fatalf("max with NaN: %v", tmValues(out))
	}

	r := rand.New(rand.NewSource(7))
	for _, dt := range []DType{Float32, Float16, Int64, Int32, Int8, Uint8} {
		for _, isMax := range []bool{false, true} {
			ins := []*Tensor{tmRandOf(r, dt, 3, 1), tmRandOf(r, dt, 4), tmRandOf(r, dt, 2, 1, 1), tmRandOf(r, dt)}
			op := "Min"
			if isMax {
				op = "Max"
			}
			args := []tmArg{tmIn(ins[0]), tmConst(ins[1]), tmIn(ins[2]), tmIn(ins[3])}
			out := tmRun(t, 12, op, nil, args, 1)[0]
			if !sameInts(out.Shape, []int64{2, 3, 4}) {
				t.Fatalf("%s shape %v", op, out.Shape)
			}
			for i := range out.Len() {
				co := tmCoords(out.Shape, i)
				want := ins[0].Float64At(tmBroadcastIndex(ins[0].Shape, co))
				for _, in := range ins[1:] {
					v := in.Float64At(tmBroadcastIndex(in.Shape, co))
					if isMax {
						want = max(want, v)
					} else {
						want = min(want, v)
					}
				}
				if got := out.Float64At(i); got != want {
					t.Fatalf("%s %s element %d: %v, want %v", op, dt, i, got, want)
				}
			}
		}
	}
	tmFail(t, 13, "Max", nil, []tmArg{tmIn(d0), tmIn(tmF32([]int64{2}, 1, 2))}, 1, "do not broadcast")
}

func TestClip(t *testing.T) {
	inf := float32(math.Inf(1))
	x := tmF32([]int64{6}, -inf, -2, -0.5, 0.5, 2, inf)
	out := tmRun(t, 9, "Clip", Attrs{"min": FloatAttr(-1), "max": FloatAttr(1)}, []tmArg{tmIn(x)}, 1)[0]
	tmExpect(t, "opset 9", out, []int64{6}, []float64{-1, -1, -0.5, 0.5, 1, 1})
	// Clip-6's defaults are the float32 limits.
	out = tmRun(t, 9, "Clip", Attrs{"min": FloatAttr(0)}, []tmArg{tmIn(x)}, 1)[0]
	tmExpect(t, "opset 9 default max", out, []int64{6}, []float64{0, 0, 0, 0.5, 2, math.MaxFloat32})
	out = tmRun(t, 11, "Clip", nil, []tmArg{tmIn(x), tmConst(Scalar(-1)), tmConst(Scalar(1))}, 1)[0]
	tmExpect(t, "opset 11", out, []int64{6}, []float64{-1, -1, -0.5, 0.5, 1, 1})
	out = tmRun(t, 11, "Clip", nil, []tmArg{tmIn(x), tmAbsent, tmIn(Scalar(0))}, 1)[0]
	tmExpect(t, "absent min, runtime max", out, []int64{6}, []float64{math.Inf(-1), -2, -0.5, 0, 0, 0})
	out = tmRun(t, 13, "Clip", nil, []tmArg{tmIn(x)}, 1)[0]
	tmExpect(t, "no bounds", out, []int64{6}, tmValues(x))
	out = tmRun(t, 13, "Clip", nil, []tmArg{tmIn(x), tmConst(Scalar(1)), tmConst(Scalar(-1))}, 1)[0]
	tmExpect(t, "min > max", out, []int64{6}, []float64{-1, -1, -1, -1, -1, -1})
	i8 := NewTensor(Int8, []int64{4})
	copy(i8.Data, []byte{0x80, 0xff, 5, 0x7f})
	lo, hi := NewTensor(Int8, nil), NewTensor(Int8, nil)
	lo.Data[0], hi.Data[0] = 0xfe, 6 // -2, 6
	out = tmRun(t, 12, "Clip", nil, []tmArg{tmIn(i8), tmConst(lo), tmConst(hi)}, 1)[0]
	tmExpect(t, "int8", out, []int64{4}, []float64{-2, -1, 5, 6})
	out = tmRun(t, 12, "Clip", nil, []tmArg{tmIn(i8), tmAbsent, tmConst(hi)}, 1)[0]
	tmExpect(t, "int8 default min", out, []int64{4}, []float64{-128, -1, 5, 6})
	tmFail(t, 11, "Clip", Attrs{"min": FloatAttr(0)}, []tmArg{tmIn(x)}, 1, "not attributes")
	tmFail(t, 13, "Clip", nil, []tmArg{tmIn(x), tmConst(tmF32([]int64{2}, 0, 1))}, 1, "must be a scalar")
}

// TestClipReluForms: Clip(0, 6) and Clip(0, +Inf) run on the ReLU6 and
// ReLU loops; they give min(max(x, lo), hi) bit for bit, NaN, ±0 and ±Inf
// in every lane and in the tail included.
func TestClipReluForms(t *testing.T) {
	inf := float32(math.Inf(1))
	special := []float32{float32(math.NaN()), inf, -inf, 0, float32(math.Copysign(0, -1)), 6, 5.99, 6.01, -1e-40, 3}
	vals := make([]float32, 0, 37)
	for i := range 37 {
		vals = append(vals, special[i%len(special)])
	}
	x := tmF32([]int64{37}, vals...)
	for _, b := range [][2]float32{{0, 6}, {0, inf}, {-1, 1}} {
		out := tmRun(t, 13, "Clip", nil, []tmArg{tmIn(x), tmConst(Scalar(b[0])), tmConst(Scalar(b[1]))}, 1)[0]
		for i, v := range vals {
			want := min(max(v, b[0]), b[1])
			got := out.Float32s()[i]
			if math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
				t.Errorf("Clip(%v, %v, %v) = %v, want %v", v, b[0], b[1], got, want)
			}
		}
	}
}
