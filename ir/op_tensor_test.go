package ir

import (
	"bytes"
	"fmt"
	"math"
	"math/rand"
	"slices"
	"strings"
	"testing"
)

// tmArg is one input of a single-node test graph: a tensor fed at run
// time, a constant, or (zero value) an omitted optional input.
type tmArg struct {
	t     *Tensor
	konst bool
}

func tmIn(t *Tensor) tmArg    { return tmArg{t: t} }
func tmConst(t *Tensor) tmArg { return tmArg{t: t, konst: true} }

var tmAbsent = tmArg{}

// tmGraph builds a graph holding one node; allConst turns every argument
// into a constant.
func tmGraph(opset int64, op string, attrs Attrs, args []tmArg, nout int, allConst bool) (*Graph, []*Tensor) {
	g := NewGraph("t", opset)
	var ins []*Value
	var feeds []*Tensor
	for i, a := range args {
		switch {
		case a.t == nil:
			ins = append(ins, nil)
		case a.konst || allConst:
			ins = append(ins, g.AddConst(fmt.Sprintf("c%d", i), a.t))
		default:
			ins = append(ins, g.AddInput(fmt.Sprintf("in%d", i), a.t.Type()))
			feeds = append(feeds, a.t)
		}
	}
	var outs []string
	for i := range nout {
		outs = append(outs, fmt.Sprintf("out%d", i))
	}
	n := g.NewNode(op, "node", ins, outs, attrs)
	g.Outputs = n.Outputs
	return g, feeds
}

// tmTry infers, verifies and runs a single-node graph.
func tmTry(opset int64, op string, attrs Attrs, args []tmArg, nout, threads int) ([]*Tensor, error) {
	g, feeds := tmGraph(opset, op, attrs, args, nout, false)
	if err := InferShapes(g); err != nil {
		return nil, err
	}
	if err := Verify(g); err != nil {
		return nil, err
	}
	s, err := NewSession(g, SessionOptions{Threads: threads})
	if err != nil {
		return nil, err
	}
	defer s.Close()
	res, err := s.Run(feeds...)
	if err != nil {
		return nil, err
	}
	var cp []*Tensor
	for _, r := range res {
		cp = append(cp, r.Clone())
	}
	return cp, nil
}

// tmRun runs a single-node graph with 1 and 2 threads and folded from
// constants, fails the test on any error or disagreement, and returns the
// outputs.
func tmRun(t *testing.T, opset int64, op string, attrs Attrs, args []tmArg, nout int) []*Tensor {
	t.Helper()
	one, err := tmTry(opset, op, attrs, args, nout, 1)
	if err != nil {
		t.Fatal(err)
	}
	two, err := tmTry(opset, op, attrs, args, nout, 2)
	if err != nil {
		t.Fatal(err)
	}
	for i := range one {
		if !one[i].Equal(two[i]) && !tmSameNaN(one[i], two[i]) {
			t.Fatalf("%s output %d differs between 1 and 2 threads", op, i)
		}
	}
	g, _ := tmGraph(opset, op, attrs, args, nout, true)
	if err := InferShapes(g); err != nil {
		t.Fatal(err)
	}
	if k, err := FoldConstants(g); err != nil || k != 1 {
		t.Fatalf("folding %s: %d nodes, %v", op, k, err)
	}
	for i, o := range g.Outputs {
		if !o.Const.Equal(one[i]) && !tmSameNaN(o.Const, one[i]) {
			t.Fatalf("%s output %d: folded %v, ran %v", op, i, tmValues(o.Const), tmValues(one[i]))
		}
	}
	return one
}

func tmSameNaN(a, b *Tensor) bool {
	if a.DType != Float32 || b.DType != Float32 || !sameInts(a.Shape, b.Shape) {
		return false
	}
	x, y := a.Float32s(), b.Float32s()
	for i := range x {
		if x[i] != y[i] && !(x[i] != x[i] && y[i] != y[i]) {
			return false
		}
	}
	return true
}

// tmFail checks that a single-node graph is rejected, with an error
// mentioning want.
func tmFail(t *testing.T, opset int64, op string, attrs Attrs, args []tmArg, nout int, want string) {
	t.Helper()
	_, err := tmTry(opset, op, attrs, args, nout, 1)
	if err == nil {
		t.Fatalf("%s (opset %d) %v: no error, want %q", op, opset, attrs, want)
	}
	if !strings.Contains(err.Error(), want) {
		t.Fatalf("%s (opset %d): error %q, want %q", op, opset, err, want)
	}
}

// tmValues returns the elements of t as float64s, for comparisons and
// messages.
func tmValues(t *Tensor) []float64 {
	v := make([]float64, t.Len())
	for i := range v {
		v[i] = t.Float64At(i)
	}
	return v
}

// tmExpect fails unless out has the given shape and values.
func tmExpect(t *testing.T, what string, out *Tensor, shape []int64, want []float64) {
	t.Helper()
	if !sameInts(out.Shape, shape) {
		t.Fatalf("%s: shape %v, want %v", what, out.Shape, shape)
	}
	got := tmValues(out)
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i := range got {
		if got[i] != want[i] && !(math.IsNaN(got[i]) && math.IsNaN(want[i])) {
			t.Fatalf("%s: got %v, want %v", what, got, want)
		}
	}
}

