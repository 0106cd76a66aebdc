package ir

import (
	"math"
	"strings"
	"testing"
)

func TestReshape(t *testing.T) {
	x := tmSeq(Float32, 2, 3, 4)
	cases := []struct {
		opset     int64
		allowzero bool
		shape     []int64
		want      []int64
	}{
		{13, false, []int64{4, 2, 3}, []int64{4, 2, 3}},
		{13, false, []int64{2, 12}, []int64{2, 12}},
		{13, false, []int64{2, 3, 2, 2}, []int64{2, 3, 2, 2}},
		{13, false, []int64{24}, []int64{24}},
		{13, false, []int64{6, -1, 2}, []int64{6, 2, 2}},
		{13, false, []int64{-1, 2, 3, 4}, []int64{1, 2, 3, 4}},
		{9, false, []int64{2, 0, 4, 1}, []int64{2, 3, 4, 1}},
		{13, false, []int64{2, 0, 1, -1}, []int64{2, 3, 1, 4}},
		{14, false, []int64{0, 0, -1}, []int64{2, 3, 4}},
	}
	for _, c := range cases {
		attrs := Attrs{}
		if c.allowzero {
			attrs["allowzero"] = IntAttr(1)
		}
		out := tmRun(t, c.opset, "Reshape", attrs, []tmArg{tmIn(x), tmConst(tmI64([]int64{int64(len(c.shape))}, c.shape...))}, 1)[0]
		tmExpect(t, "reshape", out, c.want, tmValues(x))
	}
	// allowzero keeps a literal 0 (an empty tensor).
	e := NewTensor(Float32, []int64{0, 3, 4})
	out := tmRun(t, 14, "Reshape", Attrs{"allowzero": IntAttr(1)}, []tmArg{tmIn(e), tmConst(tmI64([]int64{3}, 3, 4, 0))}, 1)[0]
	tmExpect(t, "allowzero", out, []int64{3, 4, 0}, nil)
	// A scalar target.
	out = tmRun(t, 13, "Reshape", nil, []tmArg{tmIn(tmI64([]int64{1, 1}, 7)), tmConst(tmI64([]int64{0}))}, 1)[0]
	tmExpect(t, "to scalar", out, []int64{}, []float64{7})

	tmFail(t, 13, "Reshape", nil, []tmArg{tmIn(x), tmConst(tmI64([]int64{2}, -1, -1))}, 1, "more than one -1")
	tmFail(t, 13, "Reshape", nil, []tmArg{tmIn(x), tmConst(tmI64([]int64{2}, 5, -1))}, 1, "cannot reshape")
	tmFail(t, 13, "Reshape", nil, []tmArg{tmIn(x), tmConst(tmI64([]int64{2}, 5, 5))}, 1, "cannot reshape")
	tmFail(t, 13, "Reshape", nil, []tmArg{tmIn(x), tmIn(tmI64([]int64{2}, 6, 4))}, 1, "must be a constant")
	tmFail(t, 13, "Reshape", Attrs{"allowzero": IntAttr(1)}, []tmArg{tmIn(x), tmConst(tmI64([]int64{1}, 24))}, 1, "needs opset 14")
	tmFail(t, 14, "Reshape", Attrs{"allowzero": IntAttr(1)}, []tmArg{tmIn(x), tmConst(tmI64([]int64{2}, 0, -1))}, 1, "both 0 and -1")
}

// tmInferShape infers one node over an input of the given (possibly
// symbolic) shape and returns its output shape as text.
func tmInferShape(t *testing.T, opset int64, op string, attrs Attrs, in Shape, consts ...*Tensor) string {
	t.Helper()
	g := NewGraph("s", opset)
	ins := []*Value{g.AddInput("x", Type{DType: Float32, Shape: in})}
	for i, c := range consts {
		ins = append(ins, g.AddConst(string(rune('a'+i)), c))
	}
	n := g.NewNode(op, "n", ins, []string{"y"}, attrs)
	if err := InferNode(n); err != nil {
		t.Fatal(err)
	}
	return n.Outputs[0].Type.Shape.String()
}

