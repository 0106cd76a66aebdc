package quant

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
)

// refSimulator is NewSimulatorWith with the reference CONV_2D,
// DEPTHWISE_CONV_2D and FULLY_CONNECTED of simconv_ref_test.go.
func refSimulator(t *testing.T, g *ir.Graph, opt SimOptions) *Simulator {
	t.Helper()
	s := &Simulator{g: g, vals: map[*ir.Value][]int8{}, opt: opt}
	s.workers = make([]simWorker, 1)
	for _, v := range g.Inputs {
		b := make([]int8, ir.NumElements(v.Type.Shape.Sizes()))
		s.vals[v] = b
		s.ins = append(s.ins, b)
	}
	for _, n := range g.Nodes {
		for _, o := range n.Outputs {
			s.vals[o] = make([]int8, ir.NumElements(o.Type.Shape.Sizes()))
		}
		var step func()
		var err error
		switch n.Op {
		case "Conv":
			step, err = refConv(s, n)
		case "Gemm":
			step, err = refGemm(s, n)
		default:
			step, err = s.prepare(n)
		}
		if err != nil {
			t.Fatal(err)
		}
		s.steps = append(s.steps, step)
	}
	return s
}

// sameSimulation runs the reference and the fast simulation (on 1 and 3
// goroutines) of g on each input set, in every profile, and requires the
// same int8 value everywhere.
func sameSimulation(t *testing.T, name string, g *ir.Graph, inputs [][]*ir.Tensor) {
	t.Helper()
	for _, p := range Profiles {
		ref := refSimulator(t, g, SimOptions{Profile: p})
		for _, threads := range []int{1, 3} {
			sim, err := NewSimulatorWith(g, SimOptions{Profile: p, Threads: threads})
			if err != nil {
				t.Fatal(err)
			}
			for k, ins := range inputs {
				if err := ref.Run(ins...); err != nil {
					t.Fatal(err)
				}
				if err := sim.Run(ins...); err != nil {
					t.Fatal(err)
				}
				for _, n := range g.Nodes {
					for _, v := range n.Outputs {
						want, got := ref.Int8(v), sim.Int8(v)
						for i := range want {
							if got[i] != want[i] {
								t.Fatalf("%s/%s/%d threads, sample %d: %s (%s) element %d = %d, reference %d",
									name, p, threads, k, v, n.Op, i, got[i], want[i])
							}
						}
					}
				}
			}
		}
	}
}

func TestFastKernelsMatchReferenceOnModels(t *testing.T) {
	for _, c := range []struct {
		name string
		pl   *passes.Pipeline
	}{
		{"tiny_mnv2_op13", passes.Lite},
		{"tiny_effnet_op13", passes.Lite},
		{"tiny_mnv3_op14", passes.Lite},
		{"tiny_mnv3_op14", passes.Cleanup},
		{"tiny_fpn_op13", passes.Lite},
	} {
		g := loadModel(t, c.name, c.pl)
		if err := Calibrated(g, Synthetic(g, 8, 1), CalibrateOptions{Workers: 1}); err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		var inputs [][]*ir.Tensor
		src := Synthetic(g, 2, 5)
		for i := range src.Len() {
			ins := inputTensors(g)
			if err := src.Sample(i, ins); err != nil {
				t.Fatal(err)
			}
			inputs = append(inputs, ins)
		}
		sameSimulation(t, c.name, g, inputs)
	}
}

// convCase is one random convolution.
type convCase struct {
	N, C, O, H, W, KH, KW, group int
	sy, sx, dy, dx               int
	pads                         [4]int
	act                          string
	in, out                      lower.Range // calibrated ranges: they set the zero points
	// extreme: large positive weights and inputs mostly saturated at 127,
	// so that sums of odd products pass 2²⁴ (float32 would round them).
	extreme bool
}

func (c convCase) String() string {
	return fmt.Sprintf("N%d C%d O%d %dx%d k%dx%d g%d s%d,%d d%d,%d p%v %s in%v out%v ext%v",
		c.N, c.C, c.O, c.H, c.W, c.KH, c.KW, c.group, c.sy, c.sx, c.dy, c.dx, c.pads, c.act, c.in, c.out, c.extreme)
}

func randRange(rng *rand.Rand) lower.Range {
	switch rng.IntN(4) {
	case 0: // zero point near −128
		return lower.Range{Min: -0.1 * rng.Float32(), Max: 1 + 4*rng.Float32()}
	case 1: // zero point near 127
		return lower.Range{Min: -1 - 4*rng.Float32(), Max: 0.1 * rng.Float32()}
	default:
		return lower.Range{Min: -0.5 - 3*rng.Float32(), Max: 0.5 + 3*rng.Float32()}
	}
}