func tmF32(shape []int64, v ...float32) *Tensor { return FromFloat32(shape, v) }
func tmI64(shape []int64, v ...int64) *Tensor   { return FromInt64(shape, v) }

func tmI32(shape []int64, v ...int32) *Tensor {
	t := NewTensor(Int32, shape)
	copy(t.Int32s(), v)
	return t
}

// tmSeq is 0, 1, 2, ... of the given dtype (wrapping for narrow types).
func tmSeq(dt DType, shape ...int64) *Tensor {
	t := NewTensor(dt, shape)
	for i := range t.Len() {
		v := float64(i)
		switch dt {
		case Int8:
			v = float64(int8(i))
		case Uint8:
			v = float64(uint8(i))
		case Bool:
			v = float64(i % 2)
		case Float16:
			v = float64(i % 2048)
		}
		t.SetFloat64At(i, v)
	}
	return t
}

// tmCoords converts a linear index to coordinates of shape.
func tmCoords(shape []int64, lin int) []int64 {
	c := make([]int64, len(shape))
	for d := len(shape) - 1; d >= 0; d-- {
		c[d] = int64(lin) % shape[d]
		lin /= int(shape[d])
	}
	return c
}

// tmLinear converts coordinates to a linear index of shape.
func tmLinear(shape, c []int64) int {
	k := 0
	for d := range shape {
		k = k*int(shape[d]) + int(c[d])
	}
	return k
}

// tmGather builds the tensor of the given shape whose element at c is
// src's element at index(c) (or, when index returns -1, zero).
func tmGather(src *Tensor, shape []int64, index func(c []int64) int) *Tensor {
	out := NewTensor(src.DType, shape)
	esz := src.DType.Size()
	for i := range out.Len() {
		if j := index(tmCoords(shape, i)); j >= 0 {
			copy(out.Data[i*esz:(i+1)*esz], src.Data[j*esz:(j+1)*esz])
		}
	}
	return out
}

var tmDTypes = []DType{Float32, Float16, Int8, Uint8, Int32, Int64, Bool}

func tmPerms(r int) [][]int64 {
	if r == 0 {
		return [][]int64{{}}
	}
	var res [][]int64
	for _, p := range tmPerms(r - 1) {
		for i := 0; i <= len(p); i++ {
			q := append(append(append([]int64{}, p[:i]...), int64(r-1)), p[i:]...)
			res = append(res, q)
		}
	}
	return res
}

func TestTranspose(t *testing.T) {
	shapes := [][]int64{{}, {5}, {2, 3}, {2, 3, 4}, {2, 1, 3, 5}, {1, 20, 18, 3}, {3, 40, 17}}
	for _, sh := range shapes {
		for _, perm := range tmPerms(len(sh)) {
			for _, dt := range []DType{Float32, Int64, Uint8, Float16} {
				x := tmSeq(dt, sh...)
				out := tmRun(t, 13, "Transpose", Attrs{"perm": IntsAttr(perm...)}, []tmArg{tmIn(x)}, 1)[0]
				osh := make([]int64, len(sh))
				for i, p := range perm {
					osh[i] = sh[p]
				}
				want := tmGather(x, osh, func(c []int64) int {
					ic := make([]int64, len(sh))
					for i, p := range perm {
						ic[p] = c[i]
					}
					return tmLinear(sh, ic)
				})
				if !out.Equal(want) {
					t.Fatalf("Transpose %v perm %v %s: got %v, want %v", sh, perm, dt, tmValues(out), tmValues(want))
				}
			}
		}
	}
	// The default reverses the dims.
	x := tmSeq(Float32, 2, 3, 4)
	def := tmRun(t, 9, "Transpose", nil, []tmArg{tmIn(x)}, 1)[0]
	rev := tmRun(t, 9, "Transpose", Attrs{"perm": IntsAttr(2, 1, 0)}, []tmArg{tmIn(x)}, 1)[0]
	if !def.Equal(rev) {
		t.Fatal("default perm is not the reversal")
	}
	tmFail(t, 13, "Transpose", Attrs{"perm": IntsAttr(0, 0, 1)}, []tmArg{tmIn(x)}, 1, "not a permutation")
}

func TestTransposeLarge(t *testing.T) {
	// NCHW → NHWC and back, big enough to split across threads in tiles.
	x := tmSeq(Float32, 1, 24, 37, 41)
	nhwc := tmRun(t, 13, "Transpose", Attrs{"perm": IntsAttr(0, 2, 3, 1)}, []tmArg{tmIn(x)}, 1)[0]
	back := tmRun(t, 13, "Transpose", Attrs{"perm": IntsAttr(0, 3, 1, 2)}, []tmArg{tmIn(nhwc)}, 1)[0]
	if !back.Equal(x) {
		t.Fatal("NCHW → NHWC → NCHW is not the identity")
	}
	if got, want := nhwc.Float32s()[1], x.Float32s()[37*41]; got != want {
		t.Fatalf("NHWC element 1 = %v, want %v", got, want)
	}
}

