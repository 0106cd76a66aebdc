package quant

import (
	"slices"
	"testing"

	"github.com/litefy/litefy/ir"
)

func qp(s float32, z int64) *ir.QuantParams {
	return &ir.QuantParams{DType: ir.Int8, Scale: []float32{s}, ZeroPoint: []int64{z}}
}

func TestParseProfile(t *testing.T) {
	for _, p := range append(Profiles, "") {
		got, err := ParseProfile(string(p))
		if err != nil || got != p && !(p == "" && got == ProfileTFLite) {
			t.Errorf("ParseProfile(%q) = %q, %v", p, got, err)
		}
	}
	if _, err := ParseProfile("xnn"); err == nil {
		t.Error("ParseProfile accepted an unknown name")
	}
	g := ir.NewGraph("empty", 13)
	if _, err := NewSimulatorWith(g, SimOptions{Profile: "xnn"}); err == nil {
		t.Error("NewSimulatorWith accepted an unknown profile")
	}
}

// One convolution whose two outputs are ties, −0.5 and +0.5 output steps,
// in all three profiles: TFLite's fixed point rounds them away from zero
// (the high multiply and the rounding shift), XNNPACK's float32
// requantization to even (0), Arm NN's float encoder away from zero.
// x (scale 0.25, zero point 0) has 2 channels and 3 columns; w = [0.5, −1]
// per channel scale 0.5 → [1, −2]; bias 0.25 at scale 0.125 → 2; output
// scale 0.5, zero point 40, so the multiplier is 0.25.
func TestConvTiesPerProfile(t *testing.T) {
	g := ir.NewGraph("conv", 13)
	x := g.AddInput("x", ir.Type{DType: ir.Float32, Shape: ir.S(1, 2, 1, 3)})
	w := g.AddConst("w", ir.FromFloat32([]int64{1, 2, 1, 1}, []float32{0.5, -1}))
	b := g.AddConst("b", ir.FromFloat32([]int64{1}, []float32{0.25}))
	conv := g.NewNode("Conv", "conv", []*ir.Value{x, w, b}, []string{"y"}, ir.Attrs{"kernel_shape": ir.IntsAttr(1, 1)})
	g.Outputs = conv.Outputs
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	x.Quant = qp(0.25, 0)
	w.Quant = &ir.QuantParams{DType: ir.Int8, Scale: []float32{0.5}, ZeroPoint: []int64{0}}
	b.Quant = &ir.QuantParams{DType: ir.Int32, Scale: []float32{0.125}, ZeroPoint: []int64{0}}
	conv.Outputs[0].Quant = qp(0.5, 40)
	// Columns: (c0, c1) = (2, 1): acc 2·1 + 1·(−2) + 2 = 2, 0.5 steps;
	// (−4, 0): acc −2, −0.5 steps; (127, −128): acc 385, 96.25 steps,
	// + 40 saturates.
	in := []int8{2, -4, 127, 1, 0, -128}
	for _, c := range []struct {
		p    Profile
		want []int8
	}{
		{ProfileTFLite, []int8{41, 39, 127}},
		{ProfileXNNPACK, []int8{40, 40, 127}},
		{ProfileArmNNRef, []int8{41, 39, 127}},
	} {
		s, err := NewSimulatorWith(g, SimOptions{Profile: c.p})
		if err != nil {
			t.Fatal(err)
		}
		copy(s.ins[0], in)
		for _, st := range s.steps {
			st()
		}
		if got := s.Int8(conv.Outputs[0]); !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, want %v", c.p, got, c.want)
		}
	}
}
