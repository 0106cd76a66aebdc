//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/ir/onnx"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

// TestTFLitePad: explicit ONNX Pad nodes, as TensorFlow-side exporters
// write them. A zero Pad before a stride-2 Conv folds into the Conv
// (passes.FoldPad: no PAD op); a zero Pad before an AveragePool cannot
// and lowers to PAD. float32 in LiteRT.js and Arm NN vs onnxruntime
// (≤ 1e-4·max|output|); int8 in both vs each runtime's simulation profile
// (≥ 99.9% within 1 LSB). Arm NN 20.08 pads int8 with 0 rather than the
// zero point (ORACLES.md), so its int8 figure is recorded, not asserted.
func TestTFLitePad(t *testing.T) {
	h := harness(t)
	litert, err := litertRunner()
	need(t, err)
	armnn, err := armnnRunner()
	need(t, err)
	g, err := ir.Parse(`graph "pads" opset=13
input %x:f32[1,3,16,16]
const %p1:i64[8] = {0, 0, 0, 0, 0, 0, 1, 1}
const %w:f32[8,3,3,3] = {` + constVals(216, 0.05) + `}
const %b:f32[8] = {0.1, -0.2, 0.3, -0.4, 0.5, -0.6, 0.7, -0.8}
const %p2:i64[8] = {0, 0, 1, 1, 0, 0, 1, 1}
%a:f32[1,3,17,17] = Pad %x, %p1 {mode="constant"} @tf_same_pad
%c:f32[1,8,8,8] = Conv %a, %w, %b {strides=[2, 2]} @conv
%r:f32[1,8,8,8] = Relu %c @relu
%q:f32[1,8,10,10] = Pad %r, %p2 {mode="constant"} @pool_pad
%y:f32[1,8,8,8] = AveragePool %q {kernel_shape=[3, 3]} @pool
output %y
`)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	model := filepath.Join(tmp, "pads.onnx")
	if err := onnx.Save(g, model); err != nil {
		t.Fatal(err)
	}
	x := ir.NewTensor(ir.Float32, []int64{1, 3, 16, 16})
	for i := range x.Float32s() {
		x.Float32s()[i] = float32((i*13)%29)/7 - 2
	}
	input, nhwc := filepath.Join(tmp, "x.npy"), filepath.Join(tmp, "x.nhwc.npy")
	if err := tensorio.WriteNPY(input, x); err != nil {
		t.Fatal(err)
	}
	if err := tensorio.WriteNPY(nhwc, nchwToNHWC(x)); err != nil {
		t.Fatal(err)
	}
	want, _, err := h.Run(model, []string{input}, 1)
	if err != nil {
		t.Fatal(err)
	}
	tfl := filepath.Join(tmp, "pads.tflite")
	litefyCmd(t, model, "--quant", "float32", "--verify", "-o", tfl)
	counts, err := tfliteOpCounts(tfl)
	if err != nil {
		t.Fatal(err)
	}
	if counts["PAD"] != 1 || counts["CONV_2D"] != 1 || counts["AVERAGE_POOL_2D"] != 1 {
		t.Errorf("ops %s: want the conv's Pad folded, the pool's lowered to one PAD", lower.FormatCounts(counts))
	}
	note := fmt.Sprintf("Pad: ops %s\n", lower.FormatCounts(counts))
	for _, argv := range [][]string{{"node", litert}, {python, armnn}} {
		got, info, err := runTFLite(argv, tfl, nhwc)
		if err != nil {
			t.Errorf("%v: %v", argv, err)
			continue
		}
		maxErr, maxRef, err := diff(nhwcToNCHW(got), want[0])
		note += fmt.Sprintf("  float32 vs onnxruntime: max error %.3g of %.3g (%s)\n", maxErr, maxRef, info)
		if err != nil || maxErr > relTol*maxRef {
			t.Errorf("%s float32 vs onnxruntime: max error %g (max |output| %g), %v", info, maxErr, maxRef, err)
		}
	}

	if _, err := passes.Lite.Run(g, passes.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	if err := quant.Calibrated(g, quant.Synthetic(g, 20, 1), quant.CalibrateOptions{}); err != nil {
		t.Fatal(err)
	}
	tfl8 := filepath.Join(tmp, "pads.int8.tflite")
	lowerTo(t, g, lower.Options{}, tfl8)
	nhwc8 := filepath.Join(tmp, "x.int8.nhwc.npy")
	writeInt8Input(t, g, x, nhwc8)
	q := g.Inputs[0].Quant
	out := g.Outputs[0]
	for _, rt := range int8Runners(litert, armnn) {
		sim, err := quant.NewSimulatorWith(g, quant.SimOptions{Profile: rt.profile})
		if err != nil {
			t.Fatal(err)
		}
		if err := sim.Run(x); err != nil {
			t.Fatal(err)
		}
		got, info, err := runTFLite(rt.argv, tfl8, nhwc8)
		if err != nil {
			t.Errorf("%s int8: %v", rt.name, err)
			continue
		}
		a := agree(int8s(got), sim.Int8(out), nhwcIndex(out))
		note += fmt.Sprintf("  int8 %-6s vs the %s simulation: %s (pad zero point %d; %s)\n", rt.name, rt.profile, a, q.ZeroPoint[0], info)
		if rt.name == "litert" && a.within < 0.999 {
			t.Errorf("litert int8 vs the simulation: %s, want ≥ 99.9%% within 1 LSB", a)
		}
	}
	t.Log(note)
}
