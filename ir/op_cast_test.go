package ir

import (
	"math"
	"testing"
)

// tmCastSources holds, per dtype, values that dtype represents, including
// the edges where conversions round, truncate or wrap.
var tmCastSources = map[DType][]float64{
	Float32: {math.NaN(), math.Inf(-1), -300.7, -129.5, -1.5, -0.5, math.Copysign(0, -1), 0, 0.4, 1.5, 2.7,
		127.9, 200.2, 255.9, 300.9, 65504, 70000.5, 1e10, math.Inf(1)},
	Float16: {math.NaN(), -300.7, -1.5, -0.5, 0, 0.4, 1.5, 2.7, 127.9, 255.9, 300.9, 65504, math.Inf(1)},
	Int8:    {-128, -1, 0, 1, 127},
	Uint8:   {0, 1, 127, 128, 255},
	Int32:   {math.MinInt32, -300, -129, -1, 0, 1, 128, 255, 256, 70000, math.MaxInt32},
	Int64:   {-(1 << 40) - 1, math.MinInt32, -300, -1, 0, 1, 255, 256, 70000, 1<<40 + 3, 1 << 52},
	Bool:    {0, 1, 1, 0},
}

// tmCastRef is the ONNX conversion of one value, written from the spec's
// rules; ok is false where the spec leaves the result undefined.
func tmCastRef(v float64, from, to DType) (r float64, ok bool) {
	switch to {
	case Bool:
		if v != 0 {
			return 1, true
		}
		return 0, true
	case Float32:
		return float64(float32(v)), true
	case Float16:
		return float64(Float16ToFloat32(Float32ToFloat16(float32(v)))), true
	}
	if from.IsFloat() {
		if math.IsNaN(v) || math.Abs(v) > 1<<62 {
			return 0, false // out of range: undefined
		}
		v = math.Trunc(v)
	}
	x := int64(v)
	switch to {
	case Int8:
		return float64(int8(x)), true
	case Uint8:
		return float64(uint8(x)), true
	case Int32:
		return float64(int32(x)), true
	}
	return float64(x), true
}

var tmONNXTypes = map[DType]int64{Float32: 1, Uint8: 2, Int8: 3, Int32: 6, Int64: 7, Bool: 9, Float16: 10}

func TestCastAllPairs(t *testing.T) {
	for from, vals := range tmCastSources {
		src := NewTensor(from, []int64{int64(len(vals))})
		for i, v := range vals {
			if from == Int64 {
				src.Int64s()[i] = int64(v)
			} else {
				src.SetFloat64At(i, v)
			}
		}
		for to, code := range tmONNXTypes {
			for _, opset := range []int64{9, 13, 19} {
				out := tmRun(t, opset, "Cast", Attrs{"to": IntAttr(code)}, []tmArg{tmIn(src)}, 1)[0]
				if out.DType != to {
					t.Fatalf("cast %s→%s gave %s", from, to, out.DType)
				}
				for i := range vals {
					want, ok := tmCastRef(src.Float64At(i), from, to)
					got := out.Float64At(i)
					if to == Int64 {
						got = float64(out.Int64s()[i])
					}
					if ok && got != want && !(math.IsNaN(got) && math.IsNaN(want)) {
						t.Fatalf("cast %s→%s of %v: got %v, want %v", from, to, src.Float64At(i), got, want)
					}
				}
			}
		}
	}
}

func TestCastExact(t *testing.T) {
	// Integers cast among themselves exactly, beyond float64's precision.
	big := tmI64([]int64{2}, math.MaxInt64, 1<<62+1)
	out := tmRun(t, 13, "Cast", Attrs{"to": IntAttr(7)}, []tmArg{tmIn(big)}, 1)[0]
	if !out.Equal(big) {
		t.Fatal("i64→i64 is not exact")
	}
	out = tmRun(t, 13, "Cast", Attrs{"to": IntAttr(6)}, []tmArg{tmIn(big)}, 1)[0]
	if got := out.Int32s(); got[0] != -1 || got[1] != 1 {
		t.Fatalf("i64→i32 wrap: %v", got)
	}
	out = tmRun(t, 19, "Cast", Attrs{"to": IntAttr(1), "saturate": IntAttr(1)}, []tmArg{tmIn(big)}, 1)[0]
	if got := out.Float32s(); got[0] != float32(math.MaxInt64) || got[1] != float32(1<<62) {
		t.Fatalf("i64→f32: %v", got)
	}
	x := tmF32([]int64{1}, 1)
	tmFail(t, 13, "Cast", Attrs{"to": IntAttr(11)}, []tmArg{tmIn(x)}, 1, "double is not supported")
	tmFail(t, 13, "Cast", Attrs{"to": IntAttr(8)}, []tmArg{tmIn(x)}, 1, "string is not supported")
	tmFail(t, 13, "Cast", nil, []tmArg{tmIn(x)}, 1, "to is required")
	tmFail(t, 13, "Cast", Attrs{"to": IntAttr(1), "saturate": IntAttr(0)}, []tmArg{tmIn(x)}, 1, "needs opset 19")
}