func TestSymbolicShapes(t *testing.T) {
	batch := Dim{Size: -1, Param: "N"}
	cases := []struct {
		op    string
		attrs Attrs
		in    Shape
		c     []*Tensor
		want  string
	}{
		{"Reshape", nil, Shape{batch, {Size: 512}, {Size: 1}, {Size: 1}}, []*Tensor{tmI64([]int64{2}, 0, -1)}, "[N,512]"},
		{"Reshape", nil, Shape{batch, {Size: 3}, {Size: 4}}, []*Tensor{tmI64([]int64{2}, -1, 12)}, "[N,12]"},
		{"Reshape", nil, Shape{batch, {Size: 3}, {Size: 4}}, []*Tensor{tmI64([]int64{2}, -1, 6)}, "[?,6]"},
		{"Flatten", nil, Shape{batch, {Size: 8}, {Size: 2}, {Size: 2}}, nil, "[N,32]"},
		{"Flatten", Attrs{"axis": IntAttr(-1)}, Shape{batch, {Size: 8}, {Size: 2}}, nil, "[?,2]"},
		{"Squeeze", Attrs{"axes": IntsAttr(2, -1)}, Shape{batch, {Size: 8}, {Size: 1}, {Size: 1}}, nil, "[N,8]"},
		{"Unsqueeze", Attrs{"axes": IntsAttr(-1)}, Shape{batch, {Size: 8}}, nil, "[N,8,1]"},
		{"Transpose", nil, Shape{batch, {Size: 8}}, nil, "[8,N]"},
		{"Shape", nil, Shape{batch, {Size: 8}}, nil, "[2]"},
	}
	for _, c := range cases {
		if got := tmInferShape(t, 11, c.op, c.attrs, c.in, c.c...); got != c.want {
			t.Errorf("%s %v on %s: %s, want %s", c.op, c.attrs, c.in, got, c.want)
		}
	}
}

func TestFlatten(t *testing.T) {
	x := tmSeq(Float32, 2, 3, 4, 5)
	for axis := int64(-4); axis <= 4; axis++ {
		a := axis
		if a < 0 {
			a += 4
		}
		rows := NumElements(x.Shape[:a])
		out := tmRun(t, 13, "Flatten", Attrs{"axis": IntAttr(axis)}, []tmArg{tmIn(x)}, 1)[0]
		tmExpect(t, "flatten", out, []int64{int64(rows), int64(120 / rows)}, tmValues(x))
	}
	out := tmRun(t, 9, "Flatten", nil, []tmArg{tmIn(x)}, 1)[0]
	tmExpect(t, "default axis", out, []int64{2, 60}, tmValues(x))
	tmFail(t, 13, "Flatten", Attrs{"axis": IntAttr(5)}, []tmArg{tmIn(x)}, 1, "out of range")
}