func randConvCase(rng *rand.Rand) convCase {
	c := convCase{N: 1 + rng.IntN(2), KH: 1 + rng.IntN(4), KW: 1 + rng.IntN(4),
		sy: 1 + rng.IntN(3), sx: 1 + rng.IntN(3), dy: 1 + rng.IntN(2), dx: 1 + rng.IntN(2),
		in: randRange(rng), out: randRange(rng)}
	// Depthwise, with a channel multiplier sometimes, or regular (int8
	// quantization refuses other groupings).
	if rng.IntN(2) == 0 {
		c.C = 1 + rng.IntN(12)
		c.group = c.C
		c.O = c.C * (1 + rng.IntN(2))
	} else {
		c.group = 1
		c.C, c.O = 1+rng.IntN(24), 1+rng.IntN(40)
	}
	for i := range c.pads {
		c.pads[i] = rng.IntN(3)
	}
	c.H, c.W = c.KH*c.dy+rng.IntN(20), c.KW*c.dx+rng.IntN(20)
	c.act = []string{"", "Relu", "Relu6"}[rng.IntN(3)]
	c.extreme = rng.IntN(8) == 0
	return c
}

// convGraph builds and quantizes c's graph: x → Conv [→ activation].
func convGraph(t *testing.T, rng *rand.Rand, c convCase) (*ir.Graph, []*ir.Tensor) {
	t.Helper()
	cpg := c.C / c.group
	g := ir.NewGraph("conv", 13)
	x := g.AddInput("x", ir.Type{DType: ir.Float32, Shape: ir.S(int64(c.N), int64(c.C), int64(c.H), int64(c.W))})
	wf := randFloats(rng, c.O*cpg*c.KH*c.KW, -1, 1)
	if c.extreme {
		for i := range wf {
			wf[i] = 1
			if rng.IntN(4) == 0 {
				wf[i] = 0.75
			}
		}
	} else {
		for i := range wf {
			if rng.IntN(10) == 0 {
				wf[i] = 0 // skipped taps
			}
		}
	}
	w := g.AddConst("w", ir.FromFloat32([]int64{int64(c.O), int64(cpg), int64(c.KH), int64(c.KW)}, wf))
	b := g.AddConst("b", ir.FromFloat32([]int64{int64(c.O)}, randFloats(rng, c.O, -2, 2)))
	p := c.pads
	conv := g.NewNode("Conv", "conv", []*ir.Value{x, w, b}, []string{"y"}, ir.Attrs{
		"group":        ir.IntAttr(int64(c.group)),
		"strides":      ir.IntsAttr(int64(c.sy), int64(c.sx)),
		"dilations":    ir.IntsAttr(int64(c.dy), int64(c.dx)),
		"pads":         ir.IntsAttr(int64(p[0]), int64(p[1]), int64(p[2]), int64(p[3])),
		"kernel_shape": ir.IntsAttr(int64(c.KH), int64(c.KW))})
	out := conv.Outputs[0]
	ranges := map[*ir.Value]lower.Range{x: c.in, out: c.out}
	if c.act != "" {
		out = g.NewNode(c.act, "act", []*ir.Value{out}, []string{"z"}, nil).Outputs[0]
		ranges[out] = c.out
	}
	g.Outputs = []*ir.Value{out}
	if err := ir.InferShapes(g); err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	if err := lower.QuantizeInt8(g, ranges); err != nil {
		t.Fatalf("%v: %v", c, err)
	}
	f := randFloats(rng, c.N*c.C*c.H*c.W, 2*c.in.Min-1, 2*c.in.Max+1)
	if c.extreme {
		for i := range f {
			if rng.IntN(10) != 0 {
				f[i] = 2*c.in.Max + 1
			}
		}
	}
	return g, []*ir.Tensor{ir.FromFloat32(x.Type.Shape.Sizes(), f)}
}

func TestFastConvMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	cases := []convCase{
		// A GEMM depth of 130·3·3 = 1170 > exactBlock: two blocks.
		{N: 1, C: 130, O: 7, H: 6, W: 5, KH: 3, KW: 3, group: 1, sy: 1, sx: 1, dy: 1, dx: 1,
			pads: [4]int{1, 1, 1, 1}, in: lower.Range{Min: -4, Max: 0.1}, out: lower.Range{Min: -50, Max: 50}, extreme: true},
		// Pointwise, the input itself as the GEMM's B.
		{N: 2, C: 16, O: 24, H: 9, W: 7, KH: 1, KW: 1, group: 1, sy: 1, sx: 1, dy: 1, dx: 1,
			in: lower.Range{Min: -0.2, Max: 3}, out: lower.Range{Min: -2, Max: 2}},
	}
	for range 150 {
		cases = append(cases, randConvCase(rng))
	}
	defer func() { useOrderedAsm = true }()
	for i, c := range cases {
		useOrderedAsm = i%2 == 0 // Arm NN's GEMM in assembly and in Go
		g, in := convGraph(t, rng, c)
		sameSimulation(t, c.String(), g, [][]*ir.Tensor{in})
	}
}