func TestConcat(t *testing.T) {
	a, b := tmSeq(Float32, 2, 3, 2), tmSeq(Float32, 2, 1, 2)
	b.Float32s()[0] = 100
	for _, axis := range []int64{1, -2} {
		out := tmRun(t, 13, "Concat", Attrs{"axis": IntAttr(axis)}, []tmArg{tmIn(a), tmConst(b), tmIn(a)}, 1)[0]
		want := tmGather(a, []int64{2, 7, 2}, func(c []int64) int { return -1 })
		for i := range want.Len() {
			c := tmCoords(want.Shape, i)
			src, cc := a, slices.Clone(c)
			switch {
			case c[1] < 3:
			case c[1] == 3:
				src, cc[1] = b, 0
			default:
				cc[1] -= 4
			}
			want.SetFloat64At(i, src.Float64At(tmLinear(src.Shape, cc)))
		}
		if !out.Equal(want) {
			t.Fatalf("axis %d: got %v, want %v", axis, tmValues(out), tmValues(want))
		}
	}
	// Shape chains concatenate 1-D int64 tensors, some empty.
	out := tmRun(t, 9, "Concat", Attrs{"axis": IntAttr(0)},
		[]tmArg{tmConst(tmI64([]int64{1}, 1)), tmConst(tmI64([]int64{0})), tmIn(tmI64([]int64{2}, -1, 7))}, 1)[0]
	tmExpect(t, "i64 concat", out, []int64{3}, []float64{1, -1, 7})
	for _, dt := range tmDTypes {
		x := tmSeq(dt, 3, 2)
		out := tmRun(t, 11, "Concat", Attrs{"axis": IntAttr(-1)}, []tmArg{tmIn(x), tmIn(x)}, 1)[0]
		if out.Float64At(2) != x.Float64At(0) || out.Float64At(7) != x.Float64At(3) {
			t.Fatalf("%s concat: %v", dt, tmValues(out))
		}
	}
	tmFail(t, 13, "Concat", nil, []tmArg{tmIn(a)}, 1, "axis is required")
	tmFail(t, 13, "Concat", Attrs{"axis": IntAttr(0)}, []tmArg{tmIn(a), tmIn(tmSeq(Float32, 2, 2, 2))}, 1, "has shape")
}

func TestSplit(t *testing.T) {
	x := tmSeq(Float32, 2, 6)
	check := func(name string, outs []*Tensor, sizes []int64) {
		t.Helper()
		at := int64(0)
		for k, o := range outs {
			want := tmGather(x, []int64{2, sizes[k]}, func(c []int64) int { return int(c[0]*6 + at + c[1]) })
			if !o.Equal(want) {
				t.Fatalf("%s output %d: got %v%v, want %v%v", name, k, o.Shape, tmValues(o), want.Shape, tmValues(want))
			}
			at += sizes[k]
		}
	}
	check("opset 9 attribute", tmRun(t, 9, "Split", Attrs{"axis": IntAttr(1), "split": IntsAttr(2, 4)}, []tmArg{tmIn(x)}, 2), []int64{2, 4})
	check("opset 11 equal", tmRun(t, 11, "Split", Attrs{"axis": IntAttr(-1)}, []tmArg{tmIn(x)}, 3), []int64{2, 2, 2})
	check("opset 13 input", tmRun(t, 13, "Split", Attrs{"axis": IntAttr(1)}, []tmArg{tmIn(x), tmConst(tmI64([]int64{3}, 1, 0, 5))}, 3), []int64{1, 0, 5})
	check("opset 13 equal", tmRun(t, 13, "Split", Attrs{"axis": IntAttr(1)}, []tmArg{tmIn(x)}, 2), []int64{3, 3})
	check("opset 18 num_outputs", tmRun(t, 18, "Split", Attrs{"axis": IntAttr(1), "num_outputs": IntAttr(3)}, []tmArg{tmIn(x)}, 3), []int64{2, 2, 2})
	check("opset 18 uneven", tmRun(t, 18, "Split", Attrs{"axis": IntAttr(1), "num_outputs": IntAttr(4)}, []tmArg{tmIn(x)}, 4), []int64{2, 2, 2, 0})
	y := tmSeq(Int64, 7)
	outs := tmRun(t, 18, "Split", Attrs{"num_outputs": IntAttr(4)}, []tmArg{tmIn(y)}, 4)
	tmExpect(t, "uneven last", outs[3], []int64{1}, []float64{6})
	tmExpect(t, "uneven first", outs[0], []int64{2}, []float64{0, 1})
	// Axis 0 of a rank-2 input, all dtypes.
	for _, dt := range tmDTypes {
		z := tmSeq(dt, 4, 3)
		outs := tmRun(t, 13, "Split", nil, []tmArg{tmIn(z)}, 2)
		if outs[1].Float64At(0) != z.Float64At(6) {
			t.Fatalf("%s split: %v", dt, tmValues(outs[1]))
		}
	}
	tmFail(t, 13, "Split", Attrs{"split": IntsAttr(3, 3)}, []tmArg{tmIn(x)}, 2, "not an attribute")
	tmFail(t, 11, "Split", Attrs{"axis": IntAttr(1)}, []tmArg{tmIn(x)}, 4, "equal parts")
	tmFail(t, 13, "Split", Attrs{"axis": IntAttr(1)}, []tmArg{tmIn(x), tmConst(tmI64([]int64{2}, 1, 2))}, 2, "does not add up")
	tmFail(t, 17, "Split", Attrs{"num_outputs": IntAttr(2)}, []tmArg{tmIn(x)}, 2, "needs opset 18")
	tmFail(t, 18, "Split", Attrs{"num_outputs": IntAttr(3)}, []tmArg{tmIn(x)}, 2, "num_outputs=3")
}

