package quant

import (
	"math"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
)

// floatOfNode runs n alone in the float interpreter on the dequantized
// int8 inputs the simulation gave it, applying a fused activation after.
func floatOfNode(t *testing.T, sim *Simulator, n *ir.Node) []float32 {
	t.Helper()
	g := ir.NewGraph("one", n.Graph().Opset)
	var ins []*ir.Value
	var feeds []*ir.Tensor
	for _, v := range n.Inputs {
		switch {
		case v == nil:
			ins = append(ins, nil)
		case v.IsConst() && v.Quant != nil:
			ins = append(ins, g.AddConst(v.Name, dequantizedConst(t, v)))
		case v.IsConst():
			ins = append(ins, g.AddConst(v.Name, v.Const))
		default:
			ins = append(ins, g.AddInput(v.Name, v.Type))
			feeds = append(feeds, ir.FromFloat32(v.Type.Shape.Sizes(), sim.Dequantize(v, nil)))
		}
	}
	m := g.NewNode(n.Op, n.Name, ins, []string{n.Outputs[0].Name}, n.Attrs)
	g.Outputs = m.Outputs[:1]
	if err := ir.InferShapes(g); err != nil {
		t.Fatal(err)
	}
	s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	outs, err := s.Run(feeds...)
	if err != nil {
		t.Fatal(err)
	}
	f := append([]float32{}, outs[0].Float32s()...)
	if us := n.Outputs[0].Uses(); len(us) == 1 && lower.IsFusedActivation(us[0]) {
		lo, hi, _ := ir.ClipBounds(us[0])
		for i := range f {
			f[i] = max(lo, min(hi, f[i]))
		}
	}
	return f
}

// dequantizedConst returns the float values a quantized constant stands
// for in the int8 model.
func dequantizedConst(t *testing.T, v *ir.Value) *ir.Tensor {
	q, err := lower.QuantizeWeights(v)
	if err != nil {
		t.Fatal(err)
	}
	f := make([]float32, q.Len())
	inner := len(f) / len(v.Quant.Scale)
	if len(v.Quant.Scale) > 1 && v.Quant.Axis != 0 {
		t.Fatalf("%s: per-channel axis %d", v, v.Quant.Axis)
	}
	for i := range f {
		c := i / inner
		f[i] = float32((q.Float64At(i) - float64(v.Quant.ZeroPoint[c])) * float64(v.Quant.Scale[c]))
	}
	return ir.FromFloat32(v.Const.Shape, f)
}

// Every node's int8 result is within 1 LSB of its float op applied to its
// dequantized int8 inputs and requantized, in every profile: the kernels
// implement the ops they claim to (double rounding costs at most one LSB).
func TestNodesMatchFloatWithinOneLSB(t *testing.T) {
	for _, c := range []struct {
		name string
		pl   *passes.Pipeline
	}{
		{"tiny_effnet_op13", passes.Lite}, {"tiny_effnet_op13", passes.Cleanup}, {"tiny_mnv3_op14", passes.Cleanup},
		{"tiny_mnv2_op13", nil}, {"tiny_mnv3_op13", nil},
	} {
		g := loadModel(t, c.name, c.pl)
		if err := Calibrated(g, Synthetic(g, 8, 1), CalibrateOptions{}); err != nil {
			t.Fatal(err)
		}
		for _, p := range Profiles {
			sim, err := NewSimulatorWith(g, SimOptions{Profile: p})
			if err != nil {
				t.Fatal(err)
			}
			x := inputTensors(g)
			Synthetic(g, 1, 3).Sample(0, x)
			if err := sim.Run(x...); err != nil {
				t.Fatal(err)
			}
			ops := map[string]bool{}
			for _, n := range g.Nodes {
				if lower.IsFusedActivation(n) {
					continue
				}
				ops[n.Op] = true
				want := floatOfNode(t, sim, n)
				out := n.Outputs[0]
				got := sim.Int8(out)
				sc, zp := float64(out.Quant.Scale[0]), out.Quant.ZeroPoint[0]
				off := 0
				for i, f := range want {
					q := max(-128, min(127, int64(math.Round(float64(f)/sc))+zp))
					if d := q - int64(got[i]); d > 1 || d < -1 {
						if off == 0 {
							t.Errorf("%s, %s: %s: element %d = %d, float says %d (%g)", c.name, p, n, i, got[i], q, f)
						}
						off++
					}
				}
				if off > 0 {
					t.Errorf("%s, %s: %s: %d of %d elements off by more than 1 LSB", c.name, p, n, off, len(want))
				}
			}
			t.Logf("%s, %s: checked %v", c.name, p, ops)
		}
	}
}

func TestOtherOpsMatchFloatWithinOneLSB(t *testing.T) {
	g, err := ir.Parse(`graph "ops" opset=13
input %x:f32[1,4,6,6]
const %pads:i64[8] = {0, 0, 1, 1, 0, 0, 1, 1}
const %shape:i64[2] = {1, 256}
const %k:f32[1,4,1,1] = {0.5, -1, 2, 0.25}
%p:f32[1,4,8,8] = Pad %x, %pads
%m:f32[1,4,4,4] = MaxPool %p {kernel_shape=[3,3], strides=[2,2], pads=[1,1,1,1]}
%a:f32[1,4,4,4] = AveragePool %p {kernel_shape=[3,3], strides=[2,2], pads=[1,1,1,1]}
%c:f32[1,8,4,4] = Concat %m, %a {axis=1}
%t:f32[1,8,4,4] = Tanh %c
%mu:f32[1,4,4,4] = Mul %m, %k
%ad:f32[1,4,4,4] = Add %mu, %a
%r:f32[1,4,4,4] = Relu %ad
%cat:f32[1,16,4,4] = Concat %r, %a, %m, %m {axis=1}
%tr:f32[1,4,4,16] = Transpose %cat {perm=[0, 2, 3, 1]}
%f:f32[1,256] = Reshape %tr, %shape
%s:f32[1,256] = Softmax %f {axis=-1}
output %t
output %s
`)
	if err != nil {
		t.Fatal(err)
	}
	if err := Calibrated(g, Synthetic(g, 8, 1), CalibrateOptions{Method: Percentile, Percentile: 99.9}); err != nil {
		t.Fatal(err)
	}
	sim, err := NewSimulator(g)
	if err != nil {
		t.Fatal(err)
	}
	x := inputTensors(g)
	Synthetic(g, 1, 3).Sample(0, x)
	for i, f := range x[0].Float32s() {
		x[0].Float32s()[i] = f * 3 // beyond the calibrated range: saturation
	}
	if err := sim.Run(x...); err != nil {
		t.Fatal(err)
	}
	for _, n := range g.Nodes {
		want := floatOfNode(t, sim, n)
		out := n.Outputs[0]
		got := sim.Int8(out)
		sc, zp := float64(out.Quant.Scale[0]), out.Quant.ZeroPoint[0]
		for i, f := range want {
			q := max(-128, min(127, int64(math.Round(float64(f)/sc))+zp))
			if d := q - int64(got[i]); d > 1 || d < -1 {
				t.Errorf("%s: element %d = %d, float says %d (%g)", n, i, got[i], q, f)
				break
			}
		}
	}
}