// orderedGemm against the sum written out, on floats of mixed magnitudes
// and signs, where any other order or a fused multiply-add would round
// differently.
func TestOrderedGemm(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	val := func() float32 {
		return float32(rng.NormFloat64() * float64(int(1)<<rng.IntN(20)) / 1024)
	}
	defer func() { useOrderedAsm = true }()
	for _, asm := range []bool{true, false} {
		useOrderedAsm = asm
		for _, d := range [][3]int{{4, 16, 1}, {5, 37, 300}, {9, 48, 27}, {3, 10, 7}, {8, 33, 64}} {
			m, n, k := d[0], d[1], d[2]
			lda, ldb, ldc := k+3, n+5, n+1
			a, b, c := make([]float32, m*lda), make([]float32, k*ldb), make([]float32, m*ldc)
			for _, s := range [][]float32{a, b, c} {
				for i := range s {
					s[i] = val()
				}
			}
			want := append([]float32{}, c...)
			for i := range m {
				for j := range n {
					sum := want[i*ldc+j]
					for p := range k {
						sum += float32(a[i*lda+p] * b[p*ldb+j])
					}
					want[i*ldc+j] = sum
				}
			}
			orderedGemm(m, n, k, a, lda, b, ldb, c, ldc)
			for i := range c {
				if math.Float32bits(c[i]) != math.Float32bits(want[i]) {
					t.Fatalf("asm %v, %v: element %d = %g, want %g", asm, d, i, c[i], want[i])
				}
			}
		}
	}
}

func TestFastGemmMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, c := range []struct {
		M, K, N int
		transB  bool
		in      lower.Range
	}{
		{1, 1000, 10, true, lower.Range{Min: -3, Max: 0.2}},
		{3, 2100, 5, false, lower.Range{Min: -0.1, Max: 2}},
		{2, 17, 33, true, lower.Range{Min: -1, Max: 1}},
		{1, 1025, 3, false, lower.Range{Min: -5, Max: 0}},
	} {
		g := ir.NewGraph("fc", 13)
		x := g.AddInput("x", ir.Type{DType: ir.Float32, Shape: ir.S(int64(c.M), int64(c.K))})
		ws := []int64{int64(c.K), int64(c.N)}
		tb := int64(0)
		if c.transB {
			ws, tb = []int64{int64(c.N), int64(c.K)}, 1
		}
		wf := randFloats(rng, c.K*c.N, -1, 1)
		for i := range wf {
			if rng.IntN(3) == 0 {
				wf[i] = float32(1 - 2*rng.IntN(2))
			}
		}
		w := g.AddConst("w", ir.FromFloat32(ws, wf))
		b := g.AddConst("b", ir.FromFloat32([]int64{int64(c.N)}, randFloats(rng, c.N, -1, 1)))
		n := g.NewNode("Gemm", "fc", []*ir.Value{x, w, b}, []string{"y"}, ir.Attrs{"transB": ir.IntAttr(tb)})
		g.Outputs = []*ir.Value{n.Outputs[0]}
		if err := ir.InferShapes(g); err != nil {
			t.Fatal(err)
		}
		ranges := map[*ir.Value]lower.Range{x: c.in, n.Outputs[0]: {Min: -20, Max: 20}}
		if err := lower.QuantizeInt8(g, ranges); err != nil {
			t.Fatal(err)
		}
		in := ir.FromFloat32(x.Type.Shape.Sizes(), randFloats(rng, c.M*c.K, 2*c.in.Min-1, 2*c.in.Max+1))
		sameSimulation(t, fmt.Sprintf("%+v", c), g, [][]*ir.Tensor{{in}})
	}
}

