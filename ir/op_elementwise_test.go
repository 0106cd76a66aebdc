package ir

import (
	"math"
	"math/rand"
	"strings"
	"testing"
)

// naiveBroadcast computes f over numpy broadcasting the slow, obvious way.
func naiveBroadcast(a, b *Tensor, out []int64, f func(x, y float32) float32) []float32 {
	n := NumElements(out)
	res := make([]float32, n)
	idx := func(sh []int64, o []int64) int {
		k, s := 0, 1
		for i := len(sh) - 1; i >= 0; i-- {
			c := o[i+len(o)-len(sh)]
			if sh[i] == 1 {
				c = 0
			}
			k += int(c) * s
			s *= int(sh[i])
		}
		return k
	}
	o := make([]int64, len(out))
	for i := 0; i < n; i++ {
		r := i
		for d := len(out) - 1; d >= 0; d-- {
			o[d] = int64(r) % out[d]
			r /= int(out[d])
		}
		res[i] = f(a.Float32s()[idx(a.Shape, o)], b.Float32s()[idx(b.Shape, o)])
	}
	return res
}

func randTensor(r *rand.Rand, shape ...int64) *Tensor {
	v := make([]float32, NumElements(shape))
	for i := range v {
		v[i] = r.Float32()*4 - 2
	}
	return FromFloat32(shape, v)
}

func TestBinaryBroadcast(t *testing.T) {
	r := rand.New(rand.NewSource(1))
	cases := [][2][]int64{
		{{2, 3, 4}, {2, 3, 4}},
		{{2, 3, 4}, {4}},
		{{2, 3, 4}, {3, 1}},
		{{1, 8, 5, 5}, {1, 8, 1, 1}},
		{{1, 8, 1, 1}, {1, 8, 5, 5}},
		{{3, 1, 5}, {1, 4, 1}},
		{{}, {2, 2}},
		{{2, 1}, {}},
		{{1, 16, 7, 7}, {16, 1, 1}},
		{{4, 1, 3, 1}, {1, 5, 1, 2}},
	}
	fns := map[string]func(x, y float32) float32{
		"Add": func(x, y float32) float32 { return x + y }, "Sub": func(x, y float32) float32 { return x - y },
		"Mul": func(x, y float32) float32 { return x * y }, "Div": func(x, y float32) float32 { return x / y },
		"Pow": func(x, y float32) float32 { return float32(math.Pow(float64(x), float64(y))) },
	}
	for _, c := range cases {
		for op, fn := range fns {
			for _, threads := range []int{1, 2} {
				a, b := randTensor(r, c[0]...), randTensor(r, c[1]...)
				g := NewGraph("t", 13)
				x := g.AddInput("a", a.Type())
				y := g.AddConst("b", b)
				n := g.NewNode(op, "op", []*Value{x, y}, []string{"out"}, nil)
				g.Outputs = []*Value{n.Outputs[0]}
				if err := InferShapes(g); err != nil {
					t.Fatal(err)
				}
				if err := Verify(g); err != nil {
					t.Fatal(err)
				}
				s, err := NewSession(g, SessionOptions{Threads: threads})
				if err != nil {
					t.Fatal(err)
				}
				out, err := s.Run(a)
				if err != nil {
					t.Fatal(err)
				}
				s.Close()
				want := naiveBroadcast(a, b, out[0].Shape, fn)
				for i, v := range out[0].Float32s() {
					if v != want[i] && !(v != v && want[i] != want[i]) {
						t.Fatalf("%v %s %v: element %d = %v, want %v", c[0], op, c[1], i, v, want[i])
					}
				}
			}
		}
	}
}

func TestInt64ArithmeticFolds(t *testing.T) {
	g := mustParse(t, `graph "f" opset=13
const %a:i64[2] = {7, -9}
const %b:i64[] = {2}
%q:i64[2] = Div %a, %b
%p:i64[2] = Mul %q, %b
output %p
`)
	n, err := FoldConstants(g)
	if err != nil || n != 2 {
		t.Fatalf("FoldConstants = %d, %v", n, err)
	}
	got := g.Outputs[0].Const.Int64s()
	if got[0] != 6 || got[1] != -8 {
		t.Errorf("got %v, want [6 -8]", got)
	}
	if err := Verify(g); err != nil {
		t.Fatal(err)
	}
}

