package ir

import (
	"fmt"
	"math"
	"math/rand"
	"testing"
)

func TestBatchNormalization(t *testing.T) {
	r := rand.New(rand.NewSource(10))
	x := nnRand(r, 2, 3, 4, 5)
	scale, b, mean := nnRand(r, 3), nnRand(r, 3), nnRand(r, 3)
	v := nnRand(r, 3)
	for i := range v.Float32s() {
		v.Float32s()[i] = v.Float32s()[i]*v.Float32s()[i] + 0.1
	}
	naive := func(x *Tensor, eps float64) []float32 {
		c := int(x.Shape[1])
		size := x.Len() / int(x.Shape[0]) / c
		y := make([]float32, x.Len())
		for i, xv := range x.Float32s() {
			ch := i / size % c
			y[i] = float32((float64(xv)-float64(mean.Float32s()[ch]))/math.Sqrt(float64(v.Float32s()[ch])+eps)*
				float64(scale.Float32s()[ch]) + float64(b.Float32s()[ch]))
		}
		return y
	}
	for _, opset := range []int64{9, 14, 15} {
		for _, konst := range []bool{true, false} {
			args := []nnArg{nnIn(x), nnIn(scale), nnIn(b), nnIn(mean), nnIn(v)}
			if konst {
				for i := 1; i < 5; i++ {
					args[i].konst = true
				}
			}
			attrs := Attrs{"epsilon": FloatAttr(1e-3)}
			if opset == 9 {
				attrs["spatial"] = IntAttr(1)
			} else {
				attrs["training_mode"] = IntAttr(0)
			}
			got := nnRun(t, opset, "BatchNormalization", attrs, args, 1)[0]
			nnClose(t, fmt.Sprintf("opset %d const=%v", opset, konst), got.Float32s(), naive(x, 1e-3), 1e-5)
		}
	}
	x2 := nnRand(r, 4, 3)
	got := nnRun(t, 15, "BatchNormalization", nil, []nnArg{nnIn(x2), nnConst(scale), nnConst(b), nnConst(mean), nnConst(v)}, 1)[0]
	nnClose(t, "rank 2", got.Float32s(), naive(x2, 1e-5), 1e-5)

	all := []nnArg{nnIn(x), nnConst(scale), nnConst(b), nnConst(mean), nnConst(v)}
	if _, err := nnTry(15, "BatchNormalization", Attrs{"training_mode": IntAttr(1)}, all, 1, 1); err == nil {
		t.Error("training_mode=1: no error")
	}
	if _, err := nnTry(15, "BatchNormalization", nil, all, 3, 1); err == nil {
		t.Error("running statistics outputs: no error")
	}
	if _, err := nnTry(9, "BatchNormalization", Attrs{"spatial": IntAttr(0)}, all, 1, 1); err == nil {
		t.Error("spatial=0: no error")
	}
}

// naiveSoftmax normalises x over the elements sharing every index but
// those in [from, to) of the shape.
func naiveSoftmax(x *Tensor, from, to int, log bool) []float32 {
	s := x.Shape
	outer, length, inner := NumElements(s[:from]), NumElements(s[from:to]), NumElements(s[to:])
	y := make([]float32, x.Len())
	xv := x.Float32s()
	for o := range outer {
		for i := range inner {
			at := func(j int) int { return (o*length+j)*inner + i }
			m := math.Inf(-1)
			for j := range length {
				m = math.Max(m, float64(xv[at(j)]))
			}
			var sum float64
			for j := range length {
				sum += math.Exp(float64(xv[at(j)]) - m)
			}
			for j := range length {
				if log {
					y[at(j)] = float32(float64(xv[at(j)]) - m - math.Log(sum))
				} else {
					y[at(j)] = float32(math.Exp(float64(xv[at(j)])-m) / sum)
				}
			}
		}
	}
	return y
}