// tmSliceRef is the spec's slicing written out as a loop: the indices of
// one dim. It differs from numpy (the reference implementation) in one
// corner, as onnxruntime does: with a negative step, a start below -dim is
// clamped to 0 rather than making the slice empty.
func tmSliceRef(start, end, step, dim int64) []int64 {
	if start < 0 {
		start += dim
	}
	if end < 0 {
		end += dim
	}
	var idx []int64
	if step > 0 {
		start = max(start, 0)
		for i := start; i < min(end, dim); i += step {
			idx = append(idx, i)
			if step >= dim {
				break // the next index would overflow
			}
		}
	} else {
		start = max(min(start, dim-1), 0)
		for i := start; i > max(end, -1); i += step {
			idx = append(idx, i)
			if step <= -dim {
				break
			}
		}
	}
	return idx
}

func TestSlice(t *testing.T) {
	// The spec's examples.
	data := tmF32([]int64{2, 4}, 1, 2, 3, 4, 5, 6, 7, 8)
	out := tmRun(t, 13, "Slice", nil, []tmArg{tmIn(data), tmConst(tmI64([]int64{2}, 1, 0)), tmConst(tmI64([]int64{2}, 2, 3)),
		tmConst(tmI64([]int64{2}, 0, 1)), tmConst(tmI64([]int64{2}, 1, 2))}, 1)[0]
	tmExpect(t, "example 1", out, []int64{1, 2}, []float64{5, 7})
	out = tmRun(t, 13, "Slice", nil, []tmArg{tmIn(data), tmConst(tmI64([]int64{2}, 0, 1)), tmConst(tmI64([]int64{2}, -1, 1000))}, 1)[0]
	tmExpect(t, "example 2", out, []int64{1, 3}, []float64{2, 3, 4})
	out = tmRun(t, 9, "Slice", Attrs{"starts": IntsAttr(0, 1), "ends": IntsAttr(-1, 1000)}, []tmArg{tmIn(data)}, 1)[0]
	tmExpect(t, "opset 9 attributes", out, []int64{1, 3}, []float64{2, 3, 4})
	out = tmRun(t, 9, "Slice", Attrs{"starts": IntsAttr(1), "ends": IntsAttr(3), "axes": IntsAttr(1)}, []tmArg{tmIn(data)}, 1)[0]
	tmExpect(t, "opset 9 axes", out, []int64{2, 2}, []float64{2, 3, 6, 7})

	// Against numpy semantics, over starts, ends and steps including
	// out-of-range values and the INT64 extremes.
	x := tmSeq(Int64, 3, 7)
	vals := []int64{math.MinInt64, -100, -8, -7, -3, -1, 0, 1, 3, 6, 7, 8, 100, math.MaxInt64}
	steps := []int64{1, 2, 3, -1, -2, -5, math.MaxInt64, math.MinInt64}
	for _, s := range vals {
		for _, e := range vals {
			for _, st := range steps {
				args := []tmArg{tmIn(x), tmConst(tmI64([]int64{1}, s)), tmConst(tmI64([]int64{1}, e)),
					tmConst(tmI64([]int64{1}, -1)), tmConst(tmI64([]int64{1}, st))}
				got, err := tmTry(13, "Slice", nil, args, 1, 1)
				if err != nil {
					t.Fatal(err)
				}
				idx := tmSliceRef(s, e, st, 7)
				want := tmGather(x, []int64{3, int64(len(idx))}, func(c []int64) int { return int(c[0]*7 + idx[c[1]]) })
				if !got[0].Equal(want) {
					t.Fatalf("start %d end %d step %d: got %v%v, want %v%v", s, e, st, got[0].Shape, tmValues(got[0]), want.Shape, tmValues(want))
				}
			}
		}
	}

	// Several axes, int32 parameters, negative steps, all dtypes.
	for _, dt := range tmDTypes {
		y := tmSeq(dt, 4, 5, 6)
		out := tmRun(t, 13, "Slice", nil, []tmArg{tmIn(y), tmConst(tmI32([]int64{3}, -1, 1, 5)),
			tmConst(tmI32([]int64{3}, math.MinInt32, 4, 0)), tmConst(tmI32([]int64{3}, 0, -2, 2)), tmConst(tmI32([]int64{3}, -2, 2, -2))}, 1)[0]
		a0, a1, a2 := tmSliceRef(-1, math.MinInt32, -2, 4), tmSliceRef(1, 4, 2, 5), tmSliceRef(5, 0, -2, 6)
		want := tmGather(y, []int64{int64(len(a0)), int64(len(a1)), int64(len(a2))}, func(c []int64) int {
			return tmLinear(y.Shape, []int64{a0[c[0]], a1[c[1]], a2[c[2]]})
		})
		if !out.Equal(want) {
			t.Fatalf("%s: got %v%v, want %v%v", dt, out.Shape, tmValues(out), want.Shape, tmValues(want))
		}
	}
	// A symbolic dim sliced whole stays symbolic.
	g := NewGraph("s", 13)
	in := g.AddInput("x", Type{DType: Float32, Shape: Shape{{Size: -1, Param: "N"}, {Size: 8}}})
	st, en := g.AddConst("st", tmI64([]int64{2}, 0, 2)), g.AddConst("en", tmI64([]int64{2}, math.MaxInt64, 5))
	n := g.NewNode("Slice", "s", []*Value{in, st, en}, []string{"y"}, nil)
	if err := InferNode(n); err != nil {
		t.Fatal(err)
	}
	if got := n.Outputs[0].Type.Shape.String(); got != "[N,3]" {
		t.Fatalf("symbolic slice shape %s, want [N,3]", got)
	}

	tmFail(t, 13, "Slice", nil, []tmArg{tmIn(data), tmIn(tmI64([]int64{1}, 0)), tmConst(tmI64([]int64{1}, 1))}, 1, "must be a constant")
	tmFail(t, 13, "Slice", Attrs{"starts": IntsAttr(0), "ends": IntsAttr(1)}, []tmArg{tmIn(data)}, 1, "not an attribute")
	tmFail(t, 13, "Slice", nil, []tmArg{tmIn(data), tmConst(tmI64([]int64{1}, 0)), tmConst(tmI64([]int64{1}, 1)),
		tmAbsent, tmConst(tmI64([]int64{1}, 0))}, 1, "step is zero")
}

