package quant

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
)

// naiveConv is the int8 convolution written straight from its definition:
// out-of-bounds taps are skipped, acc = Σ (x − zx)·w + bias, requantized
// per output channel, offset, clamped.
func naiveConv(x []int8, N, C, H, W int, w []int8, O, KH, KW int, bias []int32, group, stride, pad int,
	zx int32, mult []Multiplier, zo, lo, hi int32, OH, OW int) []int8 {
	out := make([]int8, N*O*OH*OW)
	cpg, opg := C/group, O/group
	for b := range N {
		for o := range O {
			for oy := range OH {
				for ox := range OW {
					acc := bias[o]
					for ci := range cpg {
						c := (o/opg)*cpg + ci
						for ky := range KH {
							for kx := range KW {
								y, xx := oy*stride-pad+ky, ox*stride-pad+kx
								if y < 0 || y >= H || xx < 0 || xx >= W {
									continue
								}
								acc += (int32(x[((b*C+c)*H+y)*W+xx]) - zx) * int32(w[((o*cpg+ci)*KH+ky)*KW+kx])
							}
						}
					}
					out[((b*O+o)*OH+oy)*OW+ox] = int8(clamp(mult[o].Apply(acc)+zo, lo, hi))
				}
			}
		}
	}
	return out
}

func randFloats(rng *rand.Rand, n int, lo, hi float32) []float32 {
	f := make([]float32, n)
	for i := range f {
		f[i] = lo + (hi-lo)*rng.Float32()
	}
	return f
}

func TestConvMatchesNaiveInteger(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, c := range []struct {
		C, O, K, group, stride, pad, H int
		act                            string
	}{
		{3, 4, 3, 1, 2, 1, 7, ""}, {4, 4, 3, 4, 1, 1, 6, "Relu6"}, {8, 8, 5, 8, 2, 2, 9, "Relu"}, {5, 6, 1, 1, 1, 0, 4, "Relu6"},
	} {
		OH := (c.H+2*c.pad-c.K)/c.stride + 1
		cpg := c.C / c.group
		g := ir.NewGraph("conv", 13)
		x := g.AddInput("x", ir.Type{DType: ir.Float32, Shape: ir.S(1, int64(c.C), int64(c.H), int64(c.H))})
		w := g.AddConst("w", ir.FromFloat32([]int64{int64(c.O), int64(cpg), int64(c.K), int64(c.K)}, randFloats(rng, c.O*cpg*c.K*c.K, -1, 1)))
		b := g.AddConst("b", ir.FromFloat32([]int64{int64(c.O)}, randFloats(rng, c.O, -0.5, 0.5)))
		p := int64(c.pad)
		conv := g.NewNode("Conv", "conv", []*ir.Value{x, w, b}, []string{"y"}, ir.Attrs{
			"group": ir.IntAttr(int64(c.group)), "strides": ir.IntsAttr(int64(c.stride), int64(c.stride)),
			"pads": ir.IntsAttr(p, p, p, p), "kernel_shape": ir.IntsAttr(int64(c.K), int64(c.K))})
		out := conv.Outputs[0]
		if c.act != "" {
			out = g.NewNode(c.act, "act", []*ir.Value{out}, []string{"z"}, nil).Outputs[0]
		}
		g.Outputs = []*ir.Value{out}
		if err := ir.InferShapes(g); err != nil {
			t.Fatal(err)
		}
		if err := Calibrated(g, Synthetic(g, 4, 7), CalibrateOptions{Workers: 1}); err != nil {
			t.Fatal(err)
		}
		sim, err := NewSimulator(g)
		if err != nil {
			t.Fatal(err)
		}
		in := ir.FromFloat32(x.Type.Shape.Sizes(), randFloats(rng, c.C*c.H*c.H, -2, 2))
		if err := sim.Run(in); err != nil {
			t.Fatal(err)
		}
		wq, _ := lower.QuantizeWeights(w)
		bq, _ := lower.QuantizeWeights(b)
		wi := make([]int8, wq.Len())
		for i := range wi {
			wi[i] = int8(wq.Data[i])
		}
		y := conv.Outputs[0]
		mult := make([]Multiplier, c.O)
		for o := range mult {
			mult[o] = NewMultiplier(float64(x.Quant.Scale[0]) * float64(w.Quant.Scale[o]) / float64(y.Quant.Scale[0]))
		}
		lo, hi := int32(-128), int32(127)
		if c.act != "" {
			lo = int32(y.Quant.ZeroPoint[0])
			if c.act == "Relu6" {
				hi = min(127, lo+int32(math.Round(float64(6/y.Quant.Scale[0]))))
			}
		}
		want := naiveConv(sim.Int8(x), 1, c.C, c.H, c.H, wi, c.O, c.K, c.K, bq.Int32s(), c.group, c.stride, c.pad,
			int32(x.Quant.ZeroPoint[0]), mult, int32(y.Quant.ZeroPoint[0]), lo, hi, OH, OH)
		got := sim.Int8(out)
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v: element %d = %d, want %d", c, i, got[i], want[i])
			}
		}
		// Float requantization (XNNPACK, Arm NN) is at most one LSB away.
		fsim, err := NewSimulatorWith(g, SimOptions{FloatRequantize: true})
		if err != nil {
			t.Fatal(err)
		}
		fsim.Run(in)
		for i, f := range fsim.Int8(out) {
			if d := int(f) - int(want[i]); d > 1 || d < -1 {
				t.Fatalf("%+v: float requantization gives %d at %d, fixed point %d", c, f, i, want[i])
			}
		}
	}
}