func TestSoftmax(t *testing.T) {
	r := rand.New(rand.NewSource(11))
	x := nnRand(r, 3, 4, 5)
	for _, op := range []string{"Softmax", "LogSoftmax"} {
		log := op == "LogSoftmax"
		for _, axis := range []int64{0, 1, 2, -1, -3} {
			a := int(axis)
			if a < 0 {
				a += 3
			}
			attrs := Attrs{"axis": IntAttr(axis)}
			got := nnRun(t, 13, op, attrs, []nnArg{nnIn(x)}, 1)[0]
			nnClose(t, fmt.Sprintf("%s-13 axis %d", op, axis), got.Float32s(), naiveSoftmax(x, a, a+1, log), 1e-5)
			got = nnRun(t, 11, op, attrs, []nnArg{nnIn(x)}, 1)[0]
			nnClose(t, fmt.Sprintf("%s-11 axis %d", op, axis), got.Float32s(), naiveSoftmax(x, a, 3, log), 1e-5)
		}
		got := nnRun(t, 13, op, nil, []nnArg{nnIn(x)}, 1)[0]
		nnClose(t, op+"-13 default axis", got.Float32s(), naiveSoftmax(x, 2, 3, log), 1e-5)
		got = nnRun(t, 9, op, nil, []nnArg{nnIn(x)}, 1)[0]
		nnClose(t, op+"-9 default axis", got.Float32s(), naiveSoftmax(x, 1, 3, log), 1e-5)
		if _, err := nnTry(13, op, Attrs{"axis": IntAttr(3)}, []nnArg{nnIn(x)}, 1, 1); err == nil {
			t.Errorf("%s axis 3 of rank 3: no error", op)
		}
	}
	ex := FromFloat32([]int64{1, 3}, []float32{-1, 0, 1})
	got := nnRun(t, 13, "Softmax", nil, []nnArg{nnIn(ex)}, 1)[0]
	nnClose(t, "spec example", got.Float32s(), []float32{0.09003058, 0.24472848, 0.66524094}, 1e-6)
	big := FromFloat32([]int64{2, 4}, []float32{0, 1, 2, 3, 10000, 10001, 10002, 10003})
	got = nnRun(t, 13, "LogSoftmax", nil, []nnArg{nnIn(big)}, 1)[0]
	nnClose(t, "large numbers", got.Float32s(), []float32{-3.4401896, -2.4401896, -1.4401897, -0.44018966,
		-3.4401896, -2.4401896, -1.4401897, -0.44018966}, 1e-6)
}

// naiveReduce reduces x over the axes marked in red.
func naiveReduce(x *Tensor, red []bool, op string) []float64 {
	s := x.Shape
	outIdx := func(i int) int {
		o, mul := 0, 1
		for d := len(s) - 1; d >= 0; d-- {
			c := i % int(s[d])
			i /= int(s[d])
			if !red[d] {
				o += c * mul
				mul *= int(s[d])
			}
		}
		return o
	}
	outN, count := 1, 1
	for d, n := range s {
		if red[d] {
			count *= int(n)
		} else {
			outN *= int(n)
		}
	}
	y := make([]float64, outN)
	if op == "ReduceMax" {
		for i := range y {
			y[i] = math.Inf(-1)
		}
	}
	for i := range x.Len() {
		v := x.Float64At(i)
		if op == "ReduceMax" {
			y[outIdx(i)] = math.Max(y[outIdx(i)], v)
		} else {
			y[outIdx(i)] += v
		}
	}
	if op == "ReduceMean" {
		for i := range y {
			y[i] /= float64(count)
		}
	}
	return y
}