func TestPad(t *testing.T) {
	data := tmF32([]int64{3, 2}, 1.0, 1.2, 2.3, 3.4, 4.5, 5.7)
	pads := tmConst(tmI64([]int64{4}, 0, 2, 0, 0))
	out := tmRun(t, 11, "Pad", Attrs{"mode": StringAttr("constant")}, []tmArg{tmIn(data), pads, tmConst(Scalar(0))}, 1)[0]
	tmExpect(t, "constant", out, []int64{3, 4}, tmValues(tmF32([]int64{12}, 0, 0, 1.0, 1.2, 0, 0, 2.3, 3.4, 0, 0, 4.5, 5.7)))
	out = tmRun(t, 11, "Pad", Attrs{"mode": StringAttr("reflect")}, []tmArg{tmIn(data), pads}, 1)[0]
	tmExpect(t, "reflect", out, []int64{3, 4}, tmValues(tmF32([]int64{12}, 1.0, 1.2, 1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7, 4.5, 5.7)))
	out = tmRun(t, 13, "Pad", Attrs{"mode": StringAttr("edge")}, []tmArg{tmIn(data), pads}, 1)[0]
	tmExpect(t, "edge", out, []int64{3, 4}, tmValues(tmF32([]int64{12}, 1.0, 1.0, 1.0, 1.2, 2.3, 2.3, 2.3, 3.4, 4.5, 4.5, 4.5, 5.7)))
	out = tmRun(t, 19, "Pad", Attrs{"mode": StringAttr("wrap")}, []tmArg{tmIn(data), tmConst(tmI64([]int64{4}, 2, 1, 1, 1))}, 1)[0]
	tmExpect(t, "wrap", out, []int64{6, 4}, tmValues(tmF32([]int64{24},
		3.4, 2.3, 3.4, 2.3, 5.7, 4.5, 5.7, 4.5, 1.2, 1.0, 1.2, 1.0, 3.4, 2.3, 3.4, 2.3, 5.7, 4.5, 5.7, 4.5, 1.2, 1.0, 1.2, 1.0)))

	// Opset 9: pads and value are attributes.
	out = tmRun(t, 9, "Pad", Attrs{"pads": IntsAttr(1, 0, 0, 1), "value": FloatAttr(-1)}, []tmArg{tmIn(data)}, 1)[0]
	tmExpect(t, "opset 9", out, []int64{4, 3}, tmValues(tmF32([]int64{12}, -1, -1, -1, 1.0, 1.2, -1, 2.3, 3.4, -1, 4.5, 5.7, -1)))
	// constant_value given at run time, int64 data.
	xi := tmI64([]int64{2}, 5, 6)
	out = tmRun(t, 11, "Pad", nil, []tmArg{tmIn(xi), tmConst(tmI64([]int64{2}, 1, 2)), tmIn(tmI64(nil, 9))}, 1)[0]
	tmExpect(t, "runtime constant_value", out, []int64{5}, []float64{9, 5, 6, 9, 9})
	// Opset 18 axes (negative) pad only the named dims.
	out = tmRun(t, 18, "Pad", nil, []tmArg{tmIn(data), tmConst(tmI64([]int64{2}, 1, 1)), tmAbsent, tmConst(tmI64([]int64{1}, -1))}, 1)[0]
	tmExpect(t, "axes", out, []int64{3, 4}, tmValues(tmF32([]int64{12}, 0, 1.0, 1.2, 0, 0, 2.3, 3.4, 0, 0, 4.5, 5.7, 0)))
	// Negative pads crop.
	out = tmRun(t, 11, "Pad", nil, []tmArg{tmIn(data), tmConst(tmI64([]int64{4}, -1, 1, 0, -1))}, 1)[0]
	tmExpect(t, "crop", out, []int64{2, 2}, tmValues(tmF32([]int64{4}, 0, 2.3, 0, 4.5)))
	out = tmRun(t, 11, "Pad", Attrs{"mode": StringAttr("edge")}, []tmArg{tmIn(data), tmConst(tmI64([]int64{4}, -1, 1, 0, -1))}, 1)[0]
	tmExpect(t, "crop edge", out, []int64{2, 2}, tmValues(tmF32([]int64{4}, 2.3, 2.3, 4.5, 4.5)))
	// Reflect and wrap further than the dim, as numpy.pad does.
	v := tmI64([]int64{3}, 1, 2, 3)
	out = tmRun(t, 19, "Pad", Attrs{"mode": StringAttr("reflect")}, []tmArg{tmIn(v), tmConst(tmI64([]int64{2}, 4, 4))}, 1)[0]
	tmExpect(t, "long reflect", out, []int64{11}, []float64{1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3})
	out = tmRun(t, 19, "Pad", Attrs{"mode": StringAttr("wrap")}, []tmArg{tmIn(v), tmConst(tmI64([]int64{2}, 4, 4))}, 1)[0]
	tmExpect(t, "long wrap", out, []int64{11}, []float64{3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1})
	out = tmRun(t, 19, "Pad", Attrs{"mode": StringAttr("reflect")}, []tmArg{tmIn(tmI64([]int64{1}, 7)), tmConst(tmI64([]int64{2}, 2, 1))}, 1)[0]
	tmExpect(t, "reflect of one", out, []int64{4}, []float64{7, 7, 7, 7})

	// A 4-D NCHW pad over every dtype against a direct reference.
	for _, mode := range []string{"constant", "reflect", "edge", "wrap"} {
		for _, dt := range tmDTypes {
			x := tmSeq(dt, 1, 2, 5, 6)
			p := []int64{0, 0, 2, 1, 0, 1, 3, 4}
			out := tmRun(t, 19, "Pad", Attrs{"mode": StringAttr(mode)}, []tmArg{tmIn(x), tmConst(tmI64([]int64{8}, p...))}, 1)[0]
			osh := []int64{1, 3, 10, 11}
			want := tmGather(x, osh, func(c []int64) int {
				ic := make([]int64, 4)
				for d := range 4 {
					i := c[d] - p[d]
					if i < 0 || i >= x.Shape[d] {
						if mode == "constant" {
							return -1
						}
						i = padSource(mode, i, x.Shape[d])
					}
					ic[d] = i
				}
				return tmLinear(x.Shape, ic)
			})
			if !out.Equal(want) {
				t.Fatalf("%s %s: got %v, want %v", mode, dt, tmValues(out), tmValues(want))
			}
		}
	}
	tmFail(t, 18, "Pad", Attrs{"mode": StringAttr("wrap")}, []tmArg{tmIn(data), pads}, 1, "needs opset 19")
	tmFail(t, 11, "Pad", Attrs{"pads": IntsAttr(0, 0, 0, 0)}, []tmArg{tmIn(data), pads}, 1, "not attributes")
	tmFail(t, 11, "Pad", nil, []tmArg{tmIn(data), tmConst(tmI64([]int64{2}, 1, 1))}, 1, "should have 4 values")
	tmFail(t, 11, "Pad", nil, []tmArg{tmIn(data), pads, tmAbsent, tmConst(tmI64([]int64{1}, 0))}, 1, "needs opset 18")
}