func TestActivations(t *testing.T) {
	g := mustParse(t, `graph "a" opset=14
input %x:f32[6]
%h:f32[6] = HardSwish %x
%s:f32[6] = HardSigmoid %x {alpha=0.5, beta=0.25}
%l:f32[6] = LeakyRelu %x {alpha=0.1}
output %h
output %s
output %l
`)
	s, err := NewSession(g, SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(FromFloat32([]int64{6}, []float32{-4, -3, -1, 0, 1.5, 4}))
	if err != nil {
		t.Fatal(err)
	}
	want := [][]float32{
		{0, 0, -1.0 / 3, 0, 1.5 * 0.75, 4},
		{0, 0, 0, 0.25, 1, 1},
		{-0.4, -0.3, -0.1, 0, 1.5, 4},
	}
	for k := range want {
		for i, v := range out[k].Float32s() {
			if d := v - want[k][i]; d > 1e-6 || d < -1e-6 {
				t.Errorf("output %d element %d = %v, want %v", k, i, v, want[k][i])
			}
		}
	}
}

func TestIntegerArithmeticWraps(t *testing.T) {
	g := mustParse(t, `graph "u" opset=14
input %a:u8[3]
const %b:u8[3] = {100, 7, 3}
%s:u8[3] = Add %a, %b
%d:u8[3] = Div %a, %b
output %s
output %d
`)
	s, err := NewSession(g, SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := NewTensor(Uint8, []int64{3})
	copy(a.Data, []byte{200, 20, 255})
	out, err := s.Run(a)
	if err != nil {
		t.Fatal(err)
	}
	if got := out[0].Data; got[0] != 44 || got[1] != 27 || got[2] != 2 {
		t.Errorf("u8 add = %v, want [44 27 2]", got)
	}
	if got := out[1].Data; got[0] != 2 || got[1] != 2 || got[2] != 85 {
		t.Errorf("u8 div = %v, want [2 2 85]", got)
	}
}

func TestMod(t *testing.T) {
	g := mustParse(t, `graph "m" opset=13
input %a:f32[2,4]
const %b:f32[4] = {3, -3, 2.5, 0}
%y:f32[2,4] = Mod %a, %b {fmod=1} @fmod
output %y
`)
	s, err := NewSession(g, SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	out, err := s.Run(FromFloat32([]int64{2, 4}, []float32{7, 7, -6.25, 1, -7, -7, 6.25, -1}))
	if err != nil {
		t.Fatal(err)
	}
	// C fmod: the dividend's sign; a zero divisor is NaN.
	want := []float32{1, 1, -1.25, float32(math.NaN()), -1, -1, 1.25, float32(math.NaN())}
	for i, v := range out[0].Float32s() {
		if v != want[i] && !(v != v && want[i] != want[i]) {
			t.Errorf("fmod element %d = %v, want %v", i, v, want[i])
		}
	}

	// Integers fold (shape and index paths): fmod=0 is Python's %, fmod=1 C's.
	g = mustParse(t, `graph "i" opset=13
const %a:i64[2,3] = {7, -7, 7, -7, -9223372036854775808, 0}
const %b:i64[3] = {3, 3, -3}
const %m1:i64[] = {-1}
%p:i64[2,3] = Mod %a, %b @floor
%c:i64[2,3] = Mod %a, %b {fmod=1} @trunc
%q:i64[2,3] = Mod %a, %m1 @minus_one
output %p
output %c
output %q
`)
	if n, err := FoldConstants(g); err != nil || n != 3 {
		t.Fatalf("FoldConstants = %d, %v", n, err)
	}
	for k, want := range [][]int64{{1, 2, -2, 2, 1, 0}, {1, -1, 1, -1, -2, 0}, {0, 0, 0, 0, 0, 0}} {
		got := g.Outputs[k].Const.Int64s()
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("output %d = %v, want %v", k, got, want)
				break
			}
		}
	}

	g = mustParse(t, `graph "u" opset=13
input %a:i8[4]
const %b:i8[4] = {3, -3, 5, -128}
%y:i8[4] = Mod %a, %b @m
output %y
`)
	s, err = NewSession(g, SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	a := NewTensor(Int8, []int64{4})
	for i, v := range []int8{-128, 127, -1, -1} {
		a.Data[i] = byte(v)
	}
	out, err = s.Run(a)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []int8{1, -2, 4, -1} {
		if got := int8(out[0].Data[i]); got != want {
			t.Errorf("i8 mod element %d = %d, want %d", i, got, want)
		}
	}
}

func TestModRefuses(t *testing.T) {
	g := mustParse(t, `graph "z" opset=13
const %a:i64[2] = {4, 5}
const %b:i64[2] = {2, 0}
%y:i64[2] = Mod %a, %b @index_mod
output %y
`)
	if _, err := FoldConstants(g); err == nil || !strings.Contains(err.Error(), `"index_mod"`) || !strings.Contains(err.Error(), "modulo by zero") {
		t.Errorf("FoldConstants of a zero divisor: %v, want an error naming node index_mod", err)
	}
	for _, c := range []struct{ text, want string }{
		{`%y:f32[2] = Mod %a, %a @m`, "ONNX requires fmod=1 for floating point"},
		{`%y:f32[2] = Mod %a, %a {fmod=2} @m`, "fmod=2; it must be 0 or 1"},
	} {
		g := mustParse(t, "graph \"f\" opset=13\ninput %a:f32[2]\n"+c.text+"\noutput %y\n")
		if err := InferShapes(g); err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), `"m"`) {
			t.Errorf("%s: %v, want %q naming node m", c.text, err, c.want)
		}
	}
}