func TestSqueezeUnsqueeze(t *testing.T) {
	x := tmSeq(Int64, 1, 3, 1, 5)
	out := tmRun(t, 11, "Squeeze", Attrs{"axes": IntsAttr(0)}, []tmArg{tmIn(x)}, 1)[0]
	tmExpect(t, "squeeze attr", out, []int64{3, 1, 5}, tmValues(x))
	out = tmRun(t, 13, "Squeeze", nil, []tmArg{tmIn(x), tmConst(tmI64([]int64{1}, -2))}, 1)[0]
	tmExpect(t, "squeeze negative input", out, []int64{1, 3, 5}, tmValues(x))
	out = tmRun(t, 13, "Squeeze", nil, []tmArg{tmIn(x)}, 1)[0]
	tmExpect(t, "squeeze all", out, []int64{3, 5}, tmValues(x))
	out = tmRun(t, 9, "Squeeze", nil, []tmArg{tmIn(x)}, 1)[0]
	tmExpect(t, "squeeze all opset 9", out, []int64{3, 5}, tmValues(x))
	tmFail(t, 13, "Squeeze", nil, []tmArg{tmIn(x), tmConst(tmI64([]int64{1}, 1))}, 1, "size 3")
	tmFail(t, 13, "Squeeze", Attrs{"axes": IntsAttr(0)}, []tmArg{tmIn(x)}, 1, "not an attribute")
	tmFail(t, 11, "Squeeze", nil, []tmArg{tmIn(x), tmConst(tmI64([]int64{1}, 0))}, 1, "attribute before opset 13")

	y := tmSeq(Float32, 3, 4, 5)
	cases := []struct {
		axes []int64
		want []int64
	}{
		{[]int64{0}, []int64{1, 3, 4, 5}},
		{[]int64{3}, []int64{3, 4, 5, 1}},
		{[]int64{1, 4}, []int64{3, 1, 4, 5, 1}},
		{[]int64{2, 0, 5}, []int64{1, 3, 1, 4, 5, 1}},
		{[]int64{-2}, []int64{3, 4, 1, 5}},
		{[]int64{4, 3}, []int64{3, 4, 5, 1, 1}},
	}
	for _, c := range cases {
		out := tmRun(t, 11, "Unsqueeze", Attrs{"axes": IntsAttr(c.axes...)}, []tmArg{tmIn(y)}, 1)[0]
		tmExpect(t, "unsqueeze attr", out, c.want, tmValues(y))
		out = tmRun(t, 13, "Unsqueeze", nil, []tmArg{tmIn(y), tmConst(tmI64([]int64{int64(len(c.axes))}, c.axes...))}, 1)[0]
		tmExpect(t, "unsqueeze input", out, c.want, tmValues(y))
	}
	out = tmRun(t, 13, "Unsqueeze", nil, []tmArg{tmIn(tmI64(nil, 4)), tmConst(tmI64([]int64{1}, 0))}, 1)[0]
	tmExpect(t, "scalar", out, []int64{1}, []float64{4})
	tmFail(t, 13, "Unsqueeze", nil, []tmArg{tmIn(y)}, 1, "axes are required")
	tmFail(t, 13, "Unsqueeze", nil, []tmArg{tmIn(y), tmConst(tmI64([]int64{2}, 1, -4))}, 1, "repeated")
}

func TestIdentityAndDropout(t *testing.T) {
	x := tmSeq(Float32, 2, 3)
	out := tmRun(t, 13, "Identity", nil, []tmArg{tmIn(x)}, 1)[0]
	tmExpect(t, "identity", out, []int64{2, 3}, tmValues(x))
	out = tmRun(t, 13, "Identity", nil, []tmArg{tmIn(tmSeq(Bool, 4))}, 1)[0]
	tmExpect(t, "identity bool", out, []int64{4}, []float64{0, 1, 0, 1})

	ones := []float64{1, 1, 1, 1, 1, 1}
	outs := tmRun(t, 9, "Dropout", Attrs{"ratio": FloatAttr(0.3)}, []tmArg{tmIn(x)}, 2)
	tmExpect(t, "dropout 9", outs[0], []int64{2, 3}, tmValues(x))
	if outs[1].DType != Float32 {
		t.Fatalf("opset 9 mask is %s, want f32", outs[1].DType)
	}
	tmExpect(t, "dropout 9 mask", outs[1], []int64{2, 3}, ones)
	outs = tmRun(t, 10, "Dropout", nil, []tmArg{tmIn(x)}, 2)
	if outs[1].DType != Bool {
		t.Fatalf("opset 10 mask is %s, want bool", outs[1].DType)
	}
	tmExpect(t, "dropout 10 mask", outs[1], []int64{2, 3}, ones)
	no, yes := NewTensor(Bool, nil), NewTensor(Bool, nil)
	yes.Data[0] = 1
	outs = tmRun(t, 13, "Dropout", Attrs{"seed": IntAttr(0)}, []tmArg{tmIn(x), tmConst(Scalar(0.5)), tmConst(no)}, 2)
	tmExpect(t, "dropout 13", outs[0], []int64{2, 3}, tmValues(x))
	tmExpect(t, "dropout 13 mask", outs[1], []int64{2, 3}, ones)
	// Training with ratio 0 is the identity.
	outs = tmRun(t, 13, "Dropout", nil, []tmArg{tmIn(x), tmConst(Scalar(0)), tmIn(yes)}, 1)
	tmExpect(t, "training ratio 0", outs[0], []int64{2, 3}, tmValues(x))
	tmFail(t, 13, "Dropout", nil, []tmArg{tmIn(x), tmAbsent, tmConst(yes)}, 1, "training_mode=true")
	tmFail(t, 13, "Dropout", nil, []tmArg{tmIn(x), tmConst(Scalar(0.1)), tmIn(yes)}, 1, "training_mode=true")
	tmFail(t, 12, "Dropout", Attrs{"ratio": FloatAttr(0.5)}, []tmArg{tmIn(x)}, 1, "not an attribute")
	tmFail(t, 11, "Dropout", nil, []tmArg{tmIn(x), tmConst(Scalar(0.5))}, 1, "need opset 12")
}

