package quant

import (
	"math"
	"slices"
	"testing"

	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/passes"
)

// TestCorrectBias: after a local correction the mean error it measures is
// gone (a second round shifts by a small fraction of an output step); a
// total correction's second round shifts less than its first (what is
// left is the second round's own shifts upstream, amplified by rounding
// and worst at the classifier);
// neither depends on the number of workers. The SQNRs are logged only:
// random weights and synthetic images are no measure of the gain
// (docs/quantization.md has the trained models).
func TestCorrectBias(t *testing.T) {
	for _, mode := range []string{BiasLocal, BiasTotal} {
		var biases [][]float32
		for _, workers := range []int{1, 3} {
			g := loadModel(t, "tiny_mnv2_op13", passes.Lite)
			if err := Calibrated(g, Synthetic(g, 16, 1), CalibrateOptions{}); err != nil {
				t.Fatal(err)
			}
			ref := ir.Clone(g)
			before, err := Evaluate(g, Synthetic(g, 8, 2), 0, nil)
			if err != nil {
				t.Fatal(err)
			}
			rep, err := CorrectBias(g, Synthetic(g, 16, 1), BiasCorrectOptions{Mode: mode, Rounds: 2, Workers: workers})
			if err != nil {
				t.Fatal(err)
			}
			gemms := 0
			for _, n := range g.Nodes {
				if n.Op == "Gemm" {
					gemms++
				}
			}
			if rep.Layers != 16+gemms || rep.Rounds != 2 { // every Conv and the classifier
				t.Fatalf("%s: report %+v", mode, rep)
			}
			if mode == BiasLocal && rep.MaxShift[1] > 0.05 || rep.MaxShift[1] >= rep.MaxShift[0] {
				t.Errorf("%s: second round shifted by %.3g steps after %.3g: the first did not remove its error", mode, rep.MaxShift[1], rep.MaxShift[0])
			}
			after, err := evaluateAgainst(ref, g, Synthetic(g, 8, 2))
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s, %d workers: %+v; output %.2f → %.2f dB", mode, workers, rep, before.Outputs[0].SQNR, after)
			var all []float32
			for _, n := range g.Nodes {
				if b := n.Input(2); b != nil && b.Const != nil && (n.Op == "Conv" || n.Op == "Gemm") {
					all = append(all, b.Const.AsFloat32s()...)
				}
			}
			biases = append(biases, all)
		}
		if !slices.Equal(biases[0], biases[1]) {
			t.Errorf("%s: biases differ between 1 and 3 workers", mode)
		}
	}
}

// evaluateAgainst is the output SQNR of g's int8 simulation against the
// float graph ref (g before its biases were corrected).
func evaluateAgainst(ref, g *ir.Graph, src Source) (float64, error) {
	fs, err := ir.NewSession(ref, ir.SessionOptions{Threads: 1})
	if err != nil {
		return 0, err
	}
	defer fs.Close()
	sim, err := NewSimulator(g)
	if err != nil {
		return 0, err
	}
	ins := inputTensors(g)
	var sig, noise float64
	var deq []float32
	for i := range src.Len() {
		if err := src.Sample(i, ins); err != nil {
			return 0, err
		}
		out, err := fs.Run(ins...)
		if err != nil {
			return 0, err
		}
		if err := sim.Run(ins...); err != nil {
			return 0, err
		}
		deq = sim.Dequantize(g.Outputs[0], deq)
		for j, f := range out[0].Float32s() {
			d := float64(f) - float64(deq[j])
			sig, noise = sig+float64(f)*float64(f), noise+d*d
		}
	}
	if noise == 0 {
		return math.Inf(1), nil
	}
	return SQNR(sig, noise), nil
}

// TestWindowMeans: the window means predict each convolution's mean
// output exactly (padding, strides, groups): b + Σ w·m equals the mean of
// the float output per channel.
func TestWindowMeans(t *testing.T) {
	for _, name := range []string{"tiny_mnv2_op13", "tiny_effnet_op13", "tiny_fpn_op13"} {
		g := loadModel(t, name, passes.Lite)
		if err := Calibrated(g, Synthetic(g, 4, 1), CalibrateOptions{}); err != nil {
			t.Fatal(err)
		}
		var layers []*biasLayer
		var outs []*ir.Value
		for _, n := range g.Nodes {
			if l := newBiasLayer(g, n); l != nil {
				layers = append(layers, l)
				outs = append(outs, n.Outputs[0])
			}
		}
		src := Synthetic(g, 3, 1)
		means, err := windowMeans(g, layers, src, 2, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		s, err := ir.NewSession(g, ir.SessionOptions{Threads: 1, Keep: outs})
		if err != nil {
			t.Fatal(err)
		}
		want := make([][]float64, len(layers))
		ins := inputTensors(g)
		for i := range src.Len() {
			if err := src.Sample(i, ins); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Run(ins...); err != nil {
				t.Fatal(err)
			}
			for k, o := range outs {
				y := s.Tensor(o).Float32s()
				C := layers[k].out
				if want[k] == nil {
					want[k] = make([]float64, C)
				}
				per := len(y) / C
				for j, v := range y {
					want[k][(j/per)%C] += float64(v) / float64(per*src.Len())
				}
			}
		}
		s.Close()
		for k, l := range layers {
			for c := range l.out {
				got := float64(l.b0[c]) + l.dot(l.w, c, means[k])
				if math.Abs(got-want[k][c]) > 1e-4*math.Max(1, math.Abs(want[k][c])) {
					t.Fatalf("%s %s channel %d: window means give %g, the output's mean is %g", name, l.n, c, got, want[k][c])
				}
			}
		}
		t.Logf("%s: %d layers", name, len(layers))
	}
}

// TestCorrectBiasAuto: auto applies the local correction or nothing, as
// its held-out measurement says, and the same as local when it applies.
func TestCorrectBiasAuto(t *testing.T) {
	g := loadModel(t, "tiny_mnv2_op13", passes.Lite)
	if err := Calibrated(g, Synthetic(g, 10, 1), CalibrateOptions{}); err != nil {
		t.Fatal(err)
	}
	h := ir.Clone(g)
	rep, err := CorrectBias(g, Synthetic(g, 10, 1), BiasCorrectOptions{Mode: BiasAuto})
	if err != nil {
		t.Fatal(err)
	}
	a := rep.Auto
	if a == nil || a.HeldOut != 2 {
		t.Fatalf("report %+v", rep)
	}
	t.Logf("held out %d: %.2f → %.2f dB, applied %s", a.HeldOut, a.Before, a.After, rep.Mode)
	if (rep.Mode == BiasLocal) != (a.After >= a.Before+AutoMinGain) {
		t.Errorf("applied %s after %.2f → %.2f dB", rep.Mode, a.Before, a.After)
	}
	if rep.Mode == BiasLocal {
		if _, err := CorrectBias(h, Synthetic(h, 10, 1), BiasCorrectOptions{Mode: BiasLocal}); err != nil {
			t.Fatal(err)
		}
	}
	for k, n := range g.Nodes {
		if b := n.Input(2); b != nil && b.Const != nil && !slices.Equal(b.Const.AsFloat32s(), h.Nodes[k].Inputs[2].Const.AsFloat32s()) {
			t.Fatalf("%s: bias differs from %s's", n, rep.Mode)
		}
	}
}