// TestPadSourceIsNumpy checks padSource's reflect and wrap folding against
// a step-by-step mirror walk.
func TestPadSourceIsNumpy(t *testing.T) {
	for n := int64(2); n <= 4; n++ {
		for i := -13; i < 13+int(n); i++ {
			// Walk from 0 to i bouncing between 0 and n-1.
			pos, dir := int64(0), int64(1)
			if i < 0 {
				dir = -1
			}
			for k := 0; k < max(i, -i); k++ {
				if pos+dir < 0 || pos+dir >= n {
					dir = -dir
				}
				pos += dir
			}
			if got := padSource("reflect", int64(i), n); got != pos {
				t.Fatalf("reflect %d in %d: got %d, want %d", i, n, got, pos)
			}
		}
	}
}

func TestGather(t *testing.T) {
	data := tmF32([]int64{3, 2}, 1.0, 1.2, 2.3, 3.4, 4.5, 5.7)
	out := tmRun(t, 13, "Gather", nil, []tmArg{tmIn(data), tmConst(tmI64([]int64{2, 2}, 0, 1, 1, 2))}, 1)[0]
	tmExpect(t, "axis 0", out, []int64{2, 2, 2}, tmValues(tmF32([]int64{8}, 1.0, 1.2, 2.3, 3.4, 2.3, 3.4, 4.5, 5.7)))
	data = tmF32([]int64{3, 3}, 1.0, 1.2, 1.9, 2.3, 3.4, 3.9, 4.5, 5.7, 5.9)
	out = tmRun(t, 13, "Gather", Attrs{"axis": IntAttr(1)}, []tmArg{tmIn(data), tmIn(tmI32([]int64{1, 2}, 0, 2))}, 1)[0]
	tmExpect(t, "axis 1", out, []int64{3, 1, 2}, tmValues(tmF32([]int64{6}, 1.0, 1.9, 2.3, 3.9, 4.5, 5.9)))
	out = tmRun(t, 11, "Gather", Attrs{"axis": IntAttr(-1)}, []tmArg{tmIn(data), tmIn(tmI64(nil, -1))}, 1)[0]
	tmExpect(t, "scalar negative index", out, []int64{3}, tmValues(tmF32([]int64{3}, 1.9, 3.9, 5.9)))
	// A shape tensor, as exporters gather from Shape.
	out = tmRun(t, 9, "Gather", nil, []tmArg{tmIn(tmI64([]int64{4}, 1, 512, 7, 7)), tmConst(tmI64(nil, 0))}, 1)[0]
	tmExpect(t, "shape element", out, []int64{}, []float64{1})

	r := rand.New(rand.NewSource(3))
	for _, dt := range tmDTypes {
		x := tmSeq(dt, 4, 5, 3)
		for axis := -3; axis < 3; axis++ {
			ax := (axis + 3) % 3
			size := x.Shape[ax]
			idx := make([]int64, 6)
			for i := range idx {
				idx[i] = r.Int63n(2*size) - size
			}
			it := tmI64([]int64{2, 3}, idx...)
			out := tmRun(t, 13, "Gather", Attrs{"axis": IntAttr(int64(axis))}, []tmArg{tmIn(x), tmIn(it)}, 1)[0]
			osh := append(append(slices.Clone(x.Shape[:ax]), 2, 3), x.Shape[ax+1:]...)
			want := tmGather(x, osh, func(c []int64) int {
				k := idx[c[ax]*3+c[ax+1]]
				if k < 0 {
					k += size
				}
				ic := append(append(slices.Clone(c[:ax]), k), c[ax+2:]...)
				return tmLinear(x.Shape, ic)
			})
			if !out.Equal(want) {
				t.Fatalf("%s axis %d: got %v, want %v", dt, axis, tmValues(out), tmValues(want))
			}
		}
	}
	if _, err := tmTry(13, "Gather", nil, []tmArg{tmIn(data), tmIn(tmI64([]int64{1}, 3))}, 1, 1); err == nil || !strings.Contains(err.Error(), "out of range") {
		t.Fatalf("out-of-range index at run time: %v", err)
	}
	tmFail(t, 13, "Gather", nil, []tmArg{tmIn(data), tmConst(tmI64([]int64{1}, -4))}, 1, "out of range")
	tmFail(t, 13, "Gather", nil, []tmArg{tmIn(data), tmIn(data)}, 1, "int32 or int64")
}

