package quant

import (
	"slices"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	fb "github.com/litefy/litefy/lower/tflite/tflitefb"
	"github.com/litefy/litefy/passes"
)

// With every node kept in float the simulation is the float interpreter
// run on the int8-rounded input, bit for bit, and the file is a QUANTIZE
// and a DEQUANTIZE around the float operators.
func TestKeepFloatAll(t *testing.T) {
	g := loadModel(t, "tiny_mnv2_op13", passes.Cleanup)
	ranges, err := Calibrate(g, Synthetic(g, 8, 1), CalibrateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	for _, n := range g.Nodes {
		all = append(all, n.Label())
	}
	if err := lower.KeepFloat(g, all); err != nil {
		t.Fatal(err)
	}
	if err := lower.QuantizeInt8(g, ranges); err != nil {
		t.Fatal(err)
	}
	sim, err := NewSimulator(g)
	if err != nil {
		t.Fatal(err)
	}
	fs, err := ir.NewSession(g, ir.SessionOptions{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	ins := inputTensors(g)
	src := Synthetic(g, 2, 3)
	for i := range 2 {
		if err := src.Sample(i, ins); err != nil {
			t.Fatal(err)
		}
		if err := sim.Run(ins...); err != nil {
			t.Fatal(err)
		}
		// the rounded input, as the simulator and the file's QUANTIZE see it
		in := g.Inputs[0]
		q := make([]int8, ins[0].Len())
		QuantizeFloats(q, ins[0].Float32s(), in.Quant.Scale[0], in.Quant.ZeroPoint[0])
		r := ir.NewTensor(ir.Float32, in.Type.Shape.Sizes())
		rf := r.Float32s()
		for j, x := range q {
			rf[j] = float32(int32(x)-int32(in.Quant.ZeroPoint[0])) * in.Quant.Scale[0]
		}
		outs, err := fs.Run(r)
		if err != nil {
			t.Fatal(err)
		}
		got := sim.Dequantize(g.Outputs[0], nil)
		if !slices.Equal(got, outs[0].Float32s()) {
			t.Fatalf("sample %d: the all-float simulation differs from the interpreter", i)
		}
	}
	for _, io := range []string{lower.IOInt8, lower.IOFloat32} {
		m, err := lower.Lower(g, lower.Options{IO: io})
		if err != nil {
			t.Fatal(err)
		}
		var q, dq int
		for _, op := range m.Operators {
			switch op.Builtin {
			case fb.BuiltinOperatorQUANTIZE:
				q++
			case fb.BuiltinOperatorDEQUANTIZE:
				dq++
			}
		}
		wantQ, wantDQ := 1, 1 // int8 IO: DEQUANTIZE after the input, QUANTIZE before the output
		if io == lower.IOFloat32 {
			wantQ, wantDQ = 1, 1 // QUANTIZE at the input edge, its DEQUANTIZE; the output is float
		}
		if q != wantQ || dq != wantDQ {
			t.Errorf("io %s: %d QUANTIZE and %d DEQUANTIZE, want %d and %d", io, q, dq, wantQ, wantDQ)
		}
		out := m.Tensors[m.Outputs[0]]
		if want := map[string]fb.TensorType{lower.IOInt8: fb.TensorTypeINT8, lower.IOFloat32: fb.TensorTypeFLOAT32}[io]; out.Type != want || out.Name != g.Outputs[0].Name {
			t.Errorf("io %s: output tensor %q is %s, want %q %s", io, out.Name, out.Type, g.Outputs[0].Name, want)
		}
		if _, err := m.Encode(); err != nil {
			t.Fatal(err)
		}
	}
}