// A GEMM depth past exactBlock with sums past 2²⁴ of odd and even
// products, where float32 would round, and the output scale set to
// input·weight scale with a bias cancelling the sum, so that an
// accumulator one off shows in the int8 output.
func TestFastConvExactPast2to24(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	c := convCase{N: 1, C: 200, O: 6, H: 12, W: 13, KH: 3, KW: 3, group: 1, sy: 1, sx: 1, dy: 1, dx: 1,
		in: lower.Range{Min: -0.5, Max: 2}, out: lower.Range{Min: -1, Max: 1}, extreme: true}
	g, in := convGraph(t, rng, c)
	conv := g.Nodes[0]
	x, w, b, y := conv.Inputs[0], conv.Inputs[1], conv.Inputs[2], conv.Outputs[0]
	k := c.C * c.KH * c.KW
	wf := w.Const.Float32s()
	for i := range wf {
		wf[i] = 0.5 + 0.5*rng.Float32()
		if i%k == 0 {
			wf[i] = 1 // keeps the calibrated per-channel scale
		}
	}
	f := in[0].Float32s()
	for i := range f {
		f[i] = 5 // every input 127
	}
	wq, err := lower.QuantizeWeights(w)
	if err != nil {
		t.Fatal(err)
	}
	zx := x.Quant.ZeroPoint[0]
	bias := b.Const.Float32s()
	for o := range c.O {
		sum, raw := int64(0), int64(0)
		for i := range k {
			sum += (127 - zx) * wq.Int64At(o*k+i)
			raw += 127 * wq.Int64At(o*k+i)
		}
		if raw < 1<<24 {
			t.Fatalf("channel %d sums to %d, want more than 2²⁴", o, raw)
		}
		bias[o] = float32(float64(-sum+int64(rng.IntN(200)-100)) * float64(b.Quant.Scale[o]))
	}
	if !w.Quant.PerChannel() || w.Quant.Scale[0] != w.Quant.Scale[c.O-1] {
		t.Fatalf("weight scales %v, want one per channel, all equal", w.Quant.Scale)
	}
	y.Quant.Scale[0] = x.Quant.Scale[0] * w.Quant.Scale[0]
	y.Quant.ZeroPoint[0] = 0
	ref := refSimulator(t, g, SimOptions{})
	if err := ref.Run(in...); err != nil {
		t.Fatal(err)
	}
	distinct := map[int8]bool{}
	for _, v := range ref.Int8(y) {
		distinct[v] = true
	}
	if len(distinct) < 3 {
		t.Fatalf("outputs %v: the test does not see the accumulator", ref.Int8(y))
	}
	sameSimulation(t, "past 2²⁴", g, [][]*ir.Tensor{in})
}

// requantizer.row's branch-free fixed point against Multiplier.Apply.
func TestRequantizeRow(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	acc := make([]int32, 4096)
	d := make([]int8, len(acc))
	for range 300 {
		m := NewMultiplier(math.Ldexp(0.5+0.5*rng.Float64(), -rng.IntN(24)+2))
		if m.Q <= 0 {
			t.Fatalf("multiplier %+v", m)
		}
		r := requantizer{m: m}
		bias, zp := rng.Int32N(1<<20)-1<<19, rng.Int32N(256)-128
		for i := range acc {
			switch rng.IntN(4) {
			case 0:
				acc[i] = int32(rng.Uint32())
			case 1:
				acc[i] = int32(rng.IntN(1<<12)) - 1<<11
			default:
				acc[i] = int32(rng.IntN(1<<22)) - 1<<21
			}
		}
		acc[0], acc[1] = math.MaxInt32, math.MinInt32
		r.row(d, acc, bias, zp, -128, 127)
		for i, v := range acc {
			if want := int8(clamp(m.Apply(v+bias)+zp, -128, 127)); d[i] != want {
				t.Fatalf("%+v: acc %d + %d gives %d, want %d", m, v, bias, d[i], want)
			}
		}
	}
}

// addTaps, in assembly and in Go, against the sums written out.
func TestAddTaps(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	val := func() float32 {
		return float32(rng.NormFloat64() * float64(int(1)<<rng.IntN(20)) / 1024)
	}
	defer func() { useOrderedAsm = true }()
	for _, asm := range []bool{true, false} {
		useOrderedAsm = asm
		for _, d := range [][2]int{{1, 1}, {7, 3}, {8, 2}, {21, 5}, {64, 1}, {13, 9}} {
			n, rows := d[0], d[1]
			lda, lds := n+2, 2*n+3
			a, s := make([]float32, rows*lda), make([]float32, rows*lds+8)
			for _, x := range [][]float32{a, s} {
				for i := range x {
					x[i] = val()
				}
			}
			w0, w1, w2 := val(), val(), val()
			want := append([]float32{}, a...)
			for r := range rows {
				for i := range n {
					v := want[r*lda+i] + float32(w0*s[r*lds+i])
					v += float32(w1 * s[r*lds+i+1])
					want[r*lda+i] = v + float32(w2*s[r*lds+i+5])
				}
			}
			addTaps(n, rows, a, lda, s, s[1:], s[5:], lds, w0, w1, w2)
			for i := range a {
				if math.Float32bits(a[i]) != math.Float32bits(want[i]) {
					t.Fatalf("asm %v, n %d rows %d: element %d = %g, want %g", asm, n, rows, i, a[i], want[i])
				}
			}
		}
	}
}