func TestExpand(t *testing.T) {
	x := tmF32([]int64{3, 1}, 1, 2, 3)
	out := tmRun(t, 13, "Expand", nil, []tmArg{tmIn(x), tmConst(tmI64([]int64{3}, 2, 1, 6))}, 1)[0]
	want := tmGather(x, []int64{2, 3, 6}, func(c []int64) int { return int(c[1]) })
	if !out.Equal(want) {
		t.Fatalf("dim changed: got %v%v", out.Shape, tmValues(out))
	}
	out = tmRun(t, 13, "Expand", nil, []tmArg{tmIn(x), tmConst(tmI64([]int64{2}, 3, 4))}, 1)[0]
	tmExpect(t, "dim unchanged", out, []int64{3, 4}, []float64{1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3})
	out = tmRun(t, 9, "Expand", nil, []tmArg{tmIn(tmI64([]int64{1, 2}, 4, 5)), tmConst(tmI64([]int64{1}, 1))}, 1)[0]
	tmExpect(t, "smaller shape", out, []int64{1, 2}, []float64{4, 5})
	tmFail(t, 13, "Expand", nil, []tmArg{tmIn(x), tmConst(tmI64([]int64{2}, 2, 1))}, 1, "do not broadcast")
}

func BenchmarkTransposeNCHWToNHWC(b *testing.B) {
	x := tmSeq(Float32, 1, 64, 56, 56)
	g, _ := tmGraph(13, "Transpose", Attrs{"perm": IntsAttr(0, 2, 3, 1)}, []tmArg{tmIn(x)}, 1, false)
	if err := InferShapes(g); err != nil {
		b.Fatal(err)
	}
	s, err := NewSession(g, SessionOptions{Threads: 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.SetBytes(int64(len(x.Data)))
	for b.Loop() {
		if _, err := s.Run(x); err != nil {
			b.Fatal(err)
		}
	}
}

// TestTensorOpsDoNotAllocate runs a graph of the data-movement ops and
// checks that a steady-state Run allocates nothing.
func TestTensorOpsDoNotAllocate(t *testing.T) {
	g := mustParse(t, `graph "a" opset=19
input %x:f32[2,3,8,8]
input %i:i64[4]
input %c:bool[8]
const %starts:i64[2] = {1, -1}
const %ends:i64[2] = {8, -9223372036854775808}
const %axes:i64[2] = {2, 3}
const %steps:i64[2] = {2, -3}
const %pads:i64[8] = {0, 1, 1, 2, 0, 0, 2, 1}
const %shape:i64[2] = {6, 64}
const %rev:i64[8] = {7, 6, 5, 4, 3, 2, 1, 0}
const %lo:f32[] = {-0.5}
const %shape3:i64[3] = {2, 1, 1}
%t:f32[2,8,8,3] = Transpose %x {perm=[0, 2, 3, 1]}
%cat:f32[2,8,8,6] = Concat %t, %t {axis=-1}
%s:f32[2,3,4,3] = Slice %x, %starts, %ends, %axes, %steps
%p:f32[2,4,11,11] = Pad %x, %pads {mode="constant"}
%r:f32[2,4,11,11] = Pad %x, %pads {mode="reflect"}
%g:f32[2,3,4,8] = Gather %x, %i {axis=2}
%g2:f32[2,3,8,8] = Gather %x, %rev {axis=-1}
%w:f32[2,3,8,8] = Where %c, %x, %g2
%a:f32[6,64] = Reshape %w, %shape
%h0:f32[3,64], %h1:f32[3,64] = Split %a
%m:f32[3,64] = Max %h0, %h1, %lo
%k:f32[3,64] = Clip %m, %lo, _
%q:i64[3,64] = Cast %k {to=7}
%e:i64[2,3,64] = Expand %q, %shape3
output %cat
output %s
output %p
output %r
output %g
output %e
`)
	if err := Verify(g); err != nil {
		t.Fatal(err)
	}
	x, idx, c := tmSeq(Float32, 2, 3, 8, 8), tmI64([]int64{4}, 0, -1, 3, 3), tmSeq(Bool, 8)
	for _, threads := range []int{1, 2} {
		s, err := NewSession(g, SessionOptions{Threads: threads})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if _, err := s.Run(x, idx, c); err != nil {
			t.Fatal(err)
		}
		if n := testing.AllocsPerRun(20, func() { s.Run(x, idx, c) }); n != 0 {
			t.Errorf("Run with %d threads allocates %v times", threads, n)
		}
	}
}

// TestTranspose8SameBytes: the 8×8 register transposes of 4-byte words
// move the bytes the scalar tiles do, for permutations that put either
// side's contiguous axis last and sizes around the 8- and 16-blocks.
func TestTranspose8SameBytes(t *testing.T) {
	if !haveDepthwiseAsm {
		t.Skip("no transpose assembly")
	}
	defer func(v bool) { useTranspose8 = v }(useTranspose8)
	r := rand.New(rand.NewSource(9))
	cases := []struct {
		shape []int64
		perm  []int64
	}{
		{[]int64{1, 96, 56, 56}, []int64{0, 2, 3, 1}},
		{[]int64{1, 56, 56, 96}, []int64{0, 3, 1, 2}},
		{[]int64{3, 17, 9}, []int64{0, 2, 1}},
		{[]int64{8, 8}, []int64{1, 0}},
		{[]int64{7, 33}, []int64{1, 0}},
		{[]int64{40, 23}, []int64{1, 0}},
		{[]int64{2, 5, 24, 16}, []int64{0, 3, 2, 1}},
		{[]int64{4, 6, 9, 11}, []int64{2, 0, 3, 1}},
	}
	for _, c := range cases {
		for _, dt := range []DType{Float32, Int32} {
			x := NewTensor(dt, c.shape)
			r.Read(x.Data)
			var got [2]*Tensor
			for z := range got {
				useTranspose8 = z == 1
				out, err := tmTry(13, "Transpose", Attrs{"perm": IntsAttr(c.perm...)}, []tmArg{tmIn(x)}, 1, 1+z)
				if err != nil {
					t.Fatal(err)
				}
				got[z] = out[0]
			}
			if !bytes.Equal(got[0].Data, got[1].Data) {
				t.Errorf("%s%v perm %v: the 8×8 transposes move other bytes", dt, c.shape, c.perm)
			}
		}
	}
}
