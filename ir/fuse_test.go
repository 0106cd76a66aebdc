package ir

import (
	"math"
	"math/rand"
	"testing"
)

// fuseCase is a Conv (or none) followed by an activation, as a graph.
type fuseCase struct {
	name       string
	x, w       []int64 // input and weight shapes; w nil: no Conv
	attrs      Attrs
	bias       bool
	act        string // Relu, Clip6, ClipAny, Sigmoid, SiLU, SiLUSwapped, HardSwish, Erf
	convReused bool   // the Conv's output is also a graph output: no fusion
	actFirst   bool   // the activation of x, then the Conv of it
	fused      int    // steps fusion should remove
}

func fuseGraph(t *testing.T, c fuseCase, r *rand.Rand) (*Graph, *Tensor) {
	t.Helper()
	g := NewGraph("fuse", 13)
	x := g.AddInput("x", Type{DType: Float32, Shape: S(c.x...)})
	random := func(shape []int64) *Tensor {
		w := NewTensor(Float32, shape)
		for i := range w.Float32s() {
			w.Float32s()[i] = float32(r.NormFloat64())
		}
		return w
	}
	activation := func(v *Value) (y *Value) {
		switch c.act {
		case "SiLU", "SiLUSwapped":
			s := g.NewNode("Sigmoid", "sig", []*Value{v}, []string{"s"}, nil).Outputs[0]
			in := []*Value{v, s}
			if c.act == "SiLUSwapped" {
				in = []*Value{s, v}
			}
			y = g.NewNode("Mul", "mul", in, []string{"y"}, nil).Outputs[0]
		case "GELU": // as exported: x/√2, erf, +1, x·, ·½
			d := g.NewNode("Div", "div", []*Value{v, g.AddConst("sqrt2", scalarF32(1.4142135))}, []string{"d"}, nil).Outputs[0]
			e := g.NewNode("Erf", "erf", []*Value{d}, []string{"e"}, nil).Outputs[0]
			a := g.NewNode("Add", "add", []*Value{e, g.AddConst("one", scalarF32(1))}, []string{"a"}, nil).Outputs[0]
			m := g.NewNode("Mul", "mul", []*Value{v, a}, []string{"m"}, nil).Outputs[0]
			y = g.NewNode("Mul", "half", []*Value{m, g.AddConst("half", scalarF32(0.5))}, []string{"y"}, nil).Outputs[0]
		case "Chain": // constants on either side, x twice, an activation
			a := g.NewNode("Sub", "sub", []*Value{g.AddConst("c1", scalarF32(0.25)), v}, []string{"a"}, nil).Outputs[0]
			b := g.NewNode("Mul", "mulx", []*Value{a, v}, []string{"b"}, nil).Outputs[0]
			c := g.NewNode("Relu", "relu", []*Value{b}, []string{"r"}, nil).Outputs[0]
			d := g.NewNode("Div", "div", []*Value{g.AddConst("c2", scalarF32(3)), c}, []string{"d"}, nil).Outputs[0]
			y = g.NewNode("Sub", "subx", []*Value{d, v}, []string{"y"}, nil).Outputs[0]
		case "Clip6", "ClipAny":
			lo, hi := float32(0), float32(6)
			if c.act == "ClipAny" {
				lo, hi = -0.5, 0.75
			}
			y = g.NewNode("Clip", "clip", []*Value{v, g.AddConst("lo", scalarF32(lo)), g.AddConst("hi", scalarF32(hi))}, []string{"y"}, nil).Outputs[0]
		default:
			y = g.NewNode(c.act, "act", []*Value{v}, []string{"y"}, nil).Outputs[0]
		}
		return y
	}
	conv := func(v *Value) *Value {
		if c.w == nil {
			return v
		}
		in := []*Value{v, g.AddConst("w", random(c.w))}
		if c.bias {
			in = append(in, g.AddConst("b", random([]int64{c.w[0]})))
		}
		return g.NewNode("Conv", "conv", in, []string{"c"}, c.attrs).Outputs[0]
	}
	var y, v *Value
	if c.actFirst {
		y = conv(activation(x))
	} else {
		v = conv(x)
		y = activation(v)
	}
	g.Outputs = append(g.Outputs, y)
	if c.convReused {
		g.Outputs = append(g.Outputs, v)
	}
	if err := InferShapes(g); err != nil {
		t.Fatal(err)
	}
	if err := Verify(g); err != nil {
		t.Fatal(err)
	}
	in := random(c.x)
	// Special values through the activation: NaN, ±Inf, ±0 and large.
	d := in.Float32s()
	if c.actFirst {
		// Values past a Clip's bounds in every plane.
		for i := range d {
			d[i] *= 5
		}
	}
	for i, s := range []float32{float32(math.NaN()), float32(math.Inf(1)), float32(math.Inf(-1)), 0, float32(math.Copysign(0, -1)), 1e30, -1e30} {
		if c.w == nil || c.actFirst {
			d[i] = s
		}
	}
	return g, in
}

