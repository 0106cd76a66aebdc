package quant

import (
	"testing"

	"github.com/litefy/litefy/ir"
)

// TestSimulateSelect: in every profile GREATER_EQUAL, LESS_EQUAL,
// LOGICAL_NOT, SELECT_V2 (a constant mask and a constant fill value,
// broadcast) and BROADCAST_TO are exact integer ops: the output codes are
// the input codes picked by the float comparisons of the dequantized
// operands, which the comparisons' rescaling reproduces here (their
// operands share one scale).
func TestSimulateSelect(t *testing.T) {
	g, err := ir.Parse(`graph "g" opset=13
input %x:f32[1,2,3]
const %m:bool[3] = {1, 0, 1}
const %f:f32[] = {-0.5}
const %s:i64[3] = {2, 2, 3}
%ge:bool[1,2,3] = GreaterOrEqual %x, %x @ge
%le:bool[1,2,3] = LessOrEqual %x, %x @le
%n:bool[1,2,3] = Not %ge @not
%a:f32[1,2,3] = Where %n, %f, %x @where_not
%b:f32[1,2,3] = Where %m, %a, %f @where_mask
%y:f32[2,2,3] = Expand %b, %s @expand
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	if err := Calibrated(g, Synthetic(g, 4, 1), CalibrateOptions{}); err != nil {
		t.Fatal(err)
	}
	x := ir.FromFloat32([]int64{1, 2, 3}, []float32{-1, -0.25, 0, 0.3, 0.7, 1})
	for _, p := range Profiles {
		sim, err := NewSimulatorWith(g, SimOptions{Profile: p})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Run(x); err != nil {
			t.Fatal(err)
		}
		q := g.Inputs[0].Quant
		xq := make([]int8, 6)
		QuantizeFloats(xq, x.Float32s(), q.Scale[0], q.ZeroPoint[0])
		v := func(name string) *ir.Value {
			for _, n := range g.Nodes {
				if n.Outputs[0].Name == name {
					return n.Outputs[0]
				}
			}
			t.Fatalf("no %s", name)
			return nil
		}
		fill := int8(quantizeReal(v("b"), -0.5))
		for i, c := range sim.Int8(v("ge")) {
			if c != 1 || sim.Int8(v("le"))[i] != 1 || sim.Int8(v("n"))[i] != 0 {
				t.Errorf("%s: x ≥ x, x ≤ x or ¬(x ≥ x) wrong at %d", p, i)
			}
		}
		y := sim.Int8(g.Outputs[0])
		for i := range y {
			want := fill
			if []bool{true, false, true}[i%3] {
				want = xq[i%6]
			}
			if y[i] != want {
				t.Errorf("%s: code %d is %d, want %d", p, i, y[i], want)
			}
		}
	}
}