func TestMeanHW(t *testing.T) {
	q := &ir.QuantParams{DType: ir.Int8, Scale: []float32{0.1}, ZeroPoint: []int64{-10}}
	in := []int8{1, 2, 3, 5, -1, -2, -3, -5}
	dst := make([]int8, 2)
	meanHW(in, dst, 2, 4, q, q)()
	// 11/4 = 2.75 → 3; −11/4: the high multiply takes −5.5 to −5, the
	// rounding shift −2.5 to −3.
	if dst[0] != 3 || dst[1] != -3 {
		t.Errorf("means %v, want [3 -3]", dst)
	}
	// A different output scale: (Σq)·in/(4·out) + out_zp − round(in_zp·in/out).
	o := &ir.QuantParams{DType: ir.Int8, Scale: []float32{0.2}, ZeroPoint: []int64{4}}
	meanHW(in, dst, 2, 4, q, o)()
	// bias = 4 − (−5) = 9. 11·0.125 = 1.375, but double rounding gives 2
	// (5.5 → 6 in the high multiply, 6/4 = 1.5 → 2); −11·0.125 → −1.
	if dst[0] != 11 || dst[1] != 8 {
		t.Errorf("rescaled means %v, want [11 8]", dst)
	}
}

// int8 ADD by hand, following add.cc: s₁ = 0.5, s₂ = 0.25, out 0.5, so
// twice_max = 1, multipliers 0.5 = (2³⁰, 0), 0.25 = (2³⁰, −1) and
// 2⁻¹⁹ = (2³⁰, −18). (4−1)·2²⁰·0.5 + (3+2)·2²⁰·0.25 = 2883584; ·2⁻¹⁹ = 5.5,
// which rounds to 6, plus the output zero point 3.
func TestInt8AddByHand(t *testing.T) {
	qp := func(s float32, z int64) *ir.QuantParams {
		return &ir.QuantParams{DType: ir.Int8, Scale: []float32{s}, ZeroPoint: []int64{z}}
	}
	add := int8Add(qp(0.5, 1), qp(0.25, -2), qp(0.5, 3), -128, 127, false)
	if got := add(4, 3); got != 9 {
		t.Errorf("add = %d, want 9", got)
	}
	if got := add(127, 127); got != 127 {
		t.Errorf("saturating add = %d, want 127", got)
	}
	// MUL: (4−1)(3+2) = 15, ·0.5·0.25/0.5 = 3.75 → 4, + 3.
	if got := int8Mul(qp(0.5, 1), qp(0.25, -2), qp(0.5, 3), -128, 127)(4, 3); got != 7 {
		t.Errorf("mul = %d, want 7", got)
	}
}