func TestShape(t *testing.T) {
	x := tmSeq(Float32, 2, 3, 4)
	cases := []struct {
		attrs Attrs
		want  []float64
	}{
		{nil, []float64{2, 3, 4}},
		{Attrs{"start": IntAttr(-1)}, []float64{4}},
		{Attrs{"end": IntAttr(-1)}, []float64{2, 3}},
		{Attrs{"start": IntAttr(1), "end": IntAttr(2)}, []float64{3}},
		{Attrs{"start": IntAttr(1), "end": IntAttr(-1)}, []float64{3}},
		{Attrs{"start": IntAttr(-10)}, []float64{2, 3, 4}},
		{Attrs{"end": IntAttr(10)}, []float64{2, 3, 4}},
		{Attrs{"start": IntAttr(2), "end": IntAttr(1)}, []float64{}},
	}
	for _, c := range cases {
		out := tmRun(t, 15, "Shape", c.attrs, []tmArg{tmIn(x)}, 1)[0]
		tmExpect(t, "shape", out, []int64{int64(len(c.want))}, c.want)
	}
	tmFail(t, 14, "Shape", Attrs{"start": IntAttr(1)}, []tmArg{tmIn(x)}, 1, "need opset 15")

	// Shape folds from a static shape even when its input is computed, and
	// from the static part of a symbolic shape.
	g := mustParse(t, `graph "s" opset=15
input %x:f32[N,3,4]
%r:f32[N,3,4] = Relu %x
%s:i64[3] = Shape %r
%t:i64[2] = Shape %r {start=1}
output %s
output %t
`)
	if k, err := FoldConstants(g); err != nil || k != 1 {
		t.Fatalf("FoldConstants = %d, %v; want 1 (only the static part)", k, err)
	}
	tmExpect(t, "folded static part", g.Outputs[1].Const, []int64{2}, []float64{3, 4})
	if g.Outputs[0].Const != nil {
		t.Fatal("folded the shape of a symbolic dim")
	}
}

func TestConstant(t *testing.T) {
	v := tmF32([]int64{2, 2}, 1, 2, 3, 4)
	cases := []struct {
		attrs Attrs
		want  *Tensor
	}{
		{Attrs{"value": TensorAttr(v)}, v},
		{Attrs{"value_float": FloatAttr(2.5)}, Scalar(2.5)},
		{Attrs{"value_floats": FloatsAttr(1, 2)}, tmF32([]int64{2}, 1, 2)},
		{Attrs{"value_int": IntAttr(-3)}, tmI64(nil, -3)},
		{Attrs{"value_ints": IntsAttr(4, 5, 6)}, tmI64([]int64{3}, 4, 5, 6)},
		{Attrs{"value": TensorAttr(tmI32([]int64{1}, 9))}, tmI32([]int64{1}, 9)},
	}
	for _, c := range cases {
		out := tmRun(t, 13, "Constant", c.attrs, nil, 1)[0]
		if !out.Equal(c.want) {
			t.Fatalf("Constant %v: got %s %v", c.attrs, out.Type(), tmValues(out))
		}
	}
	tmFail(t, 13, "Constant", Attrs{"value_string": StringAttr("x")}, nil, 1, "string constants")
	tmFail(t, 13, "Constant", Attrs{"value_int": IntAttr(1), "value_float": FloatAttr(1)}, nil, 1, "exactly one")
	tmFail(t, 13, "Constant", nil, nil, 1, "exactly one")
}

