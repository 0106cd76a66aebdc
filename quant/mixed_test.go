package quant

import (
	"slices"
	"strings"
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

// KeepForSQNR reaches a target between the all-int8 and the all-float
// SQNR with a prefix of the sensitivity ranking one node shorter than
// which misses it, and leaves the graph quantized so.
func TestKeepForSQNR(t *testing.T) {
	g := loadModel(t, "tiny_mnv2_op13", passes.Cleanup)
	ranges, err := Calibrate(g, Synthetic(g, 8, 1), CalibrateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	src := Synthetic(g, 8, 5)
	opt := MixedOptions{Samples: 8}
	e, err := newMixedEval(g, ranges, src, opt)
	if err != nil {
		t.Fatal(err)
	}
	w := e.newWorker()
	int8SQNR, err := e.sqnr(w, slices.Clone(e.fixed))
	if err != nil {
		t.Fatal(err)
	}
	target := int8SQNR + 6
	rep, err := KeepForSQNR(g, ranges, src, target, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("all int8 %.1f dB, target %.1f, reached %.1f with %d of %d kept (%d evaluations): %v", rep.AllInt8SQNR, target, rep.Reached, len(rep.Kept), len(rep.Ranked), rep.Evaluations, rep.Kept)
	if rep.AllInt8SQNR != int8SQNR || rep.Reached < target || len(rep.Kept) == 0 || len(rep.Kept) >= len(rep.Ranked) {
		t.Fatalf("report %+v", rep)
	}
	for i := 1; i < len(rep.Ranked); i++ {
		if rep.Ranked[i].SQNR < rep.Ranked[i-1].SQNR {
			t.Fatalf("ranking not most sensitive first at %d", i)
		}
	}
	// No kept node can go: without any one of them the target is missed.
	for i := range rep.Kept {
		c := slices.Clone(e.fixed)
		for j, k := range rep.Kept {
			c[k.index] = j != i
		}
		if s, err := e.sqnr(w, c); err != nil || s >= target {
			t.Errorf("without kept node %s the output reaches %.1f dB (%v), the target %.1f", rep.Kept[i].Node, s, err, target)
		}
	}
	kept := lower.KeptFloat(g)
	if len(kept) < len(rep.Kept) {
		t.Errorf("graph keeps %v, report %v", kept, rep.Kept)
	}
	// The graph as left is the configuration measured.
	h := &mixedWorker{h: g, ranges: ranges}
	c := make(config, len(g.Nodes))
	for i, n := range g.Nodes {
		c[i] = n.KeepFloat
	}
	if got, err := e.sqnr(h, c); err != nil || got != rep.Reached {
		t.Errorf("the graph as quantized gives %.2f dB (%v), the report %.2f", got, err, rep.Reached)
	}
	// The latency estimate: each kept node's share of the MACs times
	// XNNPACK's float-over-int8 MAC cost, and 1 plus their sum.
	var macs int64
	for _, n := range g.Nodes {
		if d := n.Def(); d != nil && d.MACs != nil {
			macs += d.MACs(n)
		}
	}
	est, convs := 1.0, 0
	for _, k := range rep.Kept {
		want := float64(k.MACs) / float64(macs) * (lower.XNNPACK.FloatMACCost - 1)
		if k.MACs > 0 {
			convs++
		}
		if k.LatencyCost != want {
			t.Errorf("kept %s (%s, %d MACs): cost %g, want %g", k.Node, k.Op, k.MACs, k.LatencyCost, want)
		}
		est += want
	}
	if rep.ModelMACs != macs || rep.EstLatency != est || convs > 0 && est <= 1 {
		t.Errorf("model MACs %d (want %d), estimate %g (want %g, %d kept nodes with MACs)", rep.ModelMACs, macs, rep.EstLatency, est, convs)
	}
	if _, err := KeepForSQNR(g, ranges, src, 500, opt); err == nil || !strings.Contains(err.Error(), "out of reach") {
		t.Errorf("a 500 dB target: %v", err)
	}
}