func scalarF32(v float32) *Tensor {
	t := NewTensor(Float32, []int64{})
	t.Float32s()[0] = v
	return t
}

// TestFusedSameBits runs every case fused and unfused (noFusion) at 1, 2
// and 3 threads: the outputs must be the same bits, the fused session
// must have the expected number of steps, and Run must not allocate.
func TestFusedSameBits(t *testing.T) {
	ints := IntsAttr
	pad1 := Attrs{"pads": ints(1, 1, 1, 1)}
	cases := []fuseCase{
		{name: "pointwise", x: []int64{1, 16, 7, 7}, w: []int64{24, 16, 1, 1}, bias: true, act: "Erf", fused: 1},
		{name: "pointwise relu (cheap: not fused)", x: []int64{1, 16, 7, 7}, w: []int64{24, 16, 1, 1}, bias: true, act: "Relu", fused: 0},
		// k = 300: tiles of 320 positions; 641 = 2·320 + 1 must not
		// leave a 1-column tile.
		{name: "pointwise tiles", x: []int64{1, 300, 1, 641}, w: []int64{13, 300, 1, 1}, bias: true, act: "SiLU", fused: 2},
		{name: "pointwise tiles even", x: []int64{2, 300, 1, 960}, w: []int64{7, 300, 1, 1}, act: "HardSwish", fused: 1},
		{name: "3x3", x: []int64{1, 8, 13, 11}, w: []int64{20, 8, 3, 3}, attrs: pad1, bias: true, act: "SiLUSwapped", fused: 2},
		{name: "3x3 stride 2", x: []int64{2, 5, 17, 16}, w: []int64{9, 5, 3, 3}, attrs: Attrs{"pads": ints(1, 1, 1, 1), "strides": ints(2, 2)}, act: "HardSwish", fused: 1},
		{name: "grouped", x: []int64{1, 8, 9, 9}, w: []int64{12, 4, 3, 3}, attrs: Attrs{"group": IntAttr(2)}, bias: true, act: "ClipAny", fused: 0},
		{name: "depthwise", x: []int64{1, 12, 15, 15}, w: []int64{12, 1, 3, 3}, attrs: Attrs{"group": IntAttr(12), "pads": ints(1, 1, 1, 1)}, bias: true, act: "SiLU", fused: 2},
		// 48 planes of 14×14: the activation runs over several runs of planes.
		{name: "depthwise runs", x: []int64{2, 48, 14, 14}, w: []int64{48, 1, 3, 3}, attrs: Attrs{"group": IntAttr(48), "pads": ints(1, 1, 1, 1)}, bias: true, act: "SiLU", fused: 2},
		{name: "depthwise 5x5 s2", x: []int64{2, 6, 14, 14}, w: []int64{6, 1, 5, 5}, attrs: Attrs{"group": IntAttr(6), "pads": ints(2, 2, 2, 2), "strides": ints(2, 2)}, act: "Sigmoid", fused: 1},
		{name: "1-D", x: []int64{1, 4, 37}, w: []int64{6, 4, 3}, bias: true, act: "Erf", fused: 1},
		{name: "sigmoid conv", x: []int64{1, 16, 5, 5}, w: []int64{8, 16, 1, 1}, act: "Sigmoid", fused: 1},
		{name: "conv output kept", x: []int64{1, 8, 6, 6}, w: []int64{8, 8, 3, 3}, attrs: pad1, act: "SiLU", convReused: true, fused: 1},
		{name: "silu alone", x: []int64{3, 5, 7}, act: "SiLU", fused: 1},
		{name: "gelu chain", x: []int64{1, 3, 1029}, act: "GELU", fused: 4},
		{name: "gelu after conv", x: []int64{1, 4, 9, 9}, w: []int64{16, 4, 1, 1}, bias: true, act: "GELU", fused: 5},
		{name: "gelu conv kept", x: []int64{1, 4, 9, 9}, w: []int64{16, 4, 1, 1}, act: "GELU", convReused: true, fused: 4},
		{name: "chain", x: []int64{2, 2500}, act: "Chain", fused: 4},
		{name: "chain after conv (cheap)", x: []int64{1, 3, 11, 7}, w: []int64{5, 3, 3, 3}, attrs: pad1, act: "Chain", fused: 4},
		{name: "silu alone swapped", x: []int64{1, 1029}, act: "SiLUSwapped", fused: 1},
		// An activation then a depthwise Conv: 16 planes 15 wide, the
		// second run of 8 the tensor's last (interleaved element by
		// element); 16 wide (the clamping transposes only); ClipAny (its
		// loop over the interleaved rows); planes past 112 wide and fewer
		// than 8 (the row kernels' copies); Sigmoid(0) ≠ 0: not fused.
		{name: "relu6 depthwise", x: []int64{1, 16, 15, 15}, w: []int64{16, 1, 3, 3}, attrs: Attrs{"group": IntAttr(16), "pads": ints(1, 1, 1, 1)}, bias: true, act: "Clip6", actFirst: true, fused: 1},
		{name: "relu depthwise s2", x: []int64{2, 8, 16, 16}, w: []int64{8, 1, 3, 3}, attrs: Attrs{"group": IntAttr(8), "pads": ints(1, 1, 1, 1), "strides": ints(2, 2)}, act: "Relu", actFirst: true, fused: 1},
		{name: "relu6 depthwise 5x5", x: []int64{1, 24, 9, 8}, w: []int64{24, 1, 5, 5}, attrs: Attrs{"group": IntAttr(24), "pads": ints(2, 2, 2, 2)}, bias: true, act: "Relu6", actFirst: true, fused: 1},
		{name: "clip depthwise", x: []int64{1, 8, 12, 12}, w: []int64{8, 1, 3, 3}, attrs: Attrs{"group": IntAttr(8), "pads": ints(1, 1, 1, 1)}, act: "ClipAny", actFirst: true, fused: 1},
		{name: "relu6 wide depthwise", x: []int64{1, 3, 5, 130}, w: []int64{3, 1, 3, 3}, attrs: Attrs{"group": IntAttr(3), "pads": ints(1, 1, 1, 1)}, act: "Clip6", actFirst: true, fused: 1},
		{name: "relu6 small depthwise", x: []int64{1, 4, 7, 7}, w: []int64{4, 1, 3, 3}, attrs: Attrs{"group": IntAttr(4), "pads": ints(1, 1, 1, 1)}, act: "Clip6", actFirst: true, fused: 1},
		{name: "sigmoid depthwise", x: []int64{1, 8, 12, 12}, w: []int64{8, 1, 3, 3}, attrs: Attrs{"group": IntAttr(8), "pads": ints(1, 1, 1, 1)}, act: "Sigmoid", actFirst: true, fused: 0},
	}
	defer func() { noFusion = false }()
	r := rand.New(rand.NewSource(1))
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			g, x := fuseGraph(t, c, r)
			noFusion = true
			want := runSession(t, g, x, 1, nil)
			noFusion = false
			for th := 1; th <= 3; th++ {
				got := runSession(t, g, x, th, func(s *Session) {
					if n := len(g.Nodes) - len(s.steps); n != c.fused {
						t.Errorf("%d threads: fusion removed %d steps, want %d", th, n, c.fused)
					}
				})
				for i := range want {
					for j, w := range want[i].Float32s() {
						if v := got[i].Float32s()[j]; math.Float32bits(v) != math.Float32bits(w) && !(v != v && w != w) {
							t.Fatalf("%d threads: output %d [%d] = %v, unfused %v", th, i, j, v, w)
						}
					}
				}
			}
		})
	}
}

// runSession runs g once with the given thread count and returns copies
// of the outputs; check, if set, inspects the session, whose Run must
// not allocate.
func runSession(t *testing.T, g *Graph, x *Tensor, threads int, check func(*Session)) []*Tensor {
	t.Helper()
	s, err := NewSession(g, SessionOptions{Threads: threads})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if check != nil {
		check(s)
	}
	out, err := s.Run(x)
	if err != nil {
		t.Fatal(err)
	}
	var cp []*Tensor
	for _, o := range out {
		cp = append(cp, o.Clone())
	}
	if check != nil {
		if a := testing.AllocsPerRun(5, func() { s.Run(x) }); a != 0 {
			t.Errorf("%d threads: Run allocates %v times", threads, a)
		}
	}
	return cp
}