func TestReduce(t *testing.T) {
	r := rand.New(rand.NewSource(12))
	x := nnRand(r, 2, 3, 1, 4, 5)
	axesCases := [][]int64{{0}, {1}, {4}, {-1}, {1, 3}, {0, 2, 4}, {3, 4}, {2}, {0, 1, 2, 3, 4}, nil}
	for _, op := range []string{"ReduceMean", "ReduceMax", "ReduceSum"} {
		since := int64(18)
		if op == "ReduceSum" {
			since = 13
		}
		for _, axes := range axesCases {
			red := make([]bool, 5)
			for _, a := range axes {
				red[(a+5)%5] = true
			}
			if axes == nil {
				red = []bool{true, true, true, true, true}
			}
			want := naiveReduce(x, red, op)
			for _, keep := range []int64{0, 1} {
				var shape []int64
				for d, n := range x.Shape {
					switch {
					case !red[d]:
						shape = append(shape, n)
					case keep == 1:
						shape = append(shape, 1)
					}
				}
				check := func(opset int64, attrs Attrs, args []nnArg) {
					got := nnRun(t, opset, op, attrs, args, 1)[0]
					what := fmt.Sprintf("%s-%d axes %v keepdims %d", op, opset, axes, keep)
					if !sameInts(got.Shape, shape) {
						t.Fatalf("%s: shape %v, want %v", what, got.Shape, shape)
					}
					w32 := make([]float32, len(want))
					for i, v := range want {
						w32[i] = float32(v)
					}
					nnClose(t, what, got.Float32s(), w32, 1e-5)
				}
				attrs := Attrs{"keepdims": IntAttr(keep)}
				if axes != nil {
					attrs["axes"] = IntsAttr(axes...)
				}
				check(since-1, attrs, []nnArg{nnIn(x)})
				attrs = Attrs{"keepdims": IntAttr(keep)}
				args := []nnArg{nnIn(x)}
				if axes != nil {
					args = append(args, nnConst(FromInt64([]int64{int64(len(axes))}, axes)))
				}
				check(since, attrs, args)
			}
		}
		// noop_with_empty_axes, and axes in the wrong form.
		got := nnRun(t, since, op, Attrs{"noop_with_empty_axes": IntAttr(1)}, []nnArg{nnIn(x)}, 1)[0]
		if !got.Equal(x) {
			t.Errorf("%s noop_with_empty_axes changed the input", op)
		}
		got = nnRun(t, since, op, Attrs{"noop_with_empty_axes": IntAttr(1)},
			[]nnArg{nnIn(x), nnConst(FromInt64([]int64{1}, []int64{1}))}, 1)[0]
		if !sameInts(got.Shape, []int64{2, 1, 1, 4, 5}) {
			t.Errorf("%s noop_with_empty_axes with axes: shape %v", op, got.Shape)
		}
		if _, err := nnTry(since, op, Attrs{"axes": IntsAttr(1)}, []nnArg{nnIn(x)}, 1, 1); err == nil {
			t.Errorf("%s-%d with an axes attribute: no error", op, since)
		}
		if _, err := nnTry(since-1, op, nil, []nnArg{nnIn(x), nnConst(FromInt64([]int64{1}, []int64{1}))}, 1, 1); err == nil {
			t.Errorf("%s-%d with an axes input: no error", op, since-1)
		}
		if _, err := nnTry(since, op, nil, []nnArg{nnIn(x), nnIn(FromInt64([]int64{1}, []int64{1}))}, 1, 1); err == nil {
			t.Errorf("%s-%d with a computed axes input: no error", op, since)
		}
		if _, err := nnTry(since-1, op, Attrs{"axes": IntsAttr(5)}, []nnArg{nnIn(x)}, 1, 1); err == nil {
			t.Errorf("%s axis out of range: no error", op)
		}
	}
	// int64, as in folded shape arithmetic.
	xi := FromInt64([]int64{2, 3}, []int64{1, 5, 3, -2, 7, 4})
	for op, want := range map[string]string{"ReduceSum": "[9 9]", "ReduceMax": "[5 7]", "ReduceMean": "[3 3]"} {
		var got *Tensor
		if op == "ReduceSum" {
			got = nnRun(t, 13, op, Attrs{"keepdims": IntAttr(0)}, []nnArg{nnIn(xi), nnConst(FromInt64([]int64{1}, []int64{1}))}, 1)[0]
		} else {
			got = nnRun(t, 13, op, Attrs{"axes": IntsAttr(1), "keepdims": IntAttr(0)}, []nnArg{nnIn(xi)}, 1)[0]
		}
		if fmt.Sprint(got.Int64s()) != want {
			t.Errorf("int64 %s: %v, want %s", op, got.Int64s(), want)
		}
	}
}

// TestReduceRows: ReduceSum and ReduceMean over the innermost axes
// (reduceRowsKernel) against float64 sums, the same bits on 1, 2 and 3
// threads, for rows shorter and longer than poolSum64's 16-chain blocks.
func TestReduceRows(t *testing.T) {
	r := rand.New(rand.NewSource(7))
	for _, shape := range [][]int64{{1, 3136, 96}, {5, 7, 200}, {3, 1, 1}, {2, 3, 129}, {4, 1000}} {
		x := NewTensor(Float32, shape)
		for i := range x.Float32s() {
			x.Float32s()[i] = float32(r.NormFloat64())
		}
		size := int(shape[len(shape)-1])
		for _, op := range []string{"ReduceSum", "ReduceMean"} {
			args := []tmArg{tmIn(x)}
			attrs := Attrs{"axes": IntsAttr(-1)}
			if op == "ReduceSum" {
				axes := NewTensor(Int64, []int64{1})
				axes.SetInt64At(0, -1)
				args, attrs = append(args, tmConst(axes)), nil
			}
			var first *Tensor
			for th := 1; th <= 3; th++ {
				out, err := tmTry(13, op, attrs, args, 1, th)
				if err != nil {
					t.Fatal(err)
				}
				if th == 1 {
					first = out[0]
				} else if !first.Equal(out[0]) {
					t.Fatalf("%s %v: %d threads differ from 1", op, shape, th)
				}
			}
			for i, got := range first.Float32s() {
				var s float64
				for _, v := range x.Float32s()[i*size : (i+1)*size] {
					s += float64(v)
				}
				if op == "ReduceMean" {
					s /= float64(size)
				}
				if math.Abs(float64(got)-s) > 1e-6*math.Abs(s)+1e-12 {
					t.Fatalf("%s %v: row %d = %v, want %v", op, shape, i, got, s)
				}
			}
		}
	}
}