func TestConstantOfShape(t *testing.T) {
	out := tmRun(t, 9, "ConstantOfShape", nil, []tmArg{tmConst(tmI64([]int64{2}, 2, 3))}, 1)[0]
	if out.DType != Float32 {
		t.Fatalf("default dtype %s", out.DType)
	}
	tmExpect(t, "default", out, []int64{2, 3}, []float64{0, 0, 0, 0, 0, 0})
	out = tmRun(t, 9, "ConstantOfShape", Attrs{"value": TensorAttr(tmI32([]int64{1}, 7))}, []tmArg{tmConst(tmI64([]int64{1}, 3))}, 1)[0]
	if out.DType != Int32 {
		t.Fatalf("dtype %s, want i32", out.DType)
	}
	tmExpect(t, "int32 sevens", out, []int64{3}, []float64{7, 7, 7})
	out = tmRun(t, 20, "ConstantOfShape", Attrs{"value": TensorAttr(tmF32([]int64{1}, 1))}, []tmArg{tmConst(tmI64([]int64{0}))}, 1)[0]
	tmExpect(t, "scalar", out, []int64{}, []float64{1})
	out = tmRun(t, 9, "ConstantOfShape", Attrs{"value": TensorAttr(tmI64([]int64{1}, 0))}, []tmArg{tmConst(tmI64([]int64{1}, 0))}, 1)[0]
	tmExpect(t, "empty", out, []int64{0}, nil)
	tmFail(t, 9, "ConstantOfShape", nil, []tmArg{tmIn(tmI64([]int64{1}, 3))}, 1, "must be a constant")
	tmFail(t, 9, "ConstantOfShape", Attrs{"value": TensorAttr(tmF32([]int64{2}, 1, 2))}, []tmArg{tmConst(tmI64([]int64{1}, 3))}, 1, "exactly one element")
}

func TestRange(t *testing.T) {
	out := tmRun(t, 11, "Range", nil, []tmArg{tmConst(tmI64(nil, 3)), tmConst(tmI64(nil, 9)), tmConst(tmI64(nil, 3))}, 1)[0]
	tmExpect(t, "example 1", out, []int64{2}, []float64{3, 6})
	out = tmRun(t, 11, "Range", nil, []tmArg{tmConst(tmI32(nil, 10)), tmConst(tmI32(nil, 4)), tmConst(tmI32(nil, -2))}, 1)[0]
	tmExpect(t, "example 2", out, []int64{3}, []float64{10, 8, 6})
	out = tmRun(t, 11, "Range", nil, []tmArg{tmConst(Scalar(1)), tmConst(Scalar(5)), tmConst(Scalar(2))}, 1)[0]
	tmExpect(t, "float", out, []int64{2}, []float64{1, 3})
	out = tmRun(t, 11, "Range", nil, []tmArg{tmConst(Scalar(0)), tmConst(Scalar(1)), tmConst(Scalar(0.25))}, 1)[0]
	tmExpect(t, "fractional", out, []int64{4}, []float64{0, 0.25, 0.5, 0.75})
	out = tmRun(t, 11, "Range", nil, []tmArg{tmConst(tmI64(nil, 5)), tmConst(tmI64(nil, 1)), tmConst(tmI64(nil, 1))}, 1)[0]
	tmExpect(t, "empty", out, []int64{0}, nil)
	out = tmRun(t, 11, "Range", nil, []tmArg{tmConst(tmI64(nil, math.MinInt64+1)), tmConst(tmI64(nil, math.MaxInt64)), tmConst(tmI64(nil, math.MaxInt64))}, 1)[0]
	tmExpect(t, "extremes", out, []int64{2}, []float64{math.MinInt64 + 1, 0})
	tmFail(t, 11, "Range", nil, []tmArg{tmConst(tmI64(nil, 0)), tmIn(tmI64(nil, 4)), tmConst(tmI64(nil, 1))}, 1, "must be a constant")
	tmFail(t, 11, "Range", nil, []tmArg{tmConst(tmI64(nil, 0)), tmConst(tmI64(nil, 4)), tmConst(tmI64(nil, 0))}, 1, "delta is zero")
}

