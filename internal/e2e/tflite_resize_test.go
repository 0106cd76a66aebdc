//go:build e2e

package e2e

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/litefy/litefy/internal/tensorio"
	"github.com/litefy/litefy/ir"
	"github.com/litefy/litefy/lower"
	"github.com/litefy/litefy/passes"
	"github.com/litefy/litefy/quant"
)

// TestTFLiteResize runs the committed tiny_fpn_op13 fixture (PyTorch's
// three interpolate spellings: nearest ×2 as asymmetric/floor, bilinear
// ×2 with align_corners=False as pytorch_half_pixel, bilinear to a size
// with align_corners=True; its output is a 4-D map) lowered to
// RESIZE_NEAREST_NEIGHBOR and RESIZE_BILINEAR, in LiteRT.js and Arm NN.
//
// float32: LiteRT.js within 1e-4·max|output| of onnxruntime's committed
// output. Arm NN 20.08 ignores half_pixel_centers on RESIZE_BILINEAR
// (measured: a single half-pixel RESIZE_BILINEAR gives what asymmetric
// sampling gives); the test asserts exactly that, against the interpreter
// on the model with that Resize made asymmetric, so the limitation stays
// pinned (ir's TFLite mapping reports it as an armnn violation). int8: both runtimes load and run the file; LiteRT.js
// is compared with the float-requantize simulation (quant's
// RESIZE_BILINEAR follows TFLite's integer reference kernel) and Arm NN
// is recorded. Figures go to build/e2e-tflite-resize.txt.
func TestTFLiteResize(t *testing.T) {
	litert, err := litertRunner()
	need(t, err)
	armnn, err := armnnRunner()
	need(t, err)
	name := "tiny_fpn_op13"
	model := filepath.Join(root, "testdata", "models", name+".onnx")
	x, err := tensorio.ReadNPY(filepath.Join(root, "testdata", "models", name+".input.npy"))
	if err != nil {
		t.Fatal(err)
	}
	want, err := tensorio.ReadNPY(filepath.Join(root, "testdata", "models", "golden", name+".output0.npy"))
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	nhwc := filepath.Join(tmp, "input.nhwc.npy")
	if err := tensorio.WriteNPY(nhwc, nchwToNHWC(x)); err != nil {
		t.Fatal(err)
	}
	runtimes := []struct {
		name string
		argv []string
	}{{"litert", []string{"node", litert}}, {"armnn", []string{python, armnn}}}
	note := fmt.Sprintf("%s: Resize lowered to TFLite\n", name)

	tfl := filepath.Join(tmp, name+".tflite")
	litefyCmd(t, model, "--quant", "float32", "--verify", "-o", tfl)
	counts, err := tfliteOpCounts(tfl)
	if err != nil {
		t.Fatal(err)
	}
	if counts["RESIZE_NEAREST_NEIGHBOR"] != 1 || counts["RESIZE_BILINEAR"] != 2 || counts["TRANSPOSE"] != 0 {
		t.Errorf("ops %s: want 1 RESIZE_NEAREST_NEIGHBOR, 2 RESIZE_BILINEAR, no TRANSPOSE", lower.FormatCounts(counts))
	}
	note += fmt.Sprintf("float32 ops: %s\n", lower.FormatCounts(counts))
	g, _, err := importModel(model, x)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := passes.Lite.Run(g, passes.Options{Verify: true}); err != nil {
		t.Fatal(err)
	}
	// Arm NN 20.08 ignores half_pixel_centers on RESIZE_BILINEAR: its
	// output is the model with that Resize sampling asymmetrically, which
	// the interpreter computes on a copy with the attribute changed.
	asym := ir.Clone(g)
	for _, n := range asym.Nodes {
		if n.Op == "Resize" && n.Attrs.Str("mode", "") == "linear" && strings.HasSuffix(n.Attrs.Str("coordinate_transformation_mode", ""), "half_pixel") {
			n.Attrs["coordinate_transformation_mode"] = ir.StringAttr("asymmetric")
		}
	}
	asymOut, err := runInterpreter(asym, x)
	if err != nil {
		t.Fatal(err)
	}
	for _, rt := range runtimes {
		got, info, err := runTFLite(rt.argv, tfl, nhwc)
		if err != nil {
			t.Errorf("%s: %v", rt.name, err)
			continue
		}
		maxErr, maxRef, err := diff(nhwcToNCHW(got), want)
		note += fmt.Sprintf("  float32 %-6s vs onnxruntime: max error %.3g of max |output| %.3g (%s)\n", rt.name, maxErr, maxRef, info)
		if rt.name == "armnn" {
			aErr, aRef, aerr := diff(nhwcToNCHW(got), asymOut[0])
			note += fmt.Sprintf("  float32 armnn  vs the model with half-pixel bilinear made asymmetric: max error %.3g of %.3g\n", aErr, aRef)
			if aerr != nil || aErr > relTol*aRef {
				t.Errorf("armnn float32 vs the asymmetric-bilinear model: max error %g (max %g), %v: the known Arm NN 20.08 behaviour no longer explains its output", aErr, aRef, aerr)
			}
			if err == nil && maxErr <= relTol*maxRef {
				t.Errorf("armnn float32 now matches onnxruntime (max error %g): Arm NN honours half_pixel_centers; drop the armnn violation in ir's resizeTFLite", maxErr)
			}
			continue
		}
		if err != nil || maxErr > relTol*maxRef {
			t.Errorf("%s float32 vs onnxruntime: max error %g (max |output| %g), %v", rt.name, maxErr, maxRef, err)
		}
	}
	if err := quant.Calibrated(g, quant.Synthetic(g, 100, 1), quant.CalibrateOptions{}); err != nil {
		t.Fatal(err)
	}
	tfl8 := filepath.Join(tmp, name+".int8.tflite")
	lowerTo(t, g, lower.Options{}, tfl8)
	sim, err := quant.NewSimulatorWith(g, quant.SimOptions{FloatRequantize: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := sim.Run(x); err != nil {
		t.Fatal(err)
	}
	nhwc8 := filepath.Join(tmp, "input.int8.nhwc.npy")
	writeInt8Input(t, g, x, nhwc8)
	out := g.Outputs[0]
	for _, rt := range runtimes {
		got, info, err := runTFLite(rt.argv, tfl8, nhwc8)
		if err != nil {
			t.Errorf("%s int8: %v", rt.name, err)
			continue
		}
		a := agree(int8s(got), sim.Int8(out), nhwcIndex(out))
		note += fmt.Sprintf("  int8    %-6s vs the float-requantize simulation: %s (%s)\n", rt.name, a, info)
		if rt.name == "litert" && a.within < 0.999 {
			t.Errorf("litert int8 vs the simulation: %s, want ≥ 99.9%% within 1 LSB", a)
		}
	}
	t.Log(note)
	writeBuildFile(t, "e2e-tflite-resize.txt", []byte(note))
}

// nhwcToNCHW transposes a 4-D NHWC tensor to NCHW.
func nhwcToNCHW(x *ir.Tensor) *ir.Tensor {
	if len(x.Shape) != 4 {
		return x
	}
	n, h, w, c := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := ir.NewTensor(x.DType, []int64{n, c, h, w})
	es := int64(x.DType.Size())
	for b := range n {
		for y := range h {
			for xx := range w {
				for ch := range c {
					src := (((b*h+y)*w+xx)*c + ch) * es
					dst := (((b*c+ch)*h+y)*w + xx) * es
					copy(out.Data[dst:dst+es], x.Data[src:src+es])
				}
			}
		}
	}
	return out
}