// TestPowSquare: Pow by a constant 2 (float or integer) gives x·x bit for
// bit, in the vector blocks and the tail, on 1 and 2 threads.
func TestPowSquare(t *testing.T) {
	x := NewTensor(Float32, []int64{3, 23})
	for i := range x.Float32s() {
		x.Float32s()[i] = float32(i)*0.37 - 11
	}
	copy(x.Float32s(), []float32{float32(math.NaN()), float32(math.Inf(-1)), float32(math.Copysign(0, -1)), 3e38, 1e-30})
	two := NewTensor(Float32, []int64{})
	two.Float32s()[0] = 2
	twoInt := NewTensor(Int64, []int64{1})
	twoInt.SetInt64At(0, 2)
	for _, e := range []*Tensor{two, twoInt} {
		for _, threads := range []int{1, 2} {
			out, err := tmTry(13, "Pow", nil, []tmArg{tmIn(x), tmConst(e)}, 1, threads)
			if err != nil {
				t.Fatal(err)
			}
			for i, v := range x.Float32s() {
				want := v * v
				if got := out[0].Float32s()[i]; math.Float32bits(got) != math.Float32bits(want) && !(got != got && want != want) {
					t.Fatalf("%s exponent, %d threads: %v² = %v, want %v", e.DType, threads, v, got, want)
				}
			}
		}
	}
}

// TestGeluChain: Gelu (exact form) gives the bits of the nodes PyTorch
// exports for it, x/√2, Erf, +1, x·, ·½, run one by one, and stays within
// 1.2e-7·|x| of float64 x·Φ(x), on a sweep of [-12, 12] and special values
// (where (erf+1)·x overflows, past 1.7e38, both give ±Inf).
func TestGeluChain(t *testing.T) {
	var xs []float32
	for v := float32(-12); v <= 12; v += 0.0013 {
		xs = append(xs, v)
	}
	xs = append(xs, 0, float32(math.Copysign(0, -1)), float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN()), 3e38, -3e38, 1e-40)
	x := NewTensor(Float32, []int64{int64(len(xs))})
	copy(x.Float32s(), xs)

	g := NewGraph("gelu", 13)
	in := g.AddInput("x", Type{DType: Float32, Shape: S(x.Shape...)})
	d := g.NewNode("Div", "div", []*Value{in, g.AddConst("sqrt2", scalarF32(1.4142135))}, []string{"d"}, nil).Outputs[0]
	e := g.NewNode("Erf", "erf", []*Value{d}, []string{"e"}, nil).Outputs[0]
	a := g.NewNode("Add", "add", []*Value{e, g.AddConst("one", scalarF32(1))}, []string{"a"}, nil).Outputs[0]
	m := g.NewNode("Mul", "mul", []*Value{in, a}, []string{"m"}, nil).Outputs[0]
	g.Outputs = []*Value{g.NewNode("Mul", "half", []*Value{m, g.AddConst("half", scalarF32(0.5))}, []string{"y"}, nil).Outputs[0]}
	if err := InferShapes(g); err != nil {
		t.Fatal(err)
	}
	defer func() { noFusion = false }()
	noFusion = true
	want := runSession(t, g, x, 1, nil)[0].Float32s()
	noFusion = false
	for _, threads := range []int{1, 2} {
		out, err := tmTry(13, "Gelu", nil, []tmArg{tmIn(x)}, 1, threads)
		if err != nil {
			t.Fatal(err)
		}
		got := out[0].Float32s()
		worst := 0.0
		for i, v := range xs {
			if math.Float32bits(got[i]) != math.Float32bits(want[i]) && !(got[i] != got[i] && want[i] != want[i]) {
				t.Fatalf("%d threads: Gelu(%v) = %v, the exported nodes %v", threads, v, got[i], want[i])
			}
			// Past 1.7e38 (erf+1)·x overflows, in the exported nodes too.
			if ref := float64(gelu(v)); math.Abs(float64(v)) < 1e38 && ref == ref {
				worst = max(worst, math.Abs(float64(got[i])-ref)/max(math.Abs(float64(v)), 1e-30))
			}
		}
		if worst > 1.2e-7 {
			t.Errorf("%d threads: Gelu off float64 by %.3g·|x|, want at most 1.2e-7", threads, worst)
		}
	}
}