// TestFoldFlattenChain folds the shape computation PyTorch exports for
// x.view(x.size(0), -1) before a Gemm: the graph collapses to a Reshape
// with a constant shape. The Reshape's type is inferred after folding, as
// the importer does, since its shape input is not a constant before.
func TestFoldFlattenChain(t *testing.T) {
	for _, opset := range []int64{9, 13} {
		g := NewGraph("flatten", opset)
		x := g.AddInput("x", Type{DType: Float32, Shape: S(1, 512, 1, 1)})
		relu := g.NewNode("Relu", "relu", []*Value{x}, []string{"p"}, nil)
		p := relu.Outputs[0]
		shape := g.NewNode("Shape", "shape", []*Value{p}, []string{"s"}, nil)
		zero := g.AddConst("zero", tmI64(nil, 0))
		gather := g.NewNode("Gather", "gather", []*Value{shape.Outputs[0], zero}, []string{"g"}, Attrs{"axis": IntAttr(0)})
		var unsq *Node
		if opset < 13 {
			unsq = g.NewNode("Unsqueeze", "unsqueeze", []*Value{gather.Outputs[0]}, []string{"u"}, Attrs{"axes": IntsAttr(0)})
		} else {
			axes := g.AddConst("axes", tmI64([]int64{1}, 0))
			unsq = g.NewNode("Unsqueeze", "unsqueeze", []*Value{gather.Outputs[0], axes}, []string{"u"}, nil)
		}
		minus := g.AddConst("minus1", tmI64([]int64{1}, -1))
		cat := g.NewNode("Concat", "concat", []*Value{unsq.Outputs[0], minus}, []string{"c"}, Attrs{"axis": IntAttr(0)})
		reshape := g.NewNode("Reshape", "reshape", []*Value{p, cat.Outputs[0]}, []string{"r"}, nil)
		g.Outputs = reshape.Outputs
		for _, n := range g.Nodes {
			if n != reshape {
				if err := InferNode(n); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := InferNode(reshape); err == nil || !strings.Contains(err.Error(), "must be a constant") {
			t.Fatalf("opset %d: Reshape inferred before folding: %v", opset, err)
		}
		k, err := FoldConstants(g)
		if err != nil {
			t.Fatal(err)
		}
		if k != 4 || len(g.Nodes) != 2 || g.Nodes[1] != reshape {
			t.Fatalf("opset %d: folded %d nodes, left %d", opset, k, len(g.Nodes))
		}
		tmExpect(t, "folded shape", reshape.Inputs[1].Const, []int64{2}, []float64{1, -1})
		if len(g.Consts) != 1 {
			t.Fatalf("opset %d: %d constants left, want only the shape", opset, len(g.Consts))
		}
		if err := InferNode(reshape); err != nil {
			t.Fatal(err)
		}
		if got := reshape.Outputs[0].Type.String(); got != "f32[1,512]" {
			t.Fatalf("opset %d: reshape output %s", opset, got)
		}
		if err := Verify(g); err != nil {
			t.Fatal(err)
		}
	}
}
